"""Formats from the twelfth non-Linux-guest and firmware judge (2026-12-04), written from
their sources with values of our own (the posted logs that showed the gaps stay out of the
repository):

* illumos's libc assert() (usr/src/lib/libc/port/gen/assert.c): _assert() prints
  "Assertion failed: %s, file %s, line %d" and _assert_c99() ", function %s" after it,
  the expression in no parentheses. bhyve on illumos (SmartOS, OmniOS) aborts through it
  when a device model's assert fails; only FreeBSD's and macOS's "Assertion failed: (%s),
  function %s, file %s, line %d." was read, so the abort of a virtio device model exited 0.
* libvirt's domain-log command line (qemu_process.c, virCommandWriteArgLog(): one option a
  line, " \\" at the end of each) as KubeVirt's virt-launcher logs it, one JSON message
  with the newlines gone: each option follows a backslash ("\\-device '{...}'"), which
  hid every -device of a Windows guest's command.
* RT-Thread (rtdbg.h's "[E/TAG] message"): the 4.x qemu-virt64 BSPs' mnt.c says
  "virtio-blk0 mount failed" of the block device virtio_blk.c registers only after
  DRIVER_OK, and the 5.x device-model stack's virtio.c and virtio_mmio.c name the device
  "virtio%u-%s" in their probe failures. No RT-Thread line was read.
* Windows virtio-win's viogpudo, its checked build's debugger trace: VioGpuDod::
  CheckHardware() names the function it takes by its PCI ids. The GPU was not listed.
"""

import format_tables


def _run(text, dialects):
    return format_tables.analysed_findings(text, dialects, "console.log")


# bhyve's zone log on illumos: the block model's assert on a request of too many segments.
ILLUMOS_BHYVE_ABORT = (
    "fbuf frame buffer base: 0xfffffd7fe6a00000 [sz 16777216]\n"
    "Assertion failed: n >= 2 && n <= BLOCKIF_IOV_MAX + 2, file pci_virtio_block.c, "
    "line 251\n")


def test_an_illumos_assert_in_a_bhyve_device_model_fails_that_device(dialects):
    result, findings = _run(ILLUMOS_BHYVE_ABORT, dialects)
    assert ("VD006", "error") in findings
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert "block device" in finding.message and finding.line == 2


def test_a_c99_build_names_the_function_after_the_line(dialects):
    result, _ = _run(
        "Assertion failed: len > 0, file ../../common/pci_virtio_net.c, line 318, "
        "function pci_vtnet_tap_rx\n", dialects)
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert "net device" in finding.message


def test_an_illumos_assert_in_another_file_is_no_device_failure(dialects):
    for line in ("Assertion failed: error == 0, file pci_emul.c, line 1402",
                 "Assertion failed: vcpu < VM_MAXCPU, file ../common/bhyverun.c, line 612, "
                 "function vcpu_thread"):
        _, findings = _run(line + "\n", dialects)
        assert not [f for f in findings if f[0] == "VD006"], line


# KubeVirt's virt-launcher logs the libvirt domain log's QEMU command as one JSON message:
# libvirt's " \" continuations (virCommandWriteArgLog()) stay, joined to the next option
# ("\-device"), once the newlines between them are gone.
VIRT_LAUNCHER_COMMAND = (
    '{"component":"virt-launcher","level":"info","msg":"LC_ALL=C \\\\PATH=/usr/local/sbin:'
    '/usr/bin \\\\/usr/libexec/qemu-kvm \\\\-name guest=default_w2k22,debug-threads=on '
    '\\\\-machine pc-q35-rhel9.2.0,usb=off \\\\-device \'{\\"driver\\":\\"virtio-blk-pci-'
    'non-transitional\\",\\"bus\\":\\"pci.5\\",\\"addr\\":\\"0x0\\",\\"drive\\":\\"libvirt-2-'
    'format\\",\\"id\\":\\"ua-rootdisk\\",\\"bootindex\\":1}\' \\\\-netdev \'{\\"type\\":\\"tap'
    '\\",\\"fd\\":\\"23\\",\\"id\\":\\"hostua-default\\"}\' \\\\-device \'{\\"driver\\":\\"virtio-'
    'net-pci-non-transitional\\",\\"netdev\\":\\"hostua-default\\",\\"id\\":\\"ua-default\\",'
    '\\"mac\\":\\"02:6e:41:0c:5a:17\\",\\"bus\\":\\"pci.1\\",\\"addr\\":\\"0x0\\"}\' \\\\-device '
    '\'{\\"driver\\":\\"virtio-balloon-pci-non-transitional\\",\\"id\\":\\"balloon0\\",\\"bus\\":'
    '\\"pci.7\\",\\"addr\\":\\"0x0\\"}\' \\\\-msg timestamp=on","subcomponent":"qemu",'
    '"timestamp":"2026-03-02T10:11:12.131415Z"}\n')


def test_a_virt_launcher_command_declares_its_devices(dialects):
    result, findings = _run(VIRT_LAUNCHER_COMMAND, dialects)
    assert [(d.id, d.device_type) for d in result.model.live_devices()] == [
        ("ua-rootdisk", "block"), ("ua-default", "net"), ("balloon0", "balloon")]
    assert not [f for f in findings if f[0] == "VD020"]


def test_a_lone_continuation_backslash_is_no_word(dialects):
    # libvirt's own domain log: one option a line, " \\" at its end (read before too)
    result, _ = _run("/usr/bin/qemu-system-x86_64 \\\n"
                     "-device virtio-rng-pci,id=rng0,bus=pci.0,addr=0x6 \\\n"
                     "-msg timestamp=on\n", dialects)
    assert [(d.id, d.device_type) for d in result.model.live_devices()] == [
        ("pci-0000:00:06.0", "rng")]


