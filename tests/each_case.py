"""One test for a group of near-identical cases (the lines of one grammar's samples, the
rows of one dialect's format table, the logs of one sample folder): every case is still
checked, and a failure names each case that failed and why, as one test per case did.

A test costs pytest and pytest-xdist ~3 ms of CPU of its own (collection, set-up, the
report sent to the controller), more than the check of one such case: a suite of ~5,000
tests paid ~15 s for it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest


def check_each(cases: Iterable[tuple[str, tuple]], check: Callable[..., object]) -> None:
    """``check(*args)`` for every ``(name, args)`` of ``cases``, whatever the others give;
    fails once, with every case whose check failed, its name and its assertion's message.
    Any other exception ends the test at once, the case it came from noted on it."""
    cases = list(cases)
    assert cases, "no case to check"
    failed = []
    for name, args in cases:
        try:
            check(*args)
        except AssertionError as exc:
            failed.append(f"{name}: {exc}")
        except Exception as exc:
            exc.add_note(f"(checking {name})")
            raise
    assert not failed, f"{len(failed)} of {len(cases)} cases failed:\n" + "\n".join(failed)


def grouped(cases: Iterable, key: Callable[[Any], str], at_most: int | None = None) -> list:
    """``pytest.param``s, one for each value of ``key`` (in order of first appearance),
    each holding the list of its cases; the value is the test's id. A group of more than
    ``at_most`` cases is cut into parts of ``at_most`` (ids ``VALUE-1``, ``VALUE-2``...),
    so that no test of a few cheap checks becomes a long one."""
    groups: dict[str, list] = {}
    for case in cases:
        groups.setdefault(key(case), []).append(case)
    params = []
    for name, members in groups.items():
        size = at_most or len(members)
        parts = [members[start:start + size] for start in range(0, len(members), size)]
        params.extend(pytest.param(part, id=name if len(parts) == 1 else f"{name}-{number}")
                      for number, part in enumerate(parts, 1))
    return params


def by_folder(paths: Iterable[Path], at_most: int = 10) -> list:
    """Log files as test parameters: a group for each folder (grouped)."""
    return grouped(paths, key=lambda path: path.parent.name, at_most=at_most)


def log_name(path: Path) -> str:
    """A log's name in a failure: its folder and file name."""
    return f"{path.parent.name}/{path.name}"
