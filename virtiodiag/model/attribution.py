"""Host/guest attribution: which device an event is about, and which side printed it.

Each dialect's grammar says who prints its lines (``//@ side: guest|host|firmware``);
nothing here goes by a dialect's name. The guest's and firmware's lines name their device
(``virtio0``, a BDF, an MMIO base); a host line may name it by a pointer in the VMM
(QEMU's vdev), and QEMU's trace prints some lines (register accesses, queue set-up,
interrupts) that name none: they belong to the device whose next pointer-bearing line
follows, so they wait in ``pending`` until it comes. Run-wide events go to the model
(run_wide.py: test verdicts, boots, the command line; here: IRQ lines that name no
device). Repeated notify/interrupt lines of a known device are counted without an Event
by their handler (the flood path: Handlers.on_notification, which looks their device up
in ``_host_cache`` and counts nothing while ``pending`` holds lines).
"""

from __future__ import annotations

from collections.abc import Callable

from virtiodiag import spec
from virtiodiag.events import Event, Payload
from virtiodiag.model.ccw import is_status_command
from virtiodiag.model.class_links import LINK_MATCH
from virtiodiag.model.crash_units import note_crash_thread, note_vq_assert
from virtiodiag.model.crashes import on_crash_frame, on_crash_head
from virtiodiag.model.device import Device, Model
from virtiodiag.model.guest_lines import note_guest_line
from virtiodiag.model.handlers import ATTACH_LINE_REST, FLOOD_KINDS, KNOWN_DEVICES_ONLY, Handlers
from virtiodiag.model.last_seen import LastSeen
from virtiodiag.model.identity import (ALIAS_MEMO_LIMIT, MMIO_PLATFORM, VIRTIO_N, Identities,
                                        normalise_bdf, normalise_ccw, normalise_mmio,
                                        whole_disk)
from virtiodiag.model.only_counts import TYPE_NAMED as _TYPE_NAMED
from virtiodiag.model.only_counts import only_counts
from virtiodiag.model.named_lines import (IRQ_LINE_DETAILS, BadIrqReports, by_interface,
                                          by_unowned_name)
from virtiodiag.model.run_wide import RunWide
from virtiodiag.model.type_named import TypeNamedLines
from virtiodiag.model.unnamed import UnnamedDevices
from virtiodiag.model.slots import (is_identity_read, is_magic_read, is_vendor_read,
                                   probe_starts)

# Kinds whose events do not say which device they are about in QEMU's trace; they belong
# to the device whose next vdev-bearing event follows (QEMU traces the register access
# first, then the virtio core call that names the device).
_HOST_ANONYMOUS = {"mmio_access", "mmio_guest_page", "queue_config", "interrupt", "notify"}
# Lines about a device the log may show under that PCI function, or not at all (EDK2's boot
# manager failing to load from a device path): its record when it has one, else the run's
# (unattributed); never a new record made from the line alone.
_KNOWN_OR_RUN = frozenset({"boot_option"})
_KNOWN_ONLY = KNOWN_DEVICES_ONLY | _KNOWN_OR_RUN
PENDING_LIMIT = 256  # anonymous host events held; past it they go to the last device
# What a virtio-mmio transport's own register accesses become (QEMU's virtio_mmio_* lines).
_MMIO_REGISTER_KINDS = frozenset({"mmio_access", "mmio_guest_page", "queue_config", "interrupt"})


