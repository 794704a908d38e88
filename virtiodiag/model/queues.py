"""The queue events' state changes (queue_select, queue_config, queue_ready): a part of
model/handlers.py's Handlers, kept here as a mixin so that each module stays small."""

from __future__ import annotations

from virtiodiag import limits, spec
from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model


class QueueHandlers:
    """What a queue event changes in its device's queues."""

    model: Model

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
