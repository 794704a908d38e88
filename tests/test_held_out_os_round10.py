"""Formats from the tenth non-Linux-guest and firmware judge (2026-12-04), written from their
sources with values of our own (the posted logs that showed the gaps stay out of the
repository):

* U-Boot's standard boot (bootstd, 2023.x+): boot/bootflow.c bootflow_iter_set_dev()
  "Scanning bootdev '%s':\\n" with the bootdev's name, a child of the media device named
  "<media>.bootdev" ("virtio-blk#<seq>.bootdev"); cmd/bootflow.c show_bootflow()'s row
  "%3x  %-11s  %-6s  %-9.9s %4x  %-25.25s %s" (seq, method, state, the media's uclass,
  partition, the bootflow's name "<bootdev>.part_<n>" cut at 25 characters, file name);
  bootflow_run_boot() "** Booting bootflow '%s' with %s\\n". A log of them alone was read as
  no line at all (VD020), though U-Boot had probed its virtio disk and read a boot file
  from it.
* disk/part.c blk_get_device_by_str(): "** Bad device specification %s %s **\\n" (and
  "** Bad device %s %s **") when an "<interface> <dev>" string names no block device:
  names no device, as "Couldn't find partition" does.
"""

import format_tables

BOOTSTD = (
    "Seq  Method       State   Uclass    Part  Name                      Filename\n"
    "---  -----------  ------  --------  ----  ------------------------  ----------------\n"
    "Scanning bootdev 'virtio-blk#12.bootdev':\n"
    "  0  efi          ready   virtio       2  virtio-blk#12.bootdev.par efi/boot/"
    "bootriscv64.efi\n"
    "** Booting bootflow 'virtio-blk#12.bootdev.part_2' with efi\n")


def _run(text, dialects):
    return format_tables.analysed_findings(text, dialects, "console.log")


def test_a_bootstd_scan_of_a_virtio_disk_is_that_disk_probed(dialects):
    result, findings = _run(BOOTSTD, dialects)
    (device,) = result.model.live_devices()
    assert device.id == "virtio-blk#12"
    assert device.device_type == "block"
    # U-Boot sets DRIVER_OK in the child's post-probe; its bootdev was scanned, so it was
    # probed: the scan line is the first to show it.
    assert device.driver_ok_implied is not None and device.driver_ok_implied.line == 3
    assert findings == []
    assert result.model.unrecognised == 0


def test_each_bootstd_line_alone_names_the_disk(dialects):
    for line in BOOTSTD.splitlines()[2:]:
        result, findings = _run(line + "\n", dialects)
        assert [d.id for d in result.model.live_devices()] == ["virtio-blk#12"], line
        assert findings == [], line


def test_a_bootstd_scan_of_another_bootdev_names_no_virtio_device(dialects):
    result, findings = _run("Scanning bootdev 'mmc@7e202000.bootdev':\n"
                            "  1  extlinux     ready   mmc          1  mmc@7e202000.bootdev.part "
                            "/extlinux/extlinux.conf\n"
                            "** Booting bootflow 'mmc@7e202000.bootdev.part_1' with extlinux\n",
                            dialects)
    assert result.model.live_devices() == []
    assert findings == []


def test_a_bad_device_specification_names_no_device(dialects):
    result, findings = _run(BOOTSTD + "** Bad device specification virtio 1c **\n"
                            "** Bad device virtio 3 **\n", dialects)
    assert [d.id for d in result.model.live_devices()] == ["virtio-blk#12"]
    assert findings == []
    assert result.model.unrecognised == 0


# FreeBSD's dmesg has no time stamp: "dmesg | grep -n vt" (GNU grep -n, src/grep.c
# print_line_head(): the number, ':' on a matching line, '-' on a context line) gives lines
# that only their number precedes. The attach lines are FreeBSD's own (virtio_pci_modern.c
# "VirtIO PCI (modern) %s adapter", if_vtnet.c "VirtIO Networking Adapter").
FREEBSD_NUMBERED = (
    "31:virtio_pci0: <VirtIO PCI (modern) Network adapter> mem 0x10840000-0x10843fff at "
    "device 1.0 on pci1\n"
    "32:vtnet0: <VirtIO Networking Adapter> on virtio_pci0\n"
    "33-vtnet0: Ethernet address: 58:9c:fc:0a:0b:0c\n")


def test_grep_n_numbers_before_bsd_attach_lines_are_no_part_of_them(dialects):
    bare, _ = _run("".join(line[3:] for line in FREEBSD_NUMBERED.splitlines(keepends=True)),
                   dialects)
    result, findings = _run(FREEBSD_NUMBERED, dialects)
    assert [(d.id, d.device_type, d.transport) for d in result.model.live_devices()] == \
        [(d.id, d.device_type, d.transport) for d in bare.model.live_devices()]
    (device,) = result.model.live_devices()
    assert device.device_type == "net" and device.driver_ok_implied is not None
    assert findings == []
    # A reporter's numbering with a space after the colon, and cat -n's "%6d\t".
    for numbered in ("32: vtnet0: <VirtIO Networking Adapter> on virtio_pci0\n",
                     "    32\tvtnet0: <VirtIO Networking Adapter> on virtio_pci0\n"):
        result, _ = _run(numbered, dialects)
        assert len(result.model.live_devices()) == 1, numbered


def test_what_only_looks_numbered_keeps_its_number(dialects):
    from virtiodiag.sources.framing import strip_prefixes
    for line in ("00:03.0 Ethernet controller: Red Hat, Inc. Virtio network device",
                 "24:          0          0   PCI-MSI 49152-edge      virtio0-config",
                 "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel",
                 "1000-103f : virtio-pci-legacy"):
        assert strip_prefixes(line)[0] == line, line
    assert strip_prefixes("12:34:56 vtnet0: link state changed to UP")[0] == \
        "vtnet0: link state changed to UP"
