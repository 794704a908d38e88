"""Undoing quoted-printable (RFC 2045 section 6.7), the encoding of many mailed logs.

A log pasted into a mail often travels quoted-printable: every encoded line is at most 76
characters, a longer line is cut with a soft line break (``=`` at the end of the line:
the next line continues it) and ``=`` itself and other bytes become ``=XX`` (``=3D``,
``=20``, a UTF-8 character as ``=E2=80=A6``). Read as they are, such lines split a kernel
message in two ("leaving for legacy driv=" / "er") and garble its fields ("type=3D1130").

A plain log may also have a line ending in ``=`` (an empty "key=" value), so a stretch is
taken as quoted-printable only on evidence: a line ending in ``=`` at exactly 76
characters (where Python's quopri and email modules and mailers cut) or ``=3D`` (an
encoded ``=``; a kernel prints hex in lower case); a 76-character line counts only when
the line after it is one an encoder could write too. The stretch lasts while its lines are
what an encoder writes (at most 76 characters of ASCII); a longer line or a raw non-ASCII
byte ends it. Inside it, soft breaks are joined and escapes decoded.

Line numbers stay those of the file: a line joined from k physical lines is followed by
k - 1 empty lines, so every later line keeps its number and ``lines read`` is unchanged.
Outside a stretch a block passes through untouched up to the first line that could open
one (a few C searches per block, a find per line ending in ``=``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from virtiodiag.cachefiles import compiled

MAX_ENCODED = 76  # RFC 2045: encoded lines are at most 76 characters, the "=" included
HOLD_LIMIT = 4096  # an unfinished line held longer than this is no encoded line: released
_ESCAPE = compiled(rb"=([0-9A-F]{2})")
# Where a stretch can open: a soft break or "=3D" (one regex pass: 4x faster than 3 finds)
_OPENING = compiled(rb"=(?:\r?\n|3D)")  # RFC 2045 writes hex digits in upper case
# A large block is searched by RE2, which skips to each "=" with memchr where re tries the
# pattern at every byte: 8x faster, a tenth of a sparse log's scan (same matches: one
# literal alternation, leftmost-first in both).
RE2_FROM_BLOCK_SIZE = 256 << 10
_re2_spans: tuple | None = None  # (the wrapped RE2's Match, its UNANCHORED) once compiled
_re2_tried = False


def _openings(block: bytes) -> Iterator[tuple[int, int]]:
    """The spans of ``_OPENING``'s matches in ``block``, in order (``finditer``'s)."""
    spans = _re2() if len(block) >= RE2_FROM_BLOCK_SIZE else None
    if spans is None:
        for mark in _OPENING.finditer(block):
            yield mark.span()
        return
    match, unanchored = spans
    pos, size = 0, len(block)
    while True:
        start, end = match(unanchored, block, pos, size)[0]
        if start < 0:
            return
        yield start, end
        pos = end  # a match is never empty


def _re2() -> tuple | None:
    """RE2's span search for ``_OPENING`` (see scanner._compile_block_search), or None
    (no google-re2, VIRTIODIAG_NO_RE2, or a binding laid out otherwise)."""
    global _re2_spans, _re2_tried
    if _re2_tried:
        return _re2_spans
    _re2_tried = True
    if os.environ.get("VIRTIODIAG_NO_RE2"):
        return None
    try:
        import re2

        match = re2.compile(_OPENING.pattern)._regexp.Match
        unanchored = re2._re2.RE2.Anchor.UNANCHORED
        probe = b"a=3D b=\r\n"
        if (match(unanchored, probe, 0, len(probe))[0] == (1, 4)
                and match(unanchored, probe, 4, len(probe))[0] == (6, 9)
                and match(unanchored, b"==", 0, 2)[0][0] < 0):
            _re2_spans = (match, unanchored)
    except Exception:  # noqa: BLE001 - no RE2, or another binding: re, as before
        _re2_spans = None
    return _re2_spans


class QuotedPrintable:
    """A stream filter over blocks: ``feed(block)`` -> bytes, ``close()`` -> the rest.

    ``soft_breaks`` and ``escapes`` count what was joined and decoded."""

    def __init__(self) -> None:
        self.soft_breaks = 0
        self.escapes = 0
        self._active = False  # inside a quoted-printable stretch
        self._carry = b""  # the unfinished last line of the slow path's last block
        self._pending: list[bytes] = []  # decoded parts of a line cut by soft breaks
        # Bytes of an unfinished line the fast path handed on as they were: the line's
        # true length counts them when the next block takes the slow path.
        self._handed = 0
        self._tentative: bytes | None = None  # the soft break that opened the stretch

    def feed(self, block: bytes) -> bytes:
        if self._active or self._pending or self._tentative is not None:
            return self._lines(block)
        if self._carry:  # a held line: finished line by line, the rest as any block
            cut = block.find(b"\n") + 1
            if cut == 0:
                return self._lines(block)
            head = self._lines(block[:cut])
            return head + self.feed(block[cut:]) if cut < len(block) else head
        # Outside a stretch only the line that opens one needs the line by line path:
        # everything before it goes on as it is (a plain log with a few "key=" lines at
        # the end of a line costs a find per such line, not a split of the block).
        start = self._first_evidence(block)
        newline = block.rfind(b"\n")
        if start < 0:
            if b"=" not in block[newline + 1:]:
                # An unfinished last line without "=" holds no evidence and no escape:
                # only its length matters when the rest arrives.
                self._handed = len(block) - newline - 1 + (self._handed if newline < 0 else 0)
                return block  # the common case
            start = newline + 1  # the unfinished last line may open a stretch: held
        if start == 0:
            return self._lines(block)
        self._handed = 0
        return block[:start] + self._lines(block[start:])

    def _first_evidence(self, block: bytes) -> int:
        """Where the first line that may open a stretch starts in ``block``, or -1."""
        for at, end in _openings(block):
            start = block.rfind(b"\n", 0, at) + 1
            stop = block.find(b"\n", at)
            line = block[start:stop if stop >= 0 else len(block)].rstrip(b"\r")
            size = len(line) + (self._handed if start == 0 else 0)
            if line.isascii() and (size <= MAX_ENCODED if block[at:end] == b"=3D"
                                   else size == MAX_ENCODED):
                return start
        return -1

    def _lines(self, block: bytes) -> bytes:
        """The line by line path: whole lines undone, the unfinished last one kept."""
        handed, self._handed = self._handed, 0
        data = self._carry + block if self._carry else block
        end = data.rfind(b"\n") + 1
        self._carry = data[end:]
        if end == 0:
            if len(data) <= HOLD_LIMIT:
                self._handed = handed  # still the same unfinished line
                return b""
            return self._release(data, handed)
        lines = data[:end - 1].split(b"\n")
        out = [self._line(lines[0], handed)]
        out.extend(self._line(line) for line in lines[1:])
        return b"".join(out)

    def _release(self, data: bytes, handed: int) -> bytes:
        """An unfinished line longer than any encoder writes goes on as it comes (memory
        stays flat on a giant line): it ends the stretch. A soft break before it that
        opened the stretch was a plain line; other soft breaks are joined to it, their
        empty lines put first (the line keeps its place, later lines their numbers)."""
        self._carry = b""
        self._handed = handed + len(data)
        self._active = False
        tentative, self._tentative = self._tentative, None
        parts, self._pending = self._pending, []
        if tentative is not None:
            self.soft_breaks -= 1
            return tentative + b"\n" + data
        return b"\n" * len(parts) + b"".join(parts) + data

    def close(self) -> bytes:
        """What is left: the unfinished last line (no newline added) and a line whose
        soft break had no continuation."""
        carry, self._carry = self._carry, b""
        text = self._line(carry, self._handed)[:-1] if carry else b""
        # (the input ended without a newline: so does the output)
        tentative, self._tentative = self._tentative, None
        if tentative is not None:  # the log ends with it: nothing confirms it
            self._pending = []
            self.soft_breaks -= 1
            text += tentative + (b"" if carry else b"\n")
        if self._pending:
            parts, self._pending = self._pending, []
            text += b"".join(parts) + b"\n" * (len(parts) - (1 if carry else 0))
        return text

    def _line(self, line: bytes, handed: int = 0) -> bytes:
        """One physical line (without its newline; ``handed`` bytes of it went on
        before) -> the bytes to hand on."""
        body = line[:-1] if line.endswith(b"\r") else line
        size = len(body) + handed
        encoded = size <= MAX_ENCODED and body.isascii()
        undone = b""
        tentative, self._tentative = self._tentative, None
        if tentative is not None and not encoded:
            # The 76-character line ending in "=" that opened the stretch is followed by
            # a line no encoder writes: it was a plain line after all, kept as it was.
            self._pending = []
            self.soft_breaks -= 1
            undone = tentative + b"\n"
        if not encoded:
            self._active = False  # no encoder writes this: the stretch (if any) is over
        elif not self._active and b"=" in body:
            if b"=3D" in body:
                self._active = True
            elif size == MAX_ENCODED and body.endswith(b"="):
                self._active = True
                self._tentative = line  # confirmed by the next line (see above)
        if not self._active:
            if undone:
                return undone + line + b"\n"
            if self._pending:  # a continuation: joined whatever it looks like
                return self._join(body)
            return line + b"\n"
        if body.endswith(b"="):
            self.soft_breaks += 1
            self._pending.append(self._decode(body[:-1]))
            return b""
        return self._join(self._decode(body))

    def _join(self, last: bytes) -> bytes:
        parts, self._pending = self._pending, []
        # The joined line, then an empty line per soft break: later lines keep their numbers.
        return b"".join(parts) + last + b"\n" * (len(parts) + 1)

    def _decode(self, text: bytes) -> bytes:
        if b"=" not in text:
            return text
        decoded, count = _ESCAPE.subn(lambda m: bytes.fromhex(m.group(1).decode()), text)
        self.escapes += count
        return decoded
