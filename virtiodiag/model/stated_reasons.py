"""A driver that says why it gave up under no name, then names the device in its next line.

Hermit's drivers print their refusal without the device ("Device features set, does not
satisfy minimal features needed. Aborting!", "Feature negotiation failed with minimal
feature set. Aborting!": src/drivers/net/virtio_net.rs init_dev()), and the transport's
init_device() then names the function it gave up on ("Virtio networkd driver could not be
initialized with device: 1041"). The refusal is that device's: the cause of its failed
probe, not a second failure of a device the log does not name.
"""

from __future__ import annotations

from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model

# How many events later the naming line may come: the transport's line follows the
# driver's refusal directly (one set_failed debug line at most between them).
REASON_REACH = 3


def join_stated_reasons(model: Model) -> None:
    """Give each device-less probe failure to the device whose failure of the same dialect
    comes right after it, when one does."""
    unnamed = [e for e in model.unattributed_errors
               if e.kind == "probe_failed" and e.get("device") is None
               and e.get("pci_device") is None and e.get("device_type") is None]
    if not unnamed:
        return
    # The failures that name their device, by the dialect that printed them (the scope: a
    # line of another dialect names nothing for this one), in log order.
    named: dict[str, list[tuple[int, Device]]] = {}
    for device in model.live_devices():
        for event in device.probe_failures:
            named.setdefault(event.dialect, []).append((event.seq, device))
    for in_order in named.values():
        in_order.sort(key=lambda item: item[0])
    joined: list[Event] = []
    for reason in unnamed:
        owner = _naming_failure(reason, named.get(reason.dialect, []))
        if owner is None:
            continue
        own = owner.probe_failures
        at = next((i for i, e in enumerate(own) if e.seq > reason.seq), len(own))
        own.insert(at, reason)
        joined.append(reason)
    if joined:
        model.unattributed_errors[:] = [e for e in model.unattributed_errors
                                        if not any(e is j for j in joined)]


def _naming_failure(reason: Event, named: list[tuple[int, Device]]) -> Device | None:
    """The device of the first failure of the dialect after ``reason``, if it comes within
    REASON_REACH events."""
    for seq, device in named:
        if seq > reason.seq:
            return device if seq - reason.seq <= REASON_REACH else None
    return None
