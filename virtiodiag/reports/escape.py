"""Output that cannot be turned against its reader (issue 15, case 4).

Text from a log or a file name reaches terminals, CI logs, XML and JSON files. A guest
prints what it likes on its console, and a file name comes from a test matrix, so:

* ``safe(text)``: every control character, newline and tab included, and the Unicode
  line and bidirectional controls become visible escapes (``\\x0a``, ``\\u202e``); the
  text stays on one line and cannot move the cursor, recolour or reorder a terminal.
* ``GuardedStream(stream)``: every line written through it, whoever wrote it, has a
  leading ``::`` or ``##[`` (GitHub Actions workflow commands such as
  ``::stop-commands::``, ``::add-mask::``, ``::error::``; Azure's ``##[``/``##vso[``)
  made inert, its first character escaped, so no CI runner reads it as a command
  (``neutralise_line``; reports' layouts change, the guard does not need to know them).
* ``xml_text(text)``: ``safe`` plus the characters XML 1.0 cannot hold at all (U+FFFE,
  U+FFFF, lone surrogates), so a JUnit file always parses.
* ``finite(value)``: a JSON value with every NaN or infinity replaced by null (JSON has
  neither; ``Infinity`` breaks strict parsers).

Reports call these; the machine formats that have their own escaping (``github``'s
``%0A``, SARIF's JSON) keep it.
"""

from __future__ import annotations

import math
import re

from virtiodiag.cachefiles import compiled

# C0 and C1 controls, DEL, the Unicode line and paragraph separators, every bidirectional
# control (the embeddings, overrides and isolates, and the implicit marks LRM, RLM and the
# Arabic letter mark: each reorders what a terminal shows around it) and lone surrogates
# (bytes of a file name that were not UTF-8, PEP 383: no encoder can write them), and the
# noncharacters U+FFFE and U+FFFF (no text holds them; XML cannot).
_UNSAFE = compiled(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                   r"\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
_UNSAFE_BUT_NEWLINE = compiled(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028"
                               r"\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
_SURROGATE = compiled(r"[\ud800-\udfff]")
_NOT_XML = compiled(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# What a CI runner reads as a command at the start of a line (after blanks, which some
# runners trim): GitHub's ``::name::`` and Azure's ``##[`` / ``##vso[``.
_COMMAND_START = compiled(r"^([ \t]*)(::|##(?:vso)?\[)")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:
        code -= 0xDC00  # a byte of a file name that was not UTF-8: shown as that byte
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def os_text(name: str) -> str:
    """A file name (or an argument) as text any report can hold: the bytes that were not
    UTF-8, which Python keeps as lone surrogates (PEP 383) and no encoder writes, become
    ``\\xNN``. A name that is valid UTF-8 is returned as it is."""
    if not _SURROGATE.search(name):
        return name
    return _SURROGATE.sub(_escape, name)


def safe(text: str | None, limit: int = 400, keep_newlines: bool = False) -> str:
    """One visible line: control characters (newline and tab too) escaped, long text cut.

    ``keep_newlines``: for a format that encodes newlines itself (``github``'s ``%0A``)."""
    if text is None:
        return ""
    text = str(text)
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text) - limit} more characters)"
    if _UNSAFE.search(text):
        pattern = _UNSAFE_BUT_NEWLINE if keep_newlines else _UNSAFE
        text = pattern.sub(_escape, text)
    return text


def neutralise_line(line: str) -> str:
    """The line with a leading ``::`` / ``##[`` made inert (its first character escaped)."""
    match = _COMMAND_START.match(line)
    if match is None:
        return line
    start = match.end(1)
    return line[:start] + f"\\x{ord(line[start]):02x}" + line[start + 1:]


class GuardedStream:
    """A text stream whose every line is passed through ``neutralise_line``.

    Lines are checked where they start, even when one line is written in several calls."""

    def __init__(self, stream):
        self._stream = stream
        self._at_line_start = True
        self._pending = ""  # the start of a line, until it can be told apart from "::"

    @property
    def unguarded(self):
        """The stream itself, for a format whose lines are CI commands by design."""
        return self._stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # a text stream (click tells text from binary so)
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not text:
            return 0
        out = []
        for piece in text.splitlines(keepends=True):
            line = piece
            if self._at_line_start or self._pending:
                head = self._pending + piece
                stripped = head.lstrip(" \t")
                ended = head.endswith(("\n", "\r"))
                if not ended and len(stripped) < 6 and ("##vso[".startswith(stripped)
                                                       or "::".startswith(stripped)
                                                       or "##[".startswith(stripped)):
                    self._pending = head  # too short to tell yet
                    self._at_line_start = False
                    continue
                self._pending = ""
                line = neutralise_line(head)
            out.append(line)
            self._at_line_start = line.endswith(("\n", "\r"))
        if out:
            self._stream.write("".join(out))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(neutralise_line(self._pending))
            self._pending = ""
        self._stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def xml_text(text: str | None, limit: int = 4000) -> str:
    """Text for an XML 1.0 document (attribute or element): only characters XML allows."""
    text = safe(text, limit)
    return _NOT_XML.sub(_escape, text) if _NOT_XML.search(text) else text


def xml_block(text: str | None, limit: int = 4000) -> str:
    """Several lines for an XML element: each line ``xml_text``, newlines kept."""
    if text is None:
        return ""
    return "\n".join(xml_text(line, limit) for line in str(text).split("\n"))


def finite(value):
    """A JSON-ready value with NaN and infinities replaced by None (null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value
