"""Formats from the eleventh non-Linux-guest and firmware judge (2026-12-04), written from
their sources with values of our own (the posted logs that showed the gaps stay out of the
repository):

* FreeBSD's stack(9) backtrace: a kernel without DDB (a release's GENERIC) prints its panic's
  stack through kern/subr_kdb.c kdb_backtrace() ("KDB: stack backtrace:") and
  kern/subr_stack.c stack_print() / stack_print_ddb(), "#%d %p at %s+%#lx" a frame. Only
  ddb's "%s() at %s+%#lx" frames were read, so a release kernel's panic in a virtio driver
  named no driver and exited 0.
* The FreeBSD drivers vtgpu (sys/dev/virtio/gpu/virtio_gpu.c) and vt9p (the 9P transport,
  sys/dev/virtio/p9fs/virtio_p9fs.c, and the virtfs kmod's 9pnet/trans_virtio.c): their
  frames are their devices'.
* bhyve(8)'s -s options on a line without the program (a script's continuation lines, the
  options quoted alone): usr.sbin/bhyve pci_emul.c pci_parse_slot().
* libvirt's JSON -device (libvirt 7.x+, QEMU 6.0+ qemu_command.c) copied from an HTML page
  that escaped its quotes ("&quot;": Bugzilla's pages and the tianocore issues imported from
  them).
"""

import format_tables


def _frames(result):
    """The functions of the stack frames the analysis read."""
    model = result.model
    return [frame.get("function") for _, frames in [*model.crashes, *model.headless_stacks]
            for frame in frames]


def _run(text, dialects):
    return format_tables.analysed_findings(text, dialects, "console.log")


# A release kernel's page fault in vtblk's completion path (amd64 trap_fatal(), vpanic(),
# then stack(9)'s frames).
RELEASE_PANIC = (
    "vtblk0: <VirtIO Block Adapter> on virtio_pci2\n"
    "vtblk0: 20480MB (41943040 512 byte sectors)\n"
    "Fatal trap 12: page fault while in kernel mode\n"
    "cpuid = 3; apic id = 03\n"
    "fault virtual address\t= 0x18\n"
    "panic: page fault\n"
    "cpuid = 3\n"
    "time = 1733300000\n"
    "KDB: stack backtrace:\n"
    "#0 0xffffffff80b7fa3d at kdb_backtrace+0x5d\n"
    "#1 0xffffffff80b32c41 at vpanic+0x131\n"
    "#2 0xffffffff80b32b03 at panic+0x43\n"
    "#3 0xffffffff81002e8b at trap_fatal+0x40b\n"
    "#4 0xffffffff81002ed6 at trap_pfault+0x46\n"
    "#5 0xffffffff80fd9b28 at calltrap+0x8\n"
    "#6 0xffffffff8097c5e2 at vtblk_done_completed+0x52\n"
    "#7 0xffffffff8097c4c0 at vtblk_vq_intr+0x70\n"
    "#8 0xffffffff80ae8a1e at ithread_loop+0x25e\n"
    "#9 0xffffffff80ae4c82 at fork_exit+0x82\n"
    "#10 0xffffffff80fdab8e at fork_trampoline+0xe\n"
    "Uptime: 2h11m4s\n")


def test_a_release_kernels_stack9_frames_name_the_virtio_driver(dialects):
    result, findings = _run(RELEASE_PANIC, dialects)
    assert ("VD021", "error") in findings
    (finding,) = [f for f in result.findings if f.rule == "VD021"]
    # Outside a probe the crash is the driver's, run-wide (as a Linux oops is): stack(9)
    # names the trap entry (calltrap) where ddb prints "--- trap", and the frame after it is
    # what faulted.
    assert "vtblk_done_completed (the virtio block driver)" in finding.message
    assert finding.line == 3


def test_each_stack9_frame_is_a_frame(dialects):
    frames = [line for line in RELEASE_PANIC.splitlines() if line.startswith("#")]
    for line in frames:
        result, _ = _run(line + "\n", dialects)
        assert result.model.unrecognised == 0, line
        function = line.split(" at ", 1)[1].split("+", 1)[0]
        assert result.model.unrecognised == 0 and _frames(result) == [function], line


def test_stack9_frames_of_no_virtio_driver_blame_none(dialects):
    text = RELEASE_PANIC.replace("vtblk_done_completed", "g_io_deliver").replace(
        "vtblk_vq_intr", "g_disk_done")
    result, findings = _run(text, dialects)
    assert not [f for f in findings if f[0] == "VD021"]
    assert [d.id for d in result.model.live_devices()] == ["vtblk0"]


def test_a_stack_without_a_panic_blames_none(dialects):
    # WITNESS prints the same frames after its own warning (kern/subr_witness.c
    # witness_debugger(): "stack backtrace:"), which is no crash.
    result, findings = _run(
        "vtnet0: <VirtIO Networking Adapter> on virtio_pci0\n"
        "stack backtrace:\n"
        "#0 0xffffffff80bd6785 at witness_debugger+0x65\n"
        "#1 0xffffffff80986240 at vtnet_rxq_eof+0x790\n"
        "#2 0xffffffff80b19dc6 at ithread_loop+0x266\n", dialects)
    assert _frames(result) == ["witness_debugger", "vtnet_rxq_eof", "ithread_loop"]
    assert not [f for f in findings if f[0] == "VD021"]


