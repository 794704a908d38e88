"""The line decoder: a candidate line's bytes to the events it holds, with every cache on
the way. It owns framing (cutting an over-long line, cleaning, JSON and CRI envelopes,
splitting records and stripping their prefixes, joining a line cut by a QEMU record with
its continuation), dialect dispatch and the caches; the model never sees text.

The grammars are the only source of meaning; the caches here only avoid asking them
twice, and none may change a result (tests/test_parallel.py reads every sample with
every cache off, tests/test_caches.py some with each cache alone off):

- ``text memo``: a record text seen before gets the payload it got (same text, same
  grammars: same parse).
- ``shape memo`` (shapes.py): lines that differ only in their numbers share a template
  learned from the grammar; used only when every dialect consulted for the line is
  shape-safe (``Dialect.shape_hazards``: no terminal tells one digit or hex letter from
  another) and the same dialects want the line.
- ``line memo``: a line behind a time prefix (QEMU's ``PID@SECONDS:``, the kernel's
  ``[SECONDS]``) whose bytes after the prefix were seen before gets the same record text
  and payload (``_remember_shape`` says when that is safe); a line with no time at all
  (a sysfs dump, a module list, a firmware's or VMM's own line) whose whole bytes were
  seen before gets the same outcome (``_remember_plain``).
- ``interning``: one string per distinct record text, shared by the events that keep it.
- ``preparse``: a large file's scanning process (sources/prescan.py) reads the record
  texts of the lines it has not seen before with the same grammars (``Preparser``) and
  sends their payloads with the lines; ``parse`` takes such a text's payload instead of
  asking the grammars here (same grammars, same text: same payload). It moves most of the
  grammar work of a sparse log to the process that is otherwise waiting for this one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import repeat
from typing import Protocol
from time import monotonic

from virtiodiag.cachefiles import compiled
from virtiodiag.dialects.shapes import ShapeMemo
from virtiodiag.events import LINE_MASK, PLACE_BITS, Event, Payload, ValueOutOfRange
from virtiodiag.limits import LINE_BYTES
from virtiodiag.plain import Plain
from virtiodiag.sources import envelope as envelopes
from virtiodiag.sources import looking
from virtiodiag.sources.framing import (
    JOIN_LINES,
    Record,
    clean,
    qemu_continued,
    qemu_unfinished,
    split_records,
    strip_prefixes,
)

MEMO_LIMIT = 16384  # texts remembered; cleared when full (flat memory on endless streams)
TEXT_LIMIT = 16384  # distinct record texts shared between events; cleared when full
LINE_LIMIT = 16384  # time-prefixed lines remembered (bytes after the prefix); cleared when full
LINE_MAX_LEN = 512  # longer lines are not remembered
PREPARSED_LIMIT = 16384  # payloads from the scanning process waiting to be asked for
_FLOOD = frozenset({"notify", "interrupt"})
_NEVER = 1 << 62  # decode_lines: beyond every line number (a QEMU message is pending)

# Logs repeat a few record texts behind a time prefix that changes every line: QEMU's
# PID@SECONDS: (-msg timestamp=on, host clock) and the kernel's [SECONDS] (boot clock).
# The outcome of such a line (record text, payload, unrecognised or not) depends only on
# what follows the prefix, so it is memoised by those bytes: a repeated line then costs
# one regex match and two dict look-ups. The memo is filled by the ordinary path (the
# grammars stay the only source of meaning) and only for lines that path handled as "time
# prefix + one plain record" (see _remember_shape).
# As framing._QEMU_TID and framing._KERNEL, except that the kernel's is written with
# spaces where framing allows any white space (see _after_kernel_prefix). The optional
# caller id is written "(?:...|)", not "(?:...)?": the same matches (the id first, else
# nothing), without the repeat machinery re runs for a group's "?" on every kernel line
# (a kernel line's match 3,910 -> 3,619 instructions; the scanning process matches every
# candidate line, Preparser.read). The kernel's alternative comes first: the two start
# with different bytes ("[", a digit), so the same matches, and a sparse log's candidate
# lines are mostly the kernel's (its match 3,619 -> 3,415, a QEMU line's 3,612 -> 3,648).
# Group 1 is the kernel's time, group 2 QEMU's (_KERNEL_TIME, _HOST_TIME).
_TIME_PREFIX_B = compiled(
    rb"\[ *(\d{1,19}\.\d{1,9})\] ?(?:\[ *[TC]\d+\] ?|)|\d{1,19}@(\d{1,19}\.\d{1,9}):")
_KERNEL_TIME, _HOST_TIME = 1, 2


class Caches(Plain):
    """Which caches a decoder uses (all by default; tests switch each off)."""

    FIELDS = ("text_memo", "shape_memo", "line_memo", "interning", "preparse")

    def __init__(self, text_memo: bool = True, shape_memo: bool = True,
                 line_memo: bool = True, interning: bool = True, preparse: bool = True):
        self.text_memo = text_memo
        self.shape_memo = shape_memo
        self.line_memo = line_memo
        self.interning = interning
        self.preparse = preparse


class LineDecoder:
    """Framing and dialect dispatch for one DialectSet, with the caches of ``caches``.

    ``parse`` reads one record text. ``decode`` reads one candidate line of a run (path
    ``path``): each record a grammar reads becomes an Event, numbered in order and handed
    to ``on_event``; ``on_unrecognised(line, text, message)`` hears of a line no grammar
    read that mentions virtio, ``on_overlong(line, text)`` of a line cut at LINE_BYTES;
    ``flood(None, None, payload, line)``, when given, may count a repeated notify or
    interrupt without an Event (ModelBuilder.flood: the handler's own call, device and
    Event None) and says whether it did. ``holder`` (model/last_seen.py),
    when given, takes a memoised line whose payload's kind and dialect ``holder.kinds``
    has (kind -> dialect -> a callable; it changes them) without an Event:
    ``holder.kinds[kind][dialect]((payload, line, text, raw, tail, seq))``, the Event's
    arguments but its path, with the line's bytes and where its time is (``held_time``,
    the holder's ``time_of``: read only for the few held lines whose Event is made) in
    place of its time and clock, which returns None when it held the line (anything else:
    the line is fed, as one of a kind it does not hold); a line of a kind it has in
    another dialect is fed, after ``holder.fed(dialect)``;
    ``holder.settle()`` at the end of each ``decode_lines``. ``records`` and
    ``invalid_utf8_lines`` count what was read.
    """

    def __init__(self, dialects, caches: Caches | None = None, path: str = "<stdin>",
                 live: bool = False, on_event: Callable[[Event], None] | None = None,
                 on_unrecognised: Callable[[int, str, str | None], None] | None = None,
                 on_overlong: Callable[[int, str], None] | None = None,
                 flood: Callable[[None, None, Payload, int], bool] | None = None,
                 holder: LineHolder | None = None):
        self.dialects = dialects
        self.caches = caches or Caches()
        self._memo: dict[str, Payload | None] = {}
        self._shapes = ShapeMemo() if self.caches.shape_memo else None
        self._texts: dict[str, str] = {}
        self.lines: dict[bytes, tuple] = {}  # the line memo (_remember_shape)
        self.plain_lines: dict[bytes, tuple] = {}  # lines with no time (_remember_plain)
        # A text a grammar matched with a value wider than its field is refused: no
        # payload, and ``refused`` says so after parse() (the line is not understood).
        self.refused = False
        self._refused: set[str] = set()
        # Record texts the scanning process read (Preparser): (payload, refused) by text.
        self._preparsed: dict[str, tuple[Payload | None, bool]] = {}
        # Line memo entries the scanning process made for lines it met first, by the
        # number it gave their bytes after the time prefix (take_framed, decode_lines)
        self._framed: dict[int, tuple] = {}
        self.path = path
        self.live = live
        self.on_event = on_event
        self.on_unrecognised = on_unrecognised
        self.on_overlong = on_overlong
        self.flood = flood
        self.holder = holder
        if holder is not None:
            holder.time_of = held_time  # the model reads no line's bytes itself
        self.seq = 0  # events made so far (Event.seq)
        # Live: when the block being decoded was read (Analysis.feed_block), every event of
        # it arriving then; one float shared by them, not one per event kept in the model
        # (None: each event is stamped as it is made).
        self.arrival: float | None = None
        self.records = 0
        self.invalid_utf8_lines = 0
        self._joined_line = 0  # a CRI continuation already joined to its partial line
        # A QEMU message broken over lines (framing.qemu_unfinished), being joined:
        # [its first line, the last line joined, the text so far, time, clock, lines]
        self._pending: list | None = None
        self._joined_to = 0  # lines up to here were joined into a QEMU message already
        self.line: int | None = None  # decode_lines: the line being read (an error's place)
        # The scanning process's numbers for the bytes after a line's time prefix
        # (Preparser.read): [those bytes, their line memo entry once known, their length
        # + 1] by number (decode_lines).
        self._numbered: list[list | None] = []

    def parse(self, text: str) -> Payload | None:
        """The payload of a record text, or None when no grammar matches it (or one does
        with a value out of range: then ``self.refused``)."""
        use_memo = self.caches.text_memo
        if use_memo:
            try:
                result = self._memo[text]
                self.refused = result is None and text in self._refused
                return result
            except KeyError:
                pass
        self.refused = False
        shapes = self._shapes
        ready = self._preparsed.pop(text, None) if self._preparsed else None
        try:
            if ready is not None:  # read by the scanning process (take_parsed)
                result, self.refused = ready
            elif shapes is None:
                result = self.dialects.dispatch(text)[0]
            else:
                wanting = self.dialects.wanting(text)
                key, numbers = shapes.key(text, wanting)
                result = shapes.lookup(key, numbers)
                if result is None:
                    result, safe = self.dialects.dispatch(text, wanting)
                    shapes.learn(key, numbers, result if safe else None, safe)
        except ValueOutOfRange:  # never learnt: it says nothing about the line's shape
            self.refused = True
            result = None
        if use_memo:
            memo = self._memo
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
                self._refused.clear()
            memo[text] = result
            if self.refused:
                self._refused.add(text)
        return result

    def take_parsed(self, parsed: list[tuple[str, tuple | None, bool]]) -> None:
        """Payloads the scanning process's Preparser found for record texts: ``(text,
        Payload._key() or None, refused)``; ``parse`` uses each once, instead of the
        grammars (the text memo keeps it after that)."""
        if not self.caches.preparse or not parsed:
            return
        ready = self._preparsed
        if len(ready) + len(parsed) > PREPARSED_LIMIT:
            ready.clear()  # texts this process never asked for (flat memory)
        for text, key, refused in parsed:
            ready[text] = (None if key is None else Payload(*key), bool(refused))

    def take_framed(self, framed: list[tuple[int, str, tuple | None, bool | None, bool]]
                    ) -> None:
        """Line memo entries the scanning process's Preparser made for lines it met for
        the first time: ``(number, body, Payload._key() or None, unrecognised,
        kernel_ends)``, ``number`` being the one it gave the bytes after the line's time
        prefix (``Preparser.read``). decode_lines takes each with its line, which is then
        answered from the memo instead of by ``decode``: the entry ``decode`` would have
        made (the same code made it there), so the same outcome."""
        if not self.caches.line_memo or not framed:
            return
        ready = self._framed
        if len(ready) + len(framed) > LINE_LIMIT:
            ready.clear()  # numbers whose line never came (flat memory)
        for number, body, key, unrecognised, kernel_ends in framed:
            ready[number] = (body, None if key is None else Payload(*key), unrecognised,
                             kernel_ends)

    def memo_entry_of_new_line(self, line_no: int, raw: bytes, following: bytes | None,
                               rest: bytes) -> tuple | None:
        """In the scanning process (Preparser): decode a time-prefixed line met for the
        first time as the analysing process would (no event made: no ``on_event``), and
        the line memo's entry for its bytes after the prefix (``rest``) when ``decode``
        keeps one (``_remember_shape``), else None. Nothing is carried to the next line
        decoded here (a QEMU message broken over lines is followed by the analysing
        process, which reads those lines itself)."""
        try:
            self.decode(line_no, raw, following)
        finally:
            self._pending = None
            self._joined_to = self._joined_line = 0
        return self.lines.get(rest)

    def intern(self, text: str) -> str:
        if not self.caches.interning:
            return text
        texts = self._texts
        shared = texts.get(text)
        if shared is not None:
            return shared
        if len(texts) >= TEXT_LIMIT:
            texts.clear()
        texts[text] = text
        return text

    # ---- framing -------------------------------------------------------------------------
    def decode_lines(self, lines, codes: list[int] | None = None) -> None:
        """``decode`` for each ``(line_no, raw, following)`` of a block, in order. A line the
        line memo holds (its bytes after a time prefix, or its whole bytes when it has no
        time) is answered here, as ``decode`` and ``_known_shape`` answer it, without a
        call per line (a long log is mostly such lines); every other line goes to
        ``decode``. When a line raises, ``self.line`` says which.

        ``codes``: a large file's scanning process's number for each line's bytes after
        its time prefix (Preparser.read). A line whose number's bytes the line memo holds
        is found by that number, its time read between the prefix's known bounds (QEMU's
        ``@`` and ``:``, the kernel's ``[`` and ``]``): no regex, slice or hash of its
        bytes here, which that process made already."""
        decode = self.decode
        if not self.caches.line_memo:
            for self.line, raw, following in lines:
                decode(self.line, raw, following)
            return
        numbered, framed = self._numbered, self._framed
        if codes is not None and len(codes) != len(lines):
            codes = None  # never (Preparser.read): one number a line, or none at all
        numbers: Iterable[int] = repeat(-1) if codes is None else codes
        if codes is not None and not numbered:
            numbered.extend([None] * LINE_LIMIT)  # Preparser's numbers are below it
        match = _TIME_PREFIX_B.match
        recall, recall_plain = self.lines.get, self.plain_lines.get
        flood = self.flood
        flood_kinds = _FLOOD
        bracket = _BRACKET
        path, on_event, on_unrecognised = self.path, self.on_event, self.on_unrecognised
        live = self.live
        holder = self.holder
        held_kinds, fed = ((holder.kinds, holder.fed) if holder is not None
                           else (_NO_KINDS, _no_hold))
        new_event = object.__new__
        line_no: int | None = None
        time: float | None
        clock: str | None
        tail: int | None  # where a memoised line's time is (held_time)
        served = 0  # lines answered here (added to self.records at the end)
        # self.seq, counted here and handed to decode (which counts its own events) around
        # each call of it: an attribute's load and store less per event.
        seq = self.seq
        # decode's order: a pending QEMU message, or a line joined into one, first. Only
        # decode changes either: the first line answered here is read again after it.
        after = self._joined_to if self._pending is None else _NEVER
        try:
            for (line_no, raw, following), code in zip(lines, numbers, strict=False):
                if code < -1:  # bytes after a time prefix met for the first time there
                    rest = raw[match(raw).end():]  # type: ignore[union-attr]  # it has one
                    code = -2 - code  # noqa: PLW2901 - its number: read as met before below
                    # with the memo entry the scanning process made for it, if it did
                    # (take_framed); else the memo's, if any (below)
                    numbered[code] = [rest, framed.pop(code, None) if framed else None,
                                      len(rest) + 1]
                if line_no > after:
                    shape = None
                    # bytes after a time prefix met before, or just now (Preparser.read)
                    if code >= 0 and (entry := numbered[code]) is not None:
                        shape = entry[1]
                        if shape is None:
                            shape = entry[1] = recall(entry[0])
                        if shape is not None:
                            body, payload, unrecognised, kernel_ends = shape
                            # where the line's time is (read below, only for an Event)
                            if raw[0] != bracket:  # QEMU's PID@SECONDS: (not "[")
                                if (payload is not None and payload.kind in flood_kinds
                                        and flood is not None
                                        and flood(None, None, payload, line_no)):
                                    served += 1
                                    continue
                                tail = entry[2]  # the bytes from the prefix's ":" on
                            elif kernel_ends:  # the kernel's [ SECONDS]
                                tail = 0
                            else:
                                shape = None  # framing's prefix ends elsewhere: decode's
                    elif (prefix := match(raw)) is not None:
                        # A remembered line is at most LINE_MAX_LEN bytes after a prefix of
                        # at most 50: never one decode would cut.
                        shape = recall(raw[prefix.end():])
                        if shape is not None:
                            body, payload, unrecognised, kernel_ends = shape
                            # QEMU's prefix starts with a digit, the kernel's with "["
                            if raw[0] != bracket:
                                if (payload is not None and payload.kind in flood_kinds
                                        and flood is not None
                                        and flood(None, None, payload, line_no)):
                                    served += 1
                                    continue
                                tail = len(raw) - prefix.end() + 1
                            elif kernel_ends:
                                tail = 0
                            else:
                                shape = None  # framing's prefix ends elsewhere: decode's
                    elif len(raw) <= LINE_MAX_LEN:  # a line with no time (_remember_plain)
                        shape = recall_plain(raw)
                        if shape is not None:
                            body, payload, unrecognised, _ = shape
                            tail = None
                    if shape is not None:
                        # _known_shape, inlined (change both together)
                        served += 1
                        if payload is None:  # no Event: no time read
                            if unrecognised is not None and on_unrecognised is not None:
                                on_unrecognised(line_no, body,
                                                body if unrecognised else None)
                            continue
                        seq += 1
                        if (holds := held_kinds.get(payload.kind)) is not None:
                            if (hold := holds.get(payload.dialect)) is None:
                                fed(payload.dialect)  # fed below: counted, later ones held
                            elif hold((payload, line_no, body, raw, tail, seq)) is None:
                                continue  # held: its time is read if its Event is made
                            # else a line of a held kind the holder leaves (fed below)
                        # held_time, inlined (change both together)
                        if tail is None:
                            time = clock = None
                        elif tail:  # QEMU's: between the prefix's "@" and its ":"
                            time, clock = float(raw[raw.find(b"@") + 1:len(raw) - tail]), "host"
                        else:  # the kernel's: between "[" and "]"
                            time, clock = float(raw[1:raw.find(b"]")]), "boot"
                        # Event(payload, path, line_no, body, time, clock, seq) without
                        # its __init__ (a call from C and a frame per event: a tenth of
                        # the line's work); same slots, same values.
                        event = new_event(Event)
                        event.payload = payload
                        event.path = path
                        event._place = (seq << PLACE_BITS | line_no
                                        if 0 <= line_no <= LINE_MASK else (line_no, seq))
                        event.text = body
                        event.time = time
                        event.clock = clock
                        event.device_key = None
                        event.arrival = None
                        if live:
                            arrival = self.arrival
                            event.arrival = monotonic() if arrival is None else arrival
                        if on_event is not None:
                            on_event(event)
                        continue
                self.seq = seq
                decode(line_no, raw, following)
                seq = self.seq
                after = self._joined_to if self._pending is None else _NEVER
        except BaseException:
            self.line = line_no
            raise
        finally:
            if holder is not None:
                holder.settle()  # the model as if each line held had been fed (last_seen.py)
            self.records += served
            # decode counted from ``seq`` (an error inside it: self.seq is the larger)
            self.seq = max(self.seq, seq)

    def decode(self, line_no: int, raw: bytes, following: bytes | None) -> None:
        """One candidate line (its number, its bytes, the next line's bytes when the
        scanner kept them: see ``needs_following``)."""
        if len(raw) > LINE_BYTES:
            # Only a line's first 64 KiB are read (counted): time stays linear and bounded
            # per line, whatever a guest prints. Cut at a character boundary.
            raw = _cut(raw)
            if self.on_overlong is not None:
                self.on_overlong(line_no, clean(raw[:300]))
        if following is not None and len(following) > LINE_BYTES:
            following = _cut(following)
        if self._pending is not None and self._continue(line_no, raw, following):
            return
        if line_no <= self._joined_to:
            return  # read as part of the QEMU message before it
        prefix = _TIME_PREFIX_B.match(raw)
        if prefix is not None and self.caches.line_memo:
            rest = raw[prefix.end():]
            shape = self.lines.get(rest)
            if shape is not None:
                host_time = prefix.group(_HOST_TIME)
                if host_time is not None:
                    payload = shape[1]
                    if (payload is not None and payload.kind in _FLOOD
                            and self.flood is not None
                            and self.flood(None, None, payload, line_no)):
                        self.records += 1
                        return
                    self._known_shape(line_no, shape, float(host_time), "host")
                    return
                if shape[3]:  # framing's kernel prefix ends where ours does
                    self._known_shape(line_no, shape, float(prefix.group(_KERNEL_TIME)),
                                      "boot")
                    return
        elif prefix is None and self.caches.line_memo:
            shape = self.plain_lines.get(raw)
            if shape is not None:
                self._known_shape(line_no, shape, None, None)
                return
        text = clean(raw)
        if "\ufffd" in text:
            self.invalid_utf8_lines += 1
        envelope = None
        # JSON line, CRI record or logfmt? (sources/envelope.py; inlined: every line takes it)
        first = text[:1]
        if (first == "{" or (text[10:11] == "T" and text[4:5] == "-")
                or (first in "tl" and text[:5] in envelopes.LOGFMT_STARTS)
                or (first == "-" and text.startswith(envelopes.LAVA_START))):
            if line_no == self._joined_line:
                return  # the rest of a partial CRI line, read with it
            envelope = envelopes.unwrap(text)
            if envelope is not None:
                text = self._unwrapped_text(line_no, envelope, following)
                following = None  # a wrapped line's next line is wrapped too
        records = split_records(text)
        if envelope is None and records and envelopes.maybe_wrapped(records[0].text):
            # An envelope behind a syslog or journal prefix ("host kata[12]: time=...");
            # a kernel stamp in its msg ('msg="[ 1.55] virtio-pci ...') cut it in two
            envelope = envelopes.unwrap(records[0].text if len(records) == 1
                                        else strip_prefixes(text)[0])
            if envelope is not None:
                text = self._unwrapped_text(line_no, envelope, None)
                following = None
                records = split_records(text)
        if envelope is not None and "\n" in text:
            # One record of several lines (QEMU's stderr relayed in one logfmt msg)
            records = [r for part in text.split("\n") if part for r in split_records(part)]
        if envelope is not None and envelope.time is not None:
            for record in records:
                if record.time is None:
                    record.time, record.clock = envelope.time, "wall"
        if len(records) == 1 and qemu_unfinished(records[0].text):
            record = records[0]
            self._pending = [line_no, line_no, record.text, record.time, record.clock, 1]
            if following is not None:
                self._grow(line_no + 1, following)
            return
        payload = self._read(line_no, records, following)
        if len(records) == 1 and envelope is None:
            if prefix is not None:
                self._remember_shape(raw, prefix, text, records[0], payload)
            elif len(raw) <= LINE_MAX_LEN:
                self._remember_plain(raw, text, records[0], payload)

    def _read(self, line_no: int, records: list[Record], following: bytes | None):
        """Parse the records of one line; the last payload."""
        payload = None
        # VD016 counts lines, not the records of a split line: the line's first record no
        # grammar read, and its first one shaped like a virtio message (sources/looking.py)
        unrecognised: str | None = None
        message: str | None = None
        for index, record in enumerate(records):
            body = record.text
            if record.fragment and index == 0:
                body = _joined(body, following)
            if not body:
                continue
            self.records += 1
            # One string per distinct record text: events kept in timelines share it.
            body = self.intern(body)
            payload = self.parse(body)
            if payload is None:
                refused = self.refused  # a value wider than its field
                if refused or looking.looks_virtio(body):
                    unrecognised = unrecognised or body
                    if message is None and (refused or looking.looks_virtio_message(body)):
                        message = body
                continue
            self._emit(payload, line_no, body, record.time, record.clock)
        if unrecognised is not None and self.on_unrecognised is not None:
            self.on_unrecognised(line_no, unrecognised, message)
        return payload

    # ---- a QEMU message broken over lines ------------------------------------------------
    def _grow(self, line_no: int, raw: bytes) -> bool:
        """Join line ``line_no`` to the pending message if it continues it; read the
        message once it is whole (or as long as it may grow). Whether the line was taken."""
        pending = self._pending
        assert pending is not None
        line = strip_prefixes(clean(raw[:LINE_BYTES]))[0]
        joined = qemu_continued(pending[2], line)
        if joined is None:
            self.finish()
            return False
        pending[1], pending[2], pending[5] = line_no, joined, pending[5] + 1
        self._joined_to = max(self._joined_to, line_no)
        if not qemu_unfinished(joined) or pending[5] >= JOIN_LINES:
            self.finish()
        return True

    def _continue(self, line_no: int, raw: bytes, following: bytes | None) -> bool:
        """A line while a QEMU message is pending: the next line joins it (the line already
        joined as the one before's following line gives its own following line). Whether
        the line was taken; a line further on ends the pending message."""
        pending = self._pending
        assert pending is not None
        if line_no <= pending[1]:  # joined already, as the line before's following line
            if following is not None:
                self._grow(line_no + 1, following)
            return True
        if line_no == pending[1] + 1:
            if not self._grow(line_no, raw):
                return False
            if self._pending is not None and following is not None:
                self._grow(line_no + 1, following)
            return True
        self.finish()
        return False

    def finish(self) -> None:
        """Read a pending QEMU message as far as it got (the input ended, or the lines
        after its head did not continue it)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._read(pending[0], [Record(pending[2], pending[3], pending[4])], None)

    def _emit(self, payload: Payload, line_no: int, body: str, time: float | None,
              clock: str | None) -> None:
        # _known_shape has a copy of this (change both together)
        self.seq += 1
        event = Event(payload, self.path, line_no, body, time, clock, self.seq)
        if self.live:
            arrival = self.arrival
            event.arrival = monotonic() if arrival is None else arrival
        if self.on_event is not None:
            self.on_event(event)

    def _unwrapped_text(self, line_no: int, envelope, following: bytes | None) -> str:
        """The console text inside an envelope (sources/envelope.py), cleaned like a raw
        line; a partial CRI line is joined with its continuation (the next line)."""
        text = envelope.text
        if envelope.partial and following is not None:
            rest = envelopes.cri_continuation(clean(following), envelope.stream)
            if rest is not None:
                text += rest
                self._joined_line = line_no + 1
        if not text.isprintable():
            text = clean(text.encode("utf-8", "replace"))
        return text

    def _remember_shape(self, raw: bytes, prefix, text: str, record, payload) -> None:
        """Memoise a time-prefixed line whose meaning does not depend on its prefix.

        Only when: ``clean`` changed nothing (no CR, escape, control or invalid UTF-8, so
        it changes nothing for any prefix either), the prefix is the one framing stripped
        (its clock is the record's), the text after the prefix carries no time of its own
        (so the prefix's time is the record's), and it is one plain, non-empty record (no
        fragment, so the following line does not matter).
        """
        rest = raw[prefix.end():]
        clock = "host" if prefix.group(_HOST_TIME) is not None else "boot"
        if (not self.caches.line_memo or len(rest) > LINE_MAX_LEN or record.fragment
                or not record.text or record.clock != clock or "\ufffd" in text):
            return
        if clock == "boot" and not _after_kernel_prefix(rest):
            return
        try:
            if text != raw.decode("utf-8"):
                return
        except UnicodeDecodeError:
            return
        body, inner_time, inner_clock = strip_prefixes(text[prefix.end():])
        if inner_time is not None or inner_clock is not None or body != record.text:
            return
        self._store(self.lines, rest, body, payload,
                    clock == "boot" or _after_kernel_prefix(rest))

    def _remember_plain(self, raw: bytes, text: str, record, payload) -> None:
        """Memoise a line without any time (no prefix framing reads one): its outcome
        depends on its bytes alone. Only when ``clean`` changed nothing (valid UTF-8, no CR,
        escape or control character, no typography undone), no envelope was unwrapped (a
        partial CRI record joins the next line) and it is one plain, non-empty record (no
        fragment: the next line does not matter)."""
        if (record.fragment or not record.text or record.time is not None
                or record.clock is not None or "\ufffd" in text):
            return
        try:
            if text != raw.decode("utf-8"):
                return
        except UnicodeDecodeError:
            return
        first = text[:1]
        if (first == "{" or (text[10:11] == "T" and text[4:5] == "-")
                or (first in "tl" and text[:5] in envelopes.LOGFMT_STARTS)
                or (first == "-" and text.startswith(envelopes.LAVA_START))):
            return  # shaped like an envelope (decode's test): never memoised
        self._store(self.plain_lines, raw, record.text, payload, False)

    def _store(self, lines: dict, key, body: str, payload, kernel_ends: bool) -> None:
        """Remember a line's outcome under ``key`` in a bounded memo (cleared when full):
        its body, its payload, when no grammar read it (None: understood or not about
        virtio) whether it is shaped like a virtio message, and ``kernel_ends``: whether
        framing's kernel prefix ends where _TIME_PREFIX_B's does before ``key`` (so a
        kernel-stamped line with these bytes may be served; _after_kernel_prefix)."""
        refused = self.refused  # a value wider than its field: not understood
        unrecognised = ((refused or looking.looks_virtio_message(body))
                        if payload is None and (refused or looking.looks_virtio(body))
                        else None)
        if len(lines) >= LINE_LIMIT:
            lines.clear()
        lines[key] = (body, payload, unrecognised, kernel_ends)

    def _known_shape(self, line_no: int, shape: tuple, time: float | None,
                     clock: str | None) -> None:
        """The ordinary path's outcome for a memoised line (see _remember_shape)."""
        body, payload, unrecognised, _ = shape
        self.records += 1
        if payload is None:
            if unrecognised is not None and self.on_unrecognised is not None:
                self.on_unrecognised(line_no, body, body if unrecognised else None)
            return
        # _emit, inlined: a long log's lines are mostly memoised ones (change both together)
        seq = self.seq = self.seq + 1
        event = Event(payload, self.path, line_no, body, time, clock, seq)
        if self.live:
            arrival = self.arrival
            event.arrival = monotonic() if arrival is None else arrival
        on_event = self.on_event
        if on_event is not None:
            on_event(event)


class Preparser:
    """In a large file's scanning process (sources/prescan.py): the grammars' reading of
    the record texts of each line whose bytes (after a time prefix) it has not met before,
    for the analysing process's LineDecoder (``take_parsed``), which otherwise spends most
    of a sparse log's time on the first reading of each text.

    The texts are found as ``decode`` finds them for a line without an envelope (cleaned,
    split into records, a console line cut by a QEMU record joined with its next line,
    ``_joined``); a text the analysing process reads differently (an envelope's) is simply
    not among them, and that process asks its grammars as before. Same grammars and
    caches, same text: same payload. Any error here leaves the text to the analysing
    process, which reports it as its own.
    """

    def __init__(self, dialects, caches: Caches | None = None):
        self.decoder = LineDecoder(dialects, caches)
        # Line bytes after a time prefix, or whole, met so far: the number the analysing
        # process knows the bytes after the prefix by (see ``read``), -1 for a line with
        # no prefix.
        self._seen: dict[bytes, int] = {}
        self._cut: set[bytes] = set()  # those of lines cut by a record: read every time
        self._sent: set[str] = set()  # record texts read and sent
        # The numbers are worth sending only to a decoder that keeps a line memo.
        self._refer = self.decoder.caches.line_memo
        # By number, what decoding the bytes after the prefix here told (0: not decoded
        # here): _KNOWN (the line memo keeps them: one plain record, never a QEMU
        # message's head), _KERNEL_ENDS (served behind the kernel's prefix too) and
        # _NOTHING (no payload, not virtio-looking: the line is one record, no more);
        # _TRIED alone: decoded, not kept by the line memo.
        self._state = bytearray(LINE_LIMIT)
        # Numbers met first on a line not sent (``read``'s nothing lines): the analysing
        # process has not noted their bytes; the next line sent with one announces it.
        self._unannounced: set[int] = set()
        # A line sent that may start a QEMU message broken over lines (any line not known
        # to be one plain record) makes the analysing process join the lines after it,
        # up to JOIN_LINES, or hold it pending until its next line: no line is left out
        # until a line sent at or after ``_open_until`` has ended that (``read``).
        self._open = False
        self._open_until = 0

    def read(self, lines, texts: bool = True,
             chunk: bytes | None = None) -> tuple[list, list[int] | None,
                                                     list[tuple[str, tuple | None, bool]],
                                                     list[tuple], int]:
        """``(sent, codes, parsed, framed, left_out)`` for the lines of one block.

        ``sent``: the lines the analysing process is to read, in order; ``left_out``: how
        many of ``lines`` are not among them, each a line that is one record and gives
        nothing else (no payload, not virtio-looking: the PCI core's and ACPI's lines the
        triggers pick), known by this process's decoding of its bytes after the time
        prefix (the line memo's entry, ``memo_entry_of_new_line``: the analysing process
        answers such a line from that entry, one record counted). A line is sent whatever
        it is while the analysing process may join it into a QEMU message broken over
        lines or hold one pending (``_open``): after any line sent that is not known to be
        one plain record, until a line sent JOIN_LINES lines or more after it.

        ``parsed``: ``(text, Payload._key() or None, refused)`` for the new texts of
        ``lines``, when ``texts``; without it the lines go to the analysing process
        unread (it kept up with this one): it reads their texts itself, so they are not
        new here either (once it fell behind, this process read again every text it had
        already read: on the 200 MB benchmark file 3,487 texts sent, 1,851 unused).

        ``codes``, one a line sent (``LineDecoder.decode_lines``): for a line with a time
        prefix whose bytes after it were met before, the number given to those bytes then
        (>= 0); for one met for the first time (or met first on a line left out),
        ``-2 - number`` (the analysing process notes the bytes under that number); -1 for
        any other line. The analysing process then finds a repeated line in its line memo
        by that number, without the prefix's regex, the slice and the hash of the bytes,
        which this process made already.

        ``framed``, when ``texts``: for a time-prefixed line met for the first time that
        the line memo keeps (a QEMU trace's ``virtio_blk_handle_read``, a new request and
        sector on every line), its memo entry ``(number, body, Payload._key() or None,
        unrecognised, kernel_ends)``, made by this process's LineDecoder decoding the line
        (``memo_entry_of_new_line``): the analysing process takes the line from its memo
        (``take_framed``) instead of framing, cleaning and reading it again in ``decode``.
        Its texts are not in ``parsed`` then.

        ``chunk``: the scanner's ``following_chunk`` when it reads with
        ``lazy_following``: a line whose next line is an int (where that line starts in
        ``chunk``) gets it cut out (``following_of``) only where it is read or sent."""
        out: list[tuple[str, tuple | None, bool]] = []
        framed: list[tuple] = []
        codes: list[int] = []
        code = codes.append
        sent_lines: list = []
        send = sent_lines.append
        left_out = 0
        match = _TIME_PREFIX_B.match
        seen, cut, sent, decoder = self._seen, self._cut, self._sent, self.decoder
        state, unannounced, refer = self._state, self._unannounced, self._refer
        is_open, open_until = self._open, self._open_until
        # the states and "[" as locals: tested on every line
        known_state, kernel_ends, nothing, bracket = _KNOWN, _KERNEL_ENDS, _NOTHING, _BRACKET
        for line in lines:
            line_no, raw, following = line
            if len(raw) > LINE_MAX_LEN:
                send(following_of(line, chunk))
                code(-1)
                is_open, open_until = True, line_no + JOIN_LINES
                continue  # rare: read there (its memo keeps no longer line either)
            prefix = match(raw)
            key = raw[prefix.end():] if prefix is not None else raw
            number = seen.get(key)
            if (number is not None and number >= 0 and prefix is not None
                    and (known := state[number]) & known_state
                    and (raw[0] != bracket or known & kernel_ends)):
                # Met before, answered from the line memo there (most lines): as below,
                # with the tests that cannot hold for it left out.
                if is_open:
                    if line_no < open_until:
                        send(following_of(line, chunk))
                    else:
                        is_open = False  # a message pending there ended by this line
                        send((line_no, raw, None) if following is not None else line)
                elif known & nothing:
                    left_out += 1
                    continue
                else:
                    send((line_no, raw, None) if following is not None else line)
                if unannounced and number in unannounced:
                    unannounced.discard(number)
                    code(-2 - number)
                else:
                    code(number)
                continue
            if following.__class__ is int:  # read or sent below: cut out now
                line = following_of(line, chunk)  # noqa: PLW2901 - the same line, whole
                following = line[2]
            entry = None
            first = number is None
            if number is None:
                if len(seen) >= LINE_LIMIT:
                    seen.clear()
                    cut.clear()
                    state[:] = bytes(LINE_LIMIT)
                    unannounced.clear()
                number = -1 if prefix is None else len(seen)  # < LINE_LIMIT
                seen[key] = number
            # A number says "these bytes after a time prefix": never for a line without
            # one whose whole bytes are what followed another line's prefix.
            numbered = prefix is not None and number >= 0
            known = state[number] if numbered else 0
            if not known and texts and refer and numbered:
                # Decoded here while the analysing process is behind (this one has time
                # then): met for the first time, or met while it kept up (it decoded the
                # line itself then). What it gives decides whether its repeats are sent.
                try:
                    entry = decoder.memo_entry_of_new_line(line_no, raw, following, key)
                except Exception:  # noqa: BLE001 - the analysing process reads it itself
                    entry = None
                known = state[number] = _TRIED if entry is None else (
                    _KNOWN | (_KERNEL_ENDS if entry[3] else 0)
                    | (_NOTHING if entry[1] is None and entry[2] is None else 0))
                if not first:
                    entry = None  # the analysing process made its own memo entry
            # Answered from the line memo there: QEMU's prefix, or the kernel's where
            # framing's ends too (decode_lines)
            if known & _KNOWN and (raw[0] != _BRACKET or known & _KERNEL_ENDS):
                if known & _NOTHING and not is_open:
                    left_out += 1
                    if first:
                        unannounced.add(number)
                    continue
                if is_open and line_no >= open_until:
                    is_open = False  # a message pending there ended by this line at last
                if not is_open and following is not None:
                    # One plain record, no message pending there: its next line is read
                    # by nobody (about 100 bytes less to marshal, carry and load).
                    line = (line_no, raw, None)  # noqa: PLW2901 - what is sent of it
            else:
                is_open, open_until = True, line_no + JOIN_LINES
            send(line)
            if prefix is None or number < 0:
                code(-1)
            elif first:
                code(-2 - number)
            elif unannounced and number in unannounced:
                unannounced.discard(number)
                code(-2 - number)
            else:
                code(number)
            if not texts:
                continue
            if entry is not None:
                body, payload, unrecognised, kernel_ends = entry
                framed.append((number, body, None if payload is None else payload._key(),
                               unrecognised, kernel_ends))
                continue
            if not first and key not in cut:
                continue
            for index, record in enumerate(split_records(clean(raw))):
                text = record.text
                if index == 0 and record.fragment:
                    cut.add(key)  # its text depends on the next line: not skipped again
                    text = _joined(text, following)
                if not text or text in sent:
                    continue
                if len(sent) >= MEMO_LIMIT:
                    sent.clear()
                sent.add(text)
                try:
                    payload = decoder.parse(text)
                except Exception:  # noqa: BLE001 - the analysing process reads it itself
                    continue
                out.append((text, None if payload is None else payload._key(),
                            decoder.refused))
        self._open, self._open_until = is_open, open_until
        return sent_lines, (codes if refer else None), out, framed, left_out


def following_of(line: tuple, chunk: bytes | None) -> tuple:
    """``line`` with its next line cut out of ``chunk`` when the scanner left where it
    starts instead (LineScanner.lazy_following), else as it is."""
    following = line[2]
    if following.__class__ is not int:
        return line
    assert chunk is not None  # an int comes only with the scanner's chunk
    return (line[0], line[1], chunk[following:chunk.find(b"\n", following)])


class LineHolder(Protocol):
    """What decode_lines hands the lines it holds to (model/last_seen.LastSeen)."""

    kinds: dict[str, dict[str, Callable[[tuple], object]]]  # None: held
    time_of: Callable[[bytes, int | None], tuple[float | None, str | None]]

    def fed(self, dialect: str) -> None: ...

    def settle(self) -> None: ...


_NO_KINDS: dict[str, dict[str, Callable[[tuple], object]]] = {}  # never changed


def _no_hold(item) -> None:
    """decode_lines' hold and fed without a holder (never called: no kind is held then)."""


def held_time(raw: bytes, tail: int | None) -> tuple[float | None, str | None]:
    """The time and clock of a line decode_lines held (``holder.hold``), read only for the
    held lines whose Event is made (model/last_seen.py): ``tail`` None, a line with no
    time; 0, the kernel's ``[ SECONDS]``; else QEMU's ``PID@SECONDS:``, the ":" being
    ``tail`` bytes from the end."""
    if tail is None:
        return None, None
    if tail:
        return float(raw[raw.find(b"@") + 1:len(raw) - tail]), "host"
    return float(raw[1:raw.find(b"]")]), "boot"


def _joined(text: str, following: bytes | None) -> str:
    """A record cut by a QEMU record, with the guest's unfinished line that continues on
    the next line (``following``, at most LINE_BYTES) when that is one."""
    if following is None:
        return text
    if len(following) > LINE_BYTES:
        following = _cut(following)
    cont = clean(following)
    # A next line with a time stamp of its own: a CI runner or a collector stamps every line
    # it relays, the guest's continuation too, so the text after the stamp continues the
    # fragment (not the stamp: "2024-05-01T12:00:01.1234567Z done"); a kernel record behind
    # the stamp starts a record of its own, as a kernel record without one does ("[" below).
    body, time, clock = strip_prefixes(cont)
    if time is not None:
        if clock == "boot":
            return text
        cont = body
    if cont and not cont.startswith(("[", "virtio_")) and "@" not in cont[:12]:
        return text + cont
    return text


_WHITE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # what framing's \s takes of ASCII
_KERNEL_PREFIX_ENDS_BEFORE = frozenset(_WHITE)
_CALLER_ID_GOES_ON = frozenset(_WHITE + b"TC")
_BRACKET = ord("[")
# Preparser's states of a number's bytes after a time prefix
_KNOWN, _KERNEL_ENDS, _NOTHING, _TRIED = 1, 2, 4, 8


def _after_kernel_prefix(rest: bytes) -> bool:
    """Whether framing's kernel prefix (``\\s`` for any white space, ``\\d`` for any
    digit) ends where _TIME_PREFIX_B's does, before these bytes: they are ASCII, and do
    not start with white space or with a caller id's ``[`` that framing could still take
    (``[\\s*[TC]\\d+]``: white space, T or C next). A ``[`` that no caller id goes on
    from is the text's ("[drm] features: ...", virtio_gpu's lines): memoised too."""
    if not rest:
        return True
    if not rest.isascii():
        return False
    first = rest[0]
    if first == _BRACKET:
        return len(rest) > 1 and rest[1] not in _CALLER_ID_GOES_ON
    return first not in _KERNEL_PREFIX_ENDS_BEFORE


def needs_following(raw: bytes) -> bool:
    """Whether a line's meaning depends on the line after it (``decode`` joins them): an
    unfinished console line cut by a QEMU record, or a partial CRI record."""
    text = clean(raw[:LINE_BYTES])
    if (text[:1] == "{" or (text[10:11] == "T" and text[4:5] == "-")
            or text.startswith(envelopes.LAVA_START)):
        envelope = envelopes.unwrap(text)
        if envelope is not None:
            return bool(envelope.partial)
    records = split_records(text)
    # An unfinished console line cut by a QEMU record, or the head of a QEMU message
    # broken over lines (framing.qemu_unfinished)
    return bool(records) and (records[0].fragment
                              or (len(records) == 1 and qemu_unfinished(records[0].text)))


def _cut(raw: bytes) -> bytes:
    """The first LINE_BYTES of a line, not splitting a UTF-8 character."""
    end = LINE_BYTES
    while end > LINE_BYTES - 4 and raw[end] & 0xC0 == 0x80:
        end -= 1
    return raw[:end]
