"""What the human-facing reports (text, html, chrome-trace) show of a model, computed once.

Nothing here decides what a log means: the model does. This module only arranges the
model's facts for reading: each device's attempts as a path of step names, who made an
attempt where the log shows it, clocks with a stated origin, the held events of all
devices in log order, and floods folded into one entry.
"""

from __future__ import annotations

import datetime
from bisect import bisect_left, bisect_right
from itertools import pairwise
from operator import attrgetter

from virtiodiag import spec
from virtiodiag.model.driver_ok import DriverOk
from virtiodiag.model.eras import FIRMWARE

STEP_SHORT = {"ACKNOWLEDGE": "ACK"}
FLOOD_KINDS = ("notify", "interrupt")
CLOCK_NAMES = {"host": "host", "boot": "guest", "wall": "wall"}


class Attempt:
    """One reset-to-reset run of a device's handshake, as the reports show it: the model's
    record of it (``fact``: its interface, DRIVER_OK state and failure are the model's
    decisions, read here, never made again), who made it, and its writes as a path."""

    def __init__(self, index: int, changes: list, actor: str | None, fact):
        self.index = index
        self.changes = changes  # StatusChange (model) of this attempt, reads included
        self.actor = actor
        self.fact = fact
        writes = [c for c in changes if not c.read]
        self.first_line = writes[0].event.line if writes else changes[0].event.line
        self.last_line = changes[-1].event.line
        self.steps = _steps(writes)  # [(label, StatusChange)], label "ACK", "DRIVER" ...
        self.reached_driver_ok = fact.driver_ok.reached
        self.failed = fact.failed is not None
        self.interface = fact.interface

    def path(self, arrow: str) -> str:
        return f" {arrow} ".join(label for label, _ in self.steps) or "RESET only"


def _steps(writes: list) -> list[tuple[str, object]]:
    """Each write that set new bits, named by the bits it set (``ACK+DRIVER`` for 0 -> 3)."""
    out: list[tuple[str, object]] = []
    previous = 0
    for change in writes:
        value = change.value
        if value == 0:
            previous = 0
            continue
        new = value & ~previous
        lost = previous & ~value
        names = [STEP_SHORT.get(name, name) for bit, name in spec.STATUS_BITS if new & bit]
        if lost and not names:
            names = [f"0x{value:02x}"]
        if names:
            out.append(("+".join(names), change))
        previous = value
    return out


def held_events(model) -> list:
    """Every event the model keeps (device timelines and run-level lists), in log order."""
    seen: set[int] = set()
    out = []
    sources = [device.timeline for device in model.live_devices()]
    sources += [model.irq_enables, model.irq_setups, model.tests, model.boots,
                model.config_refusals, model.unattributed_errors, model.traffic]
    for source in sources:
        for event in source:
            if id(event) not in seen:
                seen.add(id(event))
                out.append(event)
    out.sort(key=attrgetter("seq", "line"))
    return out


class Guests:
    """Which guest program made each handshake: the model decides whose era (firmware or
    OS) the handshake's first write falls in (model/eras.py); its name is that of the
    nearest line of that side's grammar (``//@ speaker:``), before it or else after it."""

    def __init__(self, events: list, model):
        self.model = model
        # model.speaker_of depends on the event's dialect alone: asked once per dialect
        speakers: dict[str, tuple[str, bool] | None] = {}
        for e in events:
            if e.payload.dialect not in speakers:
                speakers[e.payload.dialect] = model.speaker_of(e)
        self.marks = [(e.seq, who) for e in events
                      if (who := speakers[e.payload.dialect]) is not None]
        # Per side (firmware or not), the marks' seqs and speakers: found by bisection when
        # the events come in log order (held_events), as every report gives them; a long
        # log's text report asked each of ~600 handshakes of a list of thousands.
        self._by_side: dict[bool, tuple[list[int], list]] | None = None
        if all(a[0] <= b[0] for a, b in pairwise(self.marks)):
            self._by_side = {True: ([], []), False: ([], [])}
            for seq, who in self.marks:
                seqs, whos = self._by_side[who[1]]
                seqs.append(seq)
                whos.append(who)

    def actor(self, event, side: str | None = None) -> str | None:
        """Who made the handshake that began with ``event``; ``side``: the model's
        FIRMWARE or OS for it (model/eras.py), else the era the event falls in."""
        who = self.model.speaker_of(event)
        if who is not None:
            return who[0]
        side = side or self.model.eras.side_at(event.seq)
        if side is None:
            return None
        firmware = side == FIRMWARE
        if self._by_side is not None:
            seqs, whos = self._by_side[firmware]
            at = bisect_right(seqs, event.seq)  # marks up to ``at`` are at or before it
            if at:
                return whos[at - 1][0]
            if at < len(whos):
                return whos[at][0]
            return "firmware" if firmware else None
        before = [who for seq, who in self.marks if seq <= event.seq and who[1] == firmware]
        if before:
            return before[-1][0]
        after = [who for seq, who in self.marks if seq > event.seq and who[1] == firmware]
        if after:
            return after[0][0]
        return "firmware" if firmware else None


