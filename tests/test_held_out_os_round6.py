"""Formats from the sixth non-Linux-guest judge (2026-12-03), written from their sources; the
rows of docs/format-coverage.md and tests/fixtures/formats/bsd-vmm.tsv check each line's
event, these tests the devices and findings the lines give together.

* U-Boot disk/part.c part_get_info_by_dev_and_name_or_num(): printf("Couldn't find
  partition %s %s\\n", dev_iface, dev_part_str) when a lookup finds no such device or
  partition. A held-out Haiku boot script on a machine without virtio (RVVM) printed it
  for "virtio 0" and got VD020 ("a format virtiodiag does not read").
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
