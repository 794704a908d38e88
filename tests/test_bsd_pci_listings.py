"""The BSD tools that list PCI functions: NetBSD pcictl(8) "list" and OpenBSD pcidump(8).

Written from usr.sbin/pcictl/pcictl.c scan_pci_list() ("%03u:%02u:%01u: " then
pci_devinfo(), "0x%08x (0x%08x)" with -n, " [%s]" with -N) and usr.sbin/pcidump/pcidump.c
(" %d:%d:%d: %s %s"), with pcidevs' names for vendor 0x1af4 and values of our own. The
class comes from a posted NetBSD 10 listing virtiodiag did not read at all.
"""


from virtiodiag.analysis import analyse_blocks


def _run(text, dialects):
    result = analyse_blocks("pci.log", [text.encode()], dialects)
    return result, [d for d in result.model.devices if d.aliases]


PCICTL = """\
$ pcictl pci0 list
000:00:0: Intel 82441FX (PMC) PCI and Memory Controller (host bridge, revision 0x02)
000:06:0: Qumranet Virtio Network (ethernet network)
000:07:0: Qumranet Virtio RNG Entropy (prehistoric, subclass 0xff)
000:08:0: Qumranet Virtio 9p Filesystem (prehistoric, subclass 0x02)
"""


def test_a_pcictl_listing_finds_the_virtio_functions_and_their_types(dialects):
    result, devices = _run(PCICTL, dialects)
    found = sorted((d.address, d.device_type) for d in devices)
    assert found == [("0000:00:06.0", "net"), ("0000:00:07.0", "rng"), ("0000:00:08.0", "9p")]
    # A listing says nothing of drivers: that none is shown is no warning.
    assert {(f.rule, f.severity) for f in result.findings} <= {("VD004", "info"),
                                                               ("VD016", "info")}


def test_a_pcidump_line_joins_the_dmesg_device_at_that_address(dialects):
    text = ('virtio1 at pci0 dev 5 function 0 "Qumranet Virtio RNG" rev 0x00\n'
            "viornd0 at virtio1\n"
            "virtio1: msix\n"
            "# pcidump\n"
            " 0:5:0: Qumranet Virtio RNG\n")
    result, devices = _run(text, dialects)
    (device,) = devices
    assert (device.address, device.device_type) == ("0000:00:05.0", "rng")
    assert device.driver_ok.state.value == "implied"
    assert [f.rule for f in result.findings if f.severity != "info"] == []


def test_pcictl_numbers_give_the_pci_id_and_the_driver_names_the_unit(dialects):
    text = ("virtio3 at pci0 dev 9 function 0\n"
            "000:09:0: 0x10431af4 (0x07800001) [virtio3]\n")
    _, devices = _run(text, dialects)
    (device,) = devices
    assert device.address == "0000:00:09.0"
    assert (device.pci_device, device.pci_kind, device.device_type) == (0x1043, "modern",
                                                                        "console")


# FreeBSD pciconf(8) -l, usr.sbin/pciconf/pciconf.c list_devs(): "%s%d@pci%d:%d:%d:%d:\t"
# then "class=0x%06x card=0x%08x chip=0x%08x rev=0x%02x hdr=0x%02x" (to 12.x; chip: the
# device id above the vendor id) or "class=0x%06x rev=0x%02x hdr=0x%02x vendor=0x%04x
# device=0x%04x subvendor=0x%04x subdevice=0x%04x" (13+); "none%d" names no driver.
FREEBSD_PCICONF = """\
virtio_pci0: <VirtIO PCI Console adapter> port 0x2000-0x203f mem 0xc0000000-0xc0001fff irq 16 at device 2.0 on pci0
$ pciconf -l
hostb0@pci0:0:0:0:\tclass=0x060000 card=0x00000000 chip=0x12378086 rev=0x02 hdr=0x00
virtio_pci0@pci0:0:2:0:\tclass=0x070000 card=0x00031af4 chip=0x10031af4 rev=0x00 hdr=0x00
none1@pci0:0:4:0:\tclass=0x020000 rev=0x01 hdr=0x00 vendor=0x1af4 device=0x1041 subvendor=0x1af4 subdevice=0x1100
"""


def test_a_pciconf_listing_joins_the_attach_line_and_names_the_functions(dialects):
    result, devices = _run(FREEBSD_PCICONF, dialects)
    by_address = {d.address: d for d in devices}
    assert sorted(by_address) == ["0000:00:02.0", "0000:00:04.0"]
    console, net = by_address["0000:00:02.0"], by_address["0000:00:04.0"]
    assert console.device_type == "console" and console.pci_kind == "transitional"
    assert "name:virtio_pci0" in console.aliases  # one record: the attach line's unit
    assert net.device_type == "net" and net.pci_kind == "modern"
    assert not any(a.startswith("name:none") for a in net.aliases)
    assert result.model.unrecognised == 0, result.model.unrecognised_samples
