"""The device facts BSD attach lines give: bus address, IRQ, queues, features, the
interface the driver can drive and the device type its child driver proves.

Each log here is written from the format strings in the systems' sources (named in the
grammars' headers and in docs/coverage-bsd-vmm.md), with values of our own; the classes
come from publicly posted BSD boots that virtiodiag misread (held out of the repository):
NetBSD 10's virtio_mmio_cmdline announcing a transport under no device name, queue names
with spaces, NetBSD 7-9's "Features:" and its legacy-only "Virtio %s Device", FreeBSD's
"negotiated features: 0", and a child driver whose type contradicts the PCI product name.
"""

import io

import pytest

from virtiodiag.analysis import analyse_blocks
from virtiodiag.options import ReportOptions
from virtiodiag.reports.text import render


def _model(text, dialects):
    result = analyse_blocks("attach.log", [text.encode()], dialects)
    return result, {d.id: d for d in result.model.devices if d.aliases}


def _queues(device):
    return {index: queue.size for index, queue in device.queues.items()}


# NetBSD 10 on QEMU microvm: sys/dev/virtio/arch/x86/virtio_mmio_cmdline.c prints each
# virtio_mmio.device= argument with aprint_normal("viommio: %s\n") right after autoconf's
# "virtioN at pv0"; virtio.c (boot -v) "allocated %lu byte for virtqueue %d for %s, size %d"
# with the driver's queue names ("rx0", "I/O request").
NETBSD_MICROVM = """\
pv0 at mainbus0
virtio0 at pv0
kernel parameters: console=com root=ld0a virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6
viommio: 4K@0xd0000000:5
virtio0: VirtIO-MMIO-v2
virtio0: network device (id 1, rev. 0x01)
vioif0 at virtio0: features: 0x130030020<V1,EVENT_IDX,INDIRECT_DESC,CTRL_VQ,STATUS,MAC>
virtio0: allocated 20480 byte for virtqueue 0 for rx0, size 256
virtio0: allocated 20480 byte for virtqueue 1 for tx0, size 256
virtio0: interrupting on 5
vioif0: Ethernet address 52:54:00:ab:cd:01
virtio1 at pv0
viommio: 4K@0xd0001000:6
virtio1: VirtIO-MMIO-v2
virtio1: block device (id 2, rev. 0x01)
ld0 at virtio1: features: 0x110000244<V1,INDIRECT_DESC,FLUSH,BLK_SIZE,SEG_MAX>
virtio1: allocated 8448 byte for virtqueue 0 for I/O request, size 128
virtio1: interrupting on 6
ld0: 2048 MB, 4161 cyl, 16 head, 63 sec, 512 bytes/sect x 4194304 sectors
"""


def test_netbsd_microvm_unnamed_announcement_gives_the_unit_its_base_and_irq(dialects):
    result, devices = _model(NETBSD_MICROVM, dialects)
    assert sorted(devices) == ["virtio0", "virtio1"]
    net, disk = devices["virtio0"], devices["virtio1"]
    assert (net.device_type, net.transport, net.address) == ("net", "mmio", "0xd0000000")
    assert (disk.device_type, disk.transport, disk.address) == ("block", "mmio", "0xd0001000")
    assert net.irq_lines == {5} and disk.irq_lines == {6}
    assert _queues(net) == {0: 256, 1: 256}
    assert _queues(disk) == {0: 128}  # "I/O request": a queue name with a space
    assert disk.features_accepted == 0x110000244
    assert [f.rule for f in result.findings] == []


def test_an_unnamed_announcement_after_other_lines_is_not_given_to_a_unit(dialects):
    # The argument line belongs to the unit autoconf found just before it; once that unit
    # has its address, a later bare announcement is another transport (its own record).
    text = NETBSD_MICROVM + "viommio: 4K@0xd0002000:7\n"
    _, devices = _model(text, dialects)
    assert devices["virtio1"].address == "0xd0001000"
    (other,) = [d for name, d in devices.items() if name not in ("virtio0", "virtio1")]
    assert (other.transport, other.address) == ("mmio", "0xd0002000")


