"""The small records a device is made of: bounded lists, status changes, evidence wording,
queues and device errors (see device.py for the device itself); a run's failed root
mount (model/root_mount.py), the devices a VMM's command line declares (model/declared.py)
and an IOMMU's event records (model/iommu_events.py)."""

from __future__ import annotations

from typing import Any

from virtiodiag.cachefiles import compiled
from virtiodiag import spec
from virtiodiag.events import Event
from virtiodiag.plain import Plain

# Per list: the first HISTORY_HEAD entries and the latest ones, HISTORY_LIMIT in all; past
# it the HISTORY_CUT oldest after the head are dropped (counted). No sample log has more
# than 28 entries in any history (the status writes of a legacy PCI boot), so the bound
# only acts on long logs; it was 64 (head 8), which a stream of repeated boots took past
# 400 MB to fill (memory still growing at 1 GB: +12 % over 100 MB).
HISTORY_LIMIT = 32
HISTORY_HEAD = 8
HISTORY_CUT = 8


class History(list):
    """A list that stays bounded on endless streams (memory flat however long the log).

    When full, entries from the middle are dropped: the first ones (how the device was
    found and first driven) and the latest ones (the current attempt) are what rules read.
    """

    dropped = 0

    def append(self, item) -> None:
        if len(self) >= HISTORY_LIMIT:
            del self[HISTORY_HEAD:HISTORY_HEAD + HISTORY_CUT]
            self.dropped += HISTORY_CUT
        super().append(item)


class Ending:
    """What the log says about its own end besides a kill (``Model.run_end``); what it
    means for a handshake left mid-way is decided in model/ending.py, whether the boot
    got to userspace in model/boot_stall.py."""

    def __init__(self) -> None:
        self.finished: Event | None = None  # the guest ended the run (powered off, ...)
        self.userspace: Event | None = None  # the kernel started init (model/boot_stall.py)
        self.summary: tuple | None = None  # model/ending.py's facts, once per run state
        self.pci_scan: Event | None = None  # the PCI core's latest bus-scan line (note[pci_scan])


class Evidence(Plain):
    """A fact and the line that proves it."""

    FIELDS = ("text", "event")
    __slots__ = FIELDS

    def __init__(self, text: str, event: Event):
        self.text = text
        self.event = event


class StatusChange(Plain):
    """One status value written by the driver, or read back."""

    FIELDS = ("value", "event", "read")
    __slots__ = FIELDS

    def __init__(self, value: int, event: Event, read: bool = False):
        self.value = value
        self.event = event
        self.read = read  # a value read back, not written

    @property
    def names(self) -> str:
        return spec.status_names(self.value)


# Devices, queues and models are entities: equal only to themselves (``device in list``
# must not compare sixty fields). Plain classes, not dataclasses: generating their
# methods took a quarter of the package's import time.
class Queue:
    """One virtqueue: its set-up, and what was done to it."""

    def __init__(self, index: int):
        self.index: int = index
        self.size: int | None = None
        self.desc: int | None = None
        self.avail: int | None = None
        self.used: int | None = None
        self.pfn: int | None = None
        self.align: int | None = None
        self.ready: int | None = None
        self.notifies: int = 0
        self.interrupts: int = 0
        self.first_config: Event | None = None
        self.first_notify: Event | None = None
        self.config_while_ready: list[Event] = History()
        self.configured_after_driver_ok: Event | None = None
        self.ready_zero_writes: list[Event] = History()
        self.address_events: dict[str, Event] = {}
        self.vq: str | None = None
        # QEMU's device side of the queue (virtqueue_pop / virtqueue_flush trace events):
        # buffers it took, used buffers it returned, and those returned while the
        # device's attempt (numbered by its resets) was at DRIVER_OK, in the last attempt
        # that returned any (the first such flush kept)
        self.used_in_attempt: int | None = None
        self.buffers_taken: int = 0
        self.buffers_used: int = 0
        self.buffers_used_after_driver_ok: int = 0
        self.first_buffer_used_after_driver_ok: Event | None = None


_NUMBERS = compiled(r"0x[0-9a-fA-F]+|\d+")

