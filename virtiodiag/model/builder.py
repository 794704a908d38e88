"""Feeding events into the model: device identity, then per-kind state changes.

Identity: every event names a device in its dialect's words (a QEMU vdev pointer, a
PCI address, ``virtio0``, an MMIO base, an RTOS driver name). Those names are aliases;
an event that names two of them (``virtio0 -> 0000:00:03.0``, an attach line binding
``virtio-net0`` to a slot) joins their devices. QEMU's side and the guest's side of the
same device are joined at the end, only when the match is unambiguous.
"""

from __future__ import annotations

import re
from functools import lru_cache

from virtiodiag import spec
from virtiodiag.events import Event
from virtiodiag.model.device import (TIMELINE_HEAD, TIMELINE_LIMIT, Device, Evidence, History,
                                     Model, StatusChange)

_BDF = re.compile(r"^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$")
_MMIO_PLATFORM = re.compile(r"^([0-9a-fA-F]+)\.virtio_mmio$")
_VIRTIO_N = re.compile(r"^virtio(\d+)$")
_HEX = re.compile(r"^(?:0x)?[0-9a-fA-F]+$")

# Kinds whose events do not say which device they are about in QEMU's trace; they belong
# to the device whose next vdev-bearing event follows (QEMU traces the register access
# first, then the virtio core call that names the device).
_HOST_ANONYMOUS = {"mmio_access", "mmio_guest_page", "queue_config", "interrupt", "notify"}
_FLOOD_KINDS = {"notify", "interrupt"}
ALIAS_MEMO_LIMIT = 4096  # distinct payloads remembered; cleared when full (flat memory)


@lru_cache(maxsize=1024)
def normalise_bdf(text: str) -> str | None:
    m = _BDF.match(text)
    if not m:
        return None
    domain = m.group(1) or "0000"
    return f"{domain.lower()}:{m.group(2).lower()}:{m.group(3).lower()}.{m.group(4)}"


def normalise_mmio(value) -> str | None:
    if isinstance(value, int):
        return f"0x{value:x}"
    if isinstance(value, str) and _HEX.match(value):
        return f"0x{int(value, 16):x}"
    return None