# NetBSD 7-9: virtio_attach prints "Virtio %s Device (rev. 0x%02x)" and drives revision 0
# functions only (0.9 ops; other revisions "unknown revision 0x%02x; giving up");
# virtio_child_attach_start prints ": Features: %s" on the child's attach line.
NETBSD_9_PCI = """\
virtio0 at pci0 dev 4 function 0
virtio0: Virtio Network Device (rev. 0x00)
vioif0 at virtio0: Features: 0x10010020<INDIRECT_DESC,NOTIFY_ON_EMPTY,STATUS,MAC>
vioif0: Ethernet address 52:54:00:ab:cd:02
virtio0: allocated 20480 byte for virtqueue 0 for rx0, size 256
virtio0: allocated 151552 byte for virtqueue 1 for tx0, size 256
virtio0: config interrupting at msix0 vec 0
virtio0: queues interrupting at msix0 vec 1
virtio1 at pci0 dev 5 function 0
virtio1: Virtio Block Device (rev. 0x00)
ld0 at virtio1: Features: 0x10000a54<INDIRECT_DESC,CONFIG_WCE,FLUSH,BLK_SIZE,GEOMETRY,SEG_MAX>
virtio1: allocated 270336 byte for virtqueue 0 for I/O request, size 128
virtio1: interrupting at ioapic0 pin 11
ld0: 4096 MB, 8322 cyl, 16 head, 63 sec, 512 bytes/sect x 8388608 sectors
"""


def test_netbsd_9_legacy_only_driver_and_its_capitalised_features(dialects):
    result, devices = _model(NETBSD_9_PCI, dialects)
    # ld0's attach line is read: it is virtio1's driver, not a device of its own.
    assert sorted(devices) == ["virtio0", "virtio1"]
    net, disk = devices["virtio0"], devices["virtio1"]
    assert (net.address, disk.address) == ("0000:00:04.0", "0000:00:05.0")
    assert net.features_accepted == 0x10010020
    assert disk.features_accepted == 0x10000a54
    assert _queues(net) == {0: 256, 1: 256} and _queues(disk) == {0: 128}
    assert (net.irq_mode, disk.irq_mode) == ("msix", "intx")
    for device in (net, disk):
        interface, evidence = device.interface
        assert interface == "legacy"
        assert evidence[0].kind == "legacy_only_driver"
        assert device.driver_ok.state.value == "implied"
    # A driver that has no modern interface: not a fallback, so information only.
    assert [(f.rule, f.severity, f.line) for f in result.findings] == [
        ("VD001", "info", 2), ("VD001", "info", 10)]


def test_netbsd_10_device_line_is_not_a_legacy_only_driver(dialects):
    text = ("virtio0 at pci0 dev 4 function 0\n"
            "virtio0: network device (id 1, rev. 0x01)\n"
            "vioif0 at virtio0: features: 0x110010020<V1,INDIRECT_DESC,NOTIFY_ON_EMPTY,MAC>\n"
            "virtio0: config interrupting at msix0 vec 0\n")
    result, devices = _model(text, dialects)
    assert devices["virtio0"].interface[0] == "modern"
    assert [f.rule for f in result.findings] == []


def test_freebsd_negotiated_features_zero(dialects):
    # virtio_describe() prints "%#jx": no feature at all is "0", with no name list.
    text = ("virtio_pci3: <VirtIO PCI Balloon adapter> port 0xc100-0xc11f irq 11 "
            "at device 7.0 on pci0\n"
            "vtballoon0: <VirtIO Balloon Adapter> on virtio_pci3\n"
            "virtio_pci3: host features: 0x79000002 <RingEventIdx,RingIndirectDesc,"
            "AnyLayout,NotifyOnEmpty,StatsVq>\n"
            "virtio_pci3: negotiated features: 0\n"
            "virtio_pci3: using legacy interrupt\n")
    result, devices = _model(text, dialects)
    balloon = devices["virtio_pci3"]
    assert result.model.unrecognised == 0
    assert (balloon.features_offered, balloon.features_accepted) == (0x79000002, 0)
    assert (balloon.device_type, balloon.irq_mode, balloon.irq_lines) == ("balloon", "intx", {11})


@pytest.mark.parametrize("text, name", [
    # OpenBSD: the VMM gave the entropy device the balloon's PCI id (0x1002), so pcidevs
    # names it "Memory Balloon"; virtio_pci matched the subsystem id and attached viornd.
    ('virtio1 at pci0 dev 5 function 0 "Qumranet Virtio Memory Balloon" rev 0x00\n'
     "viornd0 at virtio1\n", "virtio1"),
    # FreeBSD 9-12: the description names the PCI id's type; the child is vtrnd.
    ("virtio_pci4: <VirtIO PCI Balloon adapter> port 0xc120-0xc13f irq 10 "
     "at device 8.0 on pci0\n"
     "vtrnd0: <VirtIO Entropy Adapter> on virtio_pci4\n", "virtio_pci4"),
])
def test_the_bound_child_driver_decides_the_type(text, name, dialects):
    _, devices = _model(text, dialects)
    device = devices[name]
    assert device.device_type == "rng"
    assert device.bound


