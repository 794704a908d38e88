"""FreeBSD's kernel panics and the virtio device whose thread was running.

Written from sys/amd64/amd64/trap.c trap_fatal() ("Fatal trap %d: %s while in %s mode",
"current process\\t\\t= %d (%s)"), kern_shutdown.c vpanic() ("panic: %s"), kern_intr.c's
interrupt thread names ("irq%d:" and the handlers' names), if_vtnet.c's taskqueue threads
("%s rxq %d") and ddb's amd64 frames ("%s() at %s+%#lx/frame %#lx"); the values are ours.
The class comes from a posted OPNsense (FreeBSD 12) panic in "irq284: virtio_pci3" that
virtiodiag passed with exit 0.
"""


from virtiodiag.analysis import analyse_blocks


def _run(text, dialects):
    result = analyse_blocks("panic.log", [text.encode()], dialects)
    return result, {d.id: d for d in result.model.devices if d.aliases}


BOOT = ("virtio_pci0: <VirtIO PCI (modern) Network adapter> mem 0xc1000000-0xc1003fff "
        "irq 11 at device 3.0 on pci0\n"
        "vtnet0: <VirtIO Networking Adapter> on virtio_pci0\n"
        "virtio_pci0: using IRQs 258-260 for MSI-X\n"
        "vtnet0: Ethernet address: 58:9c:fc:00:00:07\n")


def _panic(thread, frames=()):
    return ("\n\nFatal trap 12: page fault while in kernel mode\n"
            "cpuid = 0; apic id = 00\n"
            "fault virtual address\t= 0x18\n"
            f"current process\t\t= 12 ({thread})\n"
            "trap number\t\t= 12\n"
            "panic: page fault\n"
            "cpuid = 0\n"
            "KDB: stack backtrace:\n"
            "db_trace_self_wrapper() at db_trace_self_wrapper+0x2b/frame 0xfffffe00008d7110\n"
            "vpanic() at vpanic+0x17f/frame 0xfffffe00008d7160\n"
            "panic() at panic+0x43/frame 0xfffffe00008d71c0\n"
            "trap_fatal() at trap_fatal+0x39c/frame 0xfffffe00008d7220\n"
            "calltrap() at calltrap+0x8/frame 0xfffffe00008d7390\n"
            "--- trap 0xc, rip = 0xffffffff80d79b37, rsp = 0xfffffe00008d7460, "
            "rbp = 0xfffffe00008d7470 ---\n"
            + "".join(f"{f}() at {f}+0x3c1/frame 0xfffffe00008d7a10\n" for f in frames))


def test_a_panic_in_a_virtio_devices_interrupt_thread_is_its_crash(dialects):
    result, devices = _run(BOOT + _panic("irq258: virtio_pci0", ["vtnet_rxq_eof"]), dialects)
    device = devices["virtio_pci0"]
    crash = device.crash_report
    assert crash is not None
    assert (crash.what, crash.function, crash.driver_type) == ("bug", "vtnet_rxq_eof", "net")
    assert crash.thread == "irq258: virtio_pci0" and not crash.in_probe
    # "Fatal trap" then "panic:" head one report: one finding, an error, on the device.
    found = [(f.rule, f.severity, f.device) for f in result.findings if f.rule == "VD021"]
    assert found == [("VD021", "error", "virtio_pci0")]
    # The crash is not a failed probe: the device had reached DRIVER_OK (implied).
    assert device.crash is None
    assert device.driver_ok.state.value == "implied"
    assert device.irq_mode == "msix" and 258 in device.irq_lines


def test_a_thread_that_names_a_device_the_log_did_not_show_makes_its_record(dialects):
    # The crash report alone: the driver's taskqueue thread names the device and its type.
    result, devices = _run(_panic("vtnet1 rxq 0", ["vtnet_rxq_eof"]), dialects)
    device = devices["vtnet1"]
    assert device.device_type == "net"
    assert device.crash_report.thread == "vtnet1"
    assert device.driver_ok.state.value == "implied"  # its driver's thread was running
    assert [f.rule for f in result.findings] == ["VD021"]


def test_a_panic_in_another_thread_with_no_virtio_frame_is_no_virtio_finding(dialects):
    result, devices = _run(BOOT + _panic("irq16: uhci0 em0", ["uhci_interrupt"]), dialects)
    assert sorted(devices) == ["virtio_pci0"]
    assert devices["virtio_pci0"].crash_report is None
    assert [f.rule for f in result.findings if f.rule == "VD021"] == []


def test_a_panic_with_a_virtio_frame_outside_its_thread_stays_run_wide(dialects):
    # A softclock or network thread ran into the driver's function: the driver's crash,
    # named by its frame, not a device's (as for Linux outside a probe).
    result, _ = _run(BOOT + _panic("swi4: clock (0)", ["vtnet_tick", "softclock_call_cc"]),
                     dialects)
    (crash,) = result.model.unattributed_crashes
    assert (crash.function, crash.driver_type, crash.thread) == ("vtnet_tick", "net", None)
