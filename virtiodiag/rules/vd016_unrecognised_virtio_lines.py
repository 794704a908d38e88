"""unrecognised-virtio-lines: lines mention virtio but no grammar understood them.

**What it detects.** Log lines containing the word virtio that matched no dialect's
grammar. One informational finding per run with the count and the first line; the text
report lists them with ``--verbose``.

**Bad**::

    [    3.806094] virtio_foo virtio3: some message no grammar knows

**Good**::

    (every virtio line matched a grammar)

**Why it matters.** A line nobody understood may be the one that explains the failure:
the other findings are only as complete as the grammars. Many such lines usually mean a
log format (an RTOS, a firmware) virtiodiag does not know yet.

**How to fix.** Run with ``--verbose`` to see them; teach virtiodiag the format with a
grammar (``--grammar FILE.lark`` or ``grammars = [...]`` in the configuration), or ignore
this rule (``ignore = ["VD016"]``) if the lines do not matter.
"""

from virtiodiag.rules._common import synthetic_event
from virtiodiag.rules.base import Hit

CODE = "VD016"
NAME = "unrecognised-virtio-lines"
SEVERITY = "info"
SUMMARY = "Lines mention virtio but matched no grammar"
SPEC = ""
OPTIONS = {}
LIVE_EVENTS = set()


def check(ctx):
    model = ctx.model
    if not ctx.final or not model.unrecognised:
        return
    first = model.unrecognised_samples[0] if model.unrecognised_samples else None
    event = synthetic_event(model.path, first[0], first[1]) if first else None
    where = f", first at line {first[0]}" if first else ""
    yield Hit(None, event,
              f"{model.unrecognised} line(s) mention virtio but matched no grammar{where}",
              "run with --verbose to list them; add a grammar (--grammar) for that format",
              key="unrecognised")
