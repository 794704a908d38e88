"""User grammars' regular expressions run under RE2: time linear in the line, always.

Python's ``re`` backtracks: a user grammar's terminal ``/(a+)+b/`` (or its ``//@ match:``
pattern) took 14 s on a 28-character line, doubling with each character. RE2 runs an
automaton instead, in time linear in the text whatever the pattern, and refuses what
it cannot run that way (back-references, look-arounds).

So a grammar that is not one of the built-in ones (tested, and written for ``re``) gets
this module as the ``re`` of its Lark lexers, and its ``//@ match:`` is compiled by RE2.
A pattern RE2 refuses makes the grammar refused (``grammar check`` and ``analyze`` say
which terminal and why). Without the google-re2 package (a declared dependency; a platform
with no wheel) user grammars run under ``re``, as before.

Lark calls ``compile``, ``match`` and ``error`` on its ``re``, and on a compiled pattern
``match(text, pos, endpos)`` and ``fullmatch(text)``, reading ``group(0)`` and
``lastgroup`` (its alternation of named terminals). RE2 works on UTF-8 bytes: a line is
encoded once (not once per token, as the google-re2 wrapper would) and positions are
mapped between characters and bytes.
"""

from __future__ import annotations

import re

try:
    import re2 as _re2_module
    from re2 import _re2 as _re2_core
except ImportError:  # pragma: no cover - no google-re2 wheel for this platform
    _re2_module = None
    _re2_core = None

_FLAG_PREFIXES = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))


def available() -> bool:
    return _re2_core is not None and hasattr(_re2_core, "RE2")


def _with_flags(pattern: str, flags: int) -> str:
    if flags & re.VERBOSE:
        raise re.error("RE2 does not read verbose (x) patterns")
    inline = "".join(letter for flag, letter in _FLAG_PREFIXES if flags & flag)
    return f"(?{inline}){pattern}" if inline else pattern


class _Text:
    """One line, encoded once; positions mapped between characters and UTF-8 bytes."""

    __slots__ = ("text", "data", "ascii", "_byte_at", "_char_at")

    def __init__(self, text: str):
        self.text = text
        self.data = text.encode("utf-8", "surrogatepass")
        self.ascii = len(self.data) == len(text)
        self._byte_at: list[int] | None = None
        self._char_at: dict[int, int] | None = None

    def byte(self, char: int) -> int:
        if self.ascii:
            return char
        if self._byte_at is None:
            offsets, at = [], 0
            for ch in self.text:
                offsets.append(at)
                at += len(ch.encode("utf-8", "surrogatepass"))
            offsets.append(at)
            self._byte_at = offsets
            self._char_at = {b: c for c, b in enumerate(offsets)}
        return self._byte_at[min(max(char, 0), len(self.text))]

    def char(self, byte: int) -> int:
        if self.ascii:
            return byte
        self.byte(0)
        assert self._char_at is not None  # made by byte()
        return self._char_at[byte]  # RE2 matches whole characters: always a boundary


class _Match:
    __slots__ = ("_string", "_spans", "lastgroup", "re")

    def __init__(self, pattern: LinearPattern, string: str, spans: list[tuple[int, int]],
                 lastgroup: str | None):
        self.re = pattern
        self._string = string
        self._spans = spans
        self.lastgroup = lastgroup

    def span(self, group: int = 0) -> tuple[int, int]:
        return self._spans[group]

    def start(self, group: int = 0) -> int:
        return self._spans[group][0]

    def end(self, group: int = 0) -> int:
        return self._spans[group][1]

    def group(self, group: int = 0) -> str | None:
        start, end = self._spans[group]
        return None if start < 0 else self._string[start:end]


class LinearPattern:
    """A compiled RE2 pattern with the part of ``re.Pattern`` Lark uses."""

    def __init__(self, pattern: str, flags: int = 0):
        self.pattern = pattern
        self.flags = flags
        options = _re2_module.Options()
        options.log_errors = False  # refusals are reported to the user, not logged
        try:
            self._regex = _re2_core.RE2(_with_flags(pattern, flags).encode("utf-8"), options)
        except re.error:
            raise
        except Exception as exc:  # noqa: BLE001 - re2.error: RE2 refuses the pattern
            raise re.error(f"RE2 cannot run it in linear time ({exc})") from None
        if not self._regex.ok():
            reason = self._regex.error()
            if isinstance(reason, bytes):
                reason = reason.decode("utf-8", "replace")
            raise re.error(f"RE2 cannot run it in linear time: {reason}")
        self.groups = self._regex.NumberOfCapturingGroups()
        self.groupindex = {name.decode() if isinstance(name, bytes) else name: index
                           for name, index in self._regex.NamedCapturingGroups()}
        # The named group a match belongs to: the first one (in pattern order) that took
        # part, which for Lark's alternation of terminals is the terminal that matched.
        self._names = sorted((index, name) for name, index in self.groupindex.items())
        self._last: _Text | None = None
        anchors = _re2_core.RE2.Anchor
        self._anchor_start = anchors.ANCHOR_START
        self._anchor_both = anchors.ANCHOR_BOTH

    def _encoded(self, text: str) -> _Text:
        last = self._last
        if last is None or last.text is not text:
            last = self._last = _Text(text)
        return last

    def _run(self, anchor, text: str, pos: int, endpos: int | None) -> _Match | None:
        encoded = self._encoded(text)
        end_char = len(text) if endpos is None else min(endpos, len(text))
        start, end = encoded.byte(pos), encoded.byte(end_char)
        if start > end:
            return None
        spans = self._regex.Match(anchor, encoded.data, start, end)
        if spans[0][0] < 0:
            return None
        if not encoded.ascii:
            spans = [(s, e) if s < 0 else (encoded.char(s), encoded.char(e)) for s, e in spans]
        else:
            spans = list(spans)
        lastgroup = next((name for index, name in self._names if spans[index][0] >= 0), None)
        return _Match(self, text, spans, lastgroup)

    def match(self, text: str, pos: int = 0, endpos: int | None = None) -> _Match | None:
        return self._run(self._anchor_start, text, pos, endpos)

    def fullmatch(self, text: str, pos: int = 0, endpos: int | None = None) -> _Match | None:
        return self._run(self._anchor_both, text, pos, endpos)

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> _Match | None:
        return self._run(_re2_core.RE2.Anchor.UNANCHORED, text, pos, endpos)


class LinearRe:
    """The ``re`` of a user grammar's Lark lexers (see the module docstring)."""

    error = re.error

    def __init__(self):
        self._compiled: dict[tuple[str, int], LinearPattern] = {}

    def compile(self, pattern, flags=0) -> LinearPattern:
        if isinstance(pattern, bytes):
            raise re.error("byte patterns are not supported for user grammars")
        key = (pattern, int(flags))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = LinearPattern(pattern, int(flags))
        return compiled

    def match(self, pattern, string, flags=0):
        return self.compile(pattern, flags).match(string)


_NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")


def can_backtrack(pattern: str) -> bool:
    """Whether a pattern repeats a group that itself repeats (``(a+)+``): the shape that
    makes a backtracking engine take exponential time."""
    return _NESTED_REPEAT.search(pattern) is not None


def check_terminals(parser) -> list[tuple[str, str, str]]:
    """(terminal, reason, pattern) for each terminal of a Lark parser RE2 cannot run."""
    refused = []
    for terminal in getattr(parser, "terminals", ()):
        pattern = terminal.pattern.to_regexp()
        try:
            LinearPattern(pattern, 0)
        except re.error as exc:
            refused.append((terminal.name, str(exc), pattern))
    return refused
