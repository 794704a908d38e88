"""Records a guest line made from a device type alone, joined at the end of a run.

This module owns one join: a record that only a type-naming success line made (Linux's
"scsi host0: Virtio SCSI HBA", printed by virtio_scsi's probe under the SCSI host's name,
type_named.py ``probing_of_its_type``) when no device of that type was known yet. On a
console where the transport prints nothing before the driver loads (s390 virtio-ccw: the
channel subsystem's devices are never announced; a quiet PCI console), the device itself is
known only later (a sysfs dump, a driver link), as a second record. When the log ends with
exactly one such line-only record of a type and exactly one other guest device of that type,
whose probe did not fail, both are that one device.
"""

from __future__ import annotations

from virtiodiag.model.device import Device, Model
from virtiodiag.model.identity import Identities

TYPED_PREFIX = "typed:"


def _type_only(device: Device) -> bool:
    """A record only type-naming lines made: no name, no address, every alias typed."""
    return (bool(device.aliases) and device.guest_name is None and device.address is None
            and all(alias.startswith(TYPED_PREFIX) for alias in device.aliases))


def join_type_only_records(model: Model, identities: Identities) -> None:
    live = model.live_devices()
    lone = [d for d in live if _type_only(d) and d.device_type is not None]
    for record in lone:
        wanted = record.device_type
        if sum(1 for d in lone if d.device_type == wanted) != 1:
            continue  # two SCSI hosts and their devices: which is which is not known
        others = [d for d in live if d is not record and d.aliases and d.device_type == wanted
                  and d.sides - {"host"} and not _type_only(d) and not d.probe_failures]
        if len(others) != 1:
            continue
        target = others[0]
        line = record.first_event.line if record.first_event is not None else None
        identities.merge(target, record)  # (how it was matched stays the target's own)
        model.matching_notes.append(
            f"{target.id}: the only {wanted} device the guest shows, so the driver's line "
            f"that names no device{f' (line {line})' if line else ''} is its own")
