"""Formats from the second pass of the seventh Linux-guest judge (2026-12-03), written from
their sources; the held-out logs that showed them are listed in docs/held-out-logs.md (their
text is not here).

* block/partitions/check.c (2.6-5.x) and core.c check_partition(): " %s:" and the disk's
  partitions (put_partition() " %s%d", msdos.c's " <" ... " >" around logical ones),
  printed once a parser read a table; " unknown partition table" (old kernels) when none
  was found, " unable to read partition table" when every read failed. Held-out Alpine
  guests on hyperkit and xhyve, and an OpenStack 4.x guest, showed their legacy virtio-pci
  functions ("leaving for legacy driver") and " vda: vda1 ..." and nothing else of the
  disk: the tool never said a disk was there, nor that it worked.
* fs/ext4/super.c __ext4_msg() "EXT4-fs (%s): %pV": "mounted filesystem ..." and
  "re-mounted. Opts: ..." from a virtio disk (an OpenWrt armvirt guest whose only disk
  lines were these): no device at all before.
Lines written from those format strings, with made-up values."""

import format_tables


def _run(text, dialects):
    return format_tables.analyse_text("guest.log", text, dialects)


def test_a_partition_scan_alone_shows_a_working_virtio_disk(dialects):
    """Only virtio_blk names disks vd<letters>, and it adds the disk (whose table the
    kernel then reads) after DRIVER_OK: the disk's device reached it."""
    result = _run("[    1.204211]  vdb: vdb1 vdb2 < vdb5 >\n", dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "block" and device.disk == "vdb"
    assert device.driver_ok_implied is not None
    assert result.findings == []


def test_the_one_legacy_function_of_no_known_type_is_the_disk_read(dialects):
    """virtio_pci left the function to its legacy driver; the one virtio device of the log
    is the disk whose table the kernel read: one device, a block device at DRIVER_OK."""
    result = _run("[    0.981020] virtio-pci 0000:00:05.0: virtio_pci: leaving for legacy driver\n"
                  "[    0.990331]  vda: vda1 vda2\n", dialects)
    (device,) = result.model.live_devices()
    assert (device.address, device.device_type, device.disk) == ("0000:00:05.0", "block", "vda")
    assert device.driver_ok_implied is not None


def test_with_two_functions_of_no_known_type_the_disk_is_no_third_device(dialects):
    """Which of two legacy functions holds the disk the log does not say: still two
    devices, neither given the disk."""
    result = _run("virtio-pci 0000:00:02.0: virtio_pci: leaving for legacy driver\n"
                  "virtio-pci 0000:00:03.0: virtio_pci: leaving for legacy driver\n"
                  " vda: vda1\n", dialects)
    devices = result.model.live_devices()
    assert sorted(d.address for d in devices) == ["0000:00:02.0", "0000:00:03.0"]
    assert all(d.disk is None for d in devices)


def test_a_disk_the_driver_named_is_not_found_twice(dialects):
    """virtio_blk's own line named the disk: the scan is that device's."""
    result = _run("virtio_blk virtio2: [vdc] 41943040 512-byte logical blocks (21.5 GB/20.0 GiB)\n"
                  " vdc: unknown partition table\n", dialects)
    (device,) = result.model.live_devices()
    assert device.disk == "vdc" and device.driver_ok_implied is not None


def test_an_unreadable_partition_table_is_an_io_error_of_the_disk(dialects):
    result = _run("virtio_blk virtio0: [vda] 2097152 512-byte logical blocks (1.07 GB/1.00 GiB)\n"
                  " vda: unable to read partition table\n", dialects)
    (device,) = result.model.live_devices()
    assert device.disk == "vda"
    assert [(f.rule, f.severity, f.device) for f in result.findings] == [
        ("VD006", "error", "virtio0")]


def test_an_ext4_mount_from_a_virtio_disk_shows_the_disk_working(dialects):
    result = _run("[    9.310442] EXT4-fs (vdb3): mounted filesystem 0f7e1c2a-5b3d-4e6f-8a9b-"
                  "1c2d3e4f5a6b r/w with ordered data mode. Quota mode: none.\n"
                  "[   11.008127] EXT4-fs (vdb3): re-mounted 0f7e1c2a-5b3d-4e6f-8a9b-1c2d3e4f5a6b "
                  "ro. Quota mode: none.\n", dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "block" and device.disk == "vdb"
    assert device.driver_ok_implied is not None and result.findings == []


def test_other_disks_scans_and_mounts_stay_unread(dialects):
    """sda (virtio-scsi or not) and a loop device are not virtio_blk's: no device."""
    result = _run(" sda: sda1 sda2\nEXT4-fs (sda1): mounted filesystem with ordered data mode.\n"
                  "EXT4-fs (loop0): mounted filesystem with ordered data mode.\n", dialects)
    assert result.model.live_devices() == []


def test_a_virtio_device_holding_an_interrupt_line_another_driver_wanted(dialects):
    """kernel/irq/manage.c __setup_irq() "Flags mismatch irq %d. %08x (%s) vs. %08x (%s)"
    with a virtio handler as the holder (the second name): the device's transport had
    requested the line (virtio_mmio's and virtio_pci's INTx handler is named after the
    device); the refused driver is not virtio's. A held-out guest console gave VD020 (a
    line about virtio no grammar read) and listed no device."""
    result = _run("[    1.632902] genirq: Flags mismatch irq 8. 00000000 (rtc0) vs. "
                  "00000080 (virtio3)\n"
                  "[    1.633126] rtc_cmos rtc_cmos: probe with driver rtc_cmos failed with "
                  "error -16\n", dialects)
    (device,) = result.model.live_devices()
    assert device.guest_name == "virtio3"
    assert result.findings == []