def test_what_only_looks_like_a_stack9_frame_is_none(dialects):
    # gdb's frames ("#0  0x... in f (...) at file.c:12"), a ddb frame, a list item.
    for line in ("#5  0xffffffff82c2209e in zio_vdev_io_bypass (zio=0xfffff80767ed29a0)",
                 "#1  0x00000000004005d6 in main () at t.c:7",
                 "#3 0xffffffff80c1bb1f at 4 p.m.",
                 "# 0x1f at vtnet_rxq_eof+0x10"):
        result, findings = _run(line + "\n", dialects)
        assert not _frames(result), line
        assert not [f for f in findings if f[0] == "VD021"], line


def test_the_9p_transport_and_gpu_drivers_frames_are_their_devices(dialects):
    for function, kind in (("vt9p_intr_complete", "9p"), ("vtgpu_ctrl_poll", "gpu")):
        text = RELEASE_PANIC.replace("vtblk_done_completed", function).replace(
            "vtblk_vq_intr", "intr_event_execute_handlers")
        result, _ = _run(text.split("\n", 2)[2], dialects)
        (finding,) = [f for f in result.findings if f.rule == "VD021"]
        assert f"the virtio {kind} driver" in finding.message, (function, finding.message)



# bhyve(8)'s -s options without the program before them on their line: a script's
# continuation lines, or the options quoted alone (usr.sbin/bhyve pci_emul.c
# pci_parse_slot(): "pcislot[:function]" or "bus:pcislot:function", then the emulation).
BHYVE_SCRIPT = (
    "bhyve -c 2 -m 2G -H -A \\\n"
    "  -s 0,hostbridge \\\n"
    "  -s 3,virtio-net,tap7 \\\n"
    "  -s 4:0,virtio-blk,/vm/w2/disk0.img \\\n"
    "  -s 5,virtio-rnd \\\n"
    "  -s 31,lpc -l com1,/dev/nmdm2A \\\n"
    "  w2\n")


def test_bhyve_options_on_continuation_lines_declare_their_devices(dialects):
    result, findings = _run(BHYVE_SCRIPT, dialects)
    assert [(d.id, d.device_type) for d in result.model.live_devices()] == [
        ("pci-0000:00:03.0", "net"), ("pci-0000:00:04.0", "block"),
        ("pci-0000:00:05.0", "rng")]
    assert findings == []
    assert result.model.unrecognised == 0


def test_bhyve_options_quoted_alone_declare_their_devices(dialects):
    result, findings = _run("-s 2,virtio-blk,/vm/a.img -s 3,virtio-blk,/vm/b.img "
                            "-s 6,virtio-net,slirp\n", dialects)
    assert [(d.id, d.device_type) for d in result.model.live_devices()] == [
        ("pci-0000:00:02.0", "block"), ("pci-0000:00:03.0", "block"),
        ("pci-0000:00:06.0", "net")]
    assert findings == []


def test_other_s_options_declare_nothing(dialects):
    # QEMU's -s (the gdb stub, no value), other programs' -s, an -s of no virtio emulation.
    for line in ("qemu-system-x86_64 -s -S -drive file=a.img,if=ide\n",
                 "  -s 31,lpc -l com1,stdio \\\n",
                 "ls -s 3,virtio-net\n",
                 "sort -s -k 2,virtio-net.txt\n"):
        result, _ = _run(line, dialects)
        assert result.model.live_devices() == [], line


# libvirt's JSON -device (7.x+), copied from an HTML page that escaped its quotes (Bugzilla's
# pages, and the GitHub issues imported from them keep "&quot;"): QEMU's syntax all the same.
ESCAPED_DEVICE = (
    "-netdev tap,fd=31,vhost=on,vhostfd=33,id=hostnet0 -device {&quot;driver&quot;:"
    "&quot;virtio-net-pci&quot;,&quot;netdev&quot;:&quot;hostnet0&quot;,&quot;id&quot;:"
    "&quot;net0&quot;,&quot;mac&quot;:&quot;52:54:00:12:ab:cd&quot;,&quot;bus&quot;:"
    "&quot;pci.2&quot;,&quot;addr&quot;:&quot;0x0&quot;} -device {&quot;driver&quot;:"
    "&quot;virtio-blk-pci&quot;,&quot;bus&quot;:&quot;pci.3&quot;,&quot;addr&quot;:"
    "&quot;0x0&quot;,&quot;drive&quot;:&quot;libvirt-1-format&quot;,&quot;id&quot;:"
    "&quot;virtio-disk0&quot;,&quot;bootindex&quot;:1}\n")


def test_an_html_escaped_json_device_is_declared(dialects):
    plain, _ = _run(ESCAPED_DEVICE.replace("&quot;", '"'), dialects)
    result, findings = _run(ESCAPED_DEVICE, dialects)
    assert [(d.id, d.device_type) for d in result.model.live_devices()] == \
        [(d.id, d.device_type) for d in plain.model.live_devices()] == \
        [("net0", "net"), ("virtio-disk0", "block")]
    assert findings == []