def test_a_freebsd_link_coming_up_implies_driver_ok(dialects):
    # A console that starts after the attach lines (a pasted rc output): if_vtnet reports
    # the link through if_link_state_change() only once the driver runs.
    text = ("Starting Network: lo0 vtnet0.\n"
            "vtnet0: link state changed to UP\n"
            "vtnet1: link state changed to DOWN\n")
    _, devices = _model(text, dialects)
    assert devices["vtnet0"].driver_ok.state.value == "implied"
    assert devices["vtnet0"].device_type == "net"
    assert devices["vtnet1"].driver_ok.state.value == "not-shown"


def test_a_bound_driver_with_no_end_line_is_said_so(dialects):
    result, _ = _model('virtio1 at pci0 dev 5 function 0 "Qumranet Virtio RNG" rev 0x00\n'
                       "viornd0 at virtio1\n", dialects)
    out = io.StringIO()
    render([result], out, ReportOptions(color=False))
    text = out.getvalue()
    assert "driver bound; not shown whether its attach finished" in text
    assert "no driver line" not in text


# OpenBSD pci_devinfo() for an id its pcidevs does not name: 'vendor "Qumranet", unknown
# product 0x%04x' (a virtio 1.x id OpenBSD has no name for, here 0x1059, sound) or, with
# no name for the vendor either, 'vendor 0x%04x product 0x%04x'. The PCI id gives the type
# and the interface (spec 4.1.2); "no matching child driver" then says nothing drove it:
# the guest has no driver for the type (device-not-driven), no probe failed.
OPENBSD_UNNAMED = """\
virtio3 at pci0 dev 7 function 0 vendor "Qumranet", unknown product 0x1059 rev 0x01
virtio3: no matching child driver; not configured
virtio0 at pci0 dev 2 function 0 vendor 0x1af4 product 0x1000 rev 0x00
vio0 at virtio0: 1 queue, address 52:54:00:12:34:56
virtio0: irq 11
"""


def test_openbsd_unnamed_pci_product_gives_type_and_interface(dialects):
    result, devices = _model(OPENBSD_UNNAMED, dialects)
    sound, net = devices["virtio3"], devices["virtio0"]
    assert (sound.device_type, sound.transport, sound.address) == (
        "sound", "pci", "0000:00:07.0")
    assert sound.pci_kind == "modern" and not sound.bound
    assert (net.device_type, net.address, net.pci_kind) == ("net", "0000:00:02.0",
                                                           "transitional")
    assert net.driver_ok.state.value == "implied"
    assert [(f.rule, f.severity) for f in result.findings if f.device == sound.id] == [
        ("VD004", "warning")]


# DragonFly's arm64 port (sys/dev/virtual/virtio/mmio): newbus's "at" before the resources
# of an mmio transport, and a child whose driver_t takes its module's name (virtio_blk0).
DRAGONFLY_MMIO = """\
virtio_mmio31: <VirtIO MMIO adapter> at mem 0xa003e00-0xa003fff irq 79 on motherboard
virtio_blk0: <VirtIO Block Adapter> on virtio_mmio31
"""


def test_dragonfly_mmio_transport_and_module_named_child(dialects):
    result, devices = _model(DRAGONFLY_MMIO, dialects)
    disk = devices["virtio_mmio31"]
    assert (disk.device_type, disk.transport, disk.address) == ("block", "mmio", "0xa003e00")
    assert disk.irq_lines == {79}
    assert disk.driver_ok.state.value == "implied"
    assert [f.rule for f in result.findings] == []


# illumos (vioif.c, vioblk.c: dev_err() puts "WARNING:"/"NOTICE:" and the instance first):
# an attach refused because the device lacks a feature the driver needs, here quoted in a
# chat line (a console message pasted inside other text).
ILLUMOS_REFUSED = """\
<user> it boots now. WARNING: vioif0: Host does not support RING_INDIRECT_DESC. Cannot attach.
NOTICE: vioblk0: Got MAC address from host: 52:54:0:12:34:56
"""


def test_illumos_attach_refused_for_a_missing_feature(dialects):
    result, devices = _model(ILLUMOS_REFUSED, dialects)
    net = devices["vioif0"]
    assert net.device_type == "net" and net.probe_failures
    found = [f for f in result.findings if f.device == net.id]
    assert [f.rule for f in found] == ["VD015"]
    assert "does not offer a feature" in found[0].message


# NuttX (drivers/virtio/virtio-mmio.c, vrtinfo()): the transport announces each device
# under no name ("VIRTIO version: %u device: %u vendor: %x"), and its drivers print
# nothing when they take one (//@ quiet_drivers:): not-driven is only info.
NUTTX = """\
virtio_mmio_init_device: VIRTIO version: 2 device: 3 vendor: ffff
virtio_mmio_init_device: VIRTIO version: 1 device: 1 vendor: 554d4551
nx_start: CPU0: Beginning Idle Loop
"""


