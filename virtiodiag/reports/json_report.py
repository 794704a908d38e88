"""``--format json``: the whole report as one versioned JSON document."""

from __future__ import annotations

import json
from itertools import islice

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
    timelines (LazyItems) are made and encoded a few entries at a time (BATCH): the largest
    part of the report never exists in memory whole."""
    pieces = _Pieces(stream)
    _write(pieces, value)
    pieces.flush()


BATCH = 128  # plain items (or keys) handed to the C encoder in one call


def _walked(value) -> bool:
    """Must the writer walk into ``value`` (it holds a LazyItems)?"""
    return isinstance(value, (Streamed, LazyItems)) or (
        isinstance(value, list) and any(isinstance(v, Streamed) for v in value))


def _write(stream: _Pieces, value) -> None:
    """Plain parts (the entries of a timeline, most keys of a device) are encoded in runs
    of up to BATCH by one call of the encoder, brackets taken off: the compact encoding of
    a list or a dict is its items' encodings joined by commas, so the document is the same
    as item by item, made by a few hundred encoder calls instead of tens of thousands."""
    if isinstance(value, Streamed):
        stream.write("{")
        comma = ""
        plain: dict[str, object] = {}
        for key, item in value.items():
            name = str(key)
            if not _walked(item) and name not in plain and len(plain) < BATCH:
                plain[name] = item
                continue
            if plain:
                stream.write(comma + _dumps(plain)[1:-1])
                comma, plain = ",", {}
            if _walked(item):
                stream.write(comma + _dumps(name) + ":")
                _write(stream, item)
                comma = ","
            else:
                plain[name] = item
        if plain:
            stream.write(comma + _dumps(plain)[1:-1])
        stream.write("}")
    elif isinstance(value, LazyItems) and value.plain:
        # Plain items only (a timeline): batches straight to the encoder, none looked into.
        stream.write("[")
        comma = ""
        items = iter(value)
        while run := list(islice(items, BATCH)):
            stream.write(comma + _dumps(run)[1:-1])
            comma = ","
        stream.write("]")
    elif _walked(value):
        stream.write("[")
        comma = ""
        batch: list = []
        for item in value:
            if not _walked(item) and len(batch) < BATCH:
                batch.append(item)
                continue
            if batch:
                stream.write(comma + _dumps(batch)[1:-1])
                comma, batch = ",", []
            if _walked(item):
                stream.write(comma)
                _write(stream, item)
                comma = ","
            else:
                batch.append(item)
        if batch:
            stream.write(comma + _dumps(batch)[1:-1])
        stream.write("]")
    else:
        stream.write(_dumps(value))