# Device errors that say the device rejected something the driver did, by the kind the
# grammar gives them (``device_error[detail]``; docs/grammar-contract.md): a value other
# than 1 written to queue_enable (QEMU virtio_pci_common_write), a virtio-net header of the
# wrong length (QEMU virtio-net). The rule about that act reports them, not device-failed.
QUEUE_ENABLE, NET_HEADER = "queue_enable", "net_header"
_REJECTED = {"queue_enable_value": QUEUE_ENABLE, "net_header": NET_HEADER}  # detail -> what
_REJECTED_VALUE = {QUEUE_ENABLE: "value", NET_HEADER: "hdr_len"}  # the field that says it


class Rejection(Plain):
    """The device rejected what the driver did: ``what`` (QUEUE_ENABLE, NET_HEADER), the
    number the error line gives (the value written to queue_enable, the guest's header
    length), None when it gives none; ``event`` is the line."""

    FIELDS = ("what", "value", "event")

    def __init__(self, what: str, value: int | None, event: Event):
        self.what = what
        self.value = value
        self.event = event


def rejections(errors: list[Event], what: str) -> list[Rejection]:
    """The device errors that say the device rejected ``what``, in log order."""
    found = []
    for event in errors:
        if _REJECTED.get(event.payload.detail or "") == what:
            value = event.get(_REJECTED_VALUE[what])
            found.append(Rejection(what, value if isinstance(value, int) else None, event))
    return found


class ErrorGroup(Plain):
    """Device errors of one kind (``detail``) whose messages differ only in numbers: one
    finding with a repeat count. ``key`` is the message with every number as ``#``."""

    FIELDS = ("detail", "key", "events")

    def __init__(self, detail: str, key: str, events: list[Event]):
        self.detail = detail
        self.key = key
        self.events = events

    @property
    def message(self) -> str:
        """The first error's message as the line gave it."""
        first = self.events[0]
        return str(first.get("message") or first.text)


def error_groups(events: list[Event]) -> list[ErrorGroup]:
    """Device errors grouped by kind and message shape, in order of first appearance;
    not the rejections (``rejections``), which the rule about the act reports."""
    groups: dict[tuple[str, str], ErrorGroup] = {}
    for event in events:
        detail = event.payload.detail or ""
        if detail in _REJECTED:
            continue
        # The block layer's failed requests of one disk are one failure, whatever each
        # line's wording (3.x "end_request:" to 6.x, the buffer cache's "Buffer I/O error")
        key = ("I/O errors" if detail == "io_error"
               else _NUMBERS.sub("#", str(event.get("message") or event.text)))
        group = groups.get((detail, key))
        if group is None:
            groups[(detail, key)] = ErrorGroup(detail, key, [event])
        else:
            group.events.append(event)
    return list(groups.values())


def transport_of_unnamed(model, event) -> str | None:
    """The transport of the device an error line names none of (a VMM's worker or transport
    line): the one the line shows or, failing that, the one every device shown by the same
    side (the VMM's, the guest's) sits on (Firecracker's are virtio-mmio); None when it
    cannot be told."""
    transport = event.get("transport")
    if transport in ("pci", "mmio"):
        return str(transport)
    side = model.side_of(event.dialect)
    seen = {d.transport for d in model.live_devices() if side in d.sides}
    one = seen.pop() if len(seen) == 1 else None
    return one if one in ("pci", "mmio") else None


# What a report's first line says happened (the oops event's detail: linux_oops.lark,
# bsd_panic.lark).
CRASH_KINDS = ("bug", "oops", "warning", "lockup", "hung", "stall", "panic")
# A call trace whose report's first line is not in the log and whose first frames are the
# scheduler's: a task asleep there (model/headless_stacks.py); not a fault.
ASLEEP = "asleep"
# Reports of a CPU or task that stopped making progress, not of a fault.
STUCK_KINDS = frozenset({"lockup", "hung", "stall"})


