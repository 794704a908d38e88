"""``--format json``: the whole report as one versioned JSON document."""

from __future__ import annotations

import json

from virtiodiag.options import ReportOptions
from virtiodiag.reports.escape import finite
from virtiodiag.reports.model_dict import LazyItems, Streamed, report_dict

# json's C encoder (used only without indent) is an order of magnitude faster on reports
# with many timelines; one line. Pipe through `jq .` to read it.
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def _dumps(value) -> str:
    try:
        return _encode(value)
    except ValueError:  # a NaN or infinity: JSON has none (see escape.finite)
        return _encode(finite(value))


def render(results, stream, options: ReportOptions) -> None:
    write_json(stream, report_dict(results, options, lazy=True))
    stream.write("\n")


class _Pieces:
    """Pieces of the document gathered into writes of about 64 KiB: the report stream
    (reports/escape.GuardedStream for a file) checks each write for CI commands, and a
    long log's report is tens of thousands of pieces."""

    LIMIT = 1 << 16

    def __init__(self, stream):
        self.stream = stream
        self.pieces: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.pieces.append(text)
        self.size += len(text)
        if self.size >= self.LIMIT:
            self.flush()

    def flush(self) -> None:
        if self.pieces:
            self.stream.write("".join(self.pieces))
            self.pieces.clear()
            self.size = 0


def write_json(stream, value) -> None:
    """Write ``value`` as ``json.dumps(value, separators=(",", ":"))`` would, except that
    timelines (LazyItems) are made and encoded one entry at a time: the largest part of
    the report never exists in memory whole."""
    pieces = _Pieces(stream)
    _write(pieces, value)
    pieces.flush()


def _write(stream: _Pieces, value) -> None:
    if isinstance(value, Streamed):
        stream.write("{")
        for index, (key, item) in enumerate(value.items()):
            stream.write(("," if index else "") + _dumps(str(key)) + ":")
            _write(stream, item)
        stream.write("}")
    elif isinstance(value, LazyItems) or (
            isinstance(value, list) and any(isinstance(v, Streamed) for v in value)):
        stream.write("[")
        for index, item in enumerate(value):
            if index:
                stream.write(",")
            _write(stream, item)
        stream.write("]")
    else:
        stream.write(_dumps(value))