# FreeBSD's mountroot (sys/kern/vfs_mountroot.c parse_mount()) on an installer's or a live
# image's memory disk, md(4)'s md0: the boot stopped on no virtio disk.
MD_ROOT_FAILURE = (
    "Trying to mount root from ufs:/dev/md0 []...\n"
    "Mounting from ufs:/dev/md0 failed with error 2; retrying for 3 more seconds\n"
    "Mounting from ufs:/dev/md0 failed with error 2.\n"
    "\n"
    "Loader variables:\n"
    "  vfs.root.mountfrom=ufs:/dev/md0\n"
    "\n"
    "mountroot> \n")


def test_a_root_that_failed_on_a_memory_disk_is_no_virtio_failure(dialects):
    result, findings = _run(MD_ROOT_FAILURE, dialects)
    assert ("VD024", "info") in findings
    assert not [f for f in findings if f[1] == "error"]
    (finding,) = [f for f in result.findings if f.rule == "VD024"]
    assert "not a virtio disk" in finding.message


def test_other_drivers_bsd_disks_are_no_virtio_disks(dialects):
    for disk in ("/dev/ada0p2", "/dev/nvd0p2", "/dev/wd0a"):
        _, findings = _run(MD_ROOT_FAILURE.replace("/dev/md0", disk), dialects)
        assert ("VD024", "info") in findings, disk
    for disk in ("/dev/vtbd0p2", "/dev/da0p2", "/dev/ld0a"):
        _, findings = _run(MD_ROOT_FAILURE.replace("/dev/md0", disk), dialects)
        assert ("VD024", "error") in findings, disk


def test_vtblks_disk_is_vtbd_with_its_unit(dialects):
    # sys/dev/virtio/block/virtio_blk.c: VTBLK_DISK_NAME "vtbd", the device's unit
    text = ("virtio_pci2: <VirtIO PCI (modern) Block adapter> mem 0xc1000000-0xc1003fff "
            "at device 5.0 on pci0\n"
            "vtblk1: <VirtIO Block Adapter> on virtio_pci2\n"
            "vtblk1: 16384MB (33554432 512 byte sectors)\n"
            + MD_ROOT_FAILURE.replace("/dev/md0", "/dev/vtbd1p4"))
    result, _ = _run(text, dialects)
    (finding,) = [f for f in result.findings if f.rule == "VD024"]
    assert finding.severity == "error"
    assert finding.device is not None and "a disk on this virtio block device" in finding.message


# RT-Thread's virtio drivers through rtdbg.h ("[E/TAG] message"): the 4.x qemu-virt64
# BSPs' mnt.c on the block device virtio_blk.c registers after DRIVER_OK, and the 5.x
# device-model stack's probe failures ("virtio%u-%s" names).
RT_THREAD_MOUNT = (
    "[I/utest] utest is initialize success.\n"
    "[E/DBG] virtio-blk0 mount failed\n"
    "\n"
    " \\ | /\n"
    "- RT -     Thread Smart Operating System\n"
    "msh />\n")


def test_rt_threads_mount_line_shows_its_block_device_registered(dialects):
    result, findings = _run(RT_THREAD_MOUNT, dialects)
    (device,) = result.model.live_devices()
    assert (device.id, device.device_type) == ("virtio-blk0", "block")
    assert device.driver_ok_implied is not None
    assert not [f for f in findings if f[1] in ("error", "warning")]


def test_rt_threads_device_model_probe_failures(dialects):
    result, findings = _run(
        "[E/rtdm.virtio] virtio1-net device refuses features: 3\n"
        "[E/virtio.mmio] virtio2-rng.virtqueue[0](rng) num_max is zero\n", dialects)
    assert [(d.id, d.device_type) for d in result.model.live_devices()] == [
        ("virtio1-net", "net"), ("virtio2-rng", "rng")]
    assert ("VD002", "error") in findings and ("VD015", "error") in findings


# Windows virtio-win's viogpudo, its checked build's trace (viogpu/viogpudo/viogpudo.cpp
# VioGpuDod::CheckHardware(): "<--- %s VendorId = 0x%04X DeviceId = 0x%04X"), before
# HWInit runs the handshake: the GPU, held by its driver, DRIVER_OK not shown.
VIOGPUDO_TRACE = (
    "---> KMDOD build on on Mar  3 2025 10:11:12\n"
    "<--- DriverEntry\n"
    "---> VioGpuDodAddDevice\n"
    "<---> VioGpuDodStartDevice\n"
    "---> VioGpuDod::CheckHardware\n"
    "<--- VioGpuDod::CheckHardware VendorId = 0x1AF4 DeviceId = 0x1050\n"
    "---> VioGpuAdapter::HWInit\n")


def test_viogpudos_trace_shows_the_gpu_it_holds(dialects):
    result, findings = _run(VIOGPUDO_TRACE, dialects)
    (device,) = result.model.live_devices()
    assert (device.device_type, device.transport, device.pci_device) == ("gpu", "pci", 0x1050)
    assert device.bound and device.driver_ok_implied is None
    assert not [f for f in findings if f[1] in ("error", "warning")]


def test_viogpudo_on_another_function_finds_no_virtio_device(dialects):
    # CheckHardware runs on the function Windows matched the INF to; another vendor's id
    # is no virtio device
    result, _ = _run(VIOGPUDO_TRACE.replace("0x1AF4 DeviceId = 0x1050",
                                            "0x1234 DeviceId = 0x1111"), dialects)
    assert not result.model.live_devices()
