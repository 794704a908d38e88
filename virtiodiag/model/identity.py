"""Device identity: the names a log gives a device, and joining the records they name.

Every event names a device in its dialect's words (a QEMU vdev pointer, a PCI address,
``virtio0``, an MMIO base, an RTOS driver name). Those names are aliases; an event that
names two of them (``virtio0 -> 0000:00:03.0``, an attach line binding ``virtio-net0``
to a slot) joins their devices. This module owns the alias index, the interrupt-line
owners (an IRQ number is a name too) and ``merge``, the one way two records become one.
"""

from __future__ import annotations

from functools import lru_cache

from virtiodiag.cachefiles import compiled
from virtiodiag import limits, spec
from virtiodiag.events import Event
from virtiodiag.grammar_facts import GrammarFacts
from virtiodiag.model.ccw import ccw_device_of
from virtiodiag.model.device import TIMELINE_HEAD, TIMELINE_LIMIT, Device, Model
from virtiodiag.model.records import History

_BDF = compiled(r"^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$")
# A device-tree virtio-mmio node's platform device: "<unit address>.<node name>", the node
# named virtio_mmio by QEMU and most boards, virtio or virtio_<type> by others (Xvisor).
MMIO_PLATFORM = compiled(r"^([0-9a-fA-F]+)\.virtio[\w-]*$")
# The same node by its device-tree name "<node name>@<unit address>" (U-Boot's driver
# model, Zephyr's device names, /proc/iomem's second column: "virtio_mmio@a003e00",
# kvmtool's "virtio@d2000000", "virtio-net@a003e00"), or a platform device named after
# its base ("virtio-mmio.0x..."); "virtio-mmio.0", Linux's name for a device the kernel
# command line declares, is a number, not a base (model/cmdline.py joins it). A PCI
# node's unit address is no base: left out.
MMIO_NODE = compiled(r"^(?![\w-]*pci)[\w-]*virtio[\w-]*(?:@(?:0x)?|\.0x)([0-9a-fA-F]+)$")
VIRTIO_N = compiled(r"^virtio(\d+)$")
# Linux's virtio bus (drivers/virtio/virtio.c virtio_bus.name): dev_printk()'s first word
# for a device no driver is bound to
_VIRTIO_BUS = "virtio"
# A channel-attached device (s390 virtio-ccw): Linux names a ccw device and its subchannel
# "0.<ssid>.<number>" (drivers/s390/cio/device.c "0.%x.%04x", devno; css.c, the subchannel
# number): the ccw device is the transport device its virtioN sits on.
_CCW_BUS_ID = compiled(r"^([0-9a-fA-F]{1,2})\.([0-3])\.([0-9a-fA-F]{4})$")
_HEX = compiled(r"^(?:0x)?[0-9a-fA-F]+$")
_BSD_PCI_BUS = compiled(r"^pci(\d+)$")
# Solo5 (bindings/virtio/pci.c) names a function "PCI:%02x:%02x" (bus, device); it scans
# function 0 of each slot only.
_SOLO5_PCI = compiled(r"^PCI:([0-9a-fA-F]{2}):([0-9a-fA-F]{2})$")
# SeaBIOS before 1.10 names it "%x:%x" (bus, device: "found virtio-scsi at 0:3"); its
# virtio drivers print this for the function its PCI scan found, function 0 of the slot
# for every virtio device QEMU and GCE place.
_SEABIOS_BUS_SLOT = compiled(r"^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})$")
# The alias of a firmware's block device number (``blk_devnum``): "name:" makes it the
# device's name in the report while nothing else names it.
BLOCK_NUMBER = "name:virtio "
ALIAS_MEMO_LIMIT = 4096  # distinct payloads remembered; cleared when full (flat memory)

# Facts a merge takes from the other record when the target has none.
_SCALAR_FACTS = ("address", "virtio_id", "device_type", "pci_device", "pci_kind", "pci_caps",
                 "mmio_version", "guest_name", "netdev", "disk", "driver", "features_offered",
                 "features_accepted", "features_accepted_event",
                 "features_refused", "version1_missing", "legacy_fallback", "fallback_kind",
                 "mac_random",
                 "irq_mode", "first_notify_before_driver_ok",
                 "first_interrupt_before_driver_ok", "guest_page_size",
                 "placeholder_event", "found_event", "driver_ok_implied",
                 "driver_ok_implied_why", "crash", "crash_report", "empty_disk",
                 "unclaimed", "declaration")
