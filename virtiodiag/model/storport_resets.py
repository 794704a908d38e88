"""Storport's bus resets in a Windows guest's event log, joined to the virtio storage device.

Storport logs event 129, "Reset to device, \\Device\\RaidPort<n>, was issued.", when a
request its miniport took did not complete within the timeout and it reset the adapter's bus
(Windows Driver Kit, storport). The message names storport's adapter object, never the
miniport: the event's source does, on a line of its own in an export (Event Viewer's and
wevtutil's "Source: vioscsi", Get-WinEvent's "ProviderName: viostor"). The virtio-win
dialect reads both (grammars/virtio_win.lark): the source as its driver running its device,
the reset as a device error of no device. At the end of a run the reset is the one virtio
storage device's (scsi or block) a guest's driver bound (the miniport a source line named),
when the log shows exactly one; with two or more it stays the run's (a virtio storage adapter
stalled, which one the log does not say); with none the adapter is not shown to be a virtio
device (storport logs the same event for LSI's, AHCI's and NVMe's miniports): the line is
kept as a note of the run, not an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtiodiag.model.device import Model
from virtiodiag.model.guest_lines import note_guest_line
from virtiodiag.model.identity import Identities

if TYPE_CHECKING:
    from virtiodiag.model.handlers import Handlers

RESET_DETAIL = "storport_reset"
_STORAGE = ("scsi", "block")


def join_storport_resets(model: Model, identities: Identities, handlers: Handlers) -> None:
    resets = [e for e in model.unattributed_errors
              if e.kind == "device_error" and e.payload.detail == RESET_DETAIL]
    if not resets:
        return
    storage = [d for d in model.live_devices() if d.device_type in _STORAGE
               and d.bound and "guest" in d.sides]
    moved = []
    for event in resets:
        if len(storage) > 1:
            continue
        moved.append(event)
        if not storage:
            model.matching_notes.append(
                f"line {event.line}: storport reset an adapter no virtio storage driver of "
                "the log holds: not shown to be a virtio device's, not an error")
            continue
        target = storage[0]
        record = identities.device_for((f"storport:reset@{event.seq}",))
        if record is None:
            continue
        side = model.side_of(event.dialect)
        handlers.apply(record, event, side)
        note_guest_line(record, event, side)
        identities.merge(target, record)
        model.matching_notes.append(
            f"{target.id}: the only virtio storage device a guest's driver holds, so "
            f"storport's reset (line {event.line}) is its own")
    if moved:
        model.unattributed_errors[:] = [e for e in model.unattributed_errors
                                        if not any(e is m for m in moved)]