class Attribution:
    """Routes each event of one run to its device (or to the run) and its side."""

    def __init__(self, model: Model, identities: Identities, handlers: Handlers):
        self.model = model
        self.identities = identities
        self.handlers = handlers
        self.unnamed = UnnamedDevices(model, identities)  # devices announced under no name
        # Both shared with the handlers, whose flood path reads them (Handlers.on_notification):
        # only ever changed in place.
        self.pending: list[Event] = handlers.held
        self.last_host: Device | None = None
        self._host_cache: dict[str, Device] = handlers.hosts  # vdev pointer -> its device
        self.type_named = TypeNamedLines(model, identities)  # lines naming only a type
        self._announced: Device | None = None  # found just before, by name, no address
        self._announced_seq = 0  # that line's seq
        # the function a PCI listing listed last, and the seq of its latest line: a line
        # of its block that names no function (lspci -v's "VirtIO: CommonCfg") is its
        self._listed: Device | None = None
        self._listed_seq = 0
        # the device of the virtio-ccw status command QEMU traced last (model/ccw.py)
        self._ccw_command: Device | None = None
        self._irq_reports = BadIrqReports()
        # a shared /proc/interrupts line's payload -> one payload per device on it
        self._shared_memo: dict[int, tuple[Payload, tuple[Payload, ...]]] = {}
        # id(payload) -> (payload, whether its guest or firmware line only counts)
        self._counts_only: dict[int, tuple[Payload, bool]] = {}
        # lines the decoder holds instead of feeding each (model/last_seen.py)
        self.last_seen = LastSeen(model, model.path)
        self.last_seen.counts_only = self._counts_only  # it holds the notes that only count
        self._run_wide: dict[str, Callable[[Event, str], Device | None]] = {
            **RunWide(model, self.last_seen).by_kind(), **handlers.by_queue_pointer(),
            "irq_enable": self._on_irq, "irq_setup": self._on_irq,
            "traffic": self._on_traffic, "device_link": self._on_link,
            "oops": self._on_oops, "trace_frame": self._on_frame,
        }

    def feed(self, event: Event) -> Device | None:
        """Apply one event; returns the device it concerned (if any)."""
        model = self.model
        model.events += 1
        announced, self._announced = self._announced, None
        payload = event.payload
        dialect = payload.dialect
        seen = model.dialects_seen
        seen[dialect] = seen.get(dialect, 0) + 1
        kind = payload.kind
        fields = payload.by_name  # event.get(name) is fields.get(name): one call less
        side = model.dialect_sides.get(dialect, "guest")  # Model.side_of, inlined: per line
        if side != "host":
            eras = model.eras
            if eras.current == side:
                eras.last = event  # Eras.saw's common case, inlined: per line
            else:
                eras.saw(event, side)
        else:
            device = fields.get("device")
            # is_host_pointer(device), inlined: QEMU's trace takes this path for every line.
            if device.__class__ is str and (device[:2] == "0x" or device == "(nil)"):
                if self._ccw_command is None:
                    return self._feed_host(event, device)
                return self._after_ccw_command(event, device)
            if self._ccw_command is not None:  # a line between ends the wait (ccw.py)
                self._ccw_command = None
                self.last_seen.ccw_waits = False
            if not device and (kind in _HOST_ANONYMOUS or (
                    kind == "device_error" and (self.last_host is not None or self.pending))):
                # A register access, or a VMM error, about the device just traced.
                return self._feed_host(event)
        handler = self._run_wide.get(kind)
        if handler is not None:
            return handler(event, side)
        # A line that names no device and changes nothing but the counts above (the
        # kernel's banner, QEMU's trace of a SCSI request: a log of many boots prints
        # thousands): told by its payload alone (only_counts.py; its side is its
        # dialect's), memoised by payload identity as aliases_for is.
        known = self._counts_only.get(id(payload))
        if known is not None and known[0] is payload:
            if known[1]:
                return None
        else:
            only = only_counts(payload, self.identities.aliases_for(event))
            if len(self._counts_only) >= ALIAS_MEMO_LIMIT:
                self._counts_only.clear()
            self._counts_only[id(payload)] = (payload, only)
            if only:
                return None
        identities = self.identities
        aliases = identities.aliases_for(event)
        if (announced and event.seq == self._announced_seq + 1  # no line held between
                and (kind == "device_found" or payload.detail == ATTACH_LINE_REST)
                and not fields.get("device") and announced.aliases
                and not any(a in identities.by_alias for a in aliases)):
            # After its line, no name: NetBSD 10's "viommio: 512@0x...", a cut FreeBSD line's rest
            aliases = (*aliases, announced.aliases[0])
        listing = kind == "device_found" and payload.detail == "listing" and side != "host"
        capability = listing and not aliases and fields.get("pci_cap") is not None
        if (capability and self._listed is not None
                and event.seq == self._listed_seq + 1 and self._listed.aliases):
            # lspci -v's lines under a function name none: the function listed just
            # before (no event between; lspci prints VirtIO capabilities only under a
            # virtio function, whose listing line is read)
            aliases = (self._listed.aliases[0],)
        device = identities.device_for(aliases, known_only=payload.detail in _KNOWN_ONLY)
        if device is None and payload.detail in KNOWN_DEVICES_ONLY:
            return None  # about a PCI function no virtio device of the log has
        if device is None:
            irq = fields.get("irq")
            if isinstance(irq, int) and irq in identities.irq_owner:
                device = identities.irq_owner[irq]
            elif fields.get("device") is None and (fields.get("netdev") or fields.get("disk")):
                name = whole_disk(str(fields.get("netdev") or fields["disk"]))
                device = (by_interface(model, name)
                          or by_unowned_name(model, identities, event, side))
        if device is None and kind in _TYPE_NAMED and (
                side != "guest" or (kind == "device_error" and fields.get("device_type"))):
            device = self.type_named.only_of_its_type(event, side)
        if device is None and side != "host" and (kind == "driver_ready" or (
                kind == "features_accepted" and fields.get("device_type") is not None)):
            # A type-only line of a driver: its success, or features accepted as success's
            device = self.type_named.probing_of_its_type(event)
        if device is None and side == "guest" and kind == "device_found" and not aliases \
                and not capability:  # a capability line with no function listed before it
            # A device announced under no name and no address (NuttX's "VIRTIO version: 2
            # device: 3 vendor: ffff"): its place in the boot's probe order names it.
            device = self.unnamed.device_for(event)
        elif (device is None and side == "host" and not aliases
                and (kind == "device_found" or payload.detail == "activated")
                and (declared := spec.normalise_type(fields.get("device_type")))):
            # A VMM creating a device it names by its type only (cloud-hypervisor's
            # "Creating virtio-rng device: RngConfig { ... }", no id), or a back-end serving
            # one it names so (the C virtiofsd's "fv_queue_thread: Got queue event on Queue
            # 1" in a journal cut after its connection line): a device of its own, called as
            # the VMM's line calls it; discovery.join_declared_types joins it at the end to
            # the one device of that type the VMM's later lines name.
            device = identities.device_for((f"name:virtio-{declared}",))
        transport = fields.get("transport") or (payload.detail if kind == "note" else None)
        if transport in ("pci", "mmio"):
            model.transports_shown.setdefault(dialect, set()).add(str(transport))
        if device is None:
            if payload.detail in IRQ_LINE_DETAILS or payload.detail == "irq_handler":
                self._irq_reports.unowned(model, event)  # a line no virtio device owns
            elif kind in ("device_error", "probe_failed"):
                model.unattributed_errors.append(event)
            return None
        self.handlers.apply(device, event, side)
        note_guest_line(device, event, side)
        if listing:
            self._listed, self._listed_seq = device, event.seq
        if side == "host" and is_status_command(event):
            self._ccw_command = device
            self.last_seen.ccw_waits = True  # the host's notes are fed until it ends
        if (kind == "device_found" and side != "host" and device.transport in ("mmio", "pci")
                and device.address is None and fields.get("device") is not None):
            self._announced = device  # its place may come next, under no name (see feed)
            self._announced_seq = event.seq
        return device

    def _after_ccw_command(self, event: Event, name: str) -> Device | None:
        """The QEMU line right after a virtio-ccw WRITE_STATUS or VDEV_RESET command: its
        ``virtio_set_status`` is the device of that command's subchannel (model/ccw.py),
        so the vdev pointer's record and the subchannel's are one."""
        owner, self._ccw_command = self._ccw_command, None
        self.last_seen.ccw_waits = False
        device = self._feed_host(event, name)
        if (device is None or owner is None or device is owner or not owner.aliases
                or event.payload.kind != "status_write"):
            return device
        self.identities.merge(owner, device)
        self._host_cache[name] = owner
        self.last_host = owner
        return owner

    def _feed_host(self, event: Event, name: str | None = None) -> Device | None:
        """A host line naming its device by a pointer (``name``), or by nothing."""
        kind = event.payload.kind
        # The record a vdev pointer named last: while it is live (not joined into another)
        # the pointer's one alias is still its own, so it is what device_for would give.
        known = self._host_cache.get(name) if name is not None else None
        if known is not None and known.aliases:
            if kind in FLOOD_KINDS and not self.pending:
                # A notify/interrupt of a device known by its vdev pointer: its side,
                # dialect and first event are already recorded.
                known.last_event = event
                event.device_key = known.identity
                self.handlers.by_kind[kind](known, event)
                return known
            self.flush_pending(known, named_next=True)
            self.last_host = known
            self.handlers.apply(known, event, "host")
            return known
        aliases = self.identities.aliases_for(event)
        if not aliases:
            if event.kind == "notify" and event.get("notify_offset") is not None:
                # virtio_pci_notify_write: the transport is PCI; the count comes from the
                # virtio_queue_notify line QEMU prints next for the same kick.
                self.pending.append(event)
                return None
            if event.kind in _HOST_ANONYMOUS or event.kind == "device_error":
                if event.kind == "interrupt" and event.get("level") is not None and self.last_host:
                    self.handlers.apply(self.last_host, event, "host")
                    return self.last_host
                self.pending.append(event)
                if len(self.pending) > PENDING_LIMIT:
                    self.flush_pending(self.last_host)
                return None
            return None
        device = self.identities.device_for(aliases)
        if device is None:  # a device beyond limits.DEVICES (counted)
            return None
        self.flush_pending(device, named_next=True)
        self.last_host = device
        self.handlers.apply(device, event, "host")
        if name is not None:
            self._host_cache[name] = device
        return device

    def flush_pending(self, device: Device | None, named_next: bool = False) -> None:
        """Give the anonymous events held to ``device``. With ``named_next`` (``device``
        is the one a pointer-bearing line names next), virtio-mmio probes seen among them
        split them. A probe (Linux's virtio_mmio_probe, U-Boot's) reads MagicValue (offset
        0x0), Version and DeviceID, and stops there at device id 0 (an empty transport:
        -M virt has 32 on arm64, 8 on riscv64); otherwise it reads VendorID next. What
        precedes the first probe belongs to the device traced before; every probe but the
        last is of a transport no traced device sits on (empty, or without a driver):
        dropped; the last is ``device``'s unless it stopped at DeviceID: then only what
        follows it is."""
        if not self.pending:
            return  # the common case in notify/interrupt floods
        pending = self.pending.copy()
        self.pending.clear()  # in place: the handlers' flood path reads this list
        probes = (probe_starts(pending, [i for i, event in enumerate(pending)
                                         if is_magic_read(event)]) if named_next else [])
        mine = 0
        if probes:
            mine = probes[-1]
            while mine < len(pending) and is_identity_read(pending[mine]):
                mine += 1
            if mine < len(pending) and is_vendor_read(pending[mine]):
                mine = probes[-1]  # a probe that went on: the device's own
        # Without a probe among them, virtio-mmio accesses are the last traced device's
        # when it is a virtio-mmio device and the next one is not known to be: after its
        # DRIVER_OK an mmio device's interrupt acknowledgements and status reads name no
        # vdev, and the next vdev line may be a PCI device's (riscv64 blk on mmio beside
        # a PCI rng: the rng became an mmio device). A device is known as mmio from its
        # own probe on, which comes before any of its other accesses.
        previous = self.last_host
        earlier = (previous if named_next and not probes and device is not None
                   and previous is not None and previous is not device
                   and previous.transport == "mmio" and device.transport != "mmio" else None)
        for i, event in enumerate(pending):
            if probes and i < mine and event.kind in _MMIO_REGISTER_KINDS:
                if i < probes[0] and previous is not None:
                    self.handlers.apply(previous, event, "host")
                continue
            if earlier is not None and event.kind in _MMIO_REGISTER_KINDS:
                self.handlers.apply(earlier, event, "host")
                continue
            if device is None:
                if event.kind == "device_error":
                    self.model.unattributed_errors.append(event)
                continue
            self.handlers.apply(device, event, "host")

    # ---- events that concern the whole run, not one device ------------------------------
    def _on_oops(self, event: Event, side: str) -> None:
        on_crash_head(self.model, event)
        note_vq_assert(self.identities, self.handlers, event, side)

    def _on_frame(self, event: Event, side: str) -> None:
        on_crash_frame(self.model, event)
        note_crash_thread(self.identities, self.handlers, event, side)

    def _on_irq(self, event: Event, side: str) -> Device | None:
        if event.get("device").__class__ is tuple:
            return self._on_shared_irq(event, side)
        identities = self.identities
        device = (identities.device_for(identities.aliases_for(event))
                  if event.get("device") else None)
        irq = event.get("irq")
        if device is None and isinstance(irq, int):
            device = identities.irq_owner.get(irq)
        if device is not None:
            self.handlers.apply(device, event, side)
            # "virtio-pci 0000:00:03.0: irq 40 for MSI/MSI-X" names the function it wires,
            # like any other line of the transport (a quiet 3.x console prints nothing else).
            note_guest_line(device, event, side)
            return device
        self.handlers.note_irq_line(event)
        return None

    def _on_shared_irq(self, event: Event, side: str) -> Device | None:
        """A line that several virtio devices share (/proc/interrupts' "virtio8, virtio9"
        on one INTx pin): each device is wired to it. The line's count is the pin's, not
        one device's, so no device is given it."""
        payload = event.payload
        known = self._shared_memo.get(id(payload))
        if known is None or known[0] is not payload:
            rest = tuple((k, v) for k, v in payload.fields if k not in ("device", "count"))
            parts = tuple(Payload(payload.dialect, payload.kind, (*rest, ("device", name)),
                                  payload.detail)
                          for name in dict.fromkeys(payload.get("device")))
            if len(self._shared_memo) >= 256:
                self._shared_memo.clear()
            self._shared_memo[id(payload)] = known = (payload, parts)
        first = None
        for part in known[1]:
            device = self._on_irq(Event(part, event.path, event.line, event.text, event.time,
                                        event.clock, event.seq), side)
            first = first or device
        return first

    def _on_traffic(self, event: Event, side: str) -> Device | None:
        if event.get("device"):
            device = self.identities.device_for(self.identities.aliases_for(event))
            if device is not None:
                self.handlers.apply(device, event, side)
            return device
        self.model.traffic.append(event)
        return None

    def _on_link(self, event: Event, side: str) -> Device | None:
        device = self.identities.device_for(self.identities.aliases_for(event))
        if device is not None:
            self.handlers.apply(device, event, side)
            note_guest_line(device, event, side)
            name = event.get("device")
            if isinstance(name, str) and VIRTIO_N.match(name):
                device.guest_name = name
            place = event.get("address")
            if device.address is None and isinstance(place, str):
                # The sysfs path's parent of virtioN is its transport device: a lone
                # link (no enumeration line) still says where the device sits.
                platform = MMIO_PLATFORM.match(place)
                if normalise_bdf(place):
                    device.transport, device.address = "pci", normalise_bdf(place)
                elif platform:
                    device.transport = "mmio"
                    device.address = normalise_mmio(platform.group(1))
                elif normalise_ccw(place):
                    device.transport, device.address = "ccw", normalise_ccw(place)
            device.matched_by = device.matched_by or LINK_MATCH.get(
                str(event.payload.detail), "sysfs path")
        return device
