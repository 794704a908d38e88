"""virtio-mmio register decoding: a traced register write becomes a device fact.

QEMU's ``virtio_mmio_write offset 0x.. value 0x..`` names a register by its offset
(spec 4.2.2). This module owns that table and the selector state it needs (which
feature word and queue the driver selected), and turns each write into features
accepted, queue addresses, QueueReady and the interface evidence the register proves
(GuestPageSize and QueuePFN exist only in legacy virtio-mmio, QueueDescLow and
QueueReady only in modern).
"""

from __future__ import annotations

from virtiodiag import limits, spec
from virtiodiag.events import Event
from virtiodiag.model.attempts import LEGACY, MODERN, STRONG, FeatureValue
from virtiodiag.model.device import Device, Model
from virtiodiag.model.records import Queue

_QUEUE_ADDRESS = {0x080: "desc", 0x084: "desc", 0x090: "avail", 0x094: "avail",
                  0x0A0: "used", 0x0A4: "used"}
_QUEUE_LEGACY = {0x038: "size", 0x03C: "align", 0x040: "pfn"}


# DriverFeaturesSel picks a 32-bit word of (at most 128) feature bits, QueueSel a 16-bit
# queue index: a larger value is no selector (and never a shift count: 0x4000000 once made
# 165 bytes of log allocate 1.14 GB).
_SELECTOR_MAX = {0x024: 3, 0x030: 0xFFFF}


class MmioDecoder:
    """Decodes the register accesses of every virtio-mmio device of one run."""

    def __init__(self, model: Model):
        self.model = model
        self._selectors: dict[int, dict[str, int]] = {}  # id(device) -> register -> value

    def guest_page(self, device: Device, event: Event) -> None:
        device.transport = "mmio"
        size = event.get("page_size")
        if isinstance(size, int):
            device.guest_page_size = size
        device.add_evidence(LEGACY, "legacy_register", STRONG,
                            "GuestPageSize written (legacy virtio-mmio register)", event)

    def access(self, device: Device, event: Event) -> None:
        """Decode a virtio-mmio register access (offsets from the spec, 4.2.2)."""
        device.transport = "mmio"
        offset, value = event.get("offset"), event.get("value")
        if (event.payload.detail != "write" or not isinstance(offset, int)
                or not isinstance(value, int)):
            return
        if offset in _SELECTOR_MAX and value > _SELECTOR_MAX[offset]:
            limits.not_understood(self.model, event)
            return
        sel = self._selectors.setdefault(id(device), {})
        if offset == 0x024:
            sel["driver_features"] = value
        elif offset == 0x020:
            word = sel.get("driver_features", 0)
            bits = value << (32 * word)
            previous = device.features_accepted or 0
            mask = 0xFFFFFFFF << (32 * word)
            device.features_accepted = (previous & ~mask) | bits
            device.features_accepted_event = event
            device.feature_log.append(FeatureValue("accepted", device.features_accepted, event))
            if word == 1 and value & 1:
                device.add_evidence(MODERN, "version1_accepted", STRONG,
                                    "VERSION_1 (bit 32) written to DriverFeatures", event)
        elif offset == 0x028:
            self.guest_page(device, event)
        elif offset == 0x030:
            device.selected_queue = value
        elif offset in _QUEUE_LEGACY or offset in _QUEUE_ADDRESS:
            queue = (limits.queue_of(self.model, device, None)
                     or limits.queue_of(self.model, device, 0))
            part = _QUEUE_LEGACY.get(offset)
            if part:
                fields = {part: value}
            else:
                name = _QUEUE_ADDRESS[offset]
                current = getattr(queue, name) or 0
                if offset & 0x4:
                    combined = (current & 0xFFFFFFFF) | (value << 32)
                else:
                    combined = (current & ~0xFFFFFFFF) | value
                fields = {name: combined}
                device.add_evidence(MODERN, "modern_register", STRONG,
                                    f"{spec.mmio_register_name(offset)} written "
                                    "(modern virtio-mmio register)", event)
            if offset == 0x040 and value == 0:
                return  # QueuePFN 0 resets the queue in legacy mode, not a ring address
            _configure_queue(device, queue, event, fields)
        elif offset == 0x044:
            queue = (limits.queue_of(self.model, device, None)
                     or limits.queue_of(self.model, device, 0))
            queue.ready = value if value else 0
            device.add_evidence(MODERN, "modern_register", STRONG,
                                "QueueReady written (modern virtio-mmio register)", event)


def _configure_queue(device: Device, queue: Queue, event: Event, fields: dict) -> None:
    for name, value in fields.items():
        setattr(queue, name, value)
        queue.address_events[name] = event
    if "pfn" in fields:
        queue.desc = fields["pfn"] * (device.guest_page_size or spec.LEGACY_QUEUE_ALIGN)
        queue.address_events["desc"] = event
    queue.first_config = queue.first_config or event
    if queue.ready:
        queue.config_while_ready.append(event)
    if device.driver_ok_in_attempt() and queue.configured_after_driver_ok is None:
        queue.configured_after_driver_ok = event
