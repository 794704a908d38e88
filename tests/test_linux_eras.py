"""Logs of every era and architecture, written from the published format strings
(tests/fixtures/linux-eras/README.md): each NAME.log against the facts of NAME.json.

Covers the message families of issue 13: driver errors read as failures (not binds),
drivers' success lines as DRIVER_OK implied, crash reports tied to the probing device,
the kernel command line as configuration, QEMU's vhost errors and 'terminating on
signal', U-Boot's dm tree, and one device listed once (a quiet console with its trace).
"""

import json
from pathlib import Path

import pytest

from conftest import analyse_json, run_cli
from each_case import check_each, grouped

ERAS = Path(__file__).parent / "fixtures" / "linux-eras"
CASES = sorted(p.stem for p in ERAS.glob("*.log"))
# One test for each family of fixtures (its first two words: linux-5.x, uboot-dm) and at
# most 10 of them, each failing fixture named (each_case.check_each).
FAMILIES = grouped(CASES, key=lambda name: "-".join(name.split("-")[:2]), at_most=10)


def _facts(device: dict) -> tuple:
    return (device["type"], device["address"], device["driver_ok"]["state"])


@pytest.mark.parametrize("names", FAMILIES)
def test_era_fixture_gives_its_expected_report(names):
    check_each(((name, (name,)) for name in names), _gives_its_expected_report)


def _gives_its_expected_report(name):
    expected = json.loads((ERAS / f"{name}.json").read_text())
    report = analyse_json(ERAS / f"{name}.log")
    # repr: a fixture may list devices with and without an address (None and str)
    got = sorted((_facts(d) for d in report["devices"]), key=repr)
    want = sorted(((d["type"], d["address"], d["driver_ok"]) for d in expected["devices"]),
                  key=repr)
    assert got == want
    for exp in expected["devices"]:
        if "mode" in exp:
            (dev,) = [d for d in report["devices"] if _facts(d) == (exp["type"], exp["address"],
                                                                   exp["driver_ok"])]
            assert dev["mode"] == exp["mode"]
    serious = {f["rule"] for f in report["findings"] if f["severity"] in ("error", "warning")}
    assert serious == set(expected["findings"]), [f["message"] for f in report["findings"]]
    for note in expected.get("notes", []):
        assert any(note in n for n in report["matching_notes"]), report["matching_notes"]
    if expected.get("no_unrecognised"):
        assert not [f for f in report["findings"] if f["rule"] == "VD016"]


@pytest.mark.parametrize("names", FAMILIES)
def test_no_device_is_listed_twice(names):
    check_each(((name, (name,)) for name in names), _lists_each_device_once)


def _lists_each_device_once(name):
    report = analyse_json(ERAS / f"{name}.log")
    addresses = [d["address"] for d in report["devices"] if d["address"]]
    names = [d["guest_name"] for d in report["devices"] if d["guest_name"]]
    assert len(addresses) == len(set(addresses)) and len(names) == len(set(names))


def test_implied_driver_ok_names_its_evidence_line():
    report = analyse_json(ERAS / "linux-6.x-fs-gpu-input.log")
    evidence = {d["type"]: d["driver_ok"] for d in report["devices"]}
    assert "Cache len" in evidence["fs"]["text"] and evidence["fs"]["line"] == 7
    assert "DAX" in evidence["fs"]["why"]
    assert "frame buffer device" in evidence["gpu"]["text"]
    assert evidence["input"]["line"] == 10 and "input device" in evidence["input"]["why"]
    assert all(d["reached_driver_ok"] == "yes" for d in report["devices"])


def test_a_console_without_status_says_not_shown_rather_than_no():
    report = analyse_json(ERAS / "linux-3.10-x86-legacy-irq.log")
    verdicts = {d["type"]: d["reached_driver_ok"] for d in report["devices"]}
    assert verdicts == {"net": "not shown", "block": "yes"}


def test_the_killed_run_says_where_it_was_cut_off():
    report = analyse_json(ERAS / "qemu-vhost-killed.log")
    (cut,) = [f for f in report["findings"] if f["rule"] == "VD003"]
    assert "killed at ACKNOWLEDGE" in cut["message"] and "signal 15" in cut["message"]
    assert not [f for f in report["findings"] if f["rule"] == "VD004"]
    (vhost,) = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert "vhost_set_vring_call failed" in vhost["message"]


def test_the_crash_is_reported_on_the_device_being_probed_with_the_oops_line():
    report = analyse_json(ERAS / "linux-riscv64-oops-in-probe.log")
    (crash,) = [f for f in report["findings"] if f["rule"] == "VD021"]
    assert crash["line"] == 3 and "virtblk_probe" in crash["message"]
    assert crash["device"] == "virtio0"