class ModelBuilder:
    """Consumes events in log order and keeps the model current."""

    def __init__(self, path: str):
        self.model = Model(path)
        self._by_alias: dict[str, Device] = {}
        self._pending_host: list[Event] = []
        self._last_host: Device | None = None
        self._irq_owner: dict[int, Device] = {}
        self._vq_queue: dict[str, tuple[Device, int]] = {}
        self._mmio_sel: dict[int, dict[str, int]] = {}
        self._current_mmio_device: Device | None = None
        self._host_cache: dict[str, Device] = {}  # vdev pointer -> device (flood fast path)
        self._dok_memo: dict[int, tuple[list, int, bool]] = {}
        self._alias_memo: dict[int, tuple[object, tuple[str, ...]]] = {}

    # ---- identity ----------------------------------------------------------------------
    def aliases_for(self, event: Event) -> tuple[str, ...]:
        """The names an event gives its device. A pure function of the payload, and the
        dialects hand out one Payload object per distinct line text, so it is memoised by
        payload identity (the memo holds the payload, so its id cannot be reused)."""
        payload = event.payload
        known = self._alias_memo.get(id(payload))
        if known is not None and known[0] is payload:
            return known[1]
        names = tuple(self._aliases_of(event))
        if len(self._alias_memo) >= ALIAS_MEMO_LIMIT:
            self._alias_memo.clear()
        self._alias_memo[id(payload)] = (payload, names)
        return names

    def _aliases_of(self, event: Event) -> list[str]:
        names: list[str] = []
        device = event.get("device")
        if event.dialect == "qemu-trace":
            if isinstance(device, str) and device and device != "(nil)":
                names.append(f"vdev:{device}")
            return names
        for value in (device, event.get("address")):
            if value is None or value == "":
                continue
            text = str(value) if not isinstance(value, int) else None
            if text is not None:
                bdf = normalise_bdf(text)
                if bdf:
                    names.append(f"pci:{bdf}")
                    continue
                m = _MMIO_PLATFORM.match(text)
                if m:
                    names.append(f"mmio:0x{int(m.group(1), 16):x}")
                    continue
            if value is event.get("address"):
                mmio = normalise_mmio(value)
                if mmio:
                    names.append(f"mmio:{mmio}")
                    continue
            names.append(f"name:{value}")
        slot = event.get("slot")
        if slot is not None and event.kind == "device_bind":
            names.append(f"slot:{slot}")
        if event.kind == "device_found" and event.get("slot") is None and event.get("device") is None:
            pass
        return names

    def device_for(self, aliases: list[str]) -> Device | None:
        devices = []
        for alias in aliases:
            dev = self._by_alias.get(alias)
            if dev is not None and dev not in devices:
                devices.append(dev)
        if not aliases:
            return None
        if not devices:
            dev = Device(ordinal=len(self.model.devices) + 1)
            self.model.devices.append(dev)
            devices = [dev]
        target = devices[0]
        for other in devices[1:]:
            self.merge(target, other)
        for alias in aliases:
            if alias not in target.aliases:
                target.aliases.append(alias)
                self._by_alias[alias] = target
        return target

    def merge(self, target: Device, other: Device, how: str | None = None) -> None:
        """Join two records of the same device (aliases, facts and timelines)."""
        if target is other:
            return
        for alias in other.aliases:
            self._by_alias[alias] = target
            if alias not in target.aliases:
                target.aliases.append(alias)
        other.aliases = []
        target.sides |= other.sides
        target.dialects |= other.dialects
        for name in ("address", "virtio_id", "device_type", "pci_device", "pci_kind",
                     "mmio_version", "guest_name", "netdev", "driver", "features_offered",
                     "features_offered_event", "features_accepted", "features_accepted_event",
                     "features_refused", "version1_missing", "legacy_fallback", "mac_random",
                     "irq_mode", "first_notify_before_driver_ok", "guest_page_size",
                     "placeholder_event", "found_event"):
            if getattr(target, name) is None and getattr(other, name) is not None:
                setattr(target, name, getattr(other, name))
        if target.transport == "unknown":
            target.transport = other.transport
        target.bound = target.bound or other.bound
        target.irq_lines |= other.irq_lines
        for name in ("status", "irq_events", "net_headers", "probe_failures", "errors",
                     "traffic", "tests", "mode_evidence", "legacy_evidence",
                     "modern_evidence", "timeline"):
            merged = getattr(target, name) + getattr(other, name)
            merged.sort(key=_seq_of)
            if name == "timeline":
                # The same bound as add_timeline: the head and the latest entries.
                excess = len(merged) - TIMELINE_LIMIT
                if excess > 0:
                    del merged[TIMELINE_HEAD:TIMELINE_HEAD + excess]
                    target.timeline_dropped += excess
                target.timeline = merged
                continue
            bounded = History()
            for item in merged:
                bounded.append(item)
            setattr(target, name, bounded)
        for index, queue in other.queues.items():
            mine = target.queues.get(index)
            if mine is None:
                target.queues[index] = queue
            else:
                mine.notifies += queue.notifies
                mine.interrupts += queue.interrupts
                for attr in ("size", "desc", "avail", "used", "pfn", "align", "ready",
                             "first_config", "first_notify", "configured_after_driver_ok"):
                    if getattr(mine, attr) is None:
                        setattr(mine, attr, getattr(queue, attr))
                mine.config_while_ready += queue.config_while_ready
                mine.ready_zero_writes += queue.ready_zero_writes
        target.flood_line = max(target.flood_line, other.flood_line)
        target.settled_at = other.settled_at = -1
        target.interrupt_count += other.interrupt_count
        target.notify_count += other.notify_count
        target.timeline_dropped += other.timeline_dropped
        for attr, pick in (("first_event", min), ("last_event", max), ("last_progress", max)):
            values = [e for e in (getattr(target, attr), getattr(other, attr)) if e is not None]
            if values:
                setattr(target, attr, pick(values, key=lambda e: e.seq))
        if how:
            target.matched_by = how
        for irq, owner in list(self._irq_owner.items()):
            if owner is other:
                self._irq_owner[irq] = target

    # ---- feeding -----------------------------------------------------------------------
    def feed(self, event: Event) -> Device | None:
        """Apply one event; returns the device it concerned (if any)."""
        model = self.model
        model.events += 1
        dialect = event.payload.dialect
        model.dialects_seen[dialect] = model.dialects_seen.get(dialect, 0) + 1
        kind = event.kind
        if dialect == "qemu-trace":
            return self._feed_host(event)
        handler = _GLOBAL_HANDLERS.get(kind)
        if handler is not None:
            return handler(self, event)
        if (event.dialect == "qemu-stderr" and kind == "device_error" and not event.get("device")
                and (self._last_host is not None or self._pending_host)):
            # A QEMU error about the device whose register access was just traced.
            self._pending_host.append(event)
            return None
        device = self.device_for(self.aliases_for(event))
        if device is None:
            irq = event.get("irq")
            if isinstance(irq, int) and irq in self._irq_owner:
                device = self._irq_owner[irq]
        if device is None:
            if kind in ("device_error", "probe_failed"):
                model.unattributed_errors.append(event)
            return None
        self._apply(device, event, "guest")
        return device

    def _feed_host(self, event: Event) -> Device | None:
        kind = event.payload.kind
        if kind in _FLOOD_KINDS and not self._pending_host:
            # Fast path for notify/interrupt floods: the vdev pointer -> device, cached.
            device = self._host_cache.get(event.get("device"))
            if device is not None and device.aliases:
                device.last_event = event
                event.device_key = device.identity
                _DEVICE_HANDLERS[kind](self, device, event)
                return device
        aliases = self.aliases_for(event)
        if not aliases:
            if event.kind == "notify" and event.get("notify_offset") is not None:
                # virtio_pci_notify_write: the transport is PCI; the count comes from the
                # virtio_queue_notify line QEMU prints next for the same kick.
                self._pending_host.append(event)
                return None
            if event.kind in _HOST_ANONYMOUS or event.kind == "device_error":
                if event.kind == "interrupt" and event.get("level") is not None and self._last_host:
                    self._apply(self._last_host, event, "host")
                    return self._last_host
                self._pending_host.append(event)
                if len(self._pending_host) > 256:
                    self._flush_pending(self._last_host)
                return None
            return None
        device = self.device_for(aliases)
        self._flush_pending(device)
        self._last_host = device
        self._apply(device, event, "host")
        self._host_cache[event.get("device")] = device
        return device

    def _flush_pending(self, device: Device | None) -> None:
        if not self._pending_host:
            return  # the common case in notify/interrupt floods
        pending, self._pending_host = self._pending_host, []
        for event in pending:
            if device is None:
                if event.kind == "device_error":
                    self.model.unattributed_errors.append(event)
                continue
            self._apply(device, event, "host")

    def finish(self) -> Model:
        self._flush_pending(self._last_host)
        link_guest_names(self)
        match_host_and_guest(self)
        return self.model

    # ---- per-kind state changes ---------------------------------------------------------
    def _apply(self, device: Device, event: Event, side: str) -> None:
        device.sides.add(side)
        device.dialects.add(event.dialect)
        if device.first_event is None:
            device.first_event = event
        device.last_event = event
        event.device_key = device.identity
        kind = event.kind
        if kind in _FLOOD_KINDS:
            handler = _DEVICE_HANDLERS[kind]
            handler(self, device, event)
            return
        device.add_timeline(event)
        handler = _DEVICE_HANDLERS.get(kind)
        if handler is not None:
            handler(self, device, event)
        fields = event.payload.by_name
        irq = fields.get("irq")
        if isinstance(irq, int):
            device.irq_lines.add(irq)
            self._irq_owner.setdefault(irq, device)
        if device.device_type is None:
            trace_event = fields.get("trace_event")
            if trace_event and fields.get("device"):
                # virtio_blk_req_complete -> block: the event's class names the device type.
                parts = str(trace_event).split("_")
                if len(parts) > 2:
                    device.device_type = spec.normalise_type(parts[1])
            if device.device_type is None:
                device.device_type = spec.normalise_type(fields.get("device_type")
                                                         or fields.get("driver"))

    def _status(self, device: Device, event: Event, value: int, read: bool = False) -> None:
        device.status.append(StatusChange(value, event, read))
        device.last_progress = event
        if not read and value & spec.FEATURES_OK:
            _evidence(device, "modern", f"FEATURES_OK written (status 0x{value:02x})", event)
        if (not read and value & spec.DRIVER_OK and not value & spec.FEATURES_OK
                and value & spec.DRIVER):
            attempt = device.current_attempt()
            if not any(s.value & spec.FEATURES_OK for s in attempt):
                _evidence(device, "legacy", f"DRIVER_OK (0x{value:02x}) set without FEATURES_OK",
                          event)

    def on_status_write(self, device: Device, event: Event) -> None:
        value = event.get("status")
        if not isinstance(value, int):
            bit = spec.STATUS_BY_NAME.get(str(event.get("bit", "")).upper())
            if bit is None:
                return
            current = device.final_status or 0
            value = current | bit
        self._status(device, event, value)

    def on_status_read(self, device: Device, event: Event) -> None:
        value = event.get("status")
        if isinstance(value, int):
            self._status(device, event, value, read=True)

    def on_reset(self, device: Device, event: Event) -> None:
        self._status(device, event, 0)

    def on_features(self, device: Device, event: Event) -> None:
        bits = event.get("features")
        bitstring = event.get("bitstring")
        if isinstance(bitstring, str) and set(bitstring) <= {"0", "1"}:
            bits = sum(1 << i for i, ch in enumerate(bitstring) if ch == "1")
        if not isinstance(bits, int):
            return
        word = event.get("word")
        if isinstance(word, int):
            bits <<= 32 * word
        if event.kind == "features_offered":
            device.features_offered = (device.features_offered or 0) | bits if word else bits
            device.features_offered_event = event
            if word is None or word == 1:
                if not bits >> spec.VERSION_1 & 1 and word is None:
                    pass
            return
        previous = device.features_accepted if isinstance(word, int) and word > 0 else None
        device.features_accepted = (previous or 0) | bits
        device.features_accepted_event = event
        if word is None or word >= 1:
            if device.features_accepted >> spec.VERSION_1 & 1:
                _evidence(device, "modern", "accepted features include VERSION_1 (bit 32)", event)
            elif word is None:
                _evidence(device, "legacy",
                          f"accepted features 0x{device.features_accepted:x} lack VERSION_1 (bit 32)",
                          event)

    def on_features_refused(self, device: Device, event: Event) -> None:
        device.features_refused = event
        self.on_status_read(device, event)

    def on_version1_missing(self, device: Device, event: Event) -> None:
        device.version1_missing = event

    def on_legacy_fallback(self, device: Device, event: Event) -> None:
        device.legacy_fallback = event
        _evidence(device, "legacy", "the driver left the modern probe for the legacy driver",
                  event)

    def on_device_found(self, device: Device, event: Event) -> None:
        device.found_event = device.found_event or event
        detail = event.payload.detail
        transport = event.get("transport") or detail
        if transport in ("pci", "mmio"):
            device.transport = transport
        address = event.get("address")
        if isinstance(address, str) and normalise_bdf(address):
            device.transport = "pci"
            device.address = normalise_bdf(address)
        elif address is not None and device.transport == "mmio":
            device.address = normalise_mmio(address) or str(address)
        elif address is not None and device.address is None:
            mmio = normalise_mmio(address)
            if mmio:
                device.transport = "mmio" if device.transport == "unknown" else device.transport
                device.address = mmio
        vendor, pci_device = event.get("pci_vendor"), event.get("pci_device")
        if isinstance(pci_device, int) and (vendor is None or vendor == spec.VIRTIO_PCI_VENDOR):
            kind, virtio_id = spec.classify_pci_id(pci_device)
            if kind != "not-virtio":
                device.pci_device = pci_device
                device.pci_kind = kind
                device.transport = "pci"
                if virtio_id is not None:
                    device.virtio_id = virtio_id
                    device.device_type = spec.DEVICE_TYPES.get(virtio_id, f"id{virtio_id}")
                _note(device, f"PCI id 1af4:{pci_device:04x} is a {kind} device", event)
        virtio_id = event.get("virtio_id")
        if isinstance(virtio_id, int):
            device.virtio_id = virtio_id
            device.device_type = spec.DEVICE_TYPES.get(virtio_id, f"id{virtio_id}")
            if virtio_id == 0:
                device.placeholder_event = event
        version = event.get("mmio_version")
        if isinstance(version, int):
            device.transport = "mmio"
            device.mmio_version = version
            word = "legacy" if version == 1 else "modern"
            _note(device, f"virtio-mmio Version {version} ({word})", event)
        mode = str(event.get("mode") or "").lower()
        if mode in ("legacy", "modern"):
            _evidence(device, mode, f"the log says {mode} mode", event)

    def on_device_bind(self, device: Device, event: Event) -> None:
        device.bound = True
        name = event.get("device")
        if isinstance(name, str) and not normalise_bdf(name) and not _MMIO_PLATFORM.match(name):
            if device.guest_name is None or _VIRTIO_N.match(name):
                device.guest_name = name
        driver = event.get("driver")
        if driver and device.driver is None and not str(driver).startswith(("virtio-pci", "virtio-mmio")):
            device.driver = str(driver)
        if event.get("netdev"):
            device.netdev = str(event.get("netdev"))
        address = event.get("address")
        if address is not None and device.address is None:
            bdf = normalise_bdf(str(address)) if isinstance(address, str) else None
            if bdf:
                device.transport, device.address = "pci", bdf
            else:
                mmio = normalise_mmio(address)
                if mmio:
                    device.transport, device.address = "mmio", mmio

    def on_queue_select(self, device: Device, event: Event) -> None:
        queue = event.get("queue")
        if isinstance(queue, int):
            device.selected_queue = queue

    def on_queue_config(self, device: Device, event: Event) -> None:
        index = event.get("queue")
        queue = device.queue(index if isinstance(index, int) else None)
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
            if device.reached_driver_ok and queue.configured_after_driver_ok is None:
                if device.current_attempt() and any(
                        s.value & spec.DRIVER_OK for s in device.current_attempt()):
                    queue.configured_after_driver_ok = event
        if isinstance(ready_now, int):
            queue.ready = ready_now

    def on_queue_ready(self, device: Device, event: Event) -> None:
        index = event.get("queue")
        queue = device.queue(index if isinstance(index, int) else None)
        if queue is None:
            return
        ready = event.get("ready")
        if isinstance(ready, int):
            if ready == 0 and device.transport == "pci":
                queue.ready_zero_writes.append(event)
            queue.ready = ready

    def on_notify(self, device: Device, event: Event) -> None:
        if event.get("notify_offset") is not None and event.get("device") is None:
            if device.transport == "unknown":
                device.transport = "pci"
            return  # counted by the virtio_queue_notify line that follows
        device.notify_count += 1
        index = event.get("queue")
        queue = device.queue(index if isinstance(index, int) else 0)
        if queue is not None:
            queue.notifies += 1
            if queue.first_notify is None:
                queue.first_notify = event
                device.add_timeline(event)
            vq = event.get("vq")
            if vq and queue.vq is None:
                queue.vq = vq
                self._vq_queue[vq] = (device, queue.index)
        # Cheap tests first: in a notify flood the device is usually past this already.
        if device.first_notify_before_driver_ok is None and device.started_handshake:
            if not device.reached_driver_ok or not self._driver_ok_in_attempt(device):
                device.first_notify_before_driver_ok = event
                device.add_timeline(event)

    def flood(self, payload, line: int) -> bool:
        """Count a repeated QEMU notify/interrupt line without building an Event.

        Only when it changes nothing but counters: the device is known by its pointer,
        this queue already has its first notify on the timeline, the device is past
        DRIVER_OK (so no notify-before-DRIVER_OK evidence is due). Otherwise the caller
        takes the ordinary path. Returns whether the line was counted here.
        """
        if self._pending_host:
            return False
        fields = payload.by_name
        device = self._host_cache.get(fields.get("device"))
        if device is None or not device.aliases:
            return False
        if payload.kind == "notify":
            if "notify_offset" in fields:
                return False
            index = fields.get("queue")
            queue = device.queues.get(index if isinstance(index, int) else 0)
            if queue is None or queue.first_notify is None:
                return False
            vq = fields.get("vq")
            if vq and queue.vq is None:
                return False
            if (device.first_notify_before_driver_ok is None
                    and device.settled_at != len(device.status)):
                if not self._driver_ok_in_attempt(device) and device.started_handshake:
                    return False
                device.settled_at = len(device.status)  # past DRIVER_OK: nothing to record
            device.notify_count += 1
            queue.notifies += 1
        else:
            if device.interrupt_count == 0 or "level" in fields or "count" in fields:
                return False
            device.interrupt_count += 1
            owner = self._vq_queue.get(fields.get("vq"))
            if owner is not None and owner[0] is device:
                device.queues[owner[1]].interrupts += 1
        model = self.model
        model.events += 1
        model.dialects_seen[payload.dialect] = model.dialects_seen.get(payload.dialect, 0) + 1
        device.flood_line = line
        return True

    def _driver_ok_in_attempt(self, device: Device) -> bool:
        """``_driver_ok_in_attempt`` memoised on the status list (only ever appended to,
        or replaced by a merge), so a notify flood does not rescan it for every kick."""
        status = device.status
        cached = self._dok_memo.get(id(device))
        if cached is not None and cached[0] is status and cached[1] == len(status):
            return cached[2]
        result = _driver_ok_in_attempt(device)
        self._dok_memo[id(device)] = (status, len(status), result)
        return result

    def on_interrupt(self, device: Device, event: Event) -> None:
        level = event.get("level")
        if isinstance(level, int) and level == 0:
            return
        device.interrupt_count += 1
        vq = event.get("vq")
        if vq and vq in self._vq_queue:
            owner, index = self._vq_queue[vq]
            if owner is device:
                device.queues[index].interrupts += 1
        if device.interrupt_count == 1:
            device.add_timeline(event)
        count = event.get("count")
        if isinstance(count, tuple):
            count = sum(c for c in count if isinstance(c, int))
        if isinstance(count, int):
            device.interrupt_count += count - 1

    def on_irq(self, device: Device, event: Event) -> None:
        device.irq_events.append(event)
        mode = event.get("mode") or event.payload.detail
        if mode:
            device.irq_mode = str(mode).lower()
        count = event.get("count")
        if isinstance(count, tuple):
            count = sum(c for c in count if isinstance(c, int))
        if isinstance(count, int):
            device.interrupt_count = max(device.interrupt_count, 0) + count
        if event.kind == "irq_enable":
            self.model.irq_enables.append(event)
        else:
            self.model.irq_setups.append(event)

    def on_net_hdr(self, device: Device, event: Event) -> None:
        device.net_headers.append(event)
        if device.device_type is None:
            device.device_type = "net"

    def on_netdev(self, device: Device, event: Event) -> None:
        self.on_device_bind(device, event)
        if event.get("hdr_len") is not None:
            device.net_headers.append(event)
        device.device_type = device.device_type or "net"

    def on_mac_random(self, device: Device, event: Event) -> None:
        device.mac_random = event

    def on_probe_failed(self, device: Device, event: Event) -> None:
        device.probe_failures.append(event)

    def on_device_error(self, device: Device, event: Event) -> None:
        device.errors.append(event)
        offset = event.get("offset")
        detail = event.payload.detail or ""
        if detail == "modern_register_on_legacy":
            _evidence(device, "modern", "the driver used a modern-only register on a legacy device", event)

    def on_traffic(self, device: Device, event: Event) -> None:
        device.traffic.append(event)

    def on_mmio_guest_page(self, device: Device, event: Event) -> None:
        device.transport = "mmio"
        size = event.get("page_size")
        if isinstance(size, int):
            device.guest_page_size = size
        _evidence(device, "legacy", "GuestPageSize written (legacy virtio-mmio register)", event)

    def on_mmio_access(self, device: Device, event: Event) -> None:
        """Decode a virtio-mmio register access (offsets from the spec, 4.2.2)."""
        device.transport = "mmio"
        offset, value = event.get("offset"), event.get("value")
        if event.payload.detail != "write" or not isinstance(offset, int) or not isinstance(value, int):
            return
        sel = self._mmio_sel.setdefault(id(device), {})
        if offset == 0x024:
            sel["driver_features"] = value
        elif offset == 0x020:
            word = sel.get("driver_features", 0)
            bits = value << (32 * word)
            previous = device.features_accepted or 0
            mask = 0xFFFFFFFF << (32 * word)
            device.features_accepted = (previous & ~mask) | bits
            device.features_accepted_event = event
            if word == 1 and value & 1:
                _evidence(device, "modern", "VERSION_1 (bit 32) written to DriverFeatures", event)
        elif offset == 0x028:
            self.on_mmio_guest_page(device, event)
        elif offset == 0x030:
            device.selected_queue = value
        elif offset in (0x038, 0x03C, 0x040, 0x080, 0x084, 0x090, 0x094, 0x0A0, 0x0A4):
            queue = device.queue(None) or device.queue(0)
            part = {0x038: "size", 0x03C: "align", 0x040: "pfn"}.get(offset)
            if part:
                fields = {part: value}
            else:
                name = {0x080: "desc", 0x084: "desc", 0x090: "avail", 0x094: "avail",
                        0x0A0: "used", 0x0A4: "used"}[offset]
                current = getattr(queue, name) or 0
                if offset & 0x4:
                    combined = (current & 0xFFFFFFFF) | (value << 32)
                else:
                    combined = (current & ~0xFFFFFFFF) | value
                fields = {name: combined}
                _evidence(device, "modern", f"{spec.mmio_register_name(offset)} written "
                          "(modern virtio-mmio register)", event)
            if offset == 0x040 and value == 0:
                return  # QueuePFN 0 resets the queue in legacy mode, not a ring address
            self._configure_queue(device, queue, event, fields)
        elif offset == 0x044:
            queue = device.queue(None) or device.queue(0)
            if value:
                queue.ready = value
            else:
                queue.ready = 0
            _evidence(device, "modern", "QueueReady written (modern virtio-mmio register)", event)

    def _configure_queue(self, device, queue, event, fields) -> None:
        for name, value in fields.items():
            setattr(queue, name, value)
            queue.address_events[name] = event
        if "pfn" in fields:
            queue.desc = fields["pfn"] * (device.guest_page_size or spec.LEGACY_QUEUE_ALIGN)
            queue.address_events["desc"] = event
        queue.first_config = queue.first_config or event
        if queue.ready:
            queue.config_while_ready.append(event)
        if _driver_ok_in_attempt(device) and queue.configured_after_driver_ok is None:
            queue.configured_after_driver_ok = event

    def on_sysfs(self, device: Device, event: Event) -> None:
        # /sys/bus/virtio/devices/NAME: NAME is the guest's own name of the device (Linux
        # registers virtio0, virtio1 ... in probe order, drivers/virtio/virtio.c), so it
        # counts for link_guest_names like a driver's "virtio_blk virtio1:" line does.
        name = event.get("device")
        if device.guest_name is None and isinstance(name, str) and _VIRTIO_N.match(name):
            device.guest_name = name
        attr, value = event.get("attr"), event.get("value_text", event.get("value"))
        text = str(value) if value is not None else ""
        if attr == "status":
            try:
                number = value if isinstance(value, int) else int(text, 16)
            except ValueError:
                return
            self._status(device, event, number, read=True)
        elif attr == "features":
            if set(text) <= {"0", "1"} and text:
                bits = sum(1 << i for i, ch in enumerate(text) if ch == "1")
                device.features_accepted = bits
                device.features_accepted_event = event
                if not (device.final_status or 0) & (spec.FEATURES_OK | spec.DRIVER_OK):
                    return  # nothing negotiated yet (no driver bound): no mode evidence
                if bits >> spec.VERSION_1 & 1:
                    _evidence(device, "modern", "sysfs features include VERSION_1 (bit 32)", event)
                else:
                    _evidence(device, "legacy", "sysfs features lack VERSION_1 (bit 32)", event)
        elif attr == "device":
            try:
                number = value if isinstance(value, int) else int(text, 16)
            except ValueError:
                return
            device.virtio_id = number
            device.device_type = device.device_type or spec.DEVICE_TYPES.get(number, f"id{number}")