# Lists a merge joins in log order.
_LIST_FACTS = ("status", "irq_events", "net_headers", "probe_failures", "errors",
               "unassigned_bars", "driver_lines",
               "traffic", "tests", "mode_evidence", "interface_evidence", "feature_log",
               "timeline")
_QUEUE_FACTS = ("size", "desc", "avail", "used", "pfn", "align", "ready",
                "first_config", "first_notify", "configured_after_driver_ok",
                "first_buffer_used_after_driver_ok", "used_in_attempt")


@lru_cache(maxsize=1024)
def whole_disk(name: str) -> str:
    """The virtio disk a partition's name is on (vda1 -> vda); any other name as it is."""
    return name.rstrip("0123456789") if name[:2] == "vd" else name


@lru_cache(maxsize=1024)  # a pure function of the name; asked of the same few per line
def normalise_bdf(text: str) -> str | None:
    m = _BDF.match(text)
    if not m:
        return None
    domain = m.group(1) or "0000"
    return f"{domain.lower()}:{m.group(2).lower()}:{m.group(3).lower()}.{m.group(4)}"


def bsd_pci_address(event: Event) -> str | None:
    """``_bsd_pci_address`` of the event's payload, remembered per payload (it depends on
    the payload alone; the memo holds the payload, so its id is not reused)."""
    payload = event.payload
    known = _BSD_PCI_MEMO.get(id(payload))
    if known is not None and known[0] is payload:
        return known[1]
    address = _bsd_pci_address(payload.by_name)
    if len(_BSD_PCI_MEMO) >= ALIAS_MEMO_LIMIT:
        _BSD_PCI_MEMO.clear()
    _BSD_PCI_MEMO[id(payload)] = (payload, address)
    return address


_BSD_PCI_MEMO: dict[int, tuple[object, str | None]] = {}


def _bsd_pci_address(fields) -> str | None:
    """The PCI function a BSD attach line names by bus unit, device and function (NetBSD
    and OpenBSD "virtio0 at pci0 dev 3 function 0", FreeBSD "at device 3.0 on pci0"), or
    Solo5 by "PCI:00:03", old SeaBIOS by "0:3" (bus:device), a firmware by bus number
    and slot (function 0): a BDF when the bus is the root bus pci0 (the host bridge's bus
    0, where autoconf and newbus attach it first), so the device joins a Linux log's
    "0000:00:03.0"; on another bus unit, "pciN:DD.F" (a unit number is not a bus number:
    behind bridges autoconf numbers units in attach order)."""
    slot, function = fields.get("pci_slot"), fields.get("pci_function")
    bus = fields.get("pci_bus")
    config = fields.get("pci_config_address")
    if isinstance(config, int):  # bus << 16 | device << 11 | function << 8
        bus = bus if isinstance(bus, int) else config >> 16 & 0xFF
        return f"0000:{bus:02x}:{config >> 11 & 0x1F:02x}.{config >> 8 & 7}"
    if isinstance(slot, int) and function is None and (bus is None or isinstance(bus, int)):
        # A firmware that scans function 0 of bus 0, or names the bus by its number
        # (rust-hypervisor-firmware "in slot=3", "in slot=0:3"): a real bus number.
        return f"0000:{bus or 0:02x}:{slot:02x}.0"
    if isinstance(slot, int) and isinstance(function, int):
        if isinstance(bus, int):
            # A bus number, not an autoconf unit (NetBSD pcictl, OpenBSD pcidump).
            return f"0000:{bus:02x}:{slot:02x}.{function}"
        m = _BSD_PCI_BUS.match(str(fields.get("pci_bus") or ""))
        if m is None:
            return None
        if m.group(1) == "0":
            return f"0000:00:{slot:02x}.{function}"
        return f"pci{m.group(1)}:{slot:02x}.{function}"
    device = fields.get("device")
    m = _SOLO5_PCI.match(device) if isinstance(device, str) else None
    if m:
        return f"0000:{m.group(1).lower()}:{m.group(2).lower()}.0"
    bus_slot = fields.get("bus_slot")
    m = _SEABIOS_BUS_SLOT.match(bus_slot) if isinstance(bus_slot, str) else None
    if m:
        return f"0000:{int(m.group(1), 16):02x}:{int(m.group(2), 16):02x}.0"
    return None


