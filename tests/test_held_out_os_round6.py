"""Formats from the sixth non-Linux-guest judge (2026-12-03), written from their sources; the
rows of docs/format-coverage.md and tests/fixtures/formats/bsd-vmm.tsv check each line's
event, these tests the devices and findings the lines give together.

* U-Boot disk/part.c part_get_info_by_dev_and_name_or_num(): printf("Couldn't find
  partition %s %s\\n", dev_iface, dev_part_str) when a lookup finds no such device or
  partition. A held-out Haiku boot script on a machine without virtio (RVVM) printed it
  for "virtio 0" and got VD020 ("a format virtiodiag does not read").
* OSv (grammars/osv.lark): drivers/virtio-blk.cc "virtio-blk: Add blk device instances %d as
  %s, devsize=%lld" after DRIVER_OK, virtio-rng.cc's source registration ("random: %s
  registered as a source."), virtio-net.cc read_config() "The mac addr of the device is
  %x:..." and "Features: %s=%d,%s=%d", core/debug.cc's "[%s/%lu %s]: " logger prefix and
  virtio.cc's errors. A held-out OSv boot's standard lines gave VD020 and a posted
  virtio-net debug print no device.
* bhyve(8)'s "-s slot,emulation[,conf]" (usr.sbin/bhyve pci_emul.c pci_parse_slot(),
  pci_virtio_*.c), as vm-bhyve's guest log writes it (lib/vm-run: " [bhyve devices: ...]")
  or a shell echoes the command, and vm-bhyve's configuration ("network0_type=
  \"virtio-net\""): a held-out vm-bhyve issue's configuration gave VD020.
* Unikraft (grammars/unikraft.lark): lib/ukdebug/print.c's line head, plat/kvm/x86
  pci_bus_x86.c "PCI %02x:%02x.%02x (%04x %04x:%04x): driver %p", virtio_pci.c, virtio_bus.c
  and the drivers' "<driver>: %s started" after virtio_dev_drv_up(): read as nothing before
  (the coverage page listed Unikraft as not read).
Lines written from those format strings, with made-up values."""

import format_tables


def _run(text, dialects):
    return format_tables.analyse_text("guest.log", text, dialects)


def test_a_u_boot_lookup_of_a_virtio_disk_it_lacks_is_no_device(dialects):
    """disk/part.c part_get_info_by_dev_and_name_or_num() "Couldn't find partition %s %s":
    a boot script trying "mmc 0" then "virtio 0" on a machine with neither. It denies the
    device: no device is made of it, and the line is read (it gave VD020 before)."""
    result = _run("## Executing script at 88100000\n"
                  "Couldn't find partition mmc 0\n"
                  "Couldn't find partition virtio 0\n"
                  "54 bytes read in 0 ms\n", dialects)
    assert result.model.devices == []
    assert result.findings == []
    assert result.model.unrecognised == 0


def test_osv_boot_lines_are_its_devices_up(dialects):
    """The lines an OSv boot prints by default: each disk and the entropy source after
    the driver set DRIVER_OK; eth0's line (every NIC driver prints it) is no virtio fact."""
    result = _run("OSv v0.57.0\n"
                  "eth0: ethernet address: 52:54:00:12:34:56\n"
                  "virtio-blk: Add blk device instances 0 as vblk0, devsize=10737418240\n"
                  "random: virtio-rng registered as a source.\n"
                  "virtio-blk: Add blk device instances 1 as vblk1 with 2 queues, "
                  "devsize=1073741824\n", dialects)
    devices = {d.id: d for d in result.model.live_devices()}
    assert sorted(devices) == ["vblk0", "vblk1", "virtio-rng"]
    assert [devices[n].device_type for n in ("vblk0", "vblk1", "virtio-rng")] == [
        "block", "block", "rng"]
    assert all(d.driver_ok_implied is not None for d in devices.values())
    assert result.findings == [] and result.model.unrecognised == 0