def test_nuttx_unnamed_announcements_are_devices_of_their_own(dialects):
    result, _ = _model(NUTTX, dialects)
    devices = sorted((d.device_type, d.transport, d.mmio_version)
                     for d in result.model.devices)
    assert devices == [("console", "mmio", 2), ("net", "mmio", 1)]
    assert {(f.rule, f.severity) for f in result.findings} == {("VD004", "info")}


# Lines that show a child driver at work after its attach: NetBSD's dk(4) wedge read from
# the disk's partition table, and ifconfig(8)'s interface line with RUNNING (the driver's
# init ran). A child's features line alone ("ld0 at virtio1: features: ...") is printed
# at the start of its attach and says nothing of its end.
NETBSD_AT_WORK = """\
ld0 at virtio1: features: 0x110002244<V1,INDIRECT_DESC,DISCARD,FLUSH,BLK_SIZE,SEG_MAX>
viornd0 at virtio2: features: 0x110000000<V1,INDIRECT_DESC>
dk0 at ld0: "netbsd-root", 2093056 blocks at 2048, type: ffs
vioif0 at virtio0: features: 0x130010028<V1,EVENT_IDX,INDIRECT_DESC,STATUS,MAC,MTU>
vioif0: flags=0x8b43<UP,BROADCAST,RUNNING,PROMISC,ALLMULTI,SIMPLEX,MULTICAST> mtu 1500
"""


def test_netbsd_children_shown_at_work_reached_driver_ok(dialects):
    _, devices = _model(NETBSD_AT_WORK, dialects)
    states = {d.device_type: d.driver_ok.state.value for d in devices.values()}
    assert states == {"block": "implied", "net": "implied", "rng": "not-shown"}


def test_an_interface_not_running_says_nothing_of_the_handshake(dialects):
    _, devices = _model(NETBSD_AT_WORK.replace("UP,BROADCAST,RUNNING,", "BROADCAST,"),
                             dialects)
    net = next(d for d in devices.values() if d.device_type == "net")
    assert net.driver_ok.state.value == "not-shown"


def test_openbsd_vmmci_is_its_own_type(dialects):
    text = ('virtio4 at pci0 dev 5 function 0 "OpenBSD VMM Control" rev 0x00\n'
            'vmmci0 at virtio4\nvirtio4: irq 9\n')
    _, devices = _model(text, dialects)
    assert devices["virtio4"].device_type == "vmmci"


def test_illumos_reports_each_finished_attach_with_its_pci_function():
    """illumos's ddi_report_dev() ("PCI-device: pci1af4,1@3, vioif0", "vioif0 is
    /pci@0,0/pci1af4,1@3") is printed once a virtio driver's attach finished: the device
    is bound, DRIVER_OK implied, and a path straight under the root complex gives its PCI
    function on bus 0; one behind a bridge gives no address."""
    from conftest import analyse_json
    from pathlib import Path
    fixture = Path(__file__).parent / "fixtures" / "linux-eras" / "illumos-ddi-report.log"
    report = analyse_json(fixture)
    facts = sorted((d["type"], d["address"] or "", d["driver_ok"]["state"])
                   for d in report["devices"])
    assert facts == [("block", "0000:00:04.0", "implied"), ("net", "", "implied"),
                     ("net", "0000:00:03.0", "implied"), ("scsi", "", "not-reached")]
    assert report["stats"]["unrecognised_virtio_messages"] == 0


# OpenBSD 7.x viogpu(4) (sys/dev/pv/viogpu.c viogpu_attach()) calls virtio_attach_finish()
# before it prints its own ": %dx%d, %dbpp"; virtio_pci_attach_finish() prints "%s: %s"
# (the transport's name and "msix per-VQ") in between, so the console glues the
# transport's interrupt line to autoconf's "viogpu0 at virtio2" and the child's own text
# follows on a line of its own. The attach set DRIVER_OK there; it is not a device left
# without a driver.
OPENBSD_GLUED_IRQ = """\
virtio2 at pci0 dev 4 function 0 "Qumranet Virtio 1.x GPU" rev 0x01
viogpu0 at virtio2virtio2: msix per-VQ
: 1024x768, 32bpp
virtio3 at pci0 dev 5 function 0 "Qumranet Virtio 1.x Network" rev 0x01
vio0 at virtio3: 2 queues, address 52:54:00:ab:cd:02
virtio3: msix per-VQ
"""


def test_openbsd_interrupt_line_glued_to_a_child_attach_is_the_child_attached(dialects):
    result, devices = _model(OPENBSD_GLUED_IRQ, dialects)
    gpu = devices["virtio2"]
    assert gpu.device_type == "gpu"
    assert gpu.driver_ok.state.value == "implied"
    assert "viogpu0" in {alias.split(":", 1)[1] for alias in gpu.aliases}
    assert [f.rule for f in result.findings] == []