def _driver_ok_in_attempt(device: Device) -> bool:
    return any(s.value & spec.DRIVER_OK for s in device.current_attempt())


def _note(device: Device, text: str, event: Event) -> None:
    """Mode evidence that is a property of the device, recorded once."""
    if not any(e.text == text for e in device.mode_evidence):
        device.mode_evidence.append(Evidence(text, event))


def _evidence(device: Device, mode: str, text: str, event: Event) -> None:
    bucket = device.modern_evidence if mode == "modern" else device.legacy_evidence
    if any(e.text == text for e in bucket):
        return
    evidence = Evidence(text, event)
    bucket.append(evidence)
    device.mode_evidence.append(evidence)


def _seq_of(item) -> int:
    event = getattr(item, "event", item)
    return event.seq


# ---- events that concern the whole run, not one device -----------------------------------
def _on_test(builder: ModelBuilder, event: Event):
    builder.model.tests.append(event)
    return None


def _on_boot(builder: ModelBuilder, event: Event):
    builder.model.boots.append(event)
    return None


def _on_config_refused(builder: ModelBuilder, event: Event):
    builder.model.config_refusals.append(event)
    return None


def _on_irq_global(builder: ModelBuilder, event: Event):
    device = builder.device_for(builder.aliases_for(event)) if event.get("device") else None
    irq = event.get("irq")
    if device is None and isinstance(irq, int):
        device = builder._irq_owner.get(irq)
    if device is not None:
        builder._apply(device, event, "guest")
        return device
    builder.on_irq_unowned(event)
    return None


