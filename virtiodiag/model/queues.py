"""The queue events' state changes (queue_select, queue_config, queue_ready): a part of
model/handlers.py's Handlers, kept here as a mixin so that each module stays small."""

from __future__ import annotations

from collections.abc import Callable

from virtiodiag import limits, spec
from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model


class QueueHandlers:
    """What a queue event changes in its device's queues."""

    model: Model
    vq_queue: dict[str, tuple[Device, int]]

    apply: Callable[[Device, Event, str], None]
    driver_ok_in_attempt: Callable[[Device], bool]

    def by_queue_pointer(self) -> dict[str, Callable[[Event, str], Device | None]]:
        """Kinds that name their queue by its pointer only, not their device."""
        return {"queue_io": self.on_queue_pointer}

    def on_queue_pointer(self, event: Event, side: str) -> Device | None:
        """QEMU's virtqueue_pop / _fill / _flush name a VirtQueue pointer only: the queue
        an earlier virtio_queue_notify or virtio_notify line gave that pointer to (with its
        device). A pointer no such line named is counted, and given to no device."""
        owner = self.vq_queue.get(str(event.get("vq") or ""))
        if owner is None or not owner[0].aliases:
            return None
        self.apply(owner[0], event, side)
        return owner[0]

    def on_queue_io(self, device: Device, event: Event) -> None:
        """The device took a buffer (pop) or returned used ones (flush, ``count`` of them):
        per queue; those returned while the device's current attempt is at DRIVER_OK (counted
        afresh in each attempt) are the ones after which the driver expects a used-buffer
        notification (spec 2.7.10)."""
        owner = self.vq_queue.get(str(event.get("vq") or ""))
        if owner is None or owner[1] not in device.queues:
            return
        queue = device.queues[owner[1]]
        detail = event.payload.detail
        if detail == "pop":
            queue.buffers_taken += 1
            return
        count = event.get("count")
        if detail != "flush" or not isinstance(count, int) or count <= 0:
            return
        queue.buffers_used += count
        if not self.driver_ok_in_attempt(device):
            return
        if queue.used_in_attempt != len(device.resets):
            # the first of this attempt: a firmware's attempt before (SeaBIOS polls, and
            # asks for no interrupt) says nothing of the driver's
            queue.used_in_attempt = len(device.resets)
            queue.buffers_used_after_driver_ok = 0
            queue.first_buffer_used_after_driver_ok = event
            device.add_timeline(event)
        queue.buffers_used_after_driver_ok += count

    def _queue_named(self, device: Device, event: Event):
        """The queue the event names (its ``queue`` field), within the model's limits."""
        index = event.get("queue")
        return limits.queue_of(self.model, device, index if isinstance(index, int) else None)

    def on_queue_select(self, device: Device, event: Event) -> None:
        queue = event.get("queue")
        if isinstance(queue, int):
            device.selected_queue = queue

    def on_queue_config(self, device: Device, event: Event) -> None:
        queue = self._queue_named(device, event)
        if queue is None:
            queue = device.queue(0 if not device.queues else max(device.queues))
        ready_now = event.get("ready")
        touched = False
        for name in ("size", "desc", "avail", "used", "pfn", "align"):
            value = event.get(name)
            if isinstance(value, int):
                setattr(queue, name, value)
                queue.address_events[name] = event
                touched = True
        if queue.pfn is not None and "pfn" in queue.address_events and queue.desc is None:
            queue.desc = queue.pfn * (device.guest_page_size or spec.LEGACY_QUEUE_ALIGN)
            queue.address_events["desc"] = queue.address_events["pfn"]
        if touched:
            queue.first_config = queue.first_config or event
            enabled = ready_now if isinstance(ready_now, int) else queue.ready
            if enabled:
                queue.config_while_ready.append(event)
            if queue.configured_after_driver_ok is None and device.driver_ok_in_attempt():
                queue.configured_after_driver_ok = event
        if isinstance(ready_now, int):
            queue.ready = ready_now

    def on_queue_ready(self, device: Device, event: Event) -> None:
        queue = self._queue_named(device, event)
        if queue is None:
            return
        ready = event.get("ready")
        if isinstance(ready, int):
            if ready == 0 and device.transport == "pci":
                queue.ready_zero_writes.append(event)
            queue.ready = ready