class Crash(Plain):
    """A kernel crash report in a virtio driver, as typed facts: what the first line says
    happened (``what``: one of CRASH_KINDS), the source line a ``kernel BUG at`` names, the
    frame that names the driver (its function and module), the device type that driver
    drives (None for the virtio core), whether the trace runs through a probe, and the
    device's own thread that was running (``thread``: FreeBSD's "irq284: virtio_pci3", the
    interrupt thread of its handler, or "vtnet0 rxq 0", its driver's taskqueue), and the
    helper that faulted on the driver's behalf (``helper``, in the DMA or scatterlist
    ``helper_layer``)."""

    FIELDS = ("event", "frame", "what", "source", "function", "module", "driver_type",
              "in_probe", "thread", "helper", "helper_layer")

    def __init__(self, event: Event, frame: Event, driver_type: str | None, in_probe: bool,
                 thread: str | None = None, what: str | None = None,
                 helper: str | None = None, helper_layer: str | None = None):
        self.event = event  # the report's first line (BUG:, Oops:, WARNING:, INFO: task ...)
        self.frame = frame
        detail = event.payload.detail
        self.what = what or (detail if detail in CRASH_KINDS else "oops")
        source = event.get("source")
        self.source = source if isinstance(source, str) else None
        function, module = frame.get("function") or frame.get("work"), frame.get("module")
        self.function = str(function) if function else None
        self.module = str(module) if module else None
        self.driver_type = driver_type  # model/crashes.driver_of
        self.in_probe = in_probe
        self.thread = thread
        # The helper function that faulted (swiotlb_bounce, mempool_alloc) when the driver's
        # frame is its caller (model/crash_helpers.helper_caller), else None, and its layer:
        # "dma" or "scatterlist".
        self.helper = helper
        self.helper_layer = helper_layer

    @property
    def stuck(self) -> bool:
        """A CPU or task stuck in the driver (lockup, hung task, RCU stall), not a fault."""
        return self.what in STUCK_KINDS


class RootMount(Plain):
    """A run's failed root mount: the line that says so, what it names, the panic after it
    and the virtio block device the named disk is (None: no device of the log has it)."""

    FIELDS = ("failed", "root", "disk", "error", "panic", "device", "never_appeared",
              "waiting", "timed_out", "virtio_disk", "no_file_system", "reason", "tag",
              "no_type")

    def __init__(self, failed: Event):
        self.failed = failed
        # the initramfs waited for the root device and gave up: no disk of that name came
        self.never_appeared = failed.payload.detail == "missing"
        # Linux's rootwait: the kernel said it waits for root= and the log never shows the
        # device coming (no failure line of its own; model/root_mount.py)
        self.waiting = failed.payload.detail == "waiting"
        # dracut's initqueue timed out waiting for a device it needs (its devexists hook):
        # the boot stays in the initramfs unless the device comes later (model/root_mount.py)
        self.timed_out = failed.payload.detail == "timeout"
        # Linux's "No filesystem could mount root, tried: ...": the disk was read, no file
        # system type of the kernel mounted it
        self.no_file_system = failed.payload.detail == "no_fs"
        self.root: str | None = None  # the root= it was asked for, as printed
        self.disk: str | None = None  # the block device it tried, by name (None: no name)
        self.error: int | None = None
        self.panic: Event | None = None
        # The Device (typed loosely: device.py imports this module) model/root_mount.py
        # joins it to.
        self.device: Any = None
        # Whether the device named may be a virtio disk (model/root_mount.py virtio_disk);
        # False only for a disk another driver names (dracut's wait on sda2 or nvme0n1p2,
        # a mount that failed on FreeBSD's memory disk md0).
        self.virtio_disk = True
        # The error's text mount(8) printed (busybox's strerror: "No such device").
        self.reason: str | None = None
        # The source mount(8) was given is no path but a shared file system's tag (9p's
        # mount_tag, virtiofs's tag): no disk holds that root (model/root_mount.py).
        self.tag = False
        # mount(2)'s ENODEV ("No such device"): the kernel has no driver for the file
        # system type asked for (model/root_mount.py).
        self.no_type = False

    def names(self) -> list[str]:
        """The root device's names, the disk the line tried first."""
        return [name for name in (self.disk, self.root) if name]


