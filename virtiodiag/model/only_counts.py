"""Which lines only count: Attribution.feed, past the counts, the eras and the run-wide
kinds (for a host line: past its pointer and the anonymous register accesses, which
return before), does nothing with them (they name no device, and nothing on them may
attribute them otherwise). A log of many boots repeats some by the thousand (the
kernel's banner, QEMU's trace of each SCSI request and data-plane start); feed returns
early for them, telling them by their payload alone.
"""

from __future__ import annotations

from virtiodiag.events import Payload
from virtiodiag.model.handlers import ATTACH_LINE_REST
from virtiodiag.model.named_lines import IRQ_LINE_DETAILS

# Kinds a VMM's or firmware's line may give to the one device of the type it names.
TYPE_NAMED = ("device_error", "probe_failed", "driver_ready", "features_refused")


def only_counts(payload: Payload, aliases: tuple[str, ...]) -> bool:
    """Whether Attribution.feed, past the counts, the eras and the run-wide kinds, does
    nothing with a line of this payload (of any side: a payload's dialect is its side): it
    names no device (``device_for`` of no names is None, whatever is known), and nothing
    on it may attribute it otherwise (an announced device's place, a listing's capability,
    an IRQ's owner, an interface or disk name, a device type, a VMM's device it names by
    its type, a transport shown, an IRQ report or an error kept unattributed):
    Attribution.feed's checks after the run-wide kinds, read for a line that names no
    device (change both together)."""
    if aliases:
        return False
    kind, detail, fields = payload.kind, payload.detail, payload.by_name
    if (kind in TYPE_NAMED or kind in ("device_found", "driver_ready", "probe_failed")
            or (kind == "features_accepted" and fields.get("device_type") is not None)
            or detail == ATTACH_LINE_REST or detail in IRQ_LINE_DETAILS
            or detail in ("irq_handler", "activated")):
        return False
    if isinstance(fields.get("irq"), int) or fields.get("netdev") or fields.get("disk"):
        return False
    return (fields.get("transport") or (detail if kind == "note" else None)) not in ("pci",
                                                                                  "mmio")