def attempts(device, guests: Guests | None = None) -> list[Attempt]:
    """The device's attempts that wrote more than a reset (a reset alone is no attempt)."""
    out: list[Attempt] = []
    started = [(a, next(c for c in a.changes if c.value and not c.read))
               for a in device.attempts() if any(c.value and not c.read for c in a.changes)]
    sides = (guests.model.eras.handshake_sides([(f.event.seq, f.value) for _, f in started])
             if guests is not None else [None] * len(started))
    for (model_attempt, first), side in zip(started, sides, strict=True):
        actor = guests.actor(first.event, side) if guests is not None else None
        out.append(Attempt(len(out) + 1, model_attempt.changes, actor, fact=model_attempt))
    return out


def mode_label(device) -> str:
    mode = device.mode
    if mode.startswith("transitional-used-as-"):
        return f"{mode.rsplit('-', 1)[1]} (transitional device)"
    if mode == "transitional":
        return "transitional device, mode not shown"
    return mode


def place(device) -> str:
    """``pci 0000:00:03.0``, ``mmio 0xa000000``; the transport alone when no address."""
    transport = device.transport if device.transport != "unknown" else ""
    return " ".join(p for p in (transport, device.address or "") if p) or "-"


def display_name(device) -> str:
    return device.guest_name or device.id


def driver_ok(device) -> bool:
    """DRIVER_OK reached, or implied by a line only a live device prints (the model's
    DriverOk fact)."""
    return device.driver_ok.state in (DriverOk.REACHED, DriverOk.IMPLIED)


def driver_ok_implied(device) -> bool:
    return device.driver_ok.state is DriverOk.IMPLIED


def is_placeholder(device) -> bool:
    return device.is_empty_slot


class Clocks:
    """One origin per clock, stated: times are shown relative to it, never as epochs."""

    def __init__(self, events: list):
        self.origins: dict[str, tuple[float, int]] = {}
        for event in events:
            if event.time is None or event.clock is None:
                continue
            known = self.origins.get(event.clock)
            if known is None or event.time < known[0]:
                self.origins[event.clock] = (event.time, event.line)
        # A guest's "seconds since boot" already has its origin: the boot.
        if "boot" in self.origins:
            self.origins["boot"] = (0.0, self.origins["boot"][1])

    @property
    def names(self) -> list[str]:
        order = ["host", "wall", "boot"]
        return [c for c in order if c in self.origins] + sorted(
            c for c in self.origins if c not in order)

    def relative(self, event) -> float | None:
        if event.time is None or event.clock not in self.origins:
            return None
        return event.time - self.origins[event.clock][0]

    def header(self, clock: str) -> str:
        return f"{CLOCK_NAMES.get(clock, clock)} s"

    def statement(self, clock: str) -> str:
        origin, line = self.origins[clock]
        if clock == "boot":
            return "guest s: seconds since the guest booted, as the guest prints them"
        when = ""
        if origin > 946684800:  # an epoch time stamp (after 2000-01-01): name the instant
            instant = datetime.datetime.fromtimestamp(origin, datetime.UTC)
            when = f", {instant.strftime('%Y-%m-%d %H:%M:%S.%f')} UTC"
        what = "QEMU's clock" if clock == "host" else "wall clock"
        return f"{self.header(clock)}: {what}, seconds since line {line}{when}"


def fold_floods(events: list) -> list:
    """Events with runs of notifies/interrupts of one device, and repeats of one status
    write, folded into ``Fold`` entries (first line, last line, count, queues)."""
    out: list = []
    for event in events:
        key = _fold_key(event)
        last = out[-1] if out else None
        if key is not None and isinstance(last, Fold) and last.key == key:
            last.add(event)
            continue
        if (key is not None and last is not None and not isinstance(last, Fold)
                and _fold_key(last) == key):
            fold = Fold(key, last)
            fold.add(event)
            out[-1] = fold
            continue
        out.append(event)
    return out