@pytest.mark.parametrize("name", ["seabios-linux-trace", "seabios-quiet-linux-trace"])
def test_firmware_os_and_trace_are_one_device_each(name):
    # SeaBIOS drives the disk, then Linux drives all three: each device is joined to its
    # QEMU vdev once, and each handshake is attributed to the one who made it (a quiet
    # Linux's handshakes come before its first line and begin with ACKNOWLEDGE alone).
    report = analyse_json(ERAS / f"{name}.log")
    assert len(report["devices"]) == 3
    for device in report["devices"]:
        assert {"firmware", "host"} <= set(device["sides"]), device["id"]
    disk = next(d for d in report["devices"] if d["type"] == "block")
    assert set(disk["sides"]) == {"firmware", "guest", "host"}  # + Linux's virtio1 line
    assert [w for w in disk["status_writes"] if w] == [3, 11, 15, 1, 3, 11, 15]
    text = run_cli("analyze", "--no-color", ERAS / f"{name}.log").stdout.decode()
    assert ("SeaBIOS: ACK+DRIVER → FEATURES_OK → DRIVER_OK; "
            "Linux: ACK → DRIVER → FEATURES_OK → DRIVER_OK") in text
    assert text.count("Linux: ACK → DRIVER → FEATURES_OK → DRIVER_OK") == 3


def test_a_watchdog_line_naming_only_the_interface_is_its_devices_error():
    # "NETDEV WATCHDOG: enp0s3 (virtio_net): ..." names the interface, not the device:
    # it is the error of the one device that carries enp0s3 (renamed from eth0).
    report = analyse_json(ERAS / "linux-5.x-netdev-watchdog.log")
    (device,) = report["devices"]
    watchdog = next(f for f in report["findings"] if f["line"] == 4)
    assert watchdog["rule"] == "VD006" and watchdog["device"] == device["id"]
    assert "tx_timeout" in watchdog["message"] and "transmit queue" in watchdog["hint"]


def test_a_silent_firmware_that_begins_with_acknowledge_is_not_taken_for_linux():
    # The firmware drove the disk (1, 3, 7) before Linux's first line; Linux acknowledged
    # net then disk after it. Taking the firmware's 1 for Linux's would swap the devices.
    report = analyse_json(ERAS / "silent-ovmf-linux-trace.log")
    disk = next(d for d in report["devices"] if d["type"] == "block")
    assert [w for w in disk["status_writes"] if w] == [1, 3, 7, 1, 3, 11, 15]
    net = next(d for d in report["devices"] if d["type"] == "net")
    assert [w for w in net["status_writes"] if w] == [1, 3, 11, 15]
    text = run_cli("analyze", "--no-color", ERAS / "silent-ovmf-linux-trace.log").stdout.decode()
    assert "firmware: ACK → DRIVER → DRIVER_OK (legacy); Linux: ACK" in text


def test_a_crash_in_a_virtio_driver_after_its_probe_is_the_runs_finding():
    report = analyse_json(ERAS / "linux-5.x-arm64-virtio-net-bug-after-probe.log")
    (crash,) = [f for f in report["findings"] if f["rule"] == "VD021"]
    assert crash["line"] == 4 and "virtnet_send_command" in crash["message"]
    assert "outside a probe" in crash["message"] and "net driver" in crash["message"]
    assert report["devices"][0]["driver_ok"]["state"] == "implied"  # it came up before


def test_a_stuck_cpu_in_virtio_counts_and_a_stack_crash_through_virtnet_poll_does_not():
    report = analyse_json(ERAS / "linux-6.x-soft-lockup-and-stack-crash.log")
    (stuck,) = [f for f in report["findings"] if f["rule"] == "VD021"]
    assert stuck["line"] == 2 and "stuck in" in stuck["message"]


def test_a_task_blocked_in_a_virtio_drivers_work_item_is_the_drivers_and_one_on_io_is_not():
    # A blocked task runs no frame: its whole stack is where it waits. The kworker sleeping
    # under virtscsi_handle_event is stuck in virtio_scsi; jbd2 waiting on its I/O is not.
    report = analyse_json(ERAS / "linux-5.x-hung-task-in-virtio-work.log")
    (hung,) = [f for f in report["findings"] if f["rule"] == "VD021"]
    assert hung["line"] == 4 and "virtscsi_handle_event [virtio_scsi]" in hung["message"]
    assert "blocked too long" in hung["message"] and "faulted" not in hung["hint"]
    assert [r["line"] for r in hung["related"]] == [16]  # the driver's own frame


def test_a_hung_task_pasted_from_its_hint_line_still_names_the_driver():
    # The paste starts at hung_task.c's '"echo 0 > ..." disables this message.'; the
    # frame virtio_mem_run_wq+0x3c1/0x9a0 is a frame, not a QEMU trace event.
    report = analyse_json(ERAS / "linux-4.x-hung-task-paste-from-hint.log")
    (hung,) = [f for f in report["findings"] if f["rule"] == "VD021"]
    assert hung["line"] == 1 and "virtio_mem_run_wq [virtio_mem]" in hung["message"]
    assert [r["line"] for r in hung["related"]] == [9]
    assert report["qemu_view"] is None or not report["qemu_view"].get("devices")


def test_queues_a_detached_ccw_device_could_not_release_are_a_warning_not_a_failure():
    # virtio_ccw's dev_warn on the way out: the device worked; the gate stays green.
    report = analyse_json(ERAS / "linux-6.x-s390-ccw-detach-teardown.log")
    found = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert {f["severity"] for f in found} == {"warning"} and len(found) == 2
    assert all("[teardown]" in f["message"] for f in found)
    assert all("went away" in f["hint"] and "broken" not in f["hint"] for f in found)