def _on_traffic_global(builder: ModelBuilder, event: Event):
    if event.get("device"):
        device = builder.device_for(builder.aliases_for(event))
        builder._apply(device, event, "guest")
        return device
    builder.model.traffic.append(event)
    return None


def _on_link(builder: ModelBuilder, event: Event):
    device = builder.device_for(builder.aliases_for(event))
    if device is not None:
        builder._apply(device, event, "guest")
        name = event.get("device")
        if isinstance(name, str) and _VIRTIO_N.match(name):
            device.guest_name = name
        device.matched_by = device.matched_by or (
            "sysfs link" if event.dialect == "linux-sysfs" else "sysfs path in a kernel message")
    return device


def _on_irq_unowned(self: ModelBuilder, event: Event) -> None:
    if event.kind == "irq_enable":
        self.model.irq_enables.append(event)
    else:
        self.model.irq_setups.append(event)


ModelBuilder.on_irq_unowned = _on_irq_unowned

_GLOBAL_HANDLERS = {
    "test_verdict": _on_test,
    "boot": _on_boot,
    "config_refused": _on_config_refused,
    "irq_enable": _on_irq_global,
    "irq_setup": _on_irq_global,
    "traffic": _on_traffic_global,
    "device_link": _on_link,
}

_DEVICE_HANDLERS = {
    "status_write": ModelBuilder.on_status_write,
    "status_read": ModelBuilder.on_status_read,
    "reset": ModelBuilder.on_reset,
    "features_offered": ModelBuilder.on_features,
    "features_accepted": ModelBuilder.on_features,
    "features_refused": ModelBuilder.on_features_refused,
    "version1_missing": ModelBuilder.on_version1_missing,
    "legacy_fallback": ModelBuilder.on_legacy_fallback,
    "device_found": ModelBuilder.on_device_found,
    "device_bind": ModelBuilder.on_device_bind,
    "queue_select": ModelBuilder.on_queue_select,
    "queue_config": ModelBuilder.on_queue_config,
    "queue_ready": ModelBuilder.on_queue_ready,
    "notify": ModelBuilder.on_notify,
    "interrupt": ModelBuilder.on_interrupt,
    "irq_setup": ModelBuilder.on_irq,
    "irq_enable": ModelBuilder.on_irq,
    "net_hdr": ModelBuilder.on_net_hdr,
    "netdev": ModelBuilder.on_netdev,
    "mac_random": ModelBuilder.on_mac_random,
    "probe_failed": ModelBuilder.on_probe_failed,
    "device_error": ModelBuilder.on_device_error,
    "traffic": ModelBuilder.on_traffic,
    "mmio_guest_page": ModelBuilder.on_mmio_guest_page,
    "mmio_access": ModelBuilder.on_mmio_access,
    "sysfs_attr": ModelBuilder.on_sysfs,
    "driver_ready": ModelBuilder.on_device_bind,
}