def test_osv_net_debug_print_is_a_net_device_its_quiet_driver_holds(dialects):
    """virtio-net's read_config() lines, prefix cut: one net device; OSv's info lines
    are off by default, so the log cannot show its DRIVER_OK: device-not-driven is info."""
    result = _run("The mac addr of the device is 8:0:27:bf:26:48\n"
                  "Features: Status=1,TSO_ECN=0\n"
                  "Features: Host TSO ECN=0,CSUM=1\n"
                  "Features: Guest_csum=1,guest tso4=1\n"
                  "Features: host tso4=1\n", dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "net"
    assert [(f.rule, f.severity) for f in result.findings] == [("VD004", "info")]
    assert result.model.unrecognised == 0


def test_osv_logger_error_fails_the_probe(dialects):
    """virtio.cc's queue interrupt set-up failing, under the logger's prefix, after the
    block driver's announcement: the probe failed (VD015, an error)."""
    result = _run("[I/0 virtio-net]: The mac addr of the device is 52:54:0:12:34:56\n"
                  "[E/26 virtio]: Setting MSIx entry for queue 1 failed.\n", dialects)
    assert [(f.rule, f.severity, f.line) for f in format_tables.errors(result)] == [
        ("VD015", "error", 2)]


def test_osv_on_xen_shows_no_virtio_device(dialects):
    """OSv on Xen: xenfront's disk "attaching as vblk0" and eth0's address are no virtio
    device, and no line is left unread as virtio."""
    result = _run("OSv v0.10-227-g4e622f7\n"
                  "eth0: ethernet address: 0:16:3e:4a:f8:a5\n"
                  "backend features: feature-sg feature-gso-tcp4\n"
                  "10340MB <Virtual Block Device> at device/vbd/768attaching as vblk0\n",
                  dialects)
    assert result.model.devices == [] and result.findings == []


_VM_BHYVE_GUEST = (
    "Dec 03 10:00:01:  [bhyve devices: -s 0,hostbridge -s 31,lpc -s 4:0,virtio-blk,"
    "/dev/zvol/tank/vm/g1/disk0 -s 5:0,virtio-net,tap0,mac=58:9c:fc:00:00:01]\n"
    "virtio_pci0: <VirtIO PCI (legacy) Block adapter> port 0x2000-0x203f mem "
    "0xc0000000-0xc0001fff irq 16 at device 4.0 on pci0\n"
    "vtblk0: <VirtIO Block Adapter> on virtio_pci0\n"
    "virtio_pci1: <VirtIO PCI (legacy) Network adapter> port 0x2040-0x205f mem "
    "0xc0002000-0xc0003fff irq 17 at device 5.0 on pci0\n"
    "vtnet0: <VirtIO Networking Adapter> on virtio_pci1\n")


def test_bhyve_slots_join_the_guest_functions(dialects):
    """Each -s gives its PCI function: the declared disk and NIC are the guest's
    virtio_pci0 at 4.0 and virtio_pci1 at 5.0, one record each, nothing missing."""
    result = _run(_VM_BHYVE_GUEST, dialects)
    devices = {d.address: d for d in result.model.live_devices()}
    assert sorted(devices) == ["0000:00:04.0", "0000:00:05.0"]
    assert devices["0000:00:04.0"].declaration.driver == "virtio-blk"
    assert devices["0000:00:05.0"].declaration.driver == "virtio-net"
    assert [f.rule for f in result.findings if f.severity != "info"] == ["VD001", "VD001"]
    assert result.model.unrecognised == 0


def test_a_bhyve_slot_the_guest_never_shows_is_missing(dialects):
    """The command puts a virtio-rnd at 6.0; the guest lists its functions and none is
    at 6.0: declared-device-missing (VD025)."""
    text = _VM_BHYVE_GUEST.replace("mac=58:9c:fc:00:00:01]",
                                   "mac=58:9c:fc:00:00:01 -s 6:0,virtio-rnd]")
    result = _run(text, dialects)
    (missing,) = [f for f in result.findings if f.rule == "VD025"]
    assert missing.line == 1 and "rng" in missing.message


def test_vm_bhyve_configuration_declares_and_a_commented_line_does_not(dialects):
    """vm-bhyve's configuration, no guest line: a declared NIC, no finding; the
    commented-out disk declares nothing; no line is left unread as virtio."""
    result = _run('loader="bhyveload"\n'
                  'network0_type="virtio-net"\n'
                  '#disk0_type="virtio-blk"\n'
                  'disk0_type="ahci-hd"\n', dialects)
    assert [d.driver for d in result.model.declarations] == ["virtio-net"]
    assert result.findings == [] and result.model.unrecognised == 0


def test_qemu_s_option_is_not_bhyve_s(dialects):
    """QEMU's -s is its gdb shorthand: a QEMU command is still read by its own dialect."""
    result = _run("qemu-system-x86_64 -s -S -m 512 -device virtio-net-pci,addr=0x3\n",
                  dialects)
    assert [(d.driver, d.address) for d in result.model.declarations] == [
        ("virtio-net-pci", "0000:00:03.0")]


_UNIKRAFT_BOOT = (
    "[    0.111000] Info: [libkvmpci] <pci_bus_x86.c @  164> PCI 00:00.00 (0600 8086:1237): "
    "<no driver>\n"
    "[    0.112000] Info: [libkvmpci] <pci_bus_x86.c @  164> PCI 00:03.00 (0200 1af4:1000): "
    "driver 0x150a20\n"
    "[    0.113000] Info: [libkvmvirtio] <virtio_pci.c @  380> Added virtio-pci device 1000\n"
    "[    0.114000] Info: [libkvmvirtio] <virtio_pci.c @  382> Added virtio-pci "
    "subsystem_device_id 0001\n"
    "[    0.115000] Info: [libkvmvirtio] <virtio_bus.c @  127> Virtio device 0x180010 "
    "initialized\n"
    "[    0.116000] Info: [libkvmpci] <pci_bus_x86.c @  164> PCI 00:04.00 (0000 1af4:1009): "
    "driver 0x150a20\n"
    "[    0.119000] Info: [libkvmvirtio] <virtio_bus.c @  127> Virtio device 0x184010 "
    "initialized\n"
    "[    0.120000] Info: [libkvmvirtio9p] <virtio_9p.c @  405> virtio-9p: Configured: "
    "features=0x1 tag=fs0\n"
    "[    0.121000] Info: [libkvmvirtio9p] <virtio_9p.c @  418> virtio-9p: fs0 started\n"
    "[    0.130000] Info: [libkvmvirtionet] <virtio_net.c @ 1150> virtio-net: 0 started\n")


def test_unikraft_boot_devices_come_up(dialects):
    """Each virtio PCI function at its address, typed by its id; each driver's "started"
    line (after virtio_dev_drv_up) gives DRIVER_OK to the device of its type."""
    result = _run(_UNIKRAFT_BOOT, dialects)
    devices = {d.address: d for d in result.model.live_devices()}
    assert sorted(devices) == ["0000:00:03.0", "0000:00:04.0"]
    assert devices["0000:00:03.0"].device_type == "net"
    assert devices["0000:00:04.0"].device_type == "9p"
    assert devices["0000:00:03.0"].driver_ok_implied.line == 10
    assert devices["0000:00:04.0"].driver_ok_implied.line == 9
    assert result.findings == [] and result.model.unrecognised == 0


def test_unikraft_legacy_transport_refusing_a_modern_id_fails(dialects):
    """The legacy-only virtio_pci refuses a modern PCI id (1049: 9p): a probe
    failure (VD015 error); the function stays never driven; the consequence line is no
    second failure."""
    result = _run("[    0.104000] Info: [libkvmpci] <pci_bus_x86.c @  164> PCI 00:05.00 "
                  "(0000 1af4:1049): driver 0x150a20\n"
                  "[    0.105318] ERR:  [libvirtio_pci] <virtio_pci.c @  396> Invalid Virtio "
                  "Devices 1049\n"
                  "[    0.105400] ERR:  [libvirtio_pci] <virtio_pci.c @  454> Failed to probe "
                  "(legacy) pci device: -22\n", dialects)
    assert [(f.rule, f.line) for f in format_tables.errors(result)] == [("VD015", 2)]
    (device,) = result.model.live_devices()
    assert device.device_type == "9p" and device.address == "0000:00:05.0"