def test_a_device_refused_for_lacking_version_1_was_driven_modern(tmp_path):
    # drivers/virtio/virtio_pci_modern.c vp_finalize_features(), dev_err (4.x-6.x): only
    # the modern transport asks for VIRTIO_F_VERSION_1, so the line says the interface.
    log = tmp_path / "v1.log"
    log.write_text("[    0.950474] virtio_blk virtio1: virtio: device uses modern interface "
                   "but does not have VIRTIO_F_VERSION_1\n"
                   "[    0.951669] virtio_blk: probe of virtio1 failed with error -22\n")
    (device,) = analyse_json(log)["devices"]
    assert device["mode"] == "modern" and device["driver_ok"]["state"] == "not-reached"
    assert {f["rule"] for f in analyse_json(log)["findings"]} == {"VD002", "VD015"}


def test_each_unserved_shared_folder_is_named_once():
    report = analyse_json(ERAS / "linux-5.x-shared-folders-unserved.log")
    found = [f for f in report["findings"] if f["rule"] == "VD015"]
    assert [f["line"] for f in found] == [2, 3, 5]  # line 4 repeats line 3
    assert "9pnet_virtio" in found[0]["message"] and "'hostshare'" in found[1]["message"]
    assert "'myfs'" in found[2]["message"] and "virtio fs device" in found[2]["message"]


def test_interrupt_lines_name_the_function_they_wire():
    """A quiet 3.x console's 'irq N for MSI/MSI-X' lines and a no-ACPI x86 kernel's 'PCI->APIC
    IRQ transform' lines are the only lines about their functions: the devices are the PCI
    functions at those addresses, wired by MSI-X or INTx on those vectors."""
    msix = {d["address"]: d for d in analyse_json(ERAS / "linux-3.x-quiet-msix-only.log")["devices"]}
    assert msix["0000:00:05.0"]["irq_mode"] == "msix"
    assert msix["0000:00:05.0"]["irq_lines"] == [24, 25, 26]
    assert msix["0000:00:06.0"]["irq_lines"] == [27, 28]
    assert {d["transport"] for d in msix.values()} == {"pci"}
    intx = {d["address"]: d for d in
            analyse_json(ERAS / "linux-4.x-pirq-apic-transform.log")["devices"]}
    assert intx["0000:00:04.0"]["irq_mode"] == "intx"
    assert intx["0000:00:04.0"]["irq_lines"] == [11]
    assert intx["0000:00:05.0"]["irq_lines"] == [10]


def test_a_virtio_nic_qemu_did_not_create_is_a_failure_not_an_unread_format(tmp_path):
    """net_check_clients()'s 'requested NIC (...) was not created' for a virtio model is the
    missing device's finding (both QEMU's warn_report form and the older bare 'Warning: '
    form); a board NIC of model 'unspecified' is no virtio finding; a log whose only
    virtio line is this one is understood, not 'a format virtiodiag does not read'."""
    report = analyse_json(ERAS / "qemu-nic-not-created.log")
    (nic,) = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert "virtio-net-pci" in nic["message"] and "runs without" in nic["message"]
    assert nic["line"] == 3
    old = tmp_path / "old.log"
    old.write_text("Warning: requested NIC (anonymous, model virtio) was not created "
                   "(not supported by this machine?)\n")
    report = analyse_json(old)
    assert {f["rule"] for f in report["findings"]} == {"VD006"}


def test_a_reboot_starts_a_new_boot_the_firmware_drives_again():
    # 'reboot: Restarting system' ends the first boot: the silent firmware's 1, 3, 7 after
    # it is the firmware's, as in the first boot, not a legacy handshake of Linux's.
    log = ERAS / "silent-ovmf-linux-reboot-trace.log"
    report = analyse_json(log)
    disk = next(d for d in report["devices"] if d["type"] == "block")
    net = next(d for d in report["devices"] if d["type"] == "net")
    assert [w for w in disk["status_writes"] if w] == [1, 3, 7, 1, 3, 11, 15] * 2
    assert [w for w in net["status_writes"] if w] == [1, 3, 11, 15] * 2
    assert (disk["guest_name"], net["guest_name"]) == ("virtio1", "virtio0")
    text = run_cli("analyze", "--no-color", log).stdout.decode()
    assert ("4 attempts: firmware: ACK → DRIVER → DRIVER_OK (legacy); Linux: ACK → DRIVER → "
            "FEATURES_OK → DRIVER_OK (modern); firmware: ACK → DRIVER → DRIVER_OK (legacy); "
            "Linux: ACK → DRIVER → FEATURES_OK → DRIVER_OK (modern)") in text


