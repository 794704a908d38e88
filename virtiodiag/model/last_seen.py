"""Run-wide lines that only move a "latest such line" fact, taken without an Event each.

A long log repeats some run-wide lines by the thousand: the PCI core reading or assigning
each BAR as it scans a bus (``pci_scan``: ``Ending.pci_scan``, which model/ending.py
compares with the guest's last line), the kernel starting init (``userspace``:
``Ending.userspace``, model/boot_stall.py), the guest powering off (``run_end`` of a
power-off: ``Ending.finished``; a restart or a kill is fed), the kernel's command line
(``cmdline``: ``Model.cmdline`` and its virtio module parameters, kept in log order; one
fed settles the held ones first, RunWide.on_cmdline). On the benchmark's sparse log they
are well over half of all events. Fed to Attribution.feed, such a line of the OS (its side
the one speaking, ``Eras.current``) changes only the run's counts, which line is the
latest of its kind and which is the guest's latest (``Eras.last``); nothing reads those
before the end of the run, or before the eras change (Eras.saw, Eras.rebooted: they settle
first), but an unnamed device's announcement (model/unnamed.py: it settles first).

So the line decoder holds the memoised lines of these kinds (dialects/decoder.py
``holder``) as the Event's arguments, while the OS is speaking, and ``settle`` applies
them at the end of each block (and before the eras change or the run ends): the counts,
and an Event only for a kind's latest line and the guest's latest, each kept only when it
is later than the one fed since (the same Event object for both, as when fed one by one).
Attribution.feed's wait for an announced device's place ends at any line between (it
compares sequence numbers).

A note that only counts (model/only_counts.py, as Attribution.feed's memo tells it) is
held too: the OS's (the kernel's banner, DRM's lines under no device) changes the counts
and the guest's latest line only; a host's (QEMU's trace of a SCSI request, an IOMMU's
command: no vdev) only the counts, and ends a virtio-ccw command's wait for its status
line, so it is held only while none waits.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from operator import itemgetter

from virtiodiag.events import Event, Payload
from virtiodiag.model.device import Model
from virtiodiag.model.eras import OS

HOST = "host"  # a dialect's side (grammar_facts.py)

# kind -> the Ending attribute that keeps the latest line of that kind
LAST_SEEN = {"pci_scan": "pci_scan", "userspace": "userspace"}
# The guest powering off or halting (run_end of a detail in POWER_OFF: RunWide.on_run_end
# keeps the latest as Ending.finished; a long log of many boots prints one each boot) is
# held as these are; a restart (the eras change: Eras.rebooted) or a kill is fed. Read
# before the run ends only by an unnamed device's announcement (model/unnamed.py), which
# settles first.
RUN_END = "run_end"
POWER_OFF = frozenset({"poweroff"})
# A note of the OS that only counts (model/only_counts.py: the kernel's banner, DRM's lines
# under no device, an oops's module list; a log of many boots prints thousands): fed, it
# changes only the counts and the guest's latest line. Held once Attribution.feed told it
# so (its memo, ``counts_only``, by payload identity); one not yet told, or that does not
# only count, is fed.
NOTE = "note"
# The kernel's command line (model/run_wide.py on_cmdline): the run's latest is
# Model.cmdline, and each one's virtio module parameters are kept in log order; nothing
# reads either before the run ends. A kernel prints it once a boot; a long log of many
# boots (the benchmark's sparse file: 12,952 of its 80,839 events fed) repeats it.
CMDLINE = "cmdline"
HELD_KINDS = frozenset({*LAST_SEEN, CMDLINE, RUN_END, NOTE})
_ENDING = {**LAST_SEEN, RUN_END: "finished"}  # kind -> its Ending attribute
_payload, _seq = itemgetter(0), itemgetter(5)
# The hold of a kind in a dialect of another side than the OS's: never held. Any callable
# that returns something else than None for the line's tuple (the decoder feeds it);
# bool, a C function, costs the decoder less than a call of ``fed`` each time.
_FED = bool


def note_last_seen(model: Model, event: Event) -> None:
    """A line of a LAST_SEEN kind fed as an Event (the first reading of its text, a live
    stream, another side's): it is the latest of its kind."""
    setattr(model.ending, LAST_SEEN[event.payload.kind], event)


class LastSeen:
    """The lines of one run the decoder holds (``hold``), applied by ``settle``."""

    def __init__(self, model: Model, path: str):
        self.model = model
        self.path = path  # every Event's of the run (LineDecoder.path)
        # kind -> dialect -> the lines held of that kind and dialect, in order, each
        # (payload, line, text, raw, tail, seq): the Event's arguments but its path, its
        # time and clock still in the line's bytes (``time_of``). Kept apart so that
        # ``settle`` counts and finds the latest by list, not by line.
        self.held: dict[str, dict[str, list[tuple]]] = {kind: {} for kind in HELD_KINDS}
        # the same, each list's append (``kinds`` while the OS speaks)
        self._holds: dict[str, dict[str, Callable[[tuple], object]]] = {
            kind: {} for kind in HELD_KINDS}
        # The line decoder's reading of a held line's time and clock from ``raw`` and
        # ``tail`` (dialects/decoder.held_time, set by the decoder: the model reads no
        # line's bytes); read only for the held lines whose Event is made.
        self.time_of: Callable[[bytes, int | None], tuple[float | None, str | None]] = \
            _no_time
        # RunWide.note_params: keeps a command line's virtio module parameters
        self.note_params: Callable[[Payload], None] = _no_params
        # Attribution's memo of the lines that only count: id(payload) -> (payload, whether
        # it only counts); the same dict, changed in place (Attribution.feed)
        self.counts_only: dict[int, tuple[Payload, bool]] = {}
        # A host's notes that only count, by dialect: only counted (a host line is no
        # guest's latest). Held only while no virtio-ccw status command waits for the
        # host's next line (``ccw_waits``, kept by Attribution: a line between ends that
        # wait, model/ccw.py).
        self.held_host: dict[str, list[tuple]] = {}
        self.ccw_waits = False
        # What the decoder holds a line by: kind -> dialect -> the append of its list.
        # Lines are held only while the OS is speaking (``kinds`` is empty otherwise:
        # ``follow``), and only in the OS's dialects (Model.side_of: guest, declared) a
        # line of a held kind was fed of (``fed``): the run's count of a dialect
        # (Model.dialects_seen, whose order the report keeps) starts at its first line. A
        # line met for the first time may reach the decoder's memo path first, decoded by
        # the scanning process (LineDecoder.take_framed): fed, not held, it counts its
        # dialect in log order.
        self.kinds: dict[str, dict[str, Callable[[tuple], object]]] = {}
        model.eras.watcher = self

    def follow(self, current: str | None) -> None:
        """The eras changed: lines are held while the OS is the side speaking."""
        if current == OS:
            self.kinds.update(self._holds)  # the same dicts: ``fed`` adds to them
        else:
            self.kinds.clear()

    def fed(self, dialect: str) -> None:
        """A line of a held kind in ``dialect`` was fed (not held) by the decoder: its
        dialect is counted, so the next such lines may be held (an OS dialect's; a host
        dialect's notes that only count); another side's are fed without asking again
        (``_FED``)."""
        side = self.model.dialect_sides.get(dialect)
        for kind, holds in self._holds.items():
            if side == OS:
                append = self.held[kind].setdefault(dialect, []).append
                holds[dialect] = (_PowerOffs(append).hold if kind == RUN_END
                                  else _CountsOnly(append, self.counts_only).hold
                                  if kind == NOTE else append)
            elif side == HOST and kind == NOTE:
                holds[dialect] = _HostCountsOnly(
                    self.held_host.setdefault(dialect, []).append, self.counts_only,
                    self).hold
            else:
                holds[dialect] = _FED

    def settle(self) -> None:
        """Apply the lines held, as Attribution.feed would have one by one."""
        model = self.model
        seen = model.dialects_seen  # each held line's dialect is in it (``fed``)
        for dialect, items in self.held_host.items():
            if items:
                model.events += len(items)
                seen[dialect] += len(items)
                items.clear()  # in place: ``kinds`` holds its append
        latest: list[tuple[str, tuple]] = []  # (kind, its latest line held)
        count = 0
        for kind, by_dialect in self.held.items():
            last = None
            for dialect, items in by_dialect.items():
                if items:
                    count += len(items)
                    seen[dialect] = seen.get(dialect, 0) + len(items)
                    if last is None or last[5] < items[-1][5]:
                        last = items[-1]
            if last is not None:
                latest.append((kind, last))
        if not count:
            return
        model.events += count
        last = max((item for _, item in latest), key=_seq)  # the guest's latest held
        last_event = None
        ending, path = model.ending, self.path
        target: object  # the Model (its command line) or its Ending
        for kind, item in latest:
            if kind == NOTE:
                continue  # only the counts and the guest's latest (below)
            if kind == CMDLINE:
                # each command line's parameters, in log order (none was fed since: a fed
                # one settles the held ones first, RunWide.on_cmdline)
                lists = [items for items in self.held[CMDLINE].values() if items]
                lines = lists[0] if len(lists) == 1 else sorted(chain(*lists), key=_seq)
                for payload in map(_payload, lines):
                    self.note_params(payload)
                target, name = model, "cmdline"
            else:
                target, name = ending, _ENDING[kind]
            now = getattr(target, name)
            if now is None or now.seq < item[5]:  # not a later one fed since
                payload, line, text, raw, tail, seq = item
                event = Event(payload, path, line, text, *self.time_of(raw, tail), seq)
                setattr(target, name, event)
                if item is last:
                    last_event = event
        eras = model.eras
        if eras.last is None or eras.last.seq < last[5]:  # no later guest line fed since
            if last_event is None:
                payload, line, text, raw, tail, seq = last
                last_event = Event(payload, path, line, text, *self.time_of(raw, tail), seq)
            eras.last = last_event
        for by_dialect in self.held.values():
            for items in by_dialect.values():
                items.clear()  # in place: ``kinds`` holds their appends


class _PowerOffs:
    """The hold of a dialect's run_end lines (``hold``): a power-off's is appended (None:
    held); a restart's or a kill's is left to be fed (True). A bound method, not a
    closure: a run's model is pickled (``analyze -j``)."""

    __slots__ = ("append",)

    def __init__(self, append: Callable[[tuple], None]):
        self.append = append

    def hold(self, item: tuple) -> object:
        if item[0].detail in POWER_OFF:
            self.append(item)
            return None
        return True


class _CountsOnly:
    """The hold of a dialect's notes (``hold``): one Attribution.feed told only counts
    (``memo``, its ``_counts_only``) is appended (None: held); any other is left to be fed
    (True), which tells it the first time."""

    __slots__ = ("append", "memo")

    def __init__(self, append: Callable[[tuple], None],
                 memo: dict[int, tuple[Payload, bool]]):
        self.append = append
        self.memo = memo

    def hold(self, item: tuple) -> object:
        payload = item[0]
        known = self.memo.get(id(payload))
        if known is not None and known[0] is payload and known[1]:
            self.append(item)
            return None
        return True


class _HostCountsOnly(_CountsOnly):
    """``_CountsOnly``'s hold of a host dialect's notes, while no virtio-ccw status
    command waits for the host's next line (``LastSeen.ccw_waits``)."""

    __slots__ = ("seen",)

    def __init__(self, append: Callable[[tuple], None],
                 memo: dict[int, tuple[Payload, bool]], seen: LastSeen):
        super().__init__(append, memo)
        self.seen = seen

    def hold(self, item: tuple) -> object:
        return True if self.seen.ccw_waits else super().hold(item)


def _no_time(raw: bytes, tail: int | None) -> tuple[float | None, str | None]:
    raise AssertionError("a line was held by no line decoder (LineDecoder sets time_of)")


def _no_params(payload: Payload) -> None:
    raise AssertionError("a command line was held with no RunWide to keep its parameters")
