"""What the model knows about one device and about one log."""

from __future__ import annotations

from virtiodiag import spec
from virtiodiag.events import Event
from virtiodiag.plain import Plain

# Entries kept per device: the first TIMELINE_HEAD (how the device was found and first
# driven) and the latest ones (the current attempt, what a bad final state is about);
# the ones between are counted (timeline_dropped). A handshake is 10-40 entries, so this
# holds the first attempt and the last few whole, and memory stops growing once a device
# has been through a few boots of a long log.
TIMELINE_LIMIT = 100
TIMELINE_HEAD = 40
HISTORY_LIMIT = 64  # per list; past it the middle is dropped, the start and the latest kept


class History(list):
    """A list that stays bounded on endless streams (memory flat however long the log).

    When full, entries from the middle are dropped: the first ones (how the device was
    found and first driven) and the latest ones (the current attempt) are what rules read.
    """

    dropped = 0

    def append(self, item) -> None:
        if len(self) >= HISTORY_LIMIT:
            cut_from, cut_to = HISTORY_LIMIT // 8, HISTORY_LIMIT // 2
            del self[cut_from:cut_to]
            self.dropped += cut_to - cut_from
        super().append(item)
  # entries kept per device; notify/interrupt floods are counted instead


class Evidence(Plain):
    """A fact and the line that proves it."""

    FIELDS = ("text", "event")

    def __init__(self, text: str, event: Event):
        self.text = text
        self.event = event


class StatusChange(Plain):
    FIELDS = ("value", "event", "read")

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