def _fold_key(event):
    if event.kind in FLOOD_KINDS:
        return ("flood", event.device_key)
    if event.kind in ("status_write", "reset"):
        value = 0 if event.kind == "reset" else event.get("status")
        return ("status", event.device_key, value)
    return None


class Fold:
    """Several consecutive events shown as one entry."""

    def __init__(self, key, first):
        self.key = key
        self.first = first
        self.last = first
        self.counts: dict[str, int] = {first.kind: 1}
        self.queues: set[int] = set()
        self._queue(first)

    def add(self, event) -> None:
        self.last = event
        self.counts[event.kind] = self.counts.get(event.kind, 0) + 1
        self._queue(event)

    def _queue(self, event) -> None:
        queue = event.get("queue")
        if isinstance(queue, int):
            self.queues.add(queue)

    @property
    def line(self) -> int:
        return self.first.line

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        if self.key[0] == "status":
            value = self.key[2]
            label = f"0x{value:02x} {spec.status_names(value)}" if isinstance(value, int) else ""
            return (f"status write {label} x{self.count}, "
                    f"lines {self.first.line}-{self.last.line}")
        parts = [_plural(n, kind) for kind, n in self.counts.items()]
        return f"{' and '.join(parts)}{queue_span(self.queues)}, " \
               f"lines {self.first.line:,}-{self.last.line:,}"


def queue_span(queues) -> str:
    if not queues:
        return ""
    ordered = sorted(queues)
    if len(ordered) == 1:
        return f" on queue {ordered[0]}"
    if ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f" on queues {ordered[0]}-{ordered[-1]}"
    return " on queues " + ",".join(str(q) for q in ordered[:8]) + (
        ",..." if len(ordered) > 8 else "")


def flood_summary(device) -> str | None:
    """``35,000 notifies on queues 0-3, lines 400-38,000``: a device's whole traffic,
    including what the model counted without keeping an event."""
    if not device.notify_count and not device.interrupt_count:
        return None
    parts = []
    if device.notify_count:
        parts.append(f"{device.notify_count:,} notif{'ies' if device.notify_count > 1 else 'y'}")
    if device.interrupt_count:
        parts.append(f"{device.interrupt_count:,} interrupt"
                     f"{'s' if device.interrupt_count > 1 else ''}")
    queues = {q.index for q in device.queues.values() if q.notifies or q.interrupts}
    firsts = [q.first_notify.line for q in device.queues.values() if q.first_notify]
    last = max([device.flood_line] + [e.line for e in device.timeline
                                      if e.kind in FLOOD_KINDS])
    span = ""
    if firsts and last:
        span = f", lines {min(firsts):,}-{last:,}"
    elif last:
        span = f", last at line {last:,}"
    return " and ".join(parts) + queue_span(queues) + span


def describe(event) -> str:
    """A model event in words (the report's own wording, never the log's text)."""
    kind = event.kind
    if kind in ("status_write", "status_read", "reset"):
        value = 0 if kind == "reset" else event.get("status")
        if isinstance(value, int):
            verb = "read" if kind == "status_read" else "write"
            return f"status {verb} 0x{value:02x} {spec.status_names(value)}"
    return event.describe()


def _plural(n: int, kind: str) -> str:
    word = {"notify": ("notify", "notifies")}.get(kind, (kind, kind + "s"))
    return f"{n:,} {word[0] if n == 1 else word[1]}"


# ---- swimlanes (html, chrome-trace) ------------------------------------------------------
MARK_KINDS = ("queue_config", "queue_ready", "irq_setup", "irq_enable")
LINE_AXIS = "line"
LANE_LIMIT = 200  # lanes drawn per run; the device table lists every device


def phase_of(value: int) -> str:
    """The phase a status value puts the device in: the highest step its bits reach."""
    if value & spec.FAILED:
        return "FAILED"
    for bit, name in (spec.DRIVER_OK, "DRIVER_OK"), (spec.FEATURES_OK, "FEATURES_OK"), \
            (spec.DRIVER, "DRIVER"), (spec.ACKNOWLEDGE, "ACKNOWLEDGE"):
        if value & bit:
            return name
    return "RESET"


def axis_key(event) -> str:
    """The axis an event is drawn on: its clock when it has a time, else line order."""
    if event.time is not None and event.clock is not None:
        return event.clock
    return LINE_AXIS


class Phase:
    def __init__(self, name: str, value: int, start, end=None):
        self.name = name
        self.value = value
        self.start = start  # Event of the write that entered the phase
        self.end = end  # Event of the next write (None: until the end of the axis)


