"""U-Boot's block listing ("Device N: QEMU VirtIO Block Device", `virtio info` / `virtio
dev`) names a virtio block device by U-Boot's own block device number: the end of the
run joins it to the `dm tree` child with that number (model/block_numbers.py), and
without a tree it is a device of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import analyse_json

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ERAS = Path(__file__).parent / "fixtures" / "linux-eras"


def _lines_of(device: dict) -> set[str]:
    return {entry["text"].strip() for entry in device["timeline"]}


# (sample, the dm tree child each "Device N" line is, by U-Boot's number N). The tree
# lists riscv64's PCI functions (indexes 8, 9) before its mmio transports (index 0): the
# number follows the transport's index, not the row's place.
@pytest.mark.parametrize("sample,children", [
    ("arm64-uboot-virtio", {0: ("virtio-blk#31", "mmio"), 1: ("virtio-blk#32", "pci")}),
    ("riscv64-uboot-virtio", {0: ("virtio-blk#0", "mmio"), 1: ("virtio-blk#8", "pci")}),
    ("uboot-virtio-pci", {0: ("virtio-blk#0", "pci"), 1: ("virtio-blk#1", "pci")}),
])
@pytest.mark.parametrize("log", ["console.log", "combined.log"])
def test_virtio_info_devices_are_the_dm_tree_block_children(sample, children, log):
    report = analyse_json(SAMPLES / sample / log)
    assert not [d["id"] for d in report["devices"] if d["id"].startswith("virtio ")]
    by_id = {d["id"]: d for d in report["devices"]}
    for number, (child, transport) in children.items():
        device = by_id[child]
        assert device["transport"] == transport
        listed = [t for t in _lines_of(device) if t.startswith(f"Device {number}: ")]
        assert listed and all(t.endswith("VirtIO Block Device") for t in listed), child
        if log == "console.log":  # combined.log: QEMU's join is the last one recorded
            assert f"virtio {number} " in device["matched_by"]
        # The mmio transport's VendorID is printed as text, a PCI subsystem vendor in hex.
        assert listed[0].split()[2] == ("QEMU" if transport == "mmio" else "1af4")
    # `virtio dev` with no number: "IDE device 0: ..." (U-Boot 2023.01's wording) is the
    # current device, number 0, read as such.
    (current,) = [d for d in report["devices"]
                  if any(t.startswith("IDE device 0: ") for t in _lines_of(d))]
    assert current["id"] == children[0][0]


def test_without_a_dm_tree_each_listed_number_is_a_probed_block_device():
    report = analyse_json(ERAS / "uboot-virtio-info-no-dm-tree.log")
    devices = sorted(report["devices"], key=lambda d: d["id"])
    assert [(d["id"], d["type"], d["transport"], d["driver_ok"]["state"]) for d in devices] == [
        ("virtio 0", "block", "mmio", "implied"),  # "QEMU": a virtio-mmio VendorID
        ("virtio 1", "block", "unknown", "implied")]  # "1af4": 16 bits, PCI or mmio
    # `virtio info`, `virtio dev 1` and `virtio dev` each show number 1: one device
    assert len(devices[1]["timeline"]) == 3
    assert report["stats"]["unrecognised_virtio_messages"] == 0


def test_a_boot_scan_is_about_the_block_device_of_its_number():
    report = analyse_json(ERAS / "uboot-riscv-boot-net-blk.log")
    (block,) = [d for d in report["devices"] if d["type"] == "block"]
    assert any(t.startswith("Scanning virtio 0:1") for t in _lines_of(block))
    assert block["driver_ok"]["line"] == 12  # "Device 0: QEMU VirtIO Block Device"


def test_a_block_transfer_is_io_of_the_numbered_device_and_a_short_one_its_error():
    """`virtio read|write` prints "virtio read: device N block # B, count C ... M blocks
    read: OK|ERROR" (cmd/blk_common.c): the command's word is no device name; the
    transfer belongs to block device N, and ERROR is that device failing a request."""
    report = analyse_json(ERAS / "uboot-virtio-read-write.log")
    assert sorted(d["id"] for d in report["devices"]) == ["virtio 0", "virtio 1"]
    by_id = {d["id"]: d for d in report["devices"]}
    assert any("blocks read: OK" in t for t in _lines_of(by_id["virtio 0"]))
    assert any("blocks written: OK" in t for t in _lines_of(by_id["virtio 0"]))
    (failed,) = [f for f in report["findings"] if f["severity"] == "error"]
    assert failed["rule"] == "VD006" and failed["device"] == "virtio 1"
    assert "0 blocks written: ERROR" in failed["message"]


def test_an_efi_boot_option_of_a_virtio_disk_names_that_block_device(tmp_path):
    """lib/efi_loader/efi_bootmgr.c try_load_entry() warns "Loading %ls '%ls' failed" with
    the boot option's label; the options the boot manager makes for block devices are
    labelled by efi_disk_get_device_name(), "%s %d" (interface, U-Boot's block device
    number): "virtio 0" is the first virtio block device. It held no EFI image U-Boot
    could load, which is no failure of the device. Lines written from those formats."""
    log = tmp_path / "uboot-efi.log"
    log.write_text("Net:   eth0: virtio-net#31\n"
                   "** Booting bootflow '<NULL>' with efi_mgr\n"
                   "Loading Boot0000 'virtio 0' failed\n"
                   "EFI boot manager: Cannot load any image\n")
    report = analyse_json(log)
    by_id = {d["id"]: d for d in report["devices"]}
    assert by_id["virtio 0"]["type"] == "block"
    assert [f["rule"] for f in report["findings"] if f["severity"] != "info"] == []
    assert report["stats"]["unrecognised_virtio_messages"] == 0