class Device:
    """One device as one side (guest driver or QEMU) or both sides saw it."""

    def __init__(self, ordinal: int):
        self.ordinal: int = ordinal
        self.aliases: list[str] = History()
        self.sides: set[str] = set()  # "guest", "host"
        self.dialects: set[str] = set()
        self.transport: str = "unknown"
        self.address: str | None = None
        self.virtio_id: int | None = None
        self.device_type: str | None = None
        self.pci_device: int | None = None
        self.pci_kind: str | None = None  # modern | transitional (from the PCI device id)
        self.mmio_version: int | None = None
        self.guest_name: str | None = None  # virtio0, virtio-net0, vtnet0 ...
        self.netdev: str | None = None
        self.driver: str | None = None
        self.irq_lines: set[int] = set()
        self.status: list[StatusChange] = History()
        self.features_offered: int | None = None
        self.features_offered_event: Event | None = None
        self.features_accepted: int | None = None
        self.features_accepted_event: Event | None = None
        self.features_refused: Event | None = None
        self.version1_missing: Event | None = None
        self.legacy_fallback: Event | None = None
        self.mac_random: Event | None = None
        self.queues: dict[int, Queue] = {}
        self.selected_queue: int | None = None
        self.irq_mode: str | None = None
        self.irq_events: list[Event] = History()
        self.interrupt_count: int = 0
        self.notify_count: int = 0
        self.first_notify_before_driver_ok: Event | None = None
        self.net_headers: list[Event] = History()
        self.probe_failures: list[Event] = History()
        self.errors: list[Event] = History()
        self.traffic: list[Event] = History()
        self.tests: list[Event] = History()
        self.mode_evidence: list[Evidence] = History()
        self.legacy_evidence: list[Evidence] = History()
        self.modern_evidence: list[Evidence] = History()
        self.timeline: list[Event] = []  # capped by add_timeline
        self.timeline_dropped: int = 0
        self.first_event: Event | None = None
        self.last_event: Event | None = None
        self.last_progress: Event | None = None  # last status change
        self.matched_by: str | None = None
        self.guest_page_size: int | None = None
        self.placeholder_event: Event | None = None
        self.found_event: Event | None = None
        self.bound: bool = False
        self.flood_line: int = 0  # last notify/interrupt line counted without an Event
        self.settled_at: int = -1  # len(status) when the flood path last found it past DRIVER_OK
        self._identity: tuple | None = None  # (facts, identity string): see identity

    def __repr__(self) -> str:
        return f"<Device {self.id} ({self.transport}, {len(self.timeline)} events)>"

    # ---- derived facts -------------------------------------------------------------------
    @property
    def id(self) -> str:
        """Short, stable name: the one a person would use for this device."""
        if self.transport == "pci" and self.address:
            return f"pci-{self.address}"
        if self.guest_name:
            return self.guest_name
        if self.transport == "mmio" and self.address:
            return f"mmio-{self.address}"
        return f"qemu-dev{self.ordinal}"

    @property
    def identity(self) -> str:
        """Identity for fingerprints: independent of line numbers and host pointers.

        Every event of the device carries it, so one string is kept while the facts it is
        made of stay the same (thousands of events, one copy)."""
        facts = (self.transport, self.address, self.guest_name, self.ordinal)
        cached = self._identity
        if cached is not None and cached[0] == facts:
            return cached[1]
        if self.address:
            identity = f"{self.transport}:{self.address}"
        elif self.guest_name:
            identity = f"name:{self.guest_name}"
        else:
            identity = f"ordinal:{self.ordinal}"
        self._identity = (facts, identity)
        return identity

    @property
    def status_writes(self) -> list[int]:
        return [s.value for s in self.status if not s.read]

    @property
    def status_values(self) -> list[StatusChange]:
        return [s for s in self.status if not s.read]

    @property
    def final_status(self) -> int | None:
        return self.status[-1].value if self.status else None

    @property
    def reached_driver_ok(self) -> bool:
        return any(s.value & spec.DRIVER_OK for s in self.status)

    @property
    def driver_ok_event(self) -> Event | None:
        for s in self.status:
            if s.value & spec.DRIVER_OK:
                return s.event
        return None

    @property
    def started_handshake(self) -> bool:
        return any(s.value & (spec.ACKNOWLEDGE | spec.DRIVER) for s in self.status)

    @property
    def resets(self) -> list[StatusChange]:
        return [s for s in self.status if s.value == 0 and not s.read]

    def last_step(self) -> tuple[str, Event | None]:
        """Highest step of 3.1.1 reached in the latest attempt (after the last reset)."""
        attempt = self.current_attempt()
        best, where = "RESET" if attempt else "none", attempt[0].event if attempt else None
        for change in attempt:
            for bit, name in spec.HANDSHAKE_STEPS:
                if change.value & bit and _rank(name) >= _rank(best):
                    best, where = name, change.event
        return best, where

    def attempts(self) -> list[list[StatusChange]]:
        """Status changes split at each reset (a write of 0)."""
        groups: list[list[StatusChange]] = []
        for change in self.status:
            if (change.value == 0 and not change.read) or not groups:
                groups.append([change])
            else:
                groups[-1].append(change)
        return groups

    def last_started_attempt(self) -> tuple[list[StatusChange], bool]:
        """The latest attempt that did something, and whether a reset followed it.

        A reset after DRIVER_OK (shutdown, unbind, machine reset) ends a finished
        handshake; it is not a new attempt.
        """
        groups = self.attempts()
        for index in range(len(groups) - 1, -1, -1):
            if any(s.value for s in groups[index]):
                return groups[index], index < len(groups) - 1
        return [], False

    def current_attempt(self) -> list[StatusChange]:
        """The status changes since the last reset (all of them if there was none)."""
        groups = self.attempts()
        return groups[-1] if groups else []

    def driver_ok_in_attempt(self) -> bool:
        """DRIVER_OK is set in the current attempt (since the last reset)."""
        return any(s.value & spec.DRIVER_OK for s in self.current_attempt())

    def add_evidence(self, mode: str, text: str, event: Event) -> None:
        """Record evidence that the driver used the ``mode`` interface (once per text)."""
        bucket = self.modern_evidence if mode == "modern" else self.legacy_evidence
        if any(e.text == text for e in bucket):
            return
        evidence = Evidence(text, event)
        bucket.append(evidence)
        self.mode_evidence.append(evidence)

    def note(self, text: str, event: Event) -> None:
        """Mode evidence that is a property of the device, recorded once."""
        if not any(e.text == text for e in self.mode_evidence):
            self.mode_evidence.append(Evidence(text, event))

    @property
    def driven_mode(self) -> str | None:
        """How the driver drove it: 'modern', 'legacy' or None when the log cannot tell."""
        if self.modern_evidence and not self.legacy_evidence:
            return "modern"
        if self.legacy_evidence and not self.modern_evidence:
            return "legacy"
        if self.legacy_evidence and self.modern_evidence:
            # Both: the latest evidence wins (a driver that retried in legacy mode).
            last_legacy = self.legacy_evidence[-1].event.seq
            last_modern = self.modern_evidence[-1].event.seq
            return "legacy" if last_legacy > last_modern else "modern"
        return None

    @property
    def mode(self) -> str:
        driven = self.driven_mode
        if self.pci_kind == "transitional" and not self.legacy_fallback:
            if driven:
                return f"transitional-used-as-{driven}"
            return "transitional"
        if self.pci_kind == "transitional" and self.legacy_fallback:
            return "legacy"  # the device has no modern interface at all
        if driven:
            return driven
        if self.pci_kind == "modern":
            return "modern"
        if self.mmio_version == 1:
            return "legacy"
        if self.mmio_version == 2:
            return "modern"
        return "unknown"

    @property
    def mode_reason(self) -> str:
        parts = [f"{e.text} (line {e.event.line})" for e in self.mode_evidence[:4]]
        return "; ".join(parts) if parts else "no evidence in the log"

    @property
    def is_net(self) -> bool:
        return self.device_type == "net"

    def queue(self, index: int | None) -> Queue | None:
        if index is None:
            index = self.selected_queue
        if index is None:
            return None
        queue = self.queues.get(index)
        if queue is None:
            queue = self.queues[index] = Queue(index)
        return queue

    def add_timeline(self, event: Event) -> None:
        timeline = self.timeline
        if len(timeline) >= TIMELINE_LIMIT:
            del timeline[TIMELINE_HEAD]  # the oldest entry after the head
            self.timeline_dropped += 1
        timeline.append(event)

    @property
    def timeline_gap_after(self) -> int | None:
        """Index in ``timeline`` after which ``timeline_dropped`` entries were left out."""
        return TIMELINE_HEAD if self.timeline_dropped else None


def _rank(step: str) -> int:
    order = ["none", "RESET", "ACKNOWLEDGE", "DRIVER", "FEATURES_OK", "DRIVER_OK"]
    return order.index(step)


class Model:
    """Everything learnt from one run (one file, or one stream)."""

    def __init__(self, path: str):
        self.path: str = path
        self.devices: list[Device] = []  # every device, never trimmed
        self.irq_enables: list[Event] = History()
        self.irq_setups: list[Event] = History()
        self.tests: list[Event] = History()
        self.boots: list[Event] = History()
        self.config_refusals: list[Event] = History()
        self.unattributed_errors: list[Event] = History()
        self.traffic: list[Event] = History()
        self.unrecognised: int = 0
        self.unrecognised_samples: list[tuple[int, str]] = []
        self.lines: int = 0
        self.records: int = 0
        self.events: int = 0
        self.bytes: int = 0
        self.invalid_utf8_lines: int = 0
        self.binary_suspect: bool = False
        self.matching_notes: list[str] = History()
        self.dialects_seen: dict[str, int] = {}
        self.truncated_last_line: bool = False

    def live_devices(self) -> list[Device]:
        return [d for d in self.devices if d.aliases]
