"""Hyperscan's search for the scanner's triggers in a large block (sources/scanner.py).

Hyperscan (the ``hyperscan`` package: Intel's Hyperscan, or Vectorscan, bundled in its
wheels) finds many literals at once with a SIMD matcher (FDR/Teddy). Over the bar's sparse
log, the ~300 minimal triggers, it reads a block about twice as fast as RE2's DFA, which
walked about 16 instructions a byte, and one scan a block reports every match, where RE2
was called once a candidate line (about 5.6 K instructions a call in its binding).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache


def compile_block_ends(
        triggers: tuple[bytes, ...]) -> Callable[[bytes, int], list[int]] | None:
    """``ends(chunk, size)``: the end offset of every occurrence of every trigger in
    ``chunk[:size]``, in order, by Hyperscan when the ``hyperscan`` package is installed
    (a declared dependency where it has wheels; RE2, then bytes.find, stay for the
    others, and VIRTIODIAG_NO_HYPERSCAN turns it off), a new one for each scanner.

    The database is compiled once a process; the scratch space is this scanner's (a
    scan releases the GIL: two threads' scanners must not share one)."""
    compiled = _database(triggers)
    if compiled is None:
        return None
    hyperscan, database = compiled
    try:
        scratch = hyperscan.Scratch(database)
    except Exception:  # noqa: BLE001 - no memory for it: RE2's search instead
        return None
    scan = database.scan

    def block_ends(chunk: bytes, size: int) -> list[int]:
        ends: list[int] = []
        found = ends.append
        # The callback gets (id, from, to, flags, context) for each match, a Python call
        # a match (258,177 on the bar's file, about 1.2 a candidate line): the least it
        # can do is keep `to`. Returning None lets the scan go on.
        scan(chunk if size == len(chunk) else memoryview(chunk)[:size],
             lambda ident, start, end, flags, context: found(end), 0, None, scratch)
        ends.sort()  # (they come in order of end already: sorting a sorted list is cheap)
        return ends
    return block_ends


@lru_cache(maxsize=4)
def _database(triggers: tuple[bytes, ...]) -> tuple | None:
    """(the hyperscan module, the triggers' database), or None: not installed, turned
    off, or triggers it cannot take as they are."""
    if os.environ.get("VIRTIODIAG_NO_HYPERSCAN"):
        return None
    # The binding hands each literal over as a C string (its length by strlen: a NUL
    # would cut it), and a trigger spanning lines has no line of its own: such a set (no
    # grammar's) keeps RE2's search.
    if any(b"\0" in word or b"\n" in word for word in triggers):
        return None
    try:
        import hyperscan
    except ImportError:
        return None
    try:
        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        # Literal mode: the triggers as bytes, nothing to escape (about 7 ms for 300).
        database.compile(expressions=list(triggers), literal=True)
        # The binding's layout checked on a probe: a trigger's end after a newline.
        probe = b"x\n" + triggers[-1] + b"\n"
        ends: list[int] = []
        database.scan(probe, lambda *match: ends.append(match[2]), 0, None,
                      hyperscan.Scratch(database))
        if len(triggers[-1]) + 2 not in ends:
            return None
    except Exception:  # noqa: BLE001 - a binding laid out otherwise: RE2's search
        return None
    return hyperscan, database
