"""run-without-devices: no virtio device appeared in a run while the other runs have some.

**What it detects.** Among several runs analysed together (a directory of runs, or
several files), a run in which no virtio device appears at all while other runs of the
same analysis do show devices. One error per such run. A single log with no virtio device
is not a finding (it may simply be another kind of log); next to runs that have devices,
it is a run that never got as far as probing them. The runner sets the rule's option
``other_runs_have_devices`` for such a run (it is false for a run analysed alone).

**Bad**::

    runs/run-01.log   3 devices, all reached DRIVER_OK
    runs/run-02.log   (the guest hung in early boot: no virtio line at all)

**Good**::

    (every run shows its devices)

**Why it matters.** Counted on its own, such a run has no finding and passes: 50 runs with
one early hang read as 50/50. The hang is exactly the intermittent failure repeated runs
are meant to catch.

**How to fix.** Read that run's log: the guest stopped before the virtio drivers probed
(early boot hang, panic, firmware), or the capture is incomplete (a serial console opened
late, a truncated file). Keep logs that are not runs out of the directory (``--glob``).
"""

from virtiodiag.rules._common import synthetic_event
from virtiodiag.rules.base import Hit

CODE = "VD023"
NAME = "run-without-devices"
SEVERITY = "error"
SUMMARY = "No virtio device appeared in a run while the other runs have devices"
SPEC = ""
# Set by the runner for a run analysed together with runs that have devices.
OPTIONS = {"other_runs_have_devices": False}
LIVE_EVENTS: set[str] = set()


def check(ctx):
    if not ctx.final or not ctx.options.get("other_runs_have_devices"):
        return
    model = ctx.model
    if model.live_devices():
        return
    end = synthetic_event(model.path, model.lines or 1, "(the end of this run's log)")
    yield Hit(None, end, "no virtio device appeared in this run, while the other runs of "
              "this analysis have devices",
              "read this run's log: the guest stopped before the virtio drivers probed, or "
              "the capture is incomplete", key="no-devices")