class Lane:
    """One device's drawable facts: phases, marks (queues, IRQs), traffic, findings."""

    def __init__(self, device, label: str):
        self.device = device
        self.label = label
        self.phases: list[Phase] = []
        self.marks: list = []  # Events of MARK_KINDS
        self.traffic: list = []  # notify/interrupt Events the model kept
        self.findings: list = []  # (finding, Event or None)
        self.windows: list[tuple] = []  # (start Event, end Event or None): mid-init


class RunLanes:
    """A run's lanes and the events it draws, grouped per axis (clock or line order)."""

    def __init__(self, result):
        self.result = result
        model = result.model
        self.events = held_events(model)
        self.by_line: dict[int, object] = {}
        for event in self.events:
            self.by_line.setdefault(event.line, event)
        self.clocks = Clocks(self.events)
        guests = Guests(self.events, model)
        devices = [d for d in model.live_devices() if not is_placeholder(d)]
        self.hidden = max(0, len(devices) - LANE_LIMIT)
        self.lanes = [self._lane(d, guests) for d in devices[:LANE_LIMIT]]
        by_identity = {lane.device.identity: lane for lane in self.lanes}
        self.run_lane = Lane(None, "(run)")
        for finding in result.findings:
            lane = by_identity.get(finding.device_identity, self.run_lane)
            lane.findings.append((finding, self.by_line.get(finding.line)))

    def _lane(self, device, guests) -> Lane:
        lane = Lane(device, display_name(device))
        writes = [c for c in device.status if not c.read]
        for change in writes:
            name = phase_of(change.value)
            if lane.phases and lane.phases[-1].value == change.value:
                continue  # the same value written again: the phase goes on
            if lane.phases:
                lane.phases[-1].end = change.event
            lane.phases.append(Phase(name, change.value, change.event))
        seen: set[int] = set()
        for event in list(device.timeline) + list(device.irq_events):
            if id(event) in seen:
                continue
            seen.add(id(event))
            if event.kind in MARK_KINDS:
                lane.marks.append(event)
            elif event.kind in FLOOD_KINDS:
                lane.traffic.append(event)
        lane.marks.sort(key=lambda e: e.seq)
        tried = attempts(device, guests)
        for number, attempt in enumerate(tried):
            start = attempt.changes[0].event
            done = next((c.event for c in attempt.changes
                         if c.value & (spec.DRIVER_OK | spec.FAILED) and not c.read), None)
            if done is None and number + 1 < len(tried):
                done = tried[number + 1].changes[0].event
            lane.windows.append((start, done))
        return lane

    def axes(self) -> list[str]:
        """The axes this run draws on: clocks first (host, wall, guest), line order last."""
        keys: set[str] = set()
        for lane in self.lanes + [self.run_lane]:
            for event in self.lane_events(lane):
                keys.add(axis_key(event))
        ordered = [c for c in self.clocks.names if c in keys]
        return ordered + ([LINE_AXIS] if LINE_AXIS in keys else [])

    @staticmethod
    def lane_events(lane: Lane) -> list:
        out = [p.start for p in lane.phases] + lane.marks + lane.traffic
        out += [event for _, event in lane.findings if event is not None]
        return out

    def position(self, event, axis: str) -> float | None:
        """Where an event sits on an axis (seconds from the clock's origin, or its line);
        None when it belongs to another axis."""
        if event is None or axis_key(event) != axis:
            return None
        if axis == LINE_AXIS:
            return float(event.line)
        return self.clocks.relative(event)


class HeldLines:
    """The held events (``held_events``) looked up by line: the first event at or after a
    line, by bisection when their lines ascend (one input: they do), else by a scan. The
    benchmark's 200 MB sparse log has 737 findings and 8,050 held events: a scan for each
    took 0.2-0.3 s of CPU, the whole text report now 0.08 s."""

    def __init__(self, events: list):
        self.events = events
        lines = [event.line for event in events]
        self._lines = lines if _ascending(lines) else None

    def first_from(self, line: int) -> int:
        """The index of the first event whose line is ``line`` or later (len if none)."""
        if self._lines is not None:
            return bisect_left(self._lines, line)
        events = self.events
        return next((i for i, e in enumerate(events) if e.line >= line), len(events))


def _ascending(values: list) -> bool:
    try:
        return all(a <= b for a, b in pairwise(values))
    except TypeError:  # a None among them: no order to bisect on
        return False