# ---- joining names at the end of a run ---------------------------------------------------
def link_guest_names(builder: ModelBuilder) -> None:
    """Join Linux's virtioN devices to the transport devices they sit on, by order.

    Linux names virtio devices virtio0, virtio1 ... in the order the transports register
    them, which is the order their PCI functions / MMIO devices were probed. When every
    virtioN is unlinked and their number equals the number of virtio transport devices the
    log enumerated, the Nth one is virtioN; otherwise they stay apart.
    """
    model = builder.model
    named = [d for d in model.live_devices()
             if d.guest_name and _VIRTIO_N.match(d.guest_name) and d.address is None]
    transports = [d for d in model.live_devices()
                  if d.address and d.found_event is not None and d.guest_name is None
                  and d.virtio_id != 0 and "host" not in d.sides]
    if not named:
        return
    transports.sort(key=lambda d: d.found_event.seq)
    named.sort(key=lambda d: int(_VIRTIO_N.match(d.guest_name).group(1)))
    indices = [int(_VIRTIO_N.match(d.guest_name).group(1)) for d in named]
    if len(named) == len(transports) and indices == list(range(len(named))):
        for transport, guest in zip(transports, named):
            name = guest.guest_name
            builder.merge(transport, guest, how=f"{name} is the {_nth(int(name[6:]))} virtio "
                                                 "device Linux registered (probe order)")
            transport.guest_name = name
    else:
        model.matching_notes.append(
            f"{len(named)} virtioN name(s) and {len(transports)} transport device(s) without a "
            "sysfs link: kept apart, the probe order cannot tell which is which")


