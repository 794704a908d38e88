"""A firmware's block device numbers joined, at the end of a run, to its driver tree.

A firmware's block commands name a virtio block device by its own number, counted per
interface (U-Boot's `virtio info` "Device 0: QEMU VirtIO Block Device", `virtio dev 1`):
the line names no device a driver tree's rows name (``virtio-blk#31``). U-Boot gives that
number when it binds the virtio-blk driver below a transport (virtio_blk_bind():
blk_next_free_devnum), which it does as it probes each transport, in the order of the
transports' indexes in the virtio uclass; the driver tree names each child after that
index (``//@ child_slot:``). So the Nth virtio block child of the tree, by the index of
its transport, has number N. This module joins the two records when the tree lists a
block child for every number shown and the two agree on the transport; otherwise they
stay apart and a note says why.
"""

from __future__ import annotations

from virtiodiag.model.device import Device, Model
from virtiodiag.model.identity import BLOCK_NUMBER, Identities


def join_block_numbers(model: Model, identities: Identities) -> None:
    """Join each device known by a firmware's block device number to the block child of
    the same firmware's driver tree that has that number (the dialect scopes both)."""
    numbered: dict[str, dict[int, Device]] = {}
    for device in model.live_devices():
        number = _block_number(device)
        if number is not None and device.first_event is not None:
            if device.device_type is None:
                # The number counts the block devices of the virtio interface (U-Boot's
                # "virtio 0"): a virtio block device, whatever else its lines say.
                device.device_type = "block"
            numbered.setdefault(device.first_event.dialect, {})[number] = device
    if not numbered:
        return
    children = _tree_block_children(model)
    for dialect, mine in sorted(numbered.items()):
        tree = children.get(dialect, [])
        if not tree:
            continue  # no driver tree in the log: the numbered devices are all it shows
        kept = []
        for number, device in sorted(mine.items()):
            child = tree[number][1] if number < len(tree) else None
            if child is None or not _transports_agree(device, child):
                kept.append(f"virtio {number}")
                continue
            identities.merge(child, device, how=(
                f"virtio {number} (a block command's number) is {child.id}: the "
                f"{_nth(number)} virtio block driver the driver tree lists, by its "
                f"transport's index {tree[number][0]} (the firmware numbers its block "
                "devices in the order it binds them, transport by transport)"))
        if kept:
            model.matching_notes.append(
                f"{', '.join(kept)}: the block command's device number fits no block "
                "driver of the driver tree (too few listed, or another transport): kept apart")


def _block_number(device: Device) -> int | None:
    """The firmware's block device number a record was created by (its alias)."""
    for alias in device.aliases:
        if alias.startswith(BLOCK_NUMBER):
            digits = alias[len(BLOCK_NUMBER):]
            return int(digits) if digits.isdigit() else None
    return None


def _tree_block_children(model: Model) -> dict[str, list[tuple[int, Device]]]:
    """Per dialect, the block drivers its driver tree lists, with their transport's index,
    in the order of those indexes (none for a tree with two below one transport)."""
    children: dict[str, list[tuple[int, Device]]] = {}
    for device in model.live_devices():
        event = device.first_event
        if (event is None or device.device_type != "block" or device.guest_name is None
                or _block_number(device) is not None):
            continue
        slot = model.grammar_of(event).slot_of_child(device.guest_name)
        if slot is not None and slot.isdigit():
            children.setdefault(event.dialect, []).append((int(slot), device))
    for dialect, tree in list(children.items()):
        tree.sort(key=lambda pair: pair[0])
        if len({slot for slot, _ in tree}) != len(tree):
            del children[dialect]  # two drivers below one transport: not a tree as read here
    return children


def _transports_agree(numbered: Device, child: Device) -> bool:
    return "unknown" in (numbered.transport, child.transport) or (
        numbered.transport == child.transport)


def _nth(index: int) -> str:
    n = index + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
