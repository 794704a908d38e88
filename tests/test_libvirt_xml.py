"""A libvirt domain XML in a log declares its virtio devices as a QEMU command line does.

libvirt writes one element a line (docs/formatdomain.rst): what makes a device virtio is
its own attribute (<rng model='virtio'>, <controller type='scsi' model='virtio-scsi'>,
<input bus='virtio'/>) or a child's (<model type='virtio'/> of an <interface>, <target
bus='virtio'/> of a <disk>, <driver type='virtiofs'/> of a <filesystem>); <address
type='pci' .../> places it, <alias name='...'/> names it. A pasted XML was "a log format
virtiodiag does not read" (VD020) while the same machine's command line listed its
devices: now both list them, declared, not shown when the log has no guest line, and
joined to the guest's devices when it has. Written from libvirt's format, values of our
own."""

import format_tables

DOMAIN = """\
<domain type='kvm'>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/g1.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='sda' bus='sata'/>
    </disk>
    <controller type='scsi' index='0' model='virtio-scsi'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </controller>
    <interface type='network'>
      <source network='default'/>
      <model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
    <interface type='bridge'>
      <model type='e1000'/>
    </interface>
    <filesystem type='mount' accessmode='passthrough'>
      <driver type='virtiofs'/>
      <target dir='share'/>
    </filesystem>
    <input type='tablet' bus='virtio'/>
    <input type='mouse' bus='ps2'/>
    <memballoon model='virtio'/>
    <rng model='virtio'>
      <backend model='random'>/dev/urandom</backend>
    </rng>
  </devices>
</domain>
"""


def _run(text, dialects):
    return format_tables.analyse_text("domain.log", text, dialects)


def test_a_domain_xml_declares_its_virtio_devices(dialects):
    result = _run(DOMAIN, dialects)
    declared = sorted((d.declaration.driver, d.declaration.device_type, d.address,
                       d.declaration.qemu_id) for d in result.model.live_devices())
    assert declared == [
        ("vhost-user-fs-pci", "fs", None, None),
        ("virtio-balloon-pci", "balloon", None, None),
        ("virtio-blk-pci", "block", "0000:00:04.0", "virtio-disk0"),
        ("virtio-net-pci", "net", "0000:00:03.0", None),
        ("virtio-rng-pci", "rng", None, None),
        ("virtio-scsi-pci", "scsi", "0000:00:05.0", None),
        ("virtio-tablet-pci", "input", None, None)]
    # no guest line: declared, not shown, no finding (before: VD020, a format not read)
    assert all(d.declaration.guest_silent for d in result.model.live_devices())
    assert result.findings == [] and result.model.unrecognised == 0


def test_a_domain_xml_joins_the_guests_devices_at_their_functions(dialects):
    guest = ("[    0.300300] pci 0000:00:03.0: [1af4:1041] type 00 class 0x020000\n"
             "[    0.300400] pci 0000:00:04.0: [1af4:1042] type 00 class 0x010000\n"
             "[    1.200000] virtio_net virtio0 enp0s3: renamed from eth0\n"
             "[    5.000000] Run /init as init process\n")
    xml = ("<interface type='network'>\n  <model type='virtio'/>\n"
           "  <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>\n"
           "</interface>\n<disk type='file' device='disk'>\n"
           "  <target dev='vda' bus='virtio'/>\n"
           "  <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>\n"
           "</disk>\n")
    result = _run(xml + guest, dialects)
    by_address = {d.address: d.declaration.driver for d in result.model.live_devices()}
    assert by_address == {"0000:00:03.0": "virtio-net-pci", "0000:00:04.0": "virtio-blk-pci"}
