"""Line framing with a prefilter: find the few lines worth parsing in large blocks.

Counting newlines and searching for trigger words are done by C code over whole
blocks (``bytes.count``, ``bytes.find``), so the lines that mention no dialect's trigger
cost almost nothing. Every line is still counted.

Triggers are plain substrings, so the scanner looks for each with ``bytes.find`` (a fast
substring search, several GB/s) instead of one regex alternation (which ``re`` tries at
every byte: about 20 MB/s). A trigger that contains another one (``virtio_`` contains
``virtio``) can never start a line the shorter one misses, so only the shortest are
searched. Each trigger's next occurrence is remembered and only searched again once the
scan has passed it, so a trigger absent from a block costs one ``find`` per block.

Once enough input has been searched (RE2_FROM_BLOCK_SIZE) one automaton searches for all
of them at once: Hyperscan's multi-literal matcher (the ``hyperscan`` package), one scan
a block giving the end of every trigger there; without it RE2's DFA, called once a
candidate line; without either, the ``find`` per trigger above. Same lines every way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache, partial
from heapq import heapify, heappop, heapreplace

from virtiodiag.sources.quoted import QuotedPrintable
from virtiodiag.sources.reader import MAX_LINE

# Lines that mention virtio but match no grammar are counted as unrecognised.
RE2_FROM_BLOCK_SIZE = 256 << 10
_NONE_FOUND = ((-1, -1),)  # a searcher's answer when no trigger follows (RE2's form)


class LineScanner:
    """Feeds blocks, returns lists of ``(line_number, raw_line, next_raw_line_or_None)``."""

    def __init__(self, trigger_re: re.Pattern[bytes] | None = None,
                 triggers: Iterable[bytes] | None = None):
        self.trigger_re = trigger_re
        # No trigger at all (no dialect): the regex (empty: every line) decides, as before.
        self.triggers: tuple[bytes, ...] | None = (
            minimal_triggers(triggers) if triggers is not None else None)
        self._line_re: re.Pattern[bytes] | None = None  # compiled when a block is dense
        self._hot = b"\n"  # the trigger _scan_dense found last (no line holds a newline)
        self._trigger_set = frozenset(self.triggers or ())
        self._block_triggers: tuple[bytes, ...] | None = None
        # (chunk, its size) -> where the next trigger is at or after pos (RE2; see
        # _compile_block_search)
        self._block_re: Callable[[bytes, int],
                                  Callable[[int, int], Sequence[tuple]]] | None = None
        # (chunk, its size) -> the end of every trigger in chunk[:size], in order
        # (Hyperscan, preferred to RE2 when installed; see multiliteral.py)
        self._block_ends: Callable[[bytes, int], list[int]] | None = None
        # bytes searched by trigger so far (decides when Hyperscan or RE2 pays)
        self._scanned = 0
        if not self.triggers:
            if trigger_re is None:
                raise ValueError("LineScanner needs trigger_re or triggers")
            self.triggers = None
        else:
            # Hyperscan (or RE2) is compiled (and imported) for the first large block only:
            # a small log is searched as fast without it and does not pay for the import.
            self._block_triggers = self.triggers if len(self.triggers) > 1 else None
        self._dense = False  # the previous block had a candidate in most lines
        self._found = 0  # candidate lines of the last chunk scanned (_end_block)
        # The line a block shares with the one before is looked at on its own, without
        # joining the two blocks (_frame_after_carry): a trigger holds no newline, so it
        # is in that line or not, wherever the blocks were cut.
        self._head_alone = self.triggers is not None and not any(
            b"\n" in word for word in self.triggers)
        self.lines = 0
        self.bytes = 0
        self.cut_lines = 0
        self._in_cut_line = False  # the rest of a line cut at MAX_LINE is still coming
        self.nul_bytes = 0
        self._carry = b""
        self.truncated_last_line = False
        # Same bytes, same answer: the last line of a block is handed out with the line
        # after it (``following``) like any other line, whatever the block size or read
        # timing. A line whose meaning needs its next line (``needs_following``: an
        # unfinished console line cut by a QEMU record) is held until that line arrives
        # (or the input ends); every other line goes out at once (live latency).
        self.needs_following: Callable[[bytes], bool] | None = None
        # The scanning process of a large file (sources/prescan.py) reads the lines
        # through decoder.Preparser, which sends most of them without their next line
        # (88 % on the benchmark's sparse file): with ``lazy_following`` a line the
        # sparse search finds carries, in place of its next line, where that line starts
        # in ``following_chunk`` (an int; decoder.following_of), and only the few that
        # need it are cut out there. Set by the caller of ``feed``; one chunk a call.
        self.lazy_following = False
        self.following_chunk: bytes | None = None
        self._held: tuple[int, bytes] | None = None
        self.quoted = QuotedPrintable()

    # Each method below appends the candidate lines it finds to ``out``, the list ``feed``
    # or ``close`` returns: a sparse log's scan handed each line up through three nested
    # generators (feed, _frame, _scan), a third of the scanning process's time.
    def feed(self, block: bytes) -> list[tuple[int, bytes, bytes | None]]:
        """The candidate lines of one block, in order (all of them: nothing is held back
        but a line that needs the next one, see ``needs_following``)."""
        self.bytes += len(block)
        self.following_chunk = None
        if b"\0" in block:  # memchr: 10x faster than counting a block that has none
            self.nul_bytes += block.count(b"\0")  # binary input is reported
        # A mailed log's quoted-printable stretches are undone first (line numbers kept):
        # a soft break can cut a trigger word in two.
        block = self.quoted.feed(block)
        out: list[tuple[int, bytes, bytes | None]] = []
        if block:
            self._frame(block, out)
        return out

    def _frame(self, block: bytes, out: list) -> None:
        if self._in_cut_line:
            # The rest of a line cut at MAX_LINE: counted with it, not read (only a line's
            # first 64 KiB are parsed anyway), not a line of its own: the lines after it
            # keep their numbers.
            stop = block.find(b"\n")
            if stop < 0:
                return
            self._in_cut_line = False
            block = block[stop + 1:]
            if not block:
                return
        if self._carry and self._head_alone:
            nl = block.find(b"\n")
            if nl >= 0:
                self._frame_after_carry(block, nl, out)
                return
        data = self._carry + block if self._carry else block
        end = data.rfind(b"\n") + 1
        if end == 0:
            if len(data) > MAX_LINE:
                # A giant line with no newline: process what we have, keep memory bounded.
                self.cut_lines += 1
                self._in_cut_line = True
                self._carry = b""
                self._release(data, out)
                data += b"\n"
                self._scan(data, out, len(data))
            else:
                self._carry = data
            return
        self._carry = data[end:]
        if self._held is not None:
            self._release(data, out)
        # The lines end at ``end``; what follows is the carry, not copied off (a block is
        # 1 MiB: a copy per block was about 1 % of the scanning process's time).
        self._scan(data, out, end)

    def _frame_after_carry(self, block: bytes, nl: int, out: list) -> None:
        """``_frame`` when the previous block ended inside a line (``_carry``) and this one
        ends it at ``nl``: the same output as scanning ``carry + block``, without copying
        the block (a 1 MiB copy per block was about 4 % of a large file's scan). The joined
        first line is looked at on its own, the rest of the block in place."""
        head = self._carry + block[:nl + 1]  # the line the two blocks share, whole
        end = block.rfind(b"\n") + 1
        self._carry = block[end:]
        if self._held is not None:
            self._release(head, out)
        if end == nl + 1:  # the shared line is the only one ending here: the old way
            self._scan(head, out, len(head))
            return
        base = self.lines
        line = head[:-1]
        found = 0
        triggers = self.triggers
        assert triggers is not None  # _head_alone is only set with triggers
        # What the block's search finds: by Hyperscan or RE2 once compiled (one pass over
        # the line; 300 `in` tests cost about 0.8 M instructions a block, each `bytes in
        # bytes` first trying its argument as an integer and formatting the TypeError).
        block_ends = self._block_ends
        block_re = self._block_re
        if block_ends is not None:
            holds = bool(block_ends(head, len(line)))
        elif block_re is not None:
            holds = block_re(head, len(line))(0, len(line))[0][0] >= 0
        else:
            holds = any(word in line for word in triggers)
        if holds:
            found = 1
            out.append((base + 1, line, block[nl + 1:block.find(b"\n", nl + 1)]))
        self.lines = base + 1
        self._scan(block, out, end, nl + 1)
        # The block's density as if the shared line were its first (as scanned before).
        self._dense = (self._found + found) * 2 > self.lines - base >= 64

    def close(self) -> list[tuple[int, bytes, bytes | None]]:
        """The candidate lines still to come at the end of the input."""
        out: list[tuple[int, bytes, bytes | None]] = []
        self.following_chunk = None
        rest = self.quoted.close()
        if rest:
            self._frame(rest, out)
        if self._in_cut_line:  # the cut line was the last and had no newline
            self._in_cut_line = False
            self.truncated_last_line = True
        if self._carry:
            self.truncated_last_line = True
            data, self._carry = self._carry + b"\n", b""
            self._release(data, out)
            self._scan(data, out, len(data))
        self._release(None, out)
        return out

    def _release(self, data: bytes | None, out: list) -> None:
        """The held line, with the first line of ``data`` as its next line."""
        held = self._held
        if held is not None:
            self._held = None
            following = None
            if data is not None:
                stop = data.find(b"\n")
                following = data[:stop] if stop >= 0 else data
            out.append((held[0], held[1], following))

    def _last(self, line_no: int, raw: bytes, out: list) -> None:
        """The block's last line, whose next line is in the next block: held if needed."""
        wants = self.needs_following
        if wants is not None and wants(raw):
            self._held = (line_no, raw)
        else:
            out.append((line_no, raw, None))

    def _scan(self, chunk: bytes, out: list, size: int, begin: int = 0) -> None:
        """The candidate lines of ``chunk[begin:size]``, which ends with a newline and
        starts a line (the bytes outside are not looked at)."""
        if self.triggers is None:
            self._scan_re(chunk, out, size)
            return
        if self._dense:
            self._scan_dense(chunk, out, size, begin)
            return
        self._compile_when_due(size)
        if self._block_ends is not None:
            self._scan_ends(chunk, out, size, begin)
            return
        base = self.lines
        counted_to = begin
        line_no = base
        find = chunk.find
        rfind = chunk.rfind
        count = chunk.count
        append = out.append
        found_lines = 0
        # search(pos, size)[0][0]: where the next trigger is at or after pos, -1 if none
        # (RE2's own spans call when it serves: no Python frame per candidate line).
        search = self._searcher(chunk, size)
        lazy = self._lazy_for(chunk)
        at = search(begin, size)[0][0]
        while at >= 0:
            start = rfind(b"\n", 0, at) + 1
            stop = find(b"\n", at)
            line_no += count(b"\n", counted_to, start)
            counted_to = start
            found_lines += 1
            nxt = stop + 1
            if nxt < size:
                append((line_no + 1, chunk[start:stop],
                        nxt if lazy else chunk[nxt:find(b"\n", nxt)]))
                at = search(nxt, size)[0][0]
            else:
                self._last(line_no + 1, chunk[start:stop], out)
                break
        # Newlines before the last candidate are counted already: count only the rest.
        self._end_block(base, line_no - base + count(b"\n", counted_to, size), found_lines)

    def _lazy_for(self, chunk: bytes) -> bool:
        """Whether the lines found in ``chunk`` carry where their next line starts instead
        of that line (lazy_following): only for one chunk a call of feed or close, which
        the caller reads the lines with."""
        lazy = self.lazy_following and (self.following_chunk is None
                                       or self.following_chunk is chunk)
        if lazy:
            self.following_chunk = chunk
        return lazy

    def _compile_when_due(self, size: int) -> None:
        """Hyperscan's (else RE2's) block search, once enough input has been searched."""
        # Their import and compile pay off once enough input has been searched, whether
        # it came in one large block (a file) or many small ones (a pipe gives ~64 KiB a
        # read: counting per block kept piped input on the bytes.find fallback, a find
        # pass per trigger per block, 2.5x slower than a file).
        self._scanned += size
        if self._block_triggers is not None and self._scanned >= RE2_FROM_BLOCK_SIZE:
            # (a module of its own: a small log's start-up does not load it)
            from virtiodiag.sources.multiliteral import compile_block_ends

            self._block_ends = compile_block_ends(self._block_triggers)
            if self._block_ends is None:
                self._block_re = _compile_block_search(self._block_triggers)
            self._block_triggers = None

    def _scan_ends(self, chunk: bytes, out: list, size: int, begin: int) -> None:
        """``_scan`` by Hyperscan: one scan of ``chunk[:size]`` gives the end of every
        trigger there, and the loop takes the line of each end past the last line taken
        (a line holding several triggers is taken once). Same lines, numbers and next
        lines as the loop of ``_scan``, whose RE2 search cost a call into RE2 a candidate
        line and a DFA walk of about 16 instructions a byte."""
        block_ends = self._block_ends
        assert block_ends is not None  # _scan calls this only with it
        base = self.lines
        counted_to = begin
        line_no = base
        find = chunk.find
        rfind = chunk.rfind
        count = chunk.count
        append = out.append
        found_lines = 0
        lazy = self._lazy_for(chunk)
        # An end at or before ``taken`` is in a line already taken, or before ``begin``
        # (the bytes before it are a line ending at begin - 1: no trigger crosses it).
        taken = begin
        for end in block_ends(chunk, size):
            if end <= taken:
                continue
            # The trigger's line: the newlines before and at or after its end (no
            # trigger holds one, multiliteral.py; its end may be the line's newline).
            start = rfind(b"\n", 0, end) + 1
            stop = find(b"\n", end)
            line_no += count(b"\n", counted_to, start)
            counted_to = start
            found_lines += 1
            nxt = stop + 1
            if nxt < size:
                append((line_no + 1, chunk[start:stop],
                        nxt if lazy else chunk[nxt:find(b"\n", nxt)]))
                taken = stop
            else:
                self._last(line_no + 1, chunk[start:stop], out)
                break
        self._end_block(base, line_no - base + count(b"\n", counted_to, size), found_lines)

    def _searcher(self, chunk: bytes, size: int) -> Callable[[int, int], Sequence[tuple]]:
        """``search(pos, size)``, whose ``[0][0]`` is where the next trigger occurs at or
        after pos in ``chunk[:size]`` (-1 if none): the form of RE2's spans (a list of
        (start, end)), which is then called directly, without a Python function between
        (a frame per candidate line)."""
        triggers = self.triggers
        assert triggers is not None  # the caller scans by trigger_re otherwise
        if self._block_re is not None:
            # One pass of RE2's automaton for all triggers: several times faster than a
            # bytes.find pass per trigger, which is the fallback below.
            return self._block_re(chunk, size)
        find = chunk.find
        if len(triggers) == 1:
            word = triggers[0]

            def next_of_one(pos: int, size: int) -> Sequence[tuple]:
                return ((find(word, pos, size),),)
            return next_of_one
        # Several triggers: the next occurrence of each, searched again only when passed,
        # in a heap by position. A list walked in full at every candidate line cost each
        # candidate a Python step per trigger (226 of them): on the 50 KB boot log, whose
        # every other line is a candidate, 56 M instructions against 18 M this way.
        nexts: list[tuple[int, int]] = []
        for index, word in enumerate(triggers):
            at = find(word, 0, size)
            if at >= 0:
                nexts.append((at, index))
        heapify(nexts)

        def next_of_many(pos: int, size: int) -> Sequence[tuple]:
            while nexts:
                first = nexts[0]
                if first[0] >= pos:
                    return (first,)
                index = first[1]
                again = find(triggers[index], pos, size)
                if again < 0:
                    heappop(nexts)  # no more of it in this chunk
                else:
                    heapreplace(nexts, (again, index))
            return _NONE_FOUND
        return next_of_many

    def _end_block(self, base: int, lines: int, found: int) -> None:
        self.lines = base + lines
        self._found = found
        # Mostly candidates (a dense trace): the next block is split into lines instead.
        self._dense = found * 2 > lines >= 64

    def _scan_dense(self, chunk: bytes, out: list, size: int, begin: int = 0) -> None:
        """Same output as the find loop, for blocks where most lines are candidates:
        one ``split`` and a regex test per line beat five searches per candidate."""
        base = self.lines
        if begin or size < len(chunk):
            chunk = chunk[begin:size]
        lines = chunk.split(b"\n")  # chunk ends with a newline: the last item is b""
        last = len(lines) - 2
        line_re = self._line_re
        if line_re is None:
            assert self.triggers is not None  # dense blocks are scanned by triggers
            line_re = self._line_re = trigger_regex(self.triggers)
        search = line_re.search
        # The trigger the regex found last (a QEMU trace: "irtio" on every line): a line
        # holding it is a candidate without the regex (a substring test, several times
        # faster); any other line asks the regex, which may find another trigger.
        hot = self._hot
        words = self._trigger_set
        found = 0
        match = None
        for index, line in enumerate(lines):
            if hot in line or (match := search(line)) is not None:
                if match is not None:
                    word = match.group()
                    if word in words:  # (a digit-led trigger matches without its digit)
                        hot = self._hot = word
                    match = None
                found += 1
                if index < last:
                    out.append((base + index + 1, line, lines[index + 1]))
                elif index == last:
                    self._last(base + index + 1, line, out)
        self._end_block(base, last + 1, found)

    def _scan_re(self, chunk: bytes, out: list, size: int) -> None:
        assert self.trigger_re is not None  # __init__ ensures it without triggers
        search = self.trigger_re.search
        base = self.lines
        counted_to = 0
        line_no = base
        pos = 0
        while pos < size:
            match = search(chunk, pos, size)
            if match is None:
                break
            start = chunk.rfind(b"\n", 0, match.start()) + 1
            stop = chunk.find(b"\n", match.end())
            line_no += chunk.count(b"\n", counted_to, start)
            counted_to = start
            nxt = stop + 1
            if nxt < size:
                nstop = chunk.find(b"\n", nxt)
                out.append((line_no + 1, chunk[start:stop], chunk[nxt:nstop]))
            else:
                self._last(line_no + 1, chunk[start:stop], out)
            pos = stop + 1
        self.lines = base + chunk.count(b"\n", 0, size)


def _compile_block_search(
        triggers: tuple[bytes, ...]
) -> Callable[[bytes, int], Callable[[int, int], Sequence[tuple]]] | None:
    """RE2 for the block prefilter when google-re2 is installed (a declared dependency;
    the pure-Python path stays for platforms without its wheel)."""
    if os.environ.get("VIRTIODIAG_NO_RE2"):
        return None
    try:
        import re2
    except ImportError:
        return None
    alternation = b"|".join(re.escape(t) for t in triggers)
    try:
        compiled = re2.compile(alternation)
    except Exception:  # noqa: BLE001 - an odd trigger RE2 rejects: use the fallback
        return None
    # The public search() builds a Match object through two Python generator layers for
    # each hit; the wrapped RE2 object returns the spans directly (a third of the cost of
    # a sparse log's scan). Used when the binding is laid out as expected, else search().
    regexp = getattr(compiled, "_regexp", None)
    anchor = getattr(getattr(getattr(re2, "_re2", None), "RE2", None), "Anchor", None)
    unanchored = getattr(anchor, "UNANCHORED", None)
    if regexp is not None and unanchored is not None and hasattr(regexp, "Match"):
        match_spans = regexp.Match
        # Found at 1: no trigger holds a newline. (With "-" before it the probe failed
        # once "-device" became a trigger, found at 0, and every run took search().)
        probe = b"\n" + triggers[-1]
        try:
            if match_spans(unanchored, probe, 0, len(probe))[0][0] != 1:
                raise ValueError("unexpected spans")
        except Exception:  # noqa: BLE001 - a binding laid out otherwise: use search()
            match_spans = None
        if match_spans is not None:
            def searcher_by_spans(chunk: bytes,
                                  size: int) -> Callable[[int, int], Sequence[tuple]]:
                # RE2's Match(anchor, text, pos, endpos): [(start, end)], (-1, -1) if none
                return partial(match_spans, unanchored, chunk)
            return searcher_by_spans
    search = compiled.search

    def searcher_by_search(chunk: bytes, size: int) -> Callable[[int, int], Sequence[tuple]]:
        def first_by_search(pos: int, size: int) -> Sequence[tuple]:
            match = search(chunk, pos, size)
            return _NONE_FOUND if match is None else (match.span(),)
        return first_by_search
    return searcher_by_search


def minimal_triggers(triggers: Iterable[bytes]) -> tuple[bytes, ...]:
    """The triggers no other trigger is a substring of (same lines, fewer searches)."""
    return _minimal(frozenset(bytes(t) for t in triggers if t))


@lru_cache(maxsize=8)
def _minimal(words: frozenset[bytes]) -> tuple[bytes, ...]:
    # Once per set of triggers (asked by the analysis and its scanner, by each input of a
    # run). A word is kept unless another one is inside it (a word inside a dropped one
    # is inside its container too). Testing each word against every kept one was 14,000
    # `in` tests from Python for the 120 built-in triggers (about 1 ms of start-up); here
    # each word is searched for in all of them joined by NUL (no trigger holds one: the
    # empty ones are left out above), a few `find` calls each, and the words it is found
    # in, other than itself, are dropped.
    ordered = sorted(words, key=lambda w: (len(w), w))
    if any(b"\0" in word for word in ordered):  # never for a grammar's trigger (text)
        return tuple(word for i, word in enumerate(ordered)
                     if not any(short in word for short in ordered[:i]))
    haystack = b"\0".join(ordered)
    owner: list[int] = []  # the word each byte of the haystack belongs to
    for index, word in enumerate(ordered):
        owner.extend([index] * (len(word) + 1))  # the word's bytes and the NUL after it
    dropped = set()
    for index, word in enumerate(ordered):
        if index in dropped:
            continue  # a kept word inside it is inside whatever holds it
        at = haystack.find(word)
        while at != -1:
            holder = owner[at]
            if holder != index:
                dropped.add(holder)
            at = haystack.find(word, at + 1)
    return tuple(word for index, word in enumerate(ordered) if index not in dropped)


_DIGITS = frozenset(b"0123456789")


@lru_cache(maxsize=8)
def trigger_regex(triggers: tuple[bytes, ...]) -> re.Pattern[bytes]:
    """One ``re`` pattern that finds any of ``triggers`` (plain substrings): the same
    lines as ``b"|".join(map(re.escape, triggers))``, several times faster per line.

    Why not the flat alternation: ``re`` tries it at every byte whose value starts some
    trigger, and there walks all 180 alternatives. A trigger led by a digit ("368 vda":
    root_mount's "0 vd" ... "9 vd", or "1af4") makes that every digit of a line, and a
    QEMU trace line is mostly digits (its pid, its time, its addresses): the dense
    benchmark went from 0.23 to 0.91 s of searching per 5 MB when ten such triggers came
    in. Here the triggers form a trie (one branch per distinct byte, so a byte is tried
    once per trie level), and a digit-led trigger is searched for without its digit,
    which a look-behind at the end then checks: "9 vd" is ``\\ vd(?<=[0-9]\\ vd)``,
    tried only where " vd" occurs."""
    def lead_class(leads: list[bytes]) -> bytes:
        distinct = sorted(set(leads))
        if len(distinct) == 1:
            return re.escape(distinct[0])
        return b"[" + b"".join(re.escape(lead) for lead in distinct) + b"]"

    def branch(items: list[tuple[bytes, bytes | None]], path: bytes) -> bytes:
        # items: (the rest of a trigger after path, its stripped lead digit or None)
        if any(not rest and lead is None for rest, lead in items):
            return b""  # a trigger ends here: a search needs no longer one through it
        ended = [lead for rest, lead in items if not rest and lead is not None]
        alternatives = []
        if ended:
            alternatives.append(b"(?<=" + lead_class(ended) + re.escape(path) + b")")
        children: dict[bytes, list[tuple[bytes, bytes | None]]] = {}
        for rest, lead in items:
            if rest:
                children.setdefault(rest[:1], []).append((rest[1:], lead))
        # Children whose sub-patterns are equal share one character class ("[vV]irtio"),
        # unless a look-behind inside repeats the path, which differs per child.
        same: dict[bytes, list[bytes]] = {}
        for byte, child in children.items():
            pattern = branch(child, path + byte)
            if any(lead is not None for _, lead in child):
                alternatives.append(re.escape(byte) + pattern)
            else:
                same.setdefault(pattern, []).append(byte)
        alternatives += [lead_class(bytes_) + pattern for pattern, bytes_ in same.items()]
        if len(alternatives) == 1:
            return alternatives[0]
        return b"(?:" + b"|".join(alternatives) + b")"

    items: list[tuple[bytes, bytes | None]] = [
        (word[1:], word[:1]) if word[0] in _DIGITS and len(word) > 2 else (word, None)
        for word in triggers if word]
    return re.compile(branch(items, b""))