def test_each_qemu_device_joins_its_own_function_across_a_reboot():
    # Each trace vdev is the PCI function SeaBIOS found it at (0x...100 is 00:03.0, the
    # NIC): on main the disk's vdev was joined to 00:03.0, the NIC showing SeaBIOS's disk
    # handshakes.
    report = analyse_json(ERAS / "seabios-quiet-linux-reboot-trace.log")
    writes = {d["address"]: [w for w in d["status_writes"] if w] for d in report["devices"]}
    assert writes == {"0000:00:03.0": [1, 3, 11, 15] * 2,
                      "0000:00:04.0": [3, 11, 15, 1, 3, 11, 15] * 2,
                      "0000:00:05.0": [1, 3, 11, 15] * 2}
    text = run_cli("analyze", "--no-color", ERAS / "seabios-quiet-linux-reboot-trace.log"
                   ).stdout.decode()
    assert text.count("2 attempts: Linux: ACK → DRIVER → FEATURES_OK → DRIVER_OK; Linux: ACK") == 2


def test_after_a_restart_the_log_is_read_as_from_its_start():
    from virtiodiag.events import Event, Payload
    from virtiodiag.model.eras import FIRMWARE, GAP, OS, Eras

    def line(seq: int) -> Event:
        event = Event(Payload("any", "note", ()), "log", seq, "")
        event.seq = seq
        return event

    eras = Eras()
    eras.saw(line(10), FIRMWARE)  # boot 1: the firmware speaks, then the OS
    eras.saw(line(20), OS)
    eras.saw(line(30), OS)  # "reboot: Restarting system"
    eras.rebooted(line(30))
    eras.saw(line(50), OS)  # boot 2: a silent firmware, then the OS
    assert [eras.side_at(s) for s in (5, 15, 25, 40, 60)] == [FIRMWARE, GAP, OS, GAP, OS]
    assert [eras.boot_of(s) for s in (25, 30, 40, 60)] == [0, 1, 1, 1]
    # ACKNOWLEDGE alone in a gap: the OS's, unless the same boot's OS drives it later
    # (then a silent firmware's); a later boot's OS says nothing about it.
    assert eras.handshake_sides([(15, 1), (25, 1), (40, 1), (60, 1)]) == [
        FIRMWARE, OS, FIRMWARE, OS]
    assert eras.handshake_sides([(15, 1), (60, 1)]) == [OS, OS]
    eras.saw(line(70), FIRMWARE)  # a firmware that speaks after a restart owns the stretch
    eras.rebooted(line(70))
    eras.saw(line(80), FIRMWARE)
    assert eras.side_at(75) == FIRMWARE


def test_qemu_lines_that_name_their_device_model_say_its_type_and_address(tmp_path):
    """QEMU's device models name themselves by type ("virtio-blk missing headers"), and a
    migration section by PCI address and model ("Missing section footer for
    0000:00:02.0/virtio-gpu"); the ioeventfd fallback ("failed to set guest notifier",
    "Fallback to userspace (slower)") leaves the device working: a warning."""
    log = tmp_path / "qemu.log"
    log.write_text(
        "qemu-system-x86_64: virtio-blk failed to set guest notifier (-24), ensure -accel kvm "
        "is set.\n"
        "qemu-system-x86_64: virtio_bus_start_ioeventfd: failed. Fallback to userspace "
        "(slower).\n"
        "qemu-system-x86_64: Missing section footer for 0000:00:05.0/virtio-gpu\n"
        "qemu-system-x86_64: virtio-blk missing headers\n")
    report = analyse_json(log)
    (gpu,) = report["devices"]
    assert (gpu["type"], gpu["address"]) == ("gpu", "0000:00:05.0")
    by_line = {f["line"]: f for f in report["findings"] if f["rule"] == "VD006"}
    assert by_line[1]["severity"] == by_line[2]["severity"] == "warning"
    assert "block device" in by_line[1]["message"]
    assert by_line[3]["severity"] == "error" and by_line[3]["device"] == gpu["id"]
    assert by_line[4]["severity"] == "error" and "block device" in by_line[4]["message"]


def test_uboot_legacy_transport_is_a_warning_and_a_healthy_boot_exits_0():
    # virtio-pci.l binds the transitional ids 0x1000-0x103f: the device's id chose the
    # legacy interface, no modern attempt failed (as SeaBIOS "using legacy", FreeBSD
    # "(legacy)"): warnings naming U-Boot's driver, never an error.
    log = ERAS / "uboot-dm-tree-legacy-pci.log"
    report = analyse_json(log)
    legacy = [f for f in report["findings"] if f["rule"] == "VD001"]
    assert len(legacy) == 2
    assert {f["severity"] for f in legacy} == {"warning"}
    assert all("virtio-pci.l" in f["message"] and "no modern attempt failed" in f["message"]
               for f in legacy)
    assert run_cli("analyze", "--no-color", log).returncode == 0


def test_seabios_scsi_lun_capacity_implies_driver_ok_of_its_hba():
    # blockcmd.c's "virtio-scsi blksize=%d sectors=%u" is READ CAPACITY's answer, which
    # came through the HBA's request queue: only after DRIVER_OK. The LUN's "vendor=" line
    # alone says nothing of the sort, and virtio-blk prints no such line.
    report = analyse_json(ERAS / "seabios-1.8-bus-slot.log")
    states = {d["type"]: d["driver_ok"] for d in report["devices"]}
    assert states["scsi"]["state"] == "implied" and states["scsi"]["line"] == 5
    assert states["block"]["state"] == "not-shown"


