"""The queue events' state changes (queue_select, queue_config, queue_ready, the buffers a
queue's pointer names) and the counting of queue kicks (notify) and interrupts, the flood
fast path's too (one function for both paths: on_notification): a part of
model/handlers.py's Handlers, kept here as a mixin so that each module stays small."""

from __future__ import annotations

from collections.abc import Callable

from virtiodiag import limits, spec
from virtiodiag.events import Event, Payload
from virtiodiag.model.device import Device, Model


class QueueHandlers:
    """What a queue event changes in its device's queues."""

    model: Model
    vq_queue: dict[str, tuple[Device, int]]
    _dok_memo: dict[int, tuple[list, int, bool]]
    # Attribution's: vdev pointer -> its device, and the host lines waiting for theirs
    # (the flood path's look-up: on_notification)
    hosts: dict[str, Device]
    held: list[Event]

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

    # ---- notifications: queue kicks and interrupts (the event path and the flood path) ------
    def on_notification(self, device: Device | None, event: Event | None,
                        payload: Payload | None = None, line: int = 0) -> bool:
        """Count one notification (spec 2.3): a queue kick (kind ``notify``, the driver's)
        or an interrupt (kind ``interrupt``, the device's used-buffer or configuration
        notification). Returns whether it was counted.

        One function for both paths, so that a flood line takes one call. The event path
        passes the device and the Event. The flood path (ModelBuilder.flood: a memoised
        QEMU trace line, for which the line decoder makes no Event) passes neither, only
        the line's payload and number: the device is the one its vdev pointer names
        (``hosts``, Attribution's), and the line is counted only when that changes nothing
        but counters; otherwise nothing is changed and it returns False, and the decoder
        makes the Event and takes the event path. A line counted there is still one event
        of the run, of its dialect."""
        if event is None:
            if self.held:  # host lines naming no device wait for the next one's (Attribution)
                return False
            assert payload is not None  # the flood path's (see ModelBuilder.flood)
            fields = payload.by_name
            device = self.hosts.get(fields.get("device", ""))
            if device is None or not device.aliases:
                return False
        else:
            payload = event.payload
            fields = payload.by_name
        assert device is not None  # given with its Event, or found above
        if payload.kind == "notify":
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
                     and device.settled_at != len(device.status)
                     and self._before_driver_ok(device))
            if event is None and (first or new_vq or early):
                return False
            if queue is None:
                queue = limits.queue_of(self.model, device, index)
            device.notify_count += 1
            queue.notifies += 1
            if event is not None:
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
        else:
            level, count = fields.get("level"), fields.get("count")
            # A used-buffer notification (virtio_notify / _irqfd / virtio_irq name the
            # queue; an MMIO IRQ level may be a configuration change) before DRIVER_OK
            # (2.1.2).
            early = (level is None and device.first_interrupt_before_driver_ok is None
                     and device.settled_at != len(device.status)
                     and self._before_driver_ok(device))
            if event is None:
                # only a count: not the device's first, no level, no count of its own
                if device.interrupt_count == 0 or level is not None or count is not None or early:
                    return False
            elif isinstance(level, int) and level == 0:
                return True
            elif early:
                device.first_interrupt_before_driver_ok = event
                device.add_timeline(event)
            device.interrupt_count += 1
            owner = self.vq_queue.get(fields.get("vq", ""))
            if owner is not None and owner[0] is device and owner[1] in device.queues:
                device.queues[owner[1]].interrupts += 1
            if event is not None:
                if device.interrupt_count == 1:
                    device.add_timeline(event)
                if count is not None:
                    if isinstance(count, tuple):
                        count = sum(c for c in count if isinstance(c, int))
                    if isinstance(count, int):
                        device.interrupt_count += count - 1
                return True
        # The flood path: counted without an Event.
        model = self.model
        model.events += 1
        seen = model.dialects_seen
        seen[payload.dialect] = seen.get(payload.dialect, 0) + 1
        device.flood_line = line
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
