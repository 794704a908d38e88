"""unrecognised-virtio-lines: virtio driver or device messages no grammar understood.

**What it detects.** Log lines shaped like a virtio driver's or device's own message (the
line's subject is a virtio driver or device: ``virtio_net virtio0: ...``,
``virtio-pci 0000:00:03.0: ...``, ``vtnet0: ...``, ``vioif0 at virtio0: ...``, a QEMU
``virtio_*`` trace event; the model decides, from sources/looking.py) that matched no
dialect's grammar. One informational finding per run with the count and the first such
line. Lines that only mention virtio (a kernel command line, a module path, a script's
echo, a sysfs dump) are counted in the summary line, not reported; ``--verbose`` lists
every line not understood.

**Bad**::

    [    3.806094] virtio_foo virtio3: some message no grammar knows

**Good**::

    (every virtio driver message matched a grammar; other lines may mention virtio)
    virtiodiag-init: insmod /lib/modules/6.1.0-56-amd64/kernel/drivers/net/virtio_net.ko

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
SUMMARY = "Virtio driver or device messages matched no grammar"
SPEC = ""
OPTIONS: dict[str, object] = {}
LIVE_EVENTS: set[str] = set()


def check(ctx):
    model = ctx.model
    if not ctx.final or not model.unrecognised_messages:
        return
    first = model.first_unrecognised_message
    event = synthetic_event(model.path, first[0], first[1]) if first else None
    where = f", first at line {first[0]}" if first else ""
    yield Hit(None, event,
              f"{model.unrecognised_messages} line(s) look like virtio driver or device "
              f"messages but matched no grammar{where}",
              "run with --verbose to list them; add a grammar (--grammar) for that format",
              key="unrecognised")
