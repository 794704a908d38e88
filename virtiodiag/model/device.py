"""What the model knows about one device and about one log (the records a device is
made of are in records.py, its attempts in attempts.py, what its attempts show in
device_attempts.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtiodiag import spec
from virtiodiag.events import Event
from virtiodiag.grammar_facts import GUEST, GrammarFacts
from virtiodiag.model.attempts import FeatureValue, InterfaceEvidence
from virtiodiag.model.device_attempts import DeviceAttempts
from virtiodiag.model.device_index import DeviceIndex, IndexedFacts
from virtiodiag.model.driver_ok import DriverOkFact, device_driver_ok
from virtiodiag.model.eras import Eras
from virtiodiag.model.modules import LoadedModules
from virtiodiag.model.declared_libvirt import LibvirtDomain
from virtiodiag.model.split_argv import SplitArgv
from virtiodiag.model.records import (Crash, Declaration, IommuRecords, RootMount, Ending,
                                      Evidence, History, Queue, StatusChange)
from virtiodiag.model.timeline import TIMELINE_HEAD as TIMELINE_HEAD
from virtiodiag.model.timeline import TIMELINE_LIMIT as TIMELINE_LIMIT
from virtiodiag.model.timeline import DeviceTimeline

if TYPE_CHECKING:
    from virtiodiag.model.run_facts import RunFacts


class Device(DeviceAttempts, DeviceTimeline, IndexedFacts):
    """One device as one side (guest driver, firmware or the host's VMM) or several saw it."""

    def __init__(self, ordinal: int, index: DeviceIndex | None = None):
        self._index = index  # files device_type, netdev and disk (device_index.py)
        self.ordinal: int = ordinal
        self.aliases: list[str] = []  # exact, never a History: Identities.merge says why
        self.sides: set[str] = set()  # "guest", "host", "firmware": who printed its lines
        self.dialects: set[str] = set()
        self.transport: str = "unknown"
        self.address: str | None = None
        self.virtio_id: int | None = None
        self.device_type = None
        self.pci_device: int | None = None
        self.pci_kind: str | None = None  # modern | transitional (from the PCI device id)
        # the first line showing the function's virtio 1.0 PCI capabilities (lspci -v)
        self.pci_caps: Event | None = None
        self.mmio_version: int | None = None
        self.guest_name: str | None = None  # virtio0, virtio-net0, vtnet0 ...
        self.declaration: Declaration | None = None  # its VMM command line's (declared.py)
        self.netdev = None
        self.disk = None
        self.driver: str | None = None
        self.irq_lines: set[int] = set()
        self.status: list[StatusChange] = History()
        self.features_offered: int | None = None
        self.features_accepted: int | None = None
        self.features_accepted_event: Event | None = None
        self.features_refused: Event | None = None
        self.version1_missing: Event | None = None
        self.legacy_fallback: Event | None = None
        # The function's kind (pci_kind) when its driver left it for the legacy one: a
        # later boot of the same log may show another device in that slot (its id).
        self.fallback_kind: str | None = None
        self.unassigned_bars: list[Event] = History()  # BARs the PCI core found no space for
        self.mac_random: Event | None = None
        self.queues: dict[int, Queue] = {}
        self.selected_queue: int | None = None
        self.irq_mode: str | None = None
        self.irq_events: list[Event] = History()
        self.interrupt_count: int = 0
        self.notify_count: int = 0
        self.first_notify_before_driver_ok: Event | None = None
        self.first_interrupt_before_driver_ok: Event | None = None  # a used-buffer one
        self.net_headers: list[Event] = History()
        self.probe_failures: list[Event] = History()
        self.driver_lines: list[Event] = History()  # guest lines naming a device driver
        self.errors: list[Event] = History()
        self.traffic: list[Event] = History()
        self.tests: list[Event] = History()
        self.mode_evidence: list[Evidence] = History()  # wording for reports (JSON mode_evidence)
        self.interface_evidence: list[InterfaceEvidence] = History()  # typed, per attempt
        self.feature_log: list[FeatureValue] = History()  # features known after each line
        self.reset_seq: int = -1  # seq of the last reset written (evidence is kept per attempt)
        self.driver_ok_implied: Event | None = None  # a line only a live device prints
        self.empty_disk: Event | None = None  # a block device's capacity 0 line
        self._attempts: tuple | None = None  # (key, attempts): see attempts()
        self.timeline: list[Event] = []  # capped by add_timeline
        self.timeline_dropped: int = 0
        self.first_event: Event | None = None
        self.last_event: Event | None = None
        self.last_progress: Event | None = None  # last status change
        self.matched_by: str | None = None
        self.guest_page_size: int | None = None
        self.placeholder_event: Event | None = None
        # An empty slot inferred, not read (model/slots.py says from what): why the log
        # cannot tell it from a device no driver took, in the report's words.
        self.slot_unbound: str | None = None
        self.found_event: Event | None = None
        self.bound: bool = False
        self.driver_ok_implied_why: str | None = None  # what driver_ok_implied's line shows
        self.crash: Event | None = None  # Oops/BUG/WARNING while its driver probed it
        self.crash_report: Crash | None = None  # what crashed, in which driver
        self.unclaimed: Event | None = None  # a bus said no driver matched it (BSD autoconf)
        self.flood_line: int = 0  # last notify/interrupt line counted without an Event
        self.settled_at: int = -1  # len(status) when the flood path last found it past DRIVER_OK
        self._identity: tuple | None = None  # (facts, identity string): see identity

    def __repr__(self) -> str:
        return f"<Device {self.id} ({self.transport}, {len(self.timeline)} events)>"

    # ---- derived facts -------------------------------------------------------------------
    @property
    def id(self) -> str:
        """Short, stable name: the one a person would use for this device.

        The unit a log's own attach line gives it first (BSD "virtio0", "virtio_pci2",
        Solo5 "PCI:00:03": every later line of that log names it so); then the PCI
        address, the guest's name, the MMIO base, a name the log gives it (a VMM's "rootfs",
        "_disk0"); ``qemu-devN`` if only the host shows it, unnamed; else ``deviceN``."""
        found = self.found_event
        name = found.get("device") if found is not None else None
        if self.guest_name and name == self.guest_name:
            return self.guest_name
        if self.transport == "pci" and self.address:
            return f"pci-{self.address}"
        if self.guest_name:
            return self.guest_name
        if self.transport in ("mmio", "ccw") and self.address:
            return f"{self.transport}-{self.address}"
        name = name or next((alias[5:] for alias in self.aliases if alias[:5] == "name:"), None)
        if isinstance(name, str) and name:
            return name
        if "host" in self.sides:
            return f"qemu-dev{self.ordinal}"
        return f"device{self.ordinal}"

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
    def final_status(self) -> int | None:
        return self.status[-1].value if self.status else None

    @property
    def driver_ok(self) -> DriverOkFact:
        """DRIVER_OK for the device (see driver_ok.device_driver_ok)."""
        return device_driver_ok(self)

    @property
    def reached_driver_ok(self) -> bool:
        return any(s.value & spec.DRIVER_OK for s in self.status)

    @property
    def driver_ok_event(self) -> Event | None:
        return next((s.event for s in self.status if s.value & spec.DRIVER_OK), None)

    @property
    def awaiting_driver_ok(self) -> bool:
        """A handshake began, or the status is shown and never left RESET: either way
        nothing may be kicked before DRIVER_OK (a fuzzer's or a broken driver's notify)."""
        return self.started_handshake or (bool(self.status)
                                          and not any(s.value for s in self.status))

    @property
    def started_handshake(self) -> bool:
        return any(s.value & (spec.ACKNOWLEDGE | spec.DRIVER) for s in self.status)

    @property
    def is_empty_slot(self) -> bool:
        """A placeholder: device id 0 (no device behind the transport slot) and no driver
        began a handshake with it. Counted apart from devices by every summary."""
        return self.virtio_id == 0 and not self.started_handshake

    @property
    def resets(self) -> list[StatusChange]:
        return [s for s in self.status if s.value == 0 and not s.read]

    @property
    def is_net(self) -> bool:
        return self.device_type == "net"

    def queue(self, index: int | None) -> Queue | None:
        index = self.selected_queue if index is None else index
        if index is None:
            return None
        queue = self.queues.get(index)
        if queue is None:
            queue = self.queues[index] = Queue(index)
        return queue


class Model:
    """Everything learnt from one run (one file, or one stream)."""

    def __init__(self, path: str):
        self.path: str = path
        self.devices: list[Device] = []  # every device, never trimmed
        self.device_index = DeviceIndex(self.devices)  # by type, interface, disk
        self.irq_enables: list[Event] = History()
        self.irq_setups: list[Event] = History()
        self.tests: list[Event] = History()
        self.boots: list[Event] = History()
        self.config_refusals: list[Event] = History()
        self.unattributed_errors: list[Event] = History()
        self.traffic: list[Event] = History()
        self.filters: list[Event] = History()  # pasted command lines piping through grep
        # Unread lines that mention virtio (counted, first few kept); virtio-message-shaped ones.
        self.unrecognised: int = 0
        self.unrecognised_samples: list[tuple[int, str]] = []
        self.unrecognised_messages: int = 0
        self.first_unrecognised_message: tuple[int, str] | None = None
        self.lines = self.records = self.events = self.bytes = 0  # how much was read
        self.invalid_utf8_lines = self.soft_breaks_joined = self.escapes_decoded = 0
        self.matching_notes: list[str] = History()
        self.dialects_seen: dict[str, int] = {}
        self.truncated_last_line: bool = False
        self.encoding: str | None = None  # not UTF-8: what it was decoded from (encodings.py)
        self.grammars: dict[str, GrammarFacts] = {}  # dialect -> its `//@` directives
        self.dialect_sides: dict[str, str] = {}  # dialect -> guest | host | firmware (its side)
        # dialect -> the transports its lines showed (a `transport` field, or a note[pci|mmio]
        # naming no device), for the devices whose own lines show none
        self.transports_shown: dict[str, set[str]] = {}
        self.eras = Eras()  # firmware or OS speaking, from which line on (model/eras.py)
        self.run: RunFacts | None = None  # `virtiodiag run`: how it ended, QEMU's view
        self.cmdline: Event | None = None  # the kernel command line, when printed
        self.declarations: list[Declaration] = []  # a VMM command line's devices
        self.declared_bridges: list[Declaration] = []  # its PCI bridges and root ports
        self.split_argv = SplitArgv()  # an argv printed a word a line (split_argv.py)
        self.libvirt_domain = LibvirtDomain()  # a domain XML's elements (declared_libvirt.py)
        # a line named the cloud-hypervisor program: its option lines declare (declared_ch.py)
        self.ch_command_seen = False
        self.pci_bridges: dict[str, int] = {}  # a guest's bridge function -> its bus behind
        self.iommu_records = IommuRecords()  # an IOMMU's event records (iommu_events.py)
        self.modules = LoadedModules()  # kernel modules a pasted lsmod lists (modules.py)
        self.virtio_params: dict[str, str] = {}  # its virtio module parameters
        self.run_end: Event | None = None  # the emulator was killed ("terminating on signal")
        self.ending = Ending()  # how else the log ends (model/ending.py)
        self.crashes: list[tuple[Event, list[Event]]] = History()  # Oops line, its frames
        self.crash_ended = False  # the last report's "---[ end trace ]---" came
        # call traces whose report's first line is not in the log (cut): first frame, frames
        self.headless_stacks: list[tuple[Event, list[Event]]] = History()
        self.headless_last_seq = -1  # the last frame of the latest of them
        self.unattributed_crashes: list[Crash] = History()  # crashes of no device
        self.root_mount: RootMount | None = None  # its root fs not mounted (model/root_mount.py)
        self.root_chosen: Event | None = None  # a BSD's "root on ld0a ...", before it mounts

    def side_of(self, dialect: str) -> str:
        """Who prints a dialect's lines, as its grammar declares (``//@ side:``)."""
        return self.dialect_sides.get(dialect, "guest")

    def grammar_of(self, event: Event) -> GrammarFacts:
        """What the event's grammar declares about its lines (its ``//@`` directives)."""
        return self.grammars.get(event.dialect, GUEST)

    def speaker_of(self, event: Event) -> tuple[str, bool] | None:
        """(``//@ speaker:``, ``//@ side: firmware``?) of the event's grammar, or None."""
        facts = self.grammar_of(event)
        return (facts.speaker, facts.firmware) if facts.speaker is not None else None

    def sides_seen(self) -> set[str]:
        """The sides (guest, host, firmware) whose lines the log holds."""
        return {self.side_of(name) for name in self.dialects_seen}

    def note_unrecognised(self, line_no: int, text: str, message: str | None,
                          keep: int) -> None:
        """A line no grammar read that mentions virtio; ``message``: its record shaped like
        a virtio driver's or device's message, if any; ``keep``: how many to keep."""
        self.unrecognised += 1
        if len(self.unrecognised_samples) < keep:
            self.unrecognised_samples.append((line_no, text[:300]))
        if message is not None:
            self.unrecognised_messages += 1
            if self.first_unrecognised_message is None:
                self.first_unrecognised_message = (line_no, message[:300])

    def live_devices(self) -> list[Device]:
        return [d for d in self.devices if d.aliases]
