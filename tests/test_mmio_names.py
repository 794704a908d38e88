"""A virtio-mmio window is one device whatever name a line gives it (model/identity.py).

Written from the formats (no public log copied): Linux's platform device of a device-tree
node is "<unit address>.<node name>" (drivers/of/platform.c of_device_make_bus_id(),
"%llx.%pOFn"); the node names are the VMMs' (QEMU hw/arm/virt.c and hw/riscv/virt.c
"virtio_mmio@%" PRIx64, Firecracker and cloud-hypervisor fdt.rs "virtio_mmio@{:x}",
kvmtool virtio/mmio.c "virtio@%llx"), and U-Boot's driver model and Zephyr's device
names are the node's name; /proc/iomem prints both ("0a003e00-0a003fff : a003e00.virtio_mmio
virtio_mmio@a003e00"); SeaBIOS src/hw/virtio-blk.c prints a virtio-mmio disk by its base
("virtio-blk-mmio %p blksize=%d sectors=%u size_max=%u seg_max=%u.\\n"), src/hw/virtio-mmio.c
its probe ("virtio-mmio: %llx: device id %x ..."); Linux drivers/virtio/virtio_mmio.c
names a device the kernel command line declares "virtio-mmio.%d" (an id, not a base).
"""

from __future__ import annotations

import pytest

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects
from virtiodiag.model.identity import MMIO_NODE, MMIO_PLATFORM


def _devices(text: str):
    result = analyse_blocks("mmio.log", [text.encode()], shared_dialects())
    return result.model.live_devices()


@pytest.mark.parametrize("name,base", [
    ("virtio_mmio@a003e00", 0xA003E00),
    ("virtio@d2000000", 0xD2000000),
    ("virtio-net@a003c00", 0xA003C00),
    ("virtio_mmio@0a003e00", 0xA003E00),
    ("virtio-mmio.0xfeb00e00", 0xFEB00E00),
    ("virtio-mmio.0", None),  # Linux's id of a command-line device: no base
    ("virtio_pci@30000000", None),  # a PCI host bridge's node: its unit address is no base
    ("virtio-blk#0", None),
])
def test_a_device_tree_node_name_gives_the_window_base(name, base):
    match = MMIO_NODE.match(name)
    assert (int(match.group(1), 16) if match else None) == base


def test_a_platform_name_may_carry_a_dash():
    match = MMIO_PLATFORM.match("a003c00.virtio-mmio")
    assert match is not None and match.group(1) == "a003c00"


def test_one_window_named_four_ways_is_one_device():
    devices = _devices(
        "virtio       31  [ + ]   virtio-mmio           |-- virtio_mmio@a003e00\n"
        "(virtio_mmio@a003e00): device (1) vendor (554d4551) version (1)\n"
        "[    0.500000] virtio-mmio a003e00.virtio_mmio: Wrong magic value 0x00000000!\n"
        "0a003e00-0a003fff : a003e00.virtio_mmio virtio_mmio@a003e00\n"
        "[00:00:00.013,000] <err> virtio_mmio: virtio_mmio@a003e00 doesn't support queue 1 "
        "bigger than 256, tried to set one with size 1024\n")
    assert [d.address for d in devices] == ["0xa003e00"]


def test_a_zephyr_node_and_a_dashed_platform_name_are_the_window():
    # Before: two devices named "virtio-net@a003c00" and "a003c00.virtio-mmio", no address.
    devices = _devices(
        "[00:00:00.013,000] <err> virtio_mmio: virtio-net@a003c00 doesn't support queue 1 "
        "bigger than 256, tried to set one with size 1024\n"
        "[    0.600000] virtio-mmio a003c00.virtio-mmio: Version 3 not supported!\n")
    assert [d.address for d in devices] == ["0xa003c00"]


def test_seabios_names_a_virtio_mmio_disk_by_its_base():
    # Before: "0x10001000" was a name of its own, a second device beside the probed window.
    devices = _devices(
        "virtio-mmio: 10001000: device id 2 (blk, legacy)\n"
        "virtio-blk-mmio 0x10001000 blksize=512 sectors=2048 size_max=65535 seg_max=126.\n")
    assert [(d.address, d.device_type) for d in devices] == [("0x10001000", "block")]


def test_command_line_devices_keep_their_ids_apart_from_bases():
    devices = _devices(
        "[    0.1] Kernel command line: console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 "
        "virtio_mmio.device=4K@0xd0001000:6\n"
        "[    0.7] virtio-mmio: Registering device virtio-mmio.0 at 0xd0000000-0xd0000fff, IRQ 5.\n"
        "[    0.7] virtio-mmio: Registering device virtio-mmio.1 at 0xd0001000-0xd0001fff, IRQ 6.\n"
        "[    0.9] virtio-mmio virtio-mmio.1: Failed to enable 64-bit or 32-bit DMA.  Trying to "
        "continue, but this might not work.\n")
    assert sorted(d.address for d in devices) == ["0xd0000000", "0xd0001000"]
