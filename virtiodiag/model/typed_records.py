"""Records a guest line made from a device type alone, joined at the end of a run.

This module owns one join: a record that only a type-naming success line made (Linux's
"scsi host0: Virtio SCSI HBA", printed by virtio_scsi's probe under the SCSI host's name,
type_named.py ``probing_of_its_type``) when no device of that type was known yet. On a
console where the transport prints nothing before the driver loads (s390 virtio-ccw: the
channel subsystem's devices are never announced; a quiet PCI console), the device itself is
known only later (a sysfs dump, a driver link), as a second record. When the log ends with
exactly one such line-only record of a type and exactly one other guest device of that type,
whose probe did not fail, both are that one device.

It owns a second: a guest's error line that names only its device's type (virtio_gpu's
"[drm:virtio_gpu_dequeue_ctrl_func [virtio_gpu]] *ERROR* response 0x1200 (command 0x207)")
printed before any line showed a device of that type is kept for the run (type_named.py
finds no device); when the log ends with exactly one device of that type (the VMM's line
that makes it came later: crosvm's debug line of the command it refused), the error is
that device's, as it would have been had the device come first. An error that only a
driven device can have (virtio_net refusing an XDP program for an interface its probe
registered: netlink_extack.lark; SLOF's virtio-blk refusing a read past the disk's end,
which it makes only once its virtioblk_init set the device up: slof.lark) is, in a log that
shows no device of its type, a record of its own: the device exists, as the error says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtiodiag import spec
from virtiodiag.model.device import Device, Model
from virtiodiag.model.guest_lines import note_guest_line
from virtiodiag.model.identity import Identities

if TYPE_CHECKING:
    from virtiodiag.model.handlers import Handlers

TYPED_PREFIX = "typed:"
# Type-only errors of a device that must have been driven: they make a record of their own
# when no device of their type is known (module docstring).
_DRIVEN_ONLY = {"xdp_refused", "beyond_capacity"}


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


def join_type_only_errors(model: Model, identities: Identities, handlers: Handlers) -> None:
    """A guest's type-only error of no device, given to the one device of its type the
    log ends with (module docstring); with none or two or more, it stays the run's."""
    moved = []
    for event in model.unattributed_errors:
        side = model.side_of(event.dialect)
        if event.kind != "device_error" or side not in ("guest", "firmware"):
            continue
        if side == "firmware" and event.payload.detail not in _DRIVEN_ONLY:
            continue  # (a firmware's own error joins a device only as _DRIVEN_ONLY's)
        wanted = spec.normalise_type(event.get("device_type"))
        if wanted is None:
            continue
        typed = [d for d in model.live_devices() if d.device_type == wanted]
        if len(typed) != 1 and not (not typed and event.payload.detail in _DRIVEN_ONLY):
            continue
        # The line applied as it would have been live, to a record of its own joined to
        # the device (the join keeps the timeline in log order).
        record = identities.device_for((f"{TYPED_PREFIX}error@{event.seq}",))
        if record is None:
            continue
        handlers.apply(record, event, side)
        note_guest_line(record, event, side)
        moved.append(event)
        if not typed:
            continue  # the device of its own record (_DRIVEN_ONLY)
        identities.merge(typed[0], record)
        model.matching_notes.append(
            f"{typed[0].id}: the only {wanted} device of the log, so the guest's error that "
            f"names its type only (line {event.line}, before any line showed the device) is "
            "its own")
    if moved:
        model.unattributed_errors[:] = [e for e in model.unattributed_errors
                                        if not any(e is m for m in moved)]
