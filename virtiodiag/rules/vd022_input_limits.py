"""input-limits: part of the input went beyond what one run keeps, or is not text.

**What it detects.** A run that went beyond one of virtiodiag's documented limits
(``virtiodiag/limits.py``, docs/hostile-input.md): lines longer than 64 KiB (only their
first 64 KiB are read), more than 1,024 devices, more than 1,024 queues or 64 names for
one device, more than 256 interrupt lines for one device; or input that holds binary
data (16 or more NUL bytes, at least one per 1,000 bytes), or fewer NUL bytes inside
lines (serial line noise: each is left out of its line's text, and counted here so that
nothing read is dropped unsaid). One informational finding per run, with each count.

**Bad**::

    [    1.000000] virtio_net virtio0: <a 1 MB line of one message>

**Good**::

    (every line under 64 KiB, a real machine's number of devices and queues)

**Why it matters.** These limits keep time linear in the input and memory flat whatever a
guest prints (a log is text anyone can influence). A real boot log stays far below each of
them, so a run that reaches one is damaged, hostile or not a boot log: the other findings
are about the part that was read.

**How to fix.** Look at the input: a runaway print loop, a binary file, a log of several
machines concatenated. Split a log that really holds more devices into one file per
machine; ignore this rule (``ignore = ["VD022"]``) if the cut lines do not matter.
"""

from virtiodiag import limits
from virtiodiag.limits import OVER_LIMIT_WORDS
from virtiodiag.rules._common import synthetic_event
from virtiodiag.rules.base import Hit

CODE = "VD022"
NAME = "input-limits"
SEVERITY = "info"
SUMMARY = "Part of the input went beyond a documented limit (long lines, devices) or is binary"
SPEC = ""
OPTIONS: dict[str, object] = {}
LIVE_EVENTS: set[str] = set()


def check(ctx):
    model = ctx.model
    over = limits.over(model)
    if not ctx.final or not over:
        return
    parts = [f"{count} {OVER_LIMIT_WORDS.get(what, what)}"
             for what, count in sorted(over.items())]
    first = over.first
    event = synthetic_event(model.path, first[0], first[1]) if first else None
    yield Hit(None, event, "input beyond virtiodiag's limits: " + "; ".join(parts),
              "see docs/hostile-input.md; the findings cover the part that was read",
              key="limits")