def test_a_zero_capacity_disk_is_a_warning_on_the_function_it_was_probed_from():
    report = analyse_json(ERAS / "linux-5.x-arm64-legacy-empty-disks.log")
    (empty,) = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert empty["severity"] == "warning" and "capacity of 0 sectors" in empty["message"]
    assert empty["line"] == 5
    by_address = {d["address"]: d for d in report["devices"]}
    # init_vq's "%d/%d/%d default/read/poll queues": that many request virtqueues found
    assert [q["index"] for q in by_address["0000:00:01.0"]["queues"]] == [0]
    assert [q["index"] for q in by_address["0000:00:04.0"]["queues"]] == list(range(6))
    assert by_address["0000:00:01.0"]["guest_name"] == "virtio2"
    assert by_address["0000:00:04.0"]["guest_name"] == "virtio3"
    assert run_cli("analyze", "--no-color",
                   ERAS / "linux-5.x-arm64-legacy-empty-disks.log").returncode == 0


def test_virtio_n_after_every_function_is_not_joined_to_the_last_one(tmp_path):
    # virtio_blk loaded as a module after virtio_pci probed both functions: both disks'
    # lines follow the last function's, so they do not say which disk is which (an
    # excerpt numbered from virtio2): kept apart, not both given to 0000:00:04.0.
    log = tmp_path / "module-after-pci.log"
    log.write_text(
        "[    1.204211] virtio-pci 0000:00:01.0: enabling device (0000 -> 0002)\n"
        "[    1.211730] virtio-pci 0000:00:01.0: virtio_pci: leaving for legacy driver\n"
        "[    1.220455] virtio-pci 0000:00:04.0: enabling device (0000 -> 0002)\n"
        "[    1.228316] virtio-pci 0000:00:04.0: virtio_pci: leaving for legacy driver\n"
        "[    4.402771] virtio_blk virtio2: [vdb] 2097152 512-byte logical blocks"
        " (1.07 GB/1.00 GiB)\n"
        "[    4.417305] virtio_blk virtio3: [vdc] 8388608 512-byte logical blocks"
        " (4.29 GB/4.00 GiB)\n")
    report = analyse_json(log)
    assert sorted((d["address"] or "-", d["guest_name"] or "-") for d in report["devices"]) == [
        ("-", "virtio2"), ("-", "virtio3"), ("0000:00:01.0", "-"), ("0000:00:04.0", "-")]
    assert any("kept apart" in n for n in report["matching_notes"])


def test_refused_cmdline_transports_are_three_failures_and_carry_no_virtio_device():
    """Each virtio-mmio transport whose window was taken fails on its own (its address and
    IRQ kept, the iomem view hidden from a non-root reader adds no address 0), and the
    virtioN disks are not joined to transports that never registered a device."""
    report = analyse_json(ERAS / "linux-6.x-mmio-cmdline-duplicates-busy.log")
    failed = [f for f in report["findings"] if f["rule"] == "VD015"]
    assert len(failed) == 3 and all("register window" in f["message"] for f in failed)
    transports = {d["address"]: d["irq_lines"] for d in report["devices"] if d["address"]}
    assert transports == {"0xd0001000": [10], "0xd0002000": [11], "0xd0003000": [12]}
    disks = sorted(d["guest_name"] for d in report["devices"] if d["type"] == "block")
    assert disks == ["virtio0", "virtio1"]


def test_a_wrapped_feature_dependency_line_is_still_the_probes_reason():
    report = analyse_json(ERAS / "linux-5.x-net-feature-dependency-wrapped.log")
    (failed,) = [f for f in report["findings"] if f["rule"] == "VD015"]
    assert "depends on" in failed["message"]


def test_old_driver_core_debug_lines_bind_the_virtio_devices_not_a_device_named_like_a_driver():
    # drivers/base/dd.c driver_bound() printed dev_name(dev) first before 5.x ("driver:
    # 'virtio0': driver_bound: bound to device 'virtio_blk'"): virtio0 is the device.
    report = analyse_json(ERAS / "linux-3.x-driver-core-debug-old-order.log")
    names = {d["guest_name"] for d in report["devices"]}
    assert names == {"virtio0", "virtio1"}
    assert all("bound" in d["driver_ok"]["text"] for d in report["devices"])


def test_virtio_gpu_error_responses_are_the_gpu_devices_with_the_spec_names():
    report = analyse_json(ERAS / "linux-6.x-virtio-gpu-error-responses.log")
    (found,) = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert found["device"] == "virtio0" and found["severity"] == "error"
    assert ("VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE with VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID"
            in found["message"])


def test_a_built_in_virtio_gpu_error_response_is_read(tmp_path):
    # DRM_ERROR of a built-in driver: "[drm:%ps] *ERROR* " with no " [module]"; a paste
    # that took "*ERROR*" for bold markup keeps "ERROR".
    log = tmp_path / "gpu.log"
    log.write_text("[   22.909454] [drm:virtio_gpu_dequeue_ctrl_func] *ERROR* response 0x1200 "
                   "(command 0x105)\n"
                   "[   23.169138] [drm:virtio_gpu_dequeue_ctrl_func] ERROR response 0x1201 "
                   "(command 0x101)\n")
    report = analyse_json(log)
    messages = [f["message"] for f in report["findings"] if f["rule"] == "VD006"]
    assert len(messages) == 2 and "VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D" in messages[0]
    assert "RESOURCE_CREATE_2D with VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY" in messages[1]
    assert all("gpu device" in m for m in messages)
    assert not [f for f in report["findings"] if f["rule"] in ("VD016", "VD020")]