@lru_cache(maxsize=1024)
def normalise_ccw(text: str) -> str | None:
    """A ccw bus id ("0.0.0002"), lower case; None for anything else."""
    m = _CCW_BUS_ID.match(text)
    if not m:
        return None
    return f"{int(m.group(1), 16):x}.{m.group(2)}.{m.group(3).lower()}"


def normalise_mmio(value) -> str | None:
    if isinstance(value, int):
        return f"0x{value:x}"
    if isinstance(value, str) and _HEX.match(value):
        return f"0x{int(value, 16):x}"
    return None


def is_host_pointer(device) -> bool:
    """A host line's device name that is a pointer in the VMM (QEMU's ``vdev 0x55...``)."""
    return isinstance(device, str) and device.startswith("0x")


def _aliases_of(event: Event, grammar: GrammarFacts) -> list[str]:
    names: list[str] = []
    host = grammar.side == "host"
    device = event.get("device")
    if event.kind == "netdev" and event.get("driver") == _VIRTIO_BUS:
        # netdev_printk() prints the driver of the interface's parent (dev_driver_string()),
        # and only a bound driver registers an interface: the virtio bus's own name before
        # two words is no interface's line but a program's ("virtio bridge error: ...").
        return names
    if host and (device == "(nil)" or is_host_pointer(device)):
        if device != "(nil)":
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
            m = MMIO_PLATFORM.match(text) or MMIO_NODE.match(text)
            if m:
                names.append(f"mmio:0x{int(m.group(1), 16):x}")
                continue
            ccw = normalise_ccw(text)
            if ccw:
                names.append(f"ccw:{ccw}")
                continue
        if value is event.get("address"):
            mmio = normalise_mmio(value)
            if mmio:
                names.append(f"mmio:{mmio}")
                continue
        names.append(f"name:{value}")
        disk_of = spec.bsd_driver_unit_of_disk(value)
        if disk_of is not None:
            names.append(f"name:{disk_of}")  # FreeBSD's vtbdN is vtblkN's disk
    handle = event.get("handle")
    if not names and isinstance(handle, int) and event.kind == "device_found":
        # A vhost-user connection the back-end names by its number alone (DPDK's "new
        # device, handle is 0"): model/vhost_handles.py joins it to its socket's lines.
        names.append(f"name:handle {handle}")
    subchannel = event.get("subchannel")
    if isinstance(subchannel, str):
        # QEMU's virtio-ccw lines: the subchannel, and once with its devno the ccw device
        names.append(f"ccw-subchannel:{subchannel.lower()}")
        ccw = ccw_device_of(subchannel.lower(), event.get("devno"))
        if ccw is not None:
            names.append(f"ccw:{ccw}")
    bsd_pci = bsd_pci_address(event)
    if bsd_pci is not None:
        names.append(f"pci:{bsd_pci}")
    devnum = event.get("blk_devnum")
    if isinstance(devnum, int):
        # A firmware's own number of a virtio block device: its name in that firmware's
        # commands (U-Boot's `virtio dev 0`, `load virtio 0:1`); which driver-tree child it
        # is, is joined at the end of the run (model/block_numbers.py).
        names.append(f"{BLOCK_NUMBER}{devnum}")
    slot = event.get("slot")
    if slot is not None and event.kind == "device_bind":
        names.append(f"slot:{slot}")
    pci_id = event.get("pci_device")
    if not names and isinstance(pci_id, int):
        # A line that names its device by the PCI device id alone (Hermit "... could not
        # be initialized with device: 1041", "Found virtio network device with device id
        # 0x1041", "Network device with id 1041, has been initalized by driver!"): that
        # function, within its dialect.
        names.append(f"pci-id:{event.dialect}:{pci_id:x}")
    if grammar.child_slot is not None:
        # A driver tree (`//@ child_slot:`): a transport listed at a slot, and a driver
        # whose name says the slot it sits below, are one device. The dialect scopes it.
        if event.kind == "device_found" and isinstance(slot, int):
            names.append(f"tree-slot:{event.dialect}:{slot}")
        elif isinstance(device, str) and (parent := grammar.slot_of_child(device)) is not None:
            names.append(f"tree-slot:{event.dialect}:{parent}")
    return names


def _seq_of(item) -> int:
    event = getattr(item, "event", item)
    return event.seq


