"""Device lists of VMMs that are not QEMU's own command line as a shell writes it, read as the
devices they declare (model/declared.py, as for QEMU's -device): listed as missing or
never seen when the guest's lines show that, and as declared, not shown when the log has
no line of the guest (a host log alone).

Lines written from the printing code, with made-up values:
* vfkit cmd/vfkit/main.go newVMConfiguration(): log.Info(opts), Go's %v of its
  *cmdline.Options (pkg/cmdline/cmdline.go: Vcpus, MemoryMiB, kernel, cmdline, initrd, the
  bootloader's stringSliceValue, TimeSync, Devices []string, ...), logrus's text form;
* multipass src/platform/backends/qemu/qemu_virtual_machine.cpp make_qemu_process():
  mpl::log(info, vm_name, fmt::format("process arguments '{}'", arguments().join(", ")))
  under its logger's "[<time>] [info] [<vm>] " head;
* the Android emulator's -verbose run (android-emu main-emugl.cpp and qemu-launcher):
  printf("emulator: argv[%02d] = \\"%s\\"\\n", i, args[i]) after "QEMU options list:".
Before, none declared a device (all three were VD020, "a format not read", or nothing)."""

import format_tables

# A Linux guest's PCI enumeration and its net device (drivers/pci/probe.c
# pci_setup_device()'s "[%04x:%04x] type %02x class %#08x", virtio_net's rename line),
# then init: its lines list every PCI function the guest found.
_GUEST = ("[    0.300300] pci 0000:00:03.0: [1af4:1041] type 00 class 0x020000\n"
          "[    1.200000] virtio_net virtio0 enp0s3: renamed from eth0\n"
          "[    5.000000] Run /init as init process\n")

_VFKIT = ("INFO[0000] &{2 2048    {[efi variable-store=/var/vm/efi-bl,create] true}  "
          "[virtio-net,nat,mac=52:54:00:12:34:56 virtio-rng virtio-blk,path=/var/vm/disk.raw] "
          "unix:///var/vm/rest.sock info false  {[] false}}\n")

_MULTIPASS = ("[2026-11-30T10:00:00.123] [info] [primary] process arguments '-machine, "
              "virt,gic-version=3, -accel, hvf, -nic, vmnet-shared,model=virtio-net-pci,"
              "mac=52:54:00:aa:bb:cc, -device, virtio-scsi-pci,id=scsi0, -drive, "
              "file=/var/mp/disk.img,if=none,format=qcow2,discard=unmap,id=hda, -device, "
              "scsi-hd,drive=hda,bus=scsi0.0, -smp, 1, -device, virtio-rng-pci'\n")

_ANDROID = ("QEMU options list:\n"
            'emulator: argv[00] = "/opt/android/emulator/qemu/linux-x86_64/qemu-system-x86_64"\n'
            'emulator: argv[01] = "-netdev"\n'
            'emulator: argv[02] = "user,id=mynet"\n'
            'emulator: argv[03] = "-device"\n'
            'emulator: argv[04] = "virtio-net-pci,netdev=mynet"\n'
            'emulator: argv[05] = "-drive"\n'
            'emulator: argv[06] = "if=none,index=0,id=system,file=/opt/avd/system.img"\n'
            'emulator: argv[07] = "-device"\n'
            'emulator: argv[08] = "virtio-blk-pci,drive=system,modern-pio-notify"\n')


def _run(text, dialects):
    return format_tables.analyse_text("vmm.log", text, dialects)


def _declared(result):
    return sorted((d.driver, d.device_type, d.transport) for d in result.model.declarations)


def test_each_list_declares_its_virtio_devices(dialects):
    assert _declared(_run(_VFKIT, dialects)) == [
        ("virtio-blk", "block", None), ("virtio-net", "net", None),
        ("virtio-rng", "rng", None)]
    assert _declared(_run(_MULTIPASS, dialects)) == [
        ("virtio-net-pci", "net", "pci"), ("virtio-rng-pci", "rng", "pci"),
        ("virtio-scsi-pci", "scsi", "pci")]
    assert _declared(_run(_ANDROID, dialects)) == [
        ("virtio-blk-pci", "block", "pci"), ("virtio-net-pci", "net", "pci")]


def test_a_host_log_alone_lists_its_devices_as_not_shown(dialects):
    # the policy QEMU's command line has (tests/test_declared_devices.py): each declared
    # device listed, not shown, no finding (before: none listed)
    for text in (_VFKIT, _MULTIPASS, _ANDROID):
        result = _run(text, dialects)
        devices = result.model.live_devices()
        assert sorted(d.declaration.driver for d in devices) == sorted(
            driver for driver, _, _ in _declared(result))
        assert all(d.declaration.guest_silent and d.sides == {"host"} for d in devices)
        assert not result.findings and result.model.unrecognised == 0


def test_with_the_guest_s_lines_the_devices_it_never_found_are_reported(dialects):
    for text, missing in ((_VFKIT, {"rng", "block"}), (_MULTIPASS, {"rng", "scsi"}),
                          (_ANDROID, {"block"})):
        result = _run(text + _GUEST, dialects)
        devices = result.model.live_devices()
        (net,) = [d for d in devices if d.device_type == "net"]
        assert net.declaration is not None and "guest" in net.sides  # joined, not listed twice
        assert {d.device_type for d in devices if d.declaration is not None
                and d.declaration.missing} == missing
        assert sorted(f.device_identity for f in result.findings if f.rule == "VD025") == \
            sorted(d.identity for d in devices if d.declaration is not None
                   and d.declaration.missing)


def test_an_argument_whose_option_line_is_cut_declares_nothing(dialects):
    # argv[07] ("-device") cut from the paste: argv[08]'s value is no declaration.
    text = "".join(line + "\n" for line in _ANDROID.splitlines() if "argv[07]" not in line)
    assert _declared(_run(text, dialects)) == [("virtio-net-pci", "net", "pci")]


def test_vfkit_s_own_device_lines_and_its_options_are_one_device(dialects):
    # pkg/vf/virtio.go's "Adding virtio-blk device (imagePath: %s)" after the options: the
    # same program's record of the declared disk, not a second device.
    adding = ("INFO[0000] Adding virtio-net device (nat: true macAddress: [52:54:00:12:34:56])\n"
              "INFO[0000] Adding virtio-rng device\n"
              "INFO[0000] Adding virtio-blk device (imagePath: /var/vm/disk.raw)\n")
    result = _run(_VFKIT + adding + _GUEST, dialects)
    devices = result.model.live_devices()
    assert sorted(d.device_type for d in devices) == ["block", "net", "rng"]
    assert {f.device_identity for f in result.findings if f.rule == "VD025"} == {
        d.identity for d in devices if d.device_type in ("block", "rng")}
