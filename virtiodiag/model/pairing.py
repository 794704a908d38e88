"""Whether a guest-side and a host-side record can be one device, and who printed a
guest side's lines: the tests every join of model/joining.py makes; and the join by type
(one device of a type on each side of the log)."""

from __future__ import annotations

from virtiodiag.model.device import Device, Model
from virtiodiag.model.identity import Identities


def compatible(a: Device, b: Device) -> bool:
    return a.device_type is None or b.device_type is None or a.device_type == b.device_type


def agree(guest: Device, host: Device) -> bool:
    """Type, address, transport and mode allow one device to be both."""
    if not compatible(guest, host):
        return False
    if guest.address and host.address and guest.address != host.address:
        return False  # each was already joined to another device with its address
    if "unknown" not in (guest.transport, host.transport) and guest.transport != host.transport:
        return False
    driven = host.driven_mode
    if guest.pci_kind == "modern" and driven == "legacy":
        return False
    if guest.mmio_version is not None and driven is not None:
        return (guest.mmio_version == 1) == (driven == "legacy")
    return True


def speaker(model: Model, devices: list[Device]) -> str:
    """Who printed these guest-side devices' lines (``//@ speaker:``), or "guest side"."""
    for device in devices:
        event = device.found_event or device.first_event
        who = model.speaker_of(event) if event is not None else None
        if who is not None:
            return who[0]
    return "guest side"


def join_by_unique_type(model: Model, identities: Identities, host: list[Device],
                        guest: list[Device]) -> int:
    """Join the host side's device of a type with the guest's when each side of the log
    has exactly one of that type and they agree. A VMM's log names its devices by their
    configuration (Firecracker's drive "rootfs" and interface "eth0", cloud-hypervisor's
    "_disk0", crosvm's disk path) and shows no status write, so no order joins them to the
    guest's virtio0 and virtio1; the type does when it is unique on both sides. Nothing is
    joined while a device of either side has no type (it could be of any). Returns how
    many pairs were joined."""
    if any(d.device_type is None for d in (*host, *guest)):
        return 0
    pairs = []
    for device in guest:
        same_guest = [d for d in guest if d.device_type == device.device_type]
        same_host = [d for d in host if d.device_type == device.device_type]
        if len(same_guest) == 1 and len(same_host) == 1 and agree(device, same_host[0]):
            pairs.append((device, same_host[0]))
    who = speaker(model, [g for g, _ in pairs])
    for guest_dev, host_dev in pairs:
        identities.merge(guest_dev, host_dev,
                         how=f"{guest_dev.address or guest_dev.id} is the only "
                             f"{guest_dev.device_type} device {who} names and {host_dev.id} "
                             "the only one the host side names")
    if pairs:
        model.matching_notes.append(
            f"{len(pairs)} of the host side's device(s) joined to {who}'s by type (one "
            "device of that type on each side)")
    return len(pairs)