def test_virtio_iommu_faults_are_errors_naming_the_endpoint():
    report = analyse_json(ERAS / "linux-5.x-virtio-iommu-faults.log")
    found = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert {f["severity"] for f in found} == {"error"} and len(found) == 2
    assert "endpoint 32: PCI 00:04.0" in found[0]["message"] and "(2 times)" in found[0]["message"]
    assert all("only reports" in f["hint"] for f in found)


def test_a_suspend_a_virtio_driver_refused_is_a_warning_not_a_broken_device():
    report = analyse_json(ERAS / "linux-5.x-virtio-mem-suspend-refused.log")
    found = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert found and {f["severity"] for f in found} == {"warning"}
    assert all("[pm]" in f["message"] and "broken" not in f["hint"] for f in found)
    assert "suspend" in found[0]["hint"]


def test_a_virtio_fs_tag_that_is_a_block_device_name_says_how_to_name_the_root(tmp_path):
    # fs/fuse/virtio_fs.c "virtio-fs: tag <%s> not found": root=/dev/root handed over as
    # the tag; any tag text is read (a path, a space).
    log = tmp_path / "root.log"
    log.write_text("virtio-fs: tag </dev/root> not found\n"
                   "virtio-fs: tag <host share> not found\n")
    found = [f for f in analyse_json(log)["findings"] if f["rule"] == "VD015"]
    assert len(found) == 2
    assert "'/dev/root'" in found[0]["message"] and "root=<tag>" in found[0]["hint"]
    assert "'host share'" in found[1]["message"] and "root=<tag>" not in found[1]["hint"]


def test_an_iommu_fault_is_an_error_of_the_virtio_device_at_its_address_only():
    # DMAR "Request device [00:03.0] fault addr ...": the net device's function; the
    # fault of 00:1f.2 (no virtio device of the log) makes no device and no finding.
    report = analyse_json(ERAS / "linux-5.x-intel-iommu-dma-fault.log")
    (found,) = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert found["device"] == "pci-0000:00:03.0" and "(2 times)" in found["message"]
    assert "VIRTIO_F_ACCESS_PLATFORM" in found["hint"]
    assert len(report["devices"]) == 2



def test_a_full_bounce_buffer_is_an_error_of_the_device_that_mapped():
    # "virtio-pci 0000:00:04.0: swiotlb buffer is full (sz: ...)": the disk's mappings
    # failed in an SEV guest; twice, one finding, with the swiotlb= hint.
    report = analyse_json(ERAS / "linux-6.x-sev-swiotlb-full.log")
    (found,) = [f for f in report["findings"] if "[dma_bounce]" in f["message"]]
    assert found["device"] == "pci-0000:00:04.0" and "(2 times)" in found["message"]
    assert "swiotlb=" in found["hint"] and "dma_bounce" in found["message"]


def test_the_6_8_watchdog_line_is_a_transmit_timeout_of_a_device_that_was_up():
    # netdev_crit "NETDEV WATCHDOG: CPU: %d: transmit queue %u timed out %u ms" (6.8+)
    report = analyse_json(ERAS / "linux-6.8-netdev-watchdog-crit.log")
    (device,) = report["devices"]
    assert device["driver_ok"]["line"] == 4 and "watchdog" in device["driver_ok"]["why"]
    found = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert found and all("[tx_timeout]" in f["message"] for f in found)


def test_the_untagged_9p_refusal_of_older_kernels_is_an_unserved_mount():
    # "9pnet_virtio: no channels available" (3.x-4.x): no tag to quote, one finding
    report = analyse_json(ERAS / "linux-3.x-9p-no-channels.log")
    (found,) = [f for f in report["findings"] if f["rule"] == "VD015"]
    assert "does not print its tag" in found["message"] and "''" not in found["message"]


def test_an_lspci_listing_gives_each_function_its_type_and_says_nothing_of_drivers():
    # "01:00.0 Ethernet controller [0200]: Red Hat, Inc. Virtio 1.0 network device [1af4:1041]":
    # the NIC joins dmesg's 01:00.0; pci.ids' "filesystem" is the 9p transport, "file
    # system" virtio-fs; a listed-only function is no warning
    report = analyse_json(ERAS / "linux-6.x-lspci-listing.log")
    types = {d["address"]: d["type"] for d in report["devices"]}
    assert types == {"0000:01:00.0": "net", "0000:02:00.0": "block", "0000:03:00.0": "fs",
                     "0000:04:00.0": "9p"}
    listed = [f for f in report["findings"] if f["rule"] == "VD004"]
    assert len(listed) == 3 and all(f["severity"] == "info" and "lspci" in f["message"]
                                    for f in listed)


