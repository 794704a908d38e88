"""The format tables under tests/fixtures/formats/ (one line per published format string:
the dialect, the event it must become, a line rendered from the format), and the one
check every row of every table gets."""

from pathlib import Path

from each_case import check_each, grouped
from virtiodiag.analysis import analyse_blocks

FOLDER = Path(__file__).resolve().parent / "fixtures" / "formats"


def rows(name: str) -> list[list[str]]:
    """The rows of ``fixtures/formats/<name>``, comments and blank lines left out."""
    text = (FOLDER / name).read_text(encoding="utf-8")
    return [line.split("\t", 2) for line in text.splitlines()
            if line and not line.startswith("#")]


def by_dialect(table: list[list[str]]) -> list:
    """The table's rows as one test parameter for each dialect (each_case.grouped): one
    test checks the rows of one dialect (assert_each_read_as)."""
    return grouped(table, key=lambda row: row[0])


def assert_read_as(dialects, dialect: str, event: str, line: str) -> None:
    """The line is read by ``dialect`` into ``event`` (``kind`` or ``kind[detail]``)."""
    payload = dialects.parse(line)
    assert payload is not None, f"no dialect reads {line!r}"
    detail = f"[{payload.detail}]" if payload.detail else ""
    read = (payload.dialect, f"{payload.kind}{detail}")
    assert read == (dialect, event), f"read as {read}, not {(dialect, event)}"


def assert_each_read_as(dialects, rows: list[list[str]]) -> None:
    """assert_read_as for every row; a failure names each row that failed."""
    check_each(((line[:60], (dialects, dialect, event, line)) for dialect, event, line in rows),
               assert_read_as)


def analyse_text(name: str, text: str, dialects):
    """The analysis of ``text`` as one log named ``name`` (the host-log tests' input)."""
    return analyse_blocks(name, [text.encode()], dialects)


def analysed_findings(text: str, dialects, name: str = "console.log") -> tuple:
    """``analyse_text`` and its findings as (rule, severity) pairs, in order."""
    result = analyse_text(name, text, dialects)
    return result, [(f.rule, f.severity) for f in result.findings]


def errors(result) -> list:
    """The findings of ``result`` at error severity."""
    return [f for f in result.findings if f.severity == "error"]
