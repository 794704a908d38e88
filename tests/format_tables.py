"""The format tables under tests/fixtures/formats/ (one line per published format string:
the dialect, the event it must become, a line rendered from the format), and the one
check every row of every table gets."""

from pathlib import Path

from virtiodiag.analysis import analyse_blocks

FOLDER = Path(__file__).resolve().parent / "fixtures" / "formats"


def rows(name: str) -> list[list[str]]:
    """The rows of ``fixtures/formats/<name>``, comments and blank lines left out."""
    text = (FOLDER / name).read_text(encoding="utf-8")
    return [line.split("\t", 2) for line in text.splitlines()
            if line and not line.startswith("#")]


def ids(table: list[list[str]]) -> list[str]:
    return [row[2][:60] for row in table]


def assert_read_as(dialects, dialect: str, event: str, line: str) -> None:
    """The line is read by ``dialect`` into ``event`` (``kind`` or ``kind[detail]``)."""
    payload = dialects.parse(line)
    assert payload is not None, f"no dialect reads {line!r}"
    detail = f"[{payload.detail}]" if payload.detail else ""
    assert (payload.dialect, f"{payload.kind}{detail}") == (dialect, event)


def analyse_text(name: str, text: str, dialects):
    """The analysis of ``text`` as one log named ``name`` (the host-log tests' input)."""
    return analyse_blocks(name, [text.encode()], dialects)


def errors(result) -> list:
    """The findings of ``result`` at error severity."""
    return [f for f in result.findings if f.severity == "error"]