def test_a_virtio_disks_io_errors_are_one_error_of_that_disk():
    # "blk_update_request: I/O error, dev vdb, ..." and "Buffer I/O error on dev vdb1":
    # virtio2's ([vdb]); vda's device has no finding
    report = analyse_json(ERAS / "linux-5.x-virtio-blk-io-error.log")
    (found,) = [f for f in report["findings"] if f["rule"] == "VD006"]
    (vdb,) = [d for d in report["devices"] if d["guest_name"] == "virtio2"]
    assert found["device"] == vdb["id"] and "(3 times)" in found["message"]
    assert "[io_error]" in found["message"] and "VIRTIO_BLK_S_IOERR" in found["hint"]


def test_virtio_numbers_past_the_functions_shown_are_not_joined_by_position(tmp_path):
    # virtio1 and virtio2 with two functions: virtio0 (registered first) is on a function
    # the excerpt never shows, so the functions shown are not the 2nd and 3rd: kept apart
    # (before: virtio1 "probably" on 00:07.0 by position, virtio2 on 00:06.0 as the rest)
    log = tmp_path / "excerpt.log"
    log.write_text(
        "[    0.912044] virtio-pci 0000:00:06.0: enabling device (0000 -> 0003)\n"
        "[    0.940182] virtio-pci 0000:00:07.0: enabling device (0000 -> 0003)\n"
        "[    0.981930] virtio_blk virtio1: [vda] 41943040 512-byte logical blocks "
        "(21.5 GB/20.0 GiB)\n"
        "[    0.988412] virtio_blk virtio2: [vdb] 2097152 512-byte logical blocks "
        "(1.07 GB/1.00 GiB)\n")
    report = analyse_json(log)
    disks = [d for d in report["devices"] if d["type"] == "block"]
    assert len(disks) == 2 and all(d["address"] is None for d in disks)
    assert any("kept apart" in n for n in report["matching_notes"])


def test_an_error_line_naming_only_an_interface_is_a_net_device_of_that_name(tmp_path):
    # net/sched/sch_generic.c dev_watchdog(), 2.6-6.7: "NETDEV WATCHDOG: %s (%s): transmit
    # queue %u timed out" (the interface, then the driver that registered it). With no
    # virtio device in the log, the virtio_net interface enp0s1 is a net device of its own,
    # which was up (the watchdog runs only then); before, the report listed no device and
    # said "the net device of interface enp0s1 (no line of the log names its virtio
    # device)", a held-out journal's net device missing from the report
    log = tmp_path / "watchdog.log"
    log.write_text("Jun 03 22:35:11 host kernel: NETDEV WATCHDOG: enp0s1 (virtio_net): "
                   "transmit queue 0 timed out\n")
    report = analyse_json(log)
    (device,) = report["devices"]
    assert (device["id"], device["type"], device["netdev"]) == ("enp0s1", "net", "enp0s1")
    assert device["driver_ok"]["state"] == "implied" and device["driver_ok"]["line"] == 1
    (found,) = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert found["device"] == "enp0s1" and "[tx_timeout]" in found["message"]


def test_a_virtio_disks_io_error_naming_only_the_disk_is_a_block_device_of_that_name(tmp_path):
    # block/blk-core.c blk_print_req_error() "%s error, dev %s, sector %llu ..." (5.x+;
    # "blk_update_request: I/O error, dev %s" before) and fs/buffer.c "Buffer I/O error on
    # dev %pg": only virtio_blk names its disks vd<letters> (virtblk_name_format("vd")), so
    # vdc is a virtio block device that had requests, though no line shows its virtioN
    log = tmp_path / "io.log"
    log.write_text("[  166.033957] I/O error, dev vdc, sector 264 op 0x1:(WRITE) flags 0x9800 "
                   "phys_seg 1 prio class 2\n"
                   "[  166.037307] Buffer I/O error on dev vdc1, logical block 9, lost sync "
                   "page write\n")
    report = analyse_json(log)
    (device,) = report["devices"]
    assert (device["id"], device["type"]) == ("vdc", "block")
    assert device["driver_ok"]["state"] == "implied"
    (found,) = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert found["device"] == "vdc" and "(2 times)" in found["message"]


def test_an_interface_error_stays_apart_from_a_device_whose_interface_is_not_shown(tmp_path):
    # 00:03.0 is a virtio net function (drivers/pci/probe.c pci_setup_device() "[%04x:%04x]
    # type %02x class %#08x") whose interface the log never names: eth1's watchdog may be
    # its, or a second NIC's; neither is claimed, no second record is made of one device
    log = tmp_path / "two.log"
    log.write_text("[    0.301000] pci 0000:00:03.0: [1af4:1000] type 00 class 0x020000\n"
                   "[  301.000000] NETDEV WATCHDOG: eth1 (virtio_net): transmit queue 0 timed "
                   "out\n")
    report = analyse_json(log)
    assert [(d["address"], d["type"]) for d in report["devices"]] == [("0000:00:03.0", "net")]
    (found,) = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert found["device"] == "-" and "NETDEV WATCHDOG: eth1" in found["message"]


@pytest.mark.parametrize("name", ["linux-4.x-pci-bar-not-assigned",
                                  "linux-6.x-pci-bar-not-claimed"])
