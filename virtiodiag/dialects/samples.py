"""Checking a grammar's ``//@ sample:`` lines against the event they must produce."""

from __future__ import annotations

import re

from virtiodiag.dialects.registry import Dialect, Sample
from virtiodiag.dialects.transformer import convert
from virtiodiag.events import Payload, ValueOutOfRange

_EXPECT_HEAD = re.compile(r"^(\w+)(?:\[(\w+)\])?")


def check_sample(dialect: Dialect, sample: Sample) -> tuple[bool, Payload | None, str]:
    """(passed, payload, reason). The expectation is ``kind[detail] field=value ...``."""
    try:
        payload = dialect.parse(sample.line)
    except ValueOutOfRange as exc:
        return False, None, f"a value does not fit its field ({exc})"
    if payload is None:
        return False, None, dialect.explain(sample.line)
    if not sample.expect:
        return True, payload, "matched"
    mismatch = expectation_mismatch(payload, sample.expect)
    return (False, payload, mismatch) if mismatch else (True, payload, "matched")


def expectation_mismatch(payload: Payload, expect: str) -> str | None:
    """Why ``payload`` is not the event ``expect`` ("kind[detail] field=value ...") names,
    or None when it is. Field values are written as a log shows them (0x0b, -19, virtio0)."""
    head = _EXPECT_HEAD.match(expect)
    if not head:
        return f"cannot read expectation {expect!r}"
    kind, detail = head.group(1), head.group(2)
    if payload.kind != kind:
        return f"expected event {kind}, got {payload.kind}"
    if detail and payload.detail != detail:
        return f"expected detail {detail}, got {payload.detail}"
    for pair in expect[head.end():].split():
        name, _, text = pair.partition("=")
        try:
            _, want = convert(name, text)
        except ValueOutOfRange as exc:
            return f"field {name}: {exc}"
        got = payload.get(name)
        if isinstance(got, int) and isinstance(want, str):
            try:
                want = int(want, 0)  # a text field given as a number (an address)
            except ValueError:
                pass
        if got != want:
            return f"field {name}: expected {text}, got {got!r}"
    return None
