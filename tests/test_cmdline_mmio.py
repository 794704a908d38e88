"""virtio_mmio.device=<size>@<baseaddr>:<irq>[:<id>] on the kernel command line declares a
virtio-mmio device (drivers/virtio/virtio_mmio.c vm_cmdline_set()): model/cmdline.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import analyse_json
from virtiodiag.model.cmdline import parse_device

ERAS = Path(__file__).parent / "fixtures" / "linux-eras"


@pytest.mark.parametrize("value,parsed", [
    ("512@0xfeb00e00:12", (0xfeb00e00, 12, None)),  # QEMU microvm without ACPI
    ("4K@0xd0000000:5", (0xd0000000, 5, None)),  # Firecracker
    ("0x100@0x100b0000:48", (0x100b0000, 48, None)),  # the examples of virtio_mmio.c
    ("1K@0x1001e000:74", (0x1001e000, 74, None)),
    ("4K@0xd0000000:5:7", (0xd0000000, 5, 7)),  # an explicit platform device id
    ("4k@010:5", (8, 5, None)),  # %lli: a leading 0 is octal; memparse takes k as K
    ("512@4096:3", (4096, 3, None)),
])
def test_a_declared_device_is_read_as_vm_cmdline_set_reads_it(value, parsed):
    assert parse_device(value) == parsed


@pytest.mark.parametrize("value", ["512@zz:1", "512@0x1000", "@0x1000:5", ""])
def test_a_value_vm_cmdline_set_refuses_declares_nothing(value):
    assert parse_device(value) is None


def test_devices_a_kernel_ignores_on_its_command_line_are_each_never_probed():
    report = analyse_json(ERAS / "linux-5.x-mmio-cmdline-ignored.log")
    assert sorted((d["address"], d["irq_lines"]) for d in report["devices"]) == [
        ("0xd0000000", [5]), ("0xd0001000", [6]), ("0xd0002000", [7])]
    found = [f for f in report["findings"] if f["rule"] == "VD015"]
    assert len(found) == 3 and {f["line"] for f in found} == {4}


def test_platform_device_ids_count_up_from_the_one_a_parameter_gives():
    # 4K@0xd0000000:5:2 is virtio-mmio.2, so the next (no id) is virtio-mmio.3: its DMA
    # warning is the second window's, and virtio0 (probed first) sits on the first.
    report = analyse_json(ERAS / "linux-5.x-mmio-cmdline-quiet-ids.log")
    by_address = {d["address"]: d for d in report["devices"]}
    (warned,) = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert warned["device"] == "mmio-0xd0001000"
    assert by_address["0xd0000000"]["type"] == "block"
    assert by_address["0xd0001000"]["irq_lines"] == [6]
