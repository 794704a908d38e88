"""The text report's device table without importing tabulate when it can.

tabulate (0.10) reads its own package metadata when imported (``importlib.metadata``):
about 20 ms of CPU, an eighth of analysing a boot log, for one table of plain strings.
``plain_table`` lays such a table out exactly as ``tabulate(rows, headers,
tablefmt="plain")`` does, and hands every table it cannot vouch for to tabulate itself:
a cell tabulate would read as a number, a boolean or nothing (it aligns those
differently), white space it would strip, a line break, an escape sequence (colour), or
a non-ASCII character when ``wcwidth`` is installed (tabulate then measures widths with
it). ``tests/test_plain_table.py`` compares the two on every sample's table and on
generated ones.
"""

from __future__ import annotations

from importlib.util import find_spec

from virtiodiag.cachefiles import compiled

MIN_PADDING = 2  # tabulate.MIN_PADDING: a header's width plus this is its column's minimum

# tabulate's "could be a number" tests: float(), and its thousands-separator pattern
_THOUSANDS = compiled(r"^(([+-]?[0-9]{1,3})(?:,([0-9]{3}))*)?(?(1)\.[0-9]*|\.[0-9]+)?$")
_PLAIN_ASCII = compiled(r"[ -~]*")
_WIDE_CHARS: bool | None = None  # whether tabulate would measure widths with wcwidth


def _wcwidth_installed() -> bool:
    global _WIDE_CHARS
    if _WIDE_CHARS is None:
        _WIDE_CHARS = find_spec("wcwidth") is not None
    return _WIDE_CHARS


def _plain_cell(cell: object) -> bool:
    """Whether tabulate treats ``cell`` as a left-aligned string measured by ``len``."""
    if not isinstance(cell, str) or not cell or cell != cell.strip():
        return False
    if cell in ("True", "False") or _THOUSANDS.match(cell):
        return False
    try:
        float(cell)
        return False
    except ValueError:
        pass
    if _PLAIN_ASCII.fullmatch(cell):
        return True
    # Non-ASCII: tabulate counts code points (len) unless wcwidth is installed.
    return cell.isprintable() and not _wcwidth_installed()


def plain_table(rows: list[list[str]], headers: list[str]) -> str:
    """``tabulate(rows, headers=headers, tablefmt="plain")``, the same string."""
    width = len(headers)
    simple = (rows and all(len(row) == width for row in rows)
              and all(_plain_cell(cell) for row in rows for cell in row)
              and all(header == "" or (_PLAIN_ASCII.fullmatch(header) is not None
                                       and header == header.strip()) for header in headers))
    if not simple:
        from tabulate import tabulate

        return tabulate(rows, headers=headers, tablefmt="plain")
    widths = [max(len(header) + MIN_PADDING, *(len(row[i]) for row in rows))
              for i, header in enumerate(headers)]
    lines = ["  ".join(text.ljust(w) for text, w in zip(line, widths, strict=True)).rstrip()
             for line in [headers, *rows]]
    return "\n".join(lines)