class Identities:
    """The alias index of one run: which device record each name (and IRQ line) means."""

    def __init__(self, model: Model):
        self.model = model
        self.by_alias: dict[str, Device] = {}
        self.irq_owner: dict[int, Device] = {}
        self._alias_memo: dict[int, tuple[object, tuple[str, ...]]] = {}

    def aliases_for(self, event: Event) -> tuple[str, ...]:
        """The names an event gives its device. A pure function of the payload, and the
        dialects hand out one Payload object per distinct line text, so it is memoised by
        payload identity (the memo holds the payload, so its id cannot be reused)."""
        payload = event.payload
        known = self._alias_memo.get(id(payload))
        if known is not None and known[0] is payload:
            return known[1]
        names = tuple(_aliases_of(event, self.model.grammar_of(event)))
        if len(self._alias_memo) >= ALIAS_MEMO_LIMIT:
            self._alias_memo.clear()
        self._alias_memo[id(payload)] = (payload, names)
        return names

    def device_for(self, aliases, known_only: bool = False) -> Device | None:
        """The device these names mean: a new one if none is known (none with
        ``known_only``: an IOMMU's fault names any device's PCI function), and every
        record they name joined into one."""
        by_alias = self.by_alias
        if len(aliases) == 1:
            dev = by_alias.get(aliases[0])
            if dev is not None:
                return dev  # its own name (an alias is indexed only with its record's list)
        devices = []
        for alias in aliases:
            dev = by_alias.get(alias)
            if dev is not None and dev not in devices:
                devices.append(dev)
        if not aliases:
            return None
        if not devices:
            if known_only:
                return None
            if len(self.model.devices) >= limits.DEVICES:
                limits.over(self.model).count("devices")
                return None
            dev = Device(len(self.model.devices) + 1, self.model.device_index)
            self.model.devices.append(dev)
            devices = [dev]
        target = devices[0]
        for other in devices[1:]:
            self.merge(target, other)
        for alias in aliases:
            # In target's list exactly when indexed to it (the index and the lists change
            # together, here and in merge): a dict look-up, not a scan of the list.
            if by_alias.get(alias) is not target:
                if len(target.aliases) >= limits.ALIASES_PER_DEVICE:
                    limits.over(self.model).count("aliases")
                    continue
                target.aliases.append(alias)
                by_alias[alias] = target
        return target

    def now(self, device: Device, names: list[str]) -> Device:
        """The record ``device`` is part of now: itself, or the record a join moved its
        names (``names``, as they were before) to."""
        if device.aliases:
            return device
        for name in names:
            found = self.by_alias.get(name)
            if found is not None:
                return found
        return device

    def merge(self, target: Device, other: Device, how: str | None = None) -> None:
        """Join two records of the same device (aliases, facts and timelines).

        Every name of ``other`` is pointed at ``target`` in the alias index, so the joined
        record is never found again. That holds because a record's alias list is exact (not
        a History): a name dropped from a bounded list but still indexed led a later line
        to the old record and joined it again, counting its shared queues twice per repeat.
        """
        if target is other:
            return
        for alias in other.aliases:
            self.by_alias[alias] = target
            if alias not in target.aliases:
                target.aliases.append(alias)
        other.aliases = []
        target.sides |= other.sides
        target.dialects |= other.dialects
        for name in _SCALAR_FACTS:
            if getattr(target, name) is None and getattr(other, name) is not None:
                setattr(target, name, getattr(other, name))
        if target.transport == "unknown":
            target.transport = other.transport
        target.bound = target.bound or other.bound
        target.irq_lines |= other.irq_lines
        for name in _LIST_FACTS:
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
            elif mine is not queue:  # a record joined before shares it: counted already
                mine.notifies += queue.notifies
                mine.interrupts += queue.interrupts
                mine.buffers_taken += queue.buffers_taken
                mine.buffers_used += queue.buffers_used
                mine.buffers_used_after_driver_ok += queue.buffers_used_after_driver_ok
                for attr in _QUEUE_FACTS:
                    if getattr(mine, attr) is None:
                        setattr(mine, attr, getattr(queue, attr))
                # appended one by one: the lists stay bounded (records.History)
                for item in queue.config_while_ready:
                    mine.config_while_ready.append(item)
                for item in queue.ready_zero_writes:
                    mine.ready_zero_writes.append(item)
        target.flood_line = max(target.flood_line, other.flood_line)
        target.reset_seq = max(target.reset_seq, other.reset_seq)
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
        for irq, owner in list(self.irq_owner.items()):
            if owner is other:
                self.irq_owner[irq] = target
