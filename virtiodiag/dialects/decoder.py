"""The line decoder: a record's text to its Payload, with every cache on the way.

The grammars are the only source of meaning; the caches here only avoid asking them
twice, and none may change a result (tests/test_caches.py runs every sample with each
cache off):

- ``text memo``: a record text seen before gets the payload it got (same text, same
  grammars: same parse).
- ``shape memo`` (shapes.py): lines that differ only in their numbers share a template
  learned from the grammar; used only when every dialect consulted for the line is
  shape-safe (``Dialect.shape_hazards``: no terminal tells one digit or hex letter from
  another) and the same dialects want the line.
- ``line memo``: a QEMU trace line (``PID@SECONDS:`` prefix) whose bytes after the prefix
  were seen before gets the same record text and payload (see Analysis).
- ``interning``: one string per distinct record text, shared by the events that keep it.
"""

from __future__ import annotations

from virtiodiag.dialects.shapes import ShapeMemo
from virtiodiag.events import Payload, ValueOutOfRange
from virtiodiag.plain import Plain

MEMO_LIMIT = 16384  # texts remembered; cleared when full (flat memory on endless streams)
TEXT_LIMIT = 16384  # distinct record texts shared between events; cleared when full
LINE_LIMIT = 16384  # QEMU trace line shapes remembered; cleared when full
LINE_MAX_LEN = 512  # longer lines are not remembered


class Caches(Plain):
    """Which caches a decoder uses (all by default; tests switch each off)."""

    FIELDS = ("text_memo", "shape_memo", "line_memo", "interning")

    def __init__(self, text_memo: bool = True, shape_memo: bool = True,
                 line_memo: bool = True, interning: bool = True):
        self.text_memo = text_memo
        self.shape_memo = shape_memo
        self.line_memo = line_memo
        self.interning = interning


class LineDecoder:
    """Dialect dispatch for one DialectSet, with the caches of ``caches``."""

    def __init__(self, dialects, caches: Caches | None = None):
        self.dialects = dialects
        self.caches = caches or Caches()
        self._memo: dict[str, Payload | None] = {}
        self._shapes = ShapeMemo() if self.caches.shape_memo else None
        self._texts: dict[str, str] = {}
        self.lines: dict[bytes, tuple] = {}  # the line memo, filled by Analysis
        # A text a grammar matched with a value wider than its field is refused: no
        # payload, and ``refused`` says so after parse() (the line is not understood).
        self.refused = False
        self._refused: set[str] = set()

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
        try:
            if shapes is None:
                result = self.dialects.dispatch(text)[0]
            else:
                wanting = self.dialects.wanting(text)
                key, numbers = shapes.key(text, wanting)
                result = shapes.lookup(key, numbers)
                if result is None:
                    result, safe = self.dialects.dispatch(text)
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

    def known_line(self, rest: bytes):
        """The memoised outcome of a QEMU trace line's bytes after its prefix, or None."""
        return self.lines.get(rest) if self.caches.line_memo else None

    def remember_line(self, rest: bytes, outcome: tuple) -> None:
        if not self.caches.line_memo or len(rest) > LINE_MAX_LEN:
            return
        lines = self.lines
        if len(lines) >= LINE_LIMIT:
            lines.clear()
        lines[rest] = outcome
