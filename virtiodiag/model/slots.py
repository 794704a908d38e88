"""Transport slots with nothing behind them, and the probes that find them.

QEMU's machines create every virtio-mmio transport up front (-M virt: 32 on arm64, 8 on
riscv64), used or not. A guest probes each one: a trace shows the probe's reads of the
identity registers, which are no traced device's; a firmware's driver tree or Linux's
/proc/iomem lists the transport, which may be empty. This module says which reads make a
probe, and which listed transports are empty slots whose emptiness is inferred.
"""

from __future__ import annotations

from virtiodiag.events import Event
from virtiodiag.model.device import Model
from virtiodiag.model.discovery import UNCLAIMED


def is_magic_read(event: Event) -> bool:
    """A read of virtio-mmio's MagicValue register: the first access of a transport's
    probe (spec 4.2.2; Linux's virtio_mmio_probe)."""
    return (event.kind == "mmio_access" and event.payload.detail == "read"
            and event.get("offset") == 0)


def is_vendor_read(event: Event) -> bool:
    """A read of VendorID (0xc): a probe that found a device reads it after DeviceID."""
    return (event.kind == "mmio_access" and event.payload.detail == "read"
            and event.get("offset") == 0xC)


def is_identity_read(event: Event) -> bool:
    """A read of MagicValue, Version or DeviceID: all a probe of an empty transport does."""
    return (event.kind == "mmio_access" and event.payload.detail == "read"
            and event.get("offset") in (0x0, 0x4, 0x8))


def probe_starts(pending: list[Event], magics: list[int]) -> list[int]:
    """Where each probe that reads MagicValue at the indices ``magics`` began. Linux's
    virtio_mmio_probe and U-Boot's read MagicValue first, then Version and DeviceID; EDK2's
    VirtioMmioInit (OvmfPkg VirtioMmioDeviceLib) reads DeviceID first, then MagicValue and
    Version. The identity reads right before the first MagicValue read (each register
    once) show which: every probe of the run begins with the same reads."""
    if not magics:
        return []
    first = magics[0]
    start, seen = first, set()
    while start > 0:
        offset = pending[start - 1].get("offset")
        if not is_identity_read(pending[start - 1]) or offset == 0 or offset in seen:
            break
        seen.add(offset)
        start -= 1
    lead = [pending[i].get("offset") for i in range(start, first)]
    starts = [start]
    for magic in magics[1:]:
        begin = magic - len(lead)
        same = begin >= 0 and all(
            is_identity_read(e) and e.get("offset") == o
            for e, o in zip(pending[begin:magic], lead, strict=True))
        starts.append(begin if same else magic)
    return starts


def mark_empty_slots(model: Model) -> None:
    """A virtio-mmio transport listed in a driver tree (its grammar says `//@ child_slot:`)
    with no device driver bound below it is an empty slot (device id 0: U-Boot's
    virtio_mmio_probe stops there without error, and its `dm tree` lists every driver), or
    a device of a type the firmware has no driver for: the tree cannot tell them apart,
    the report says so (``slot_unbound``)."""
    for device in model.live_devices():
        found = device.found_event
        if (found is not None and found.get("slot") is not None
                and model.grammar_of(found).child_slot is not None
                and device.transport == "mmio" and not device.bound and device.virtio_id is None):
            device.virtio_id = 0
            device.device_type = "placeholder"
            device.placeholder_event = found
            device.slot_unbound = ("no driver bound below: device id 0, or a device the "
                                   "firmware has no driver for")


def mark_unclaimed_windows(model: Model) -> None:
    """A virtio-mmio transport known only from its register window in /proc/iomem, listed
    with no driver's claim below it (``device_found[unclaimed]``: "LNRO0005:00", no
    "LNRO0005:00 LNRO0005:00" request), is an empty slot or one virtio_mmio never probed:
    virtio_mmio_probe() requests the window first (devm_platform_ioremap_resource) and
    keeps it only for a device it registered; an id-0 transport ends the probe with -ENODEV
    silently, which releases it. QEMU's arm64 `-M virt` describes all 32 transports in its
    ACPI tables, used or not. No line says which, the report says so (``slot_unbound``).
    Before host and guest are matched: such a slot is none of QEMU's devices."""
    for device in model.live_devices():
        if (device.transport == "mmio" and device.timeline and not device.bound
                and not device.status and device.virtio_id is None
                and device.device_type is None and device.guest_name is None
                and all(e.kind == "device_found" and e.payload.detail == UNCLAIMED
                        for e in device.timeline)):
            device.virtio_id = 0
            device.device_type = "placeholder"
            device.placeholder_event = device.found_event
            device.slot_unbound = ("no driver claimed its registers in /proc/iomem: device "
                                   "id 0, or virtio_mmio never probed it")