class Declaration:
    """One virtio device a command line declares (``missing``: the guest enumerated its
    transport and did not find it; ``unseen``: configured, never seen by the guest, whose
    lines show nothing of it and too little to call it missing: model/declared.py)."""

    __slots__ = ("event", "option", "driver", "device_type", "transport", "address", "qemu_id",
                 "missing", "unseen", "bus", "slot", "order", "placed", "root_bus", "netdev",
                 "chardev", "guest_silent")

    def __init__(self, event: Event, option: str, driver: str, device_type: str,
                 transport: str | None, address: str | None, qemu_id: str | None):
        self.event, self.option, self.driver = event, option, driver
        self.device_type, self.transport = device_type, transport
        self.address, self.qemu_id = address, qemu_id
        self.missing = False
        self.unseen = False
        self.guest_silent = False  # unseen in a log with no guest line at all
        # Where QEMU puts it (model/declared_places.py): the bus= id (None: the root bus),
        # addr= as (slot, function) (None: QEMU's automatic address), the place it has in
        # QEMU's creation order, and how its function was inferred when the line gives none.
        self.bus: str | None = None
        self.slot: tuple[int, int] | None = None
        self.order: tuple[int, int, int] = (0, event.seq, 0)
        self.placed: str | None = None
        # A PCI expander bridge's (pxb, pxb-pcie) root bus number, its bus_nr=.
        self.root_bus: int | None = None
        # A NIC's network back-end, the -netdev id its netdev= names (model/netdev_users.py).
        self.netdev: str | None = None
        # A vhost-user device's socket, the -chardev id its chardev= names
        # (model/chardev_users.py).
        self.chardev: str | None = None

    @property
    def name(self) -> str:
        return f"{self.qemu_id} ({self.driver})" if self.qemu_id else self.driver

    def key(self) -> tuple:
        return (self.driver, self.address, self.qemu_id, self.option)


IOMMU_RECORD_WORDS = 4  # SMMUv3 EVTQ_ENT_DWORDS
IOMMU_RECORD_LIMIT = 1024  # records kept per run; an event storm repeats itself


class IommuRecords:
    """The records of one run: a header waits for its words (per IOMMU unit)."""

    def __init__(self) -> None:
        self.pending: dict[str, tuple[Event, int]] = {}  # unit -> (header, words seen)
        # (the line that reports it, stream ID, the device the driver named or None)
        self.records: list[tuple[Event, int, str | None]] = []
        # SMMUv2 context faults that name no stream (arm-smmu.c before 5.3)
        self.streamless: list[Event] = []

    def feed(self, event: Event) -> None:
        unit = str(event.get("iommu") or "")
        detail = event.payload.detail
        if detail == "header":
            self.pending[unit] = (event, 0)
            return
        if detail in ("context", "blocked"):
            # SMMUv2: a context fault names its stream in CBFRSYNRA's low 16 bits (5.3+;
            # before, no stream: whose DMA it was is not said), a blocked stream directly.
            syndrome, sid = event.get("syndrome"), event.get("sid")
            if detail == "context" and isinstance(syndrome, int):
                self._keep(event, syndrome & 0xFFFF, None)
            elif detail == "context" and len(self.streamless) < IOMMU_RECORD_LIMIT:
                self.streamless.append(event)
            elif detail == "blocked" and isinstance(sid, int):
                self._keep(event, sid, None)
            return
        if detail == "decoded":
            sid, client = event.get("sid"), event.get("client")
            if not isinstance(sid, int):
                return
            waiting = self.pending.pop(unit, None)
            head = waiting[0] if waiting is not None else event
            # The same record, its words already read: keep one, with the named device.
            self.records = [r for r in self.records if r[0] is not head]
            self._keep(head, sid, str(client) if client else None)
            return
        known, word = self.pending.get(unit), event.get("dword")
        if known is None or not isinstance(word, int) or known[1] >= IOMMU_RECORD_WORDS:
            return
        if known[1] == 0:  # the first word: the stream ID in its upper half
            self._keep(known[0], word >> 32, None)
        # Kept after its last word: 6.15+ prints the decoded line after them.
        self.pending[unit] = (known[0], known[1] + 1)

    def _keep(self, event: Event, sid: int, client: str | None) -> None:
        if len(self.records) < IOMMU_RECORD_LIMIT:
            self.records.append((event, sid, client))
