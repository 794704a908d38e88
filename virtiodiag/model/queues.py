"""The queue events' state changes (queue_select, queue_config, queue_ready, the buffers a
queue's pointer names) and the counting of queue kicks (notify) and interrupts, shared with
the flood fast path: a part of model/handlers.py's Handlers, kept here as a mixin so that
each module stays small."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from virtiodiag import limits, spec
from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model

NO_FIELDS: Mapping[str, Any] = MappingProxyType({})


class QueueHandlers:
    """What a queue event changes in its device's queues."""

    model: Model
    vq_queue: dict[str, tuple[Device, int]]
    _dok_memo: dict[int, tuple[list, int, bool]]

    apply: Callable[[Device, Event, str], None]

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

    # ---- notifications and interrupts (shared with the flood fast path) --------------------
    def notify(self, device: Device, event: Event | None,
               fields: Mapping[str, Any] = NO_FIELDS) -> bool:
        """Count one queue kick. Without an Event (the flood path, which passes the line's
        fields) it only counts, and returns False without changing anything when the kick
        must be recorded."""
        fields = event.payload.by_name if event is not None else fields
        if ("notify_offset" in fields and fields["notify_offset"] is not None
                and fields.get("device") is None):
            if event is None:
                return False
            if device.transport == "unknown":
                device.transport = "pci"
            return True  # counted by the virtio_queue_notify line that follows
        index = fields.get("queue")
        index = index if isinstance(index, int) else 0
        queue = device.queues.get(index)
        first = queue is None or queue.first_notify is None
        vq: str = fields.get("vq") or ""
        new_vq = bool(vq) and (queue is None or queue.vq is None)
        early = (device.first_notify_before_driver_ok is None
                 and device.settled_at != len(device.status) and self._before_driver_ok(device))
        if event is None and (first or new_vq or early):
            return False
        if queue is None:
            queue = limits.queue_of(self.model, device, index)
        device.notify_count += 1
        queue.notifies += 1
        if event is None:  # the flood path returned above when the kick is to be recorded
            return True
        if first:
            queue.first_notify = event
            device.add_timeline(event)
        if new_vq:
            queue.vq = vq
            self.vq_queue[vq] = (device, queue.index)
        if early:
            device.first_notify_before_driver_ok = event
            device.add_timeline(event)
        return True

    def _before_driver_ok(self, device: Device) -> bool:
        """A kick now is before DRIVER_OK of a started handshake (the caller has checked
        that none was recorded, and that the status changed since the answer was no).

        ``settled_at`` remembers the status length at which the answer was last no (the
        status list only grows, or is replaced by a merge that clears it), so a flood
        does not rescan the status for every kick."""
        if device.awaiting_driver_ok and not self.driver_ok_in_attempt(device):
            return True
        device.settled_at = len(device.status)
        return False

    def driver_ok_in_attempt(self, device: Device) -> bool:
        """``Device.driver_ok_in_attempt`` memoised on the status list (only ever appended
        to, or replaced by a merge), so a notify flood does not rescan it for every kick."""
        status = device.status
        cached = self._dok_memo.get(id(device))
        if cached is not None and cached[0] is status and cached[1] == len(status):
            return cached[2]
        result = device.driver_ok_in_attempt()
        self._dok_memo[id(device)] = (status, len(status), result)
        return result

    def interrupt(self, device: Device, event: Event | None,
                  fields: Mapping[str, Any] = NO_FIELDS) -> bool:
        """Count one interrupt. Without an Event (the flood path, which passes the line's
        fields) it only counts, and returns False without changing anything when the line
        carries more than a count."""
        fields = event.payload.by_name if event is not None else fields
        level, count = fields.get("level"), fields.get("count")
        # A used-buffer notification (virtio_notify / _irqfd / virtio_irq name the queue;
        # an MMIO IRQ level may be a configuration change) before DRIVER_OK (2.1.2).
        early = (level is None and device.first_interrupt_before_driver_ok is None
                 and device.settled_at != len(device.status) and self._before_driver_ok(device))
        if event is None:
            if device.interrupt_count == 0 or level is not None or count is not None or early:
                return False
        elif isinstance(level, int) and level == 0:
            return True
        if early and event is not None:
            device.first_interrupt_before_driver_ok = event
            device.add_timeline(event)
        device.interrupt_count += 1
        owner = self.vq_queue.get(fields.get("vq", ""))
        if owner is not None and owner[0] is device and owner[1] in device.queues:
            device.queues[owner[1]].interrupts += 1
        if device.interrupt_count == 1 and event is not None:  # (a flood line never is the 1st)
            device.add_timeline(event)
        if count is not None:
            if isinstance(count, tuple):
                count = sum(c for c in count if isinstance(c, int))
            if isinstance(count, int):
                device.interrupt_count += count - 1
        return True
