"""Logs that are not plain UTF-8 text with LF or CRLF line ends, told by their first bytes.

* UTF-16 and UTF-32 with a byte order mark (what Windows PowerShell's ``>`` and
  ``Out-File`` write, and Notepad's "Unicode"): read as the text they hold. They were read
  as binary data (a NUL byte in every other byte), with no device found and exit 0. So is
  UTF-16 without the mark, told by the NUL byte beside each ASCII character
  (``utf16_without_mark``). The report says what the input was decoded from.
* xz and bzip2 compression (Python's own lzma and bz2, streamed like gzip, which the
  reader recognises itself); zstd, which Python 3.11 cannot read, is an input error that
  says how to decompress it. They were read as binary junk: a bzip2 log passed with
  "no virtio device found".
* Carriage returns alone as line ends (a serial capture with no LF, an old Mac file): each
  is a line end. They were one line, every line but the last dropped as "redrawn".
* cloud-hypervisor's ``--event-monitor`` file: each event is a JSON object that
  serde_json's ``to_string_pretty`` spreads over lines (event_monitor/src/lib.rs
  event_log(): ``{"timestamp": {"secs", "nanos"}, "source", "event", "properties"}``, two
  spaces per level), told by its first object's first lines. Each object is read as one
  line, its lines' leading spaces dropped, followed by as many empty lines as it had
  more (every later line keeps its number): grammars/cloud_hypervisor.lark reads it.

``recognise(head, raw)`` returns the stream to read instead of ``raw`` (or ``raw``), from
``head``, the first bytes of the input that have arrived (``raw`` still yields them).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable


class Unsupported(Exception):
    """A format virtiodiag cannot read; the message says what to do (an input error)."""

XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# UTF-32 first: its little-endian mark begins with UTF-16's.
# (mark, codec, the byte order it says, as the report names it)
BYTE_ORDER_MARKS = ((b"\xff\xfe\x00\x00", "utf-32", "UTF-32-LE"),
                    (b"\x00\x00\xfe\xff", "utf-32", "UTF-32-BE"),
                    (b"\xff\xfe", "utf-16", "UTF-16-LE"), (b"\xfe\xff", "utf-16", "UTF-16-BE"))


def recognise(head: bytes, raw):
    if head.startswith(XZ_MAGIC):
        import lzma

        return lzma.LZMAFile(raw)
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[3:4] != b"0":
        import bz2

        return bz2.BZ2File(raw)
    if head.startswith(ZSTD_MAGIC):
        raise Unsupported("zstd-compressed (virtiodiag reads plain, gzip, xz and bzip2 "
                         "logs): decompress it first, e.g. zstd -dc FILE | virtiodiag "
                         "analyze -")
    for mark, encoding, shown in BYTE_ORDER_MARKS:
        if head.startswith(mark):
            return Recoded(raw, _transcoder(encoding),
                           f"{shown} with a byte order mark, read as its text")
    unmarked = utf16_without_mark(head)
    if unmarked is not None:
        return Recoded(raw, _transcoder(unmarked),
                       f"{unmarked.upper()} without a byte order mark (a NUL byte "
                       f"{'after' if unmarked.endswith('le') else 'before'} each "
                       "character), read as its text")
    if _carriage_returns_end_lines(head):
        return Recoded(raw, _line_ends())
    if head.startswith(EVENT_MONITOR_HEAD):
        return Recoded(raw, _objects_joined(), "cloud-hypervisor's --event-monitor output "
                       "(each pretty-printed JSON event read as one line)")
    return raw


# How much of the start of the input tells UTF-16 without a byte order mark, and how
# much of it must look so: no text log has a NUL in nine bytes of ten, nor binary data
# printable ASCII in every other byte with a NUL between.
UTF16_SAMPLE = 4096
UTF16_MIN_BYTES = 16
UTF16_SHARE = 0.9


def utf16_without_mark(head: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` for UTF-16 text with no byte order mark (a Windows
    serial program's or terminal's capture saved as "Unicode", PowerShell's
    ``Out-File -Encoding unicode`` without its mark, a capture cut from a longer one):
    mostly ASCII, so every other byte is NUL (after each character in little-endian order,
    before it in big-endian). Told from binary data by the other bytes: printable ASCII,
    tab, ESC or line ends. None otherwise."""
    sample = head[:min(len(head), UTF16_SAMPLE) // 2 * 2]
    if len(sample) < UTF16_MIN_BYTES:
        return None
    even, odd = sample[0::2], sample[1::2]
    for text, zeros, encoding in ((even, odd, "utf-16-le"), (odd, even, "utf-16-be")):
        if (zeros.count(0) >= UTF16_SHARE * len(zeros)
                and sum(1 for byte in text if 0x20 <= byte < 0x7F or byte in b"\t\n\r\x1b")
                >= UTF16_SHARE * len(text)):
            return encoding
    return None


# serde_json::to_string_pretty of event_monitor's Event: its first field, a Duration.
EVENT_MONITOR_HEAD = b'{\n  "timestamp": {\n    "secs": '
OBJECT_LINES_LIMIT = 256  # lines joined into one at most (an event has about a dozen)


def _objects_joined() -> Callable[[bytes, bool], bytes]:
    """Each top-level object ("{" to "}" alone on their lines) as one line, its lines'
    leading spaces dropped, then one empty line per line joined into it; any other line
    as it is. An object longer than OBJECT_LINES_LIMIT lines, or cut by the end of the
    input, goes on as its lines were (nothing read is dropped)."""
    state: dict = {"carry": b"", "parts": None}

    def convert(data: bytes, final: bool) -> bytes:
        data = state["carry"] + data
        lines = data.split(b"\n")
        state["carry"] = lines.pop()  # the unfinished last line (b"" after a line end)
        out = []
        for line in lines:
            parts = state["parts"]
            if parts is None:
                if line.rstrip(b"\r") == b"{":
                    state["parts"] = [line]
                else:
                    out.append(line + b"\n")
                continue
            parts.append(line)
            if line.rstrip(b"\r") == b"}":
                joined = b"".join(part.strip() for part in parts)
                out.append(joined + b"\n" * len(parts))
                state["parts"] = None
            elif len(parts) >= OBJECT_LINES_LIMIT:
                out.extend(part + b"\n" for part in parts)
                state["parts"] = None
        if final:
            for part in state["parts"] or ():
                out.append(part + b"\n")
            out.append(state["carry"])
            state["parts"], state["carry"] = None, b""
        return b"".join(out)
    return convert


def _carriage_returns_end_lines(head: bytes) -> bool:
    """Lines ended by CR alone: carriage returns, none followed by LF, and no LF at all
    (a CRLF or LF log has an LF by its second line end; one CR is a redraw or a CRLF
    whose LF has not arrived yet)."""
    return b"\n" not in head and head.count(b"\r") >= 2


def _transcoder(encoding: str) -> Callable[[bytes, bool], bytes]:
    """UTF-16/32 (its byte order from the mark, which is dropped) to UTF-8; a sequence
    that is not valid becomes U+FFFD (counted as an invalid line, as for UTF-8)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")

    def transcode(data: bytes, final: bool) -> bytes:
        return decoder.decode(data, final).encode("utf-8")
    return transcode


def _line_ends() -> Callable[[bytes, bool], bytes]:
    """CR, and CRLF, to LF; a CR at the end of a block is a line end at once (the line is
    not held back on a live stream), and an LF right after it in the next block is its
    own CRLF's."""
    state = {"after_cr": False}

    def convert(data: bytes, final: bool) -> bytes:
        if state["after_cr"] and data[:1] == b"\n":
            data = data[1:]
        state["after_cr"] = data[-1:] == b"\r"
        return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return convert


class Recoded:
    """``raw`` read through ``convert(data, final)``: each read returns what the next
    input read gave once converted (nothing is held beyond the converter's own state)."""

    def __init__(self, raw, convert: Callable[[bytes, bool], bytes],
                 encoding: str | None = None):
        self.raw = raw
        self.convert = convert
        self.ended = False
        # What the input was decoded from, for the report (None: its line ends only).
        self.encoding = encoding

    def read(self, size: int = -1) -> bytes:
        while not self.ended:
            data = self.raw.read(size)
            if not data:
                self.ended = True
                return self.convert(b"", True)
            out = self.convert(data, False)
            if out:
                return out
        return b""

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()