def match_host_and_guest(builder: ModelBuilder) -> None:
    """Join QEMU's devices with the guest's when the log holds both sides."""
    model = builder.model
    host = [d for d in model.live_devices() if d.sides == {"host"}]
    guest = [d for d in model.live_devices() if "guest" in d.sides and "host" not in d.sides]
    if not host or not guest:
        return
    # Linux: register_virtio_device() resets each device and sets ACKNOWLEDGE (status 1),
    # in virtioN order. The Nth device QEMU saw acknowledged alone is virtioN.
    acked = []
    for dev in host:
        first_ack = next((s.event.seq for s in dev.status
                          if not s.read and s.value == spec.ACKNOWLEDGE), None)
        if first_ack is not None:
            acked.append((first_ack, dev))
    acked.sort(key=lambda pair: pair[0])
    named = {}
    for dev in guest:
        if dev.guest_name and _VIRTIO_N.match(dev.guest_name):
            named[int(dev.guest_name[6:])] = dev
    if named and sorted(named) == list(range(len(acked))) and len(acked) == len(named):
        for index, (_, dev) in enumerate(acked):
            builder.merge(named[index], dev,
                          how=f"QEMU device {dev.ordinal} was the {_nth(index)} to be "
                              f"acknowledged, as Linux numbers virtio{index}")
        return
    handshaking_guest = [d for d in guest if d.started_handshake or d.guest_name]
    if len(host) == 1 and len(guest) == 1:
        # The trace shows every virtio device of the machine, the guest every one it
        # enumerated: one on each side is the same device.
        builder.merge(guest[0], host[0], how="the only virtio device on each side of the log")
        return
    if len(host) == 1 and len(handshaking_guest) == 1:
        builder.merge(handshaking_guest[0], host[0],
                      how="the only device on each side of the log")
        return
    model.matching_notes.append(
        f"guest side names {len(guest)} device(s), QEMU's trace {len(host)}: not matched "
        "unambiguously, so they are reported apart")


def _nth(index: int) -> str:
    n = index + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
