"""Small helpers shared by the rule modules (not a rule: the registry skips this file)."""

from __future__ import annotations

from virtiodiag import spec
from virtiodiag.events import Event, Payload
from virtiodiag.model.device import Device, Model

# Legacy evidence that only says "DRIVER_OK came without FEATURES_OK": on a device that is
# otherwise driven modern that is an order violation (VD005), not proof of a legacy driver.
_WEAK_LEGACY = "set without FEATURES_OK"


def is_weak_legacy(evidence) -> bool:
    """Legacy evidence that only says DRIVER_OK came without FEATURES_OK."""
    return _WEAK_LEGACY in evidence.text


def status_text(value: int) -> str:
    """``0x0b (ACKNOWLEDGE|DRIVER|FEATURES_OK)``."""
    return f"0x{value:02x} ({spec.status_names(value)})"


def is_modern(device: Device) -> bool:
    """The driver drove the device through the VirtIO 1.x interface (or the device has no other)."""
    if device.pci_kind == "modern" or device.mmio_version == 2:
        return True
    strong_legacy = [e for e in device.legacy_evidence if _WEAK_LEGACY not in e.text]
    if not device.modern_evidence:
        return False
    if not strong_legacy:
        return True
    return device.modern_evidence[-1].event.seq > strong_legacy[-1].event.seq


def is_legacy(device: Device) -> bool:
    """The driver drove the device through the legacy interface."""
    if is_modern(device):
        return False
    return device.driven_mode == "legacy" or device.mode == "legacy"


# Dialects of a VMM's own log: they show the host's side of the devices, not a guest's.
HOST_DIALECTS = frozenset({"qemu-trace", "cloud-hypervisor", "firecracker"})


def guest_side_seen(model: Model) -> bool:
    """The log holds lines printed by the guest (any dialect but a VMM's own log)."""
    return any(name not in HOST_DIALECTS for name in model.dialects_seen)


def first_event_of(device: Device, *kinds: str) -> Event | None:
    for event in device.timeline:
        if event.kind in kinds:
            return event
    return None


def synthetic_event(path: str, line: int, text: str) -> Event:
    """An event for a finding that points at a line no grammar turned into an event."""
    return Event(Payload("virtiodiag", "note", ()), path, line, text)


def errno_text(event: Event) -> str:
    errno = event.get("errno")
    if isinstance(errno, int):
        return f"error {spec.errno_name(errno)}"
    return "an error"
