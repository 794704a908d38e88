"""docs/format-coverage.md is the table of every Linux and QEMU virtio print virtiodiag
reads: each row's example line (written from the row's format string) must be read, with
its prefixes removed as analyze does, by the row's dialect as exactly the row's event.
The table is the test's data, so the documentation cannot drift from what the tool does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import shared_dialects
from each_case import check_each, grouped
from virtiodiag.dialects.samples import expectation_mismatch
from virtiodiag.sources.framing import clean, split_records

DOC = Path(__file__).resolve().parent.parent / "docs" / "format-coverage.md"
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_CODE = re.compile(r"^`(.*)`$")


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:-1]
    return [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(inner)]


def _rows() -> list[tuple[int, str, str, str, str]]:
    """(line number, format string, example line, dialect, expected event) per row."""
    rows = []
    for number, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1):
        if not line.startswith("| ") or line.startswith("| Source |"):
            continue
        cells = _cells(line)
        assert len(cells) == 6, f"format-coverage.md:{number}: expected 6 cells, got {cells}"
        code = [_CODE.match(c) for c in (cells[2], cells[3], cells[5])]
        assert all(code), f"format-coverage.md:{number}: format, line and event go in `code`"
        fmt, example, event = (m.group(1) for m in code if m is not None)
        rows.append((number, fmt, example, cells[4], event))
    return rows


ROWS = _rows()


@pytest.mark.parametrize("rows", grouped(ROWS, key=lambda row: row[3]))
def test_example_line_is_read_as_the_listed_event(rows):
    """One test a dialect, naming each row that fails (each_case)."""
    check_each(((f"format-coverage.md:{row[0]}", row) for row in rows), _check_row)


def _check_row(number, fmt, example, dialect, event):
    records = split_records(clean(example.encode("utf-8")))
    assert len(records) == 1, f"the line was framed as {len(records)} records: {records}"
    payload = shared_dialects().parse(records[0].text)
    assert payload is not None, f"no dialect reads {example!r} ({fmt})"
    assert payload.dialect == dialect, f"{example!r} was read by {payload.dialect}"
    mismatch = expectation_mismatch(payload, event)
    assert mismatch is None, f"{example!r}: {mismatch}"


def test_every_example_line_is_distinct():
    lines = [r[2] for r in ROWS]
    assert len(lines) == len(set(lines))
