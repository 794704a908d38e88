"""One test for a group of near-identical cases (the lines of one grammar's samples, the
rows of one dialect's format table, the logs of one sample folder): every case is still
checked, and a failure names each case that failed and why, as one test per case did.

A test costs pytest and pytest-xdist ~3 ms of CPU of its own (collection, set-up, the
report sent to the controller), more than the check of one such case: a suite of ~5,000
tests paid ~15 s for it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest


def check_each(cases: Iterable[tuple[str, tuple]], check: Callable[..., object]) -> None:
    """``check(*args)`` for every ``(name, args)`` of ``cases``, whatever the others give;
    fails once, with every case whose check failed, its name and its assertion's message."""
    cases = list(cases)
    assert cases, "no case to check"
    failed = []
    for name, args in cases:
        try:
            check(*args)
        except AssertionError as exc:
            failed.append(f"{name}: {exc}")
    assert not failed, f"{len(failed)} of {len(cases)} cases failed:\n" + "\n".join(failed)


def grouped(cases: Iterable, key: Callable[[object], str]) -> list:
    """``pytest.param``s, one for each value of ``key`` (in order of first appearance),
    each holding the list of its cases; the value is the test's id."""
    groups: dict[str, list] = {}
    for case in cases:
        groups.setdefault(key(case), []).append(case)
    return [pytest.param(members, id=name) for name, members in groups.items()]