def test_a_bar_the_pci_core_would_not_enable_is_the_cause_of_the_failed_probe(name):
    # pci_enable_resources()'s refusal, then the driver core's "probe ... failed with error
    # -22": one finding on that function, the refusal its line and the BAR its cause
    report = analyse_json(ERAS / f"{name}.log")
    (found,) = [f for f in report["findings"] if f["rule"] == "VD015"]
    assert "can't enable device" in found["evidence"]
    assert "BARs has no address" in found["message"] and "pci=realloc" in found["hint"]
    assert found["line"] == (7 if "4.x" in name else 3)


def test_drm_debug_lines_under_a_virtio_function_are_its_gpu_and_no_failure():
    # __drm_dev_dbg()'s "[drm:drm_atomic_check_only [drm]] ... atomic core check failed"
    # under "virtio-pci 0000:00:01.0:" (virtio_gpu's DRM device sits on the function in 6.x)
    report = analyse_json(ERAS / "linux-6.x-gpu-drm-debug-excerpt.log")
    (gpu,) = report["devices"]
    assert gpu["type"] == "gpu" and gpu["address"] == "0000:00:01.0"
    assert not [f for f in report["findings"] if f["severity"] in ("error", "warning")]


def test_the_virtio_disk_a_failed_root_mount_lists_is_a_block_device_that_was_driven():
    # printk_all_partitions()'s "fd00 10485760 vda " and " driver: virtio_blk" (two records
    # since 4.9) in a paste that starts at the failure: the disk's device, DRIVER_OK implied
    report = analyse_json(ERAS / "linux-6.x-root-mount-panic-excerpt.log")
    (disk,) = report["devices"]
    assert disk["type"] == "block" and disk["driver_ok"]["line"] == 4
    assert "available partitions" in disk["driver_ok"]["why"]
    (root,) = [f for f in report["findings"] if f["rule"] == "VD024"]
    assert "PARTUUID=5e1c7a2d-02" in root["message"]


def test_the_interrupt_line_the_kernel_switched_off_is_its_virtio_devices_error():
    # "irq 11: nobody cared ..." and "Disabling IRQ #11" (kernel/irq/spurious.c) on the line
    # "PCI->APIC IRQ transform: INT A -> IRQ 11" gave 00:03.0: errors of that device
    report = analyse_json(ERAS / "linux-5.x-irq-nobody-cared-intx.log")
    (net,) = report["devices"]
    found = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert {f["device"] for f in found} == {net["id"]}
    (off,) = [f for f in found if "[irq_disabled]" in f["message"]]
    assert "MSI-X" in off["hint"] and "stall" in off["hint"]


def test_a_9p_root_with_no_channel_is_a_missing_9p_device_whatever_its_tag():
    # net/9p/trans_virtio.c "no channels available for device %s": the tag is the mount's
    # source, any text ("/dev/root" for a 9p root); before, that tag left the line unread.
    report = analyse_json(ERAS / "linux-6.x-9p-root-no-channel.log")
    (found,) = [f for f in report["findings"] if f["rule"] == "VD015"]
    assert "'/dev/root'" in found["message"] and "virtio 9p" in found["message"]
    # a 9p root is mounted by that tag: the device is missing, the tag is not misnamed
    assert "mount_tag=/dev/root" in found["hint"] and "root=<tag>" not in found["hint"]


def test_a_built_in_virtio_blk_frame_without_its_prefix_is_the_block_drivers(tmp_path):
    # drivers/block/virtio_blk.c's blk-mq .queue_rq is virtio_queue_rq(): a built-in
    # driver's frame prints no [virtio_blk], and the name's "virtio_" is not the core's
    # (before: "the virtio core"). arch/x86/mm/fault.c "BUG: kernel NULL pointer
    # dereference, address: %px", arch/x86/kernel/dumpstack.c "RIP: %04x:%pS"
    log = tmp_path / "queue-rq.log"
    log.write_text("[   57.301245] BUG: kernel NULL pointer dereference, address: "
                   "0000000000000010\n"
                   "[   57.302410] Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
                   "[   57.303402] RIP: 0010:virtio_queue_rq+0x1a2/0x4b0\n"
                   "[   57.304990] Call Trace:\n"
                   "[   57.305401]  blk_mq_dispatch_rq_list+0x1b0/0x7e0\n")
    (found,) = [f for f in analyse_json(log)["findings"] if f["rule"] == "VD021"]
    assert "virtio_queue_rq (the virtio block driver)" in found["message"]


def test_busyboxs_failed_mount_of_the_root_is_a_root_that_did_not_mount(tmp_path):
    # busybox util-linux/mount.c bb_perror_msg("mounting %s on %s failed") on /root, the
    # initramfs's rootmnt; initramfs-tools' init then finds no init on it (its
    # panic "No init found. Try passing init= bootarg."), a consequence, not a second root
    log = tmp_path / "mount.log"
    log.write_text("Begin: Will now check root file system ... done.\n"
                   "mount: mounting /dev/vdb2 on /root failed: Invalid argument\n"
                   "No init found. Try passing init= bootarg.\n")
    (found,) = [f for f in analyse_json(log)["findings"] if f["rule"] == "VD024"]
    assert found["line"] == 2 and "/dev/vdb2" in found["message"]
