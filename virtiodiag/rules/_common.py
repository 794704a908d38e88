"""Small helpers shared by the rule modules (not a rule: the registry skips this file)."""

from __future__ import annotations

from virtiodiag import spec
from virtiodiag.events import Event, Payload
from virtiodiag.model.device import Device, Model
from virtiodiag.model.records import transport_of_unnamed
from virtiodiag.reports.escape import safe

QUOTE_LIMIT = 80  # characters of a name taken from a log line that a message quotes


def quoted(text: object, limit: int = QUOTE_LIMIT) -> str:
    """What a log line gave (a tag, a parameter, a source file, a device's own error
    message) as a message may quote it: control and bidirectional characters escaped, cut
    to ``limit`` characters (reports/escape.safe)."""
    return safe(str(text), limit=limit)


def status_text(value: int) -> str:
    """``0x0b (ACKNOWLEDGE|DRIVER|FEATURES_OK)``."""
    return f"0x{value:02x} ({spec.status_names(value)})"


def first_event_of(device: Device, *kinds: str) -> Event | None:
    for event in device.timeline:
        if event.kind in kinds:
            return event
    return None


def synthetic_event(path: str, line: int, text: str) -> Event:
    """An event for a finding that points at a line no grammar turned into an event."""
    return Event(Payload("virtiodiag", "note", ()), path, line, text)


def unnamed_device(event: Event, model: Model | None) -> str:
    """How a finding names the device of an error line that names none: by its transport
    when the model can tell it (records.transport_of_unnamed), never as if it were known."""
    transport = transport_of_unnamed(model, event) if model is not None else None
    kind = spec.normalise_type(str(event.get("device_type") or "")) or None
    # A line that names only the device's interface or disk, and its driver ("NETDEV
    # WATCHDOG: enp0s1 (virtio_net): ...", "I/O error, dev vdc"): what it names is said.
    # A line that names only a virtio driver of one type ("virtio_net: ...", as xhyve's
    # virtio-net model also prints) says that type; a transport's driver (virtio_pci,
    # virtio_mmio) names none.
    own = event.get("netdev") or event.get("disk")
    if kind is None:
        kind = spec.normalise_type(str(event.get("driver") or "")) or None
    if transport is not None:
        return f"an unnamed virtio-{transport} {kind + ' ' if kind else ''}device"
    if own:
        what = "interface" if event.get("netdev") else "disk"
        return (f"the {kind + ' ' if kind else ''}device of {what} {own} (no line of the log "
                "names its virtio device)")
    if kind is not None:
        # QEMU's device model names itself by type only ("virtio-blk missing headers").
        return f"an unnamed {kind} device (the line names its type only)"
    return "a device the line does not name"


def errno_text(event: Event) -> str:
    errno = event.get("errno")
    if isinstance(errno, int):
        return f"error {spec.errno_name(errno)}"
    return "an error"


def qemu_pairs(ctx) -> list:
    """QEMU's own view of each device (QMP, from `virtiodiag run`) paired with the log's
    device, at the end of a run that has one; empty otherwise. The QMP rules read this."""
    run = ctx.model.run
    view = run.qemu_view if run is not None else None
    if not ctx.final or view is None or not view.devices:
        return []
    from virtiodiag.launch.view import pair  # only runs with a QEMU view need it

    return list(pair(view, ctx.model))
