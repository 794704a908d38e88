"""Call traces whose report's first line the log does not hold, read at the end of a run.

model/crashes.py keeps the frames that come with no report open (a paste or a journal
excerpt cut above its first line: none yet, or the last report's "---[ end trace ]---"
came) as stacks of their own. What happened is not said by them; this module owns the one
reading they allow: a stack that starts in the scheduler (kernel/sched/core.c __schedule(),
schedule(), io_schedule(), kernel/time/timer.c schedule_timeout(), the arch's __switch_to:
the hung-task detector's and sysrq's dumps of a blocked task begin there) is a task asleep,
and asleep in the virtio driver's function it holds (virtio_gpu_queue_ctrl_sgs waiting for
room in the ring): a stuck task's stack, that driver's, for the run (the frames name no
device). A stack that starts anywhere else is a fault or a dump whose kind was cut away:
unread.
"""

from __future__ import annotations

from virtiodiag.model.crashes import driver_of, in_probe
from virtiodiag.model.device import Model
from virtiodiag.model.records import ASLEEP, Crash

_SLEEP_ENTRY = ("__switch_to", "__schedule", "schedule", "io_schedule", "context_switch")


def attribute_headless_stacks(model: Model) -> None:
    """Each cut stack asleep in a virtio driver, as that driver's crash of the run (its
    own function first, else the core's)."""
    for first, frames in model.headless_stacks:
        functions = [frame for frame in frames if frame.get("function")]
        if not functions or not str(functions[0].get("function")).startswith(_SLEEP_ENTRY):
            continue
        virtio = [(frame, kind) for frame in frames for ok, kind in [driver_of(frame)] if ok]
        if not virtio:
            continue
        frame, kind = next(((f, k) for f, k in virtio if k), virtio[0])
        model.unattributed_crashes.append(Crash(first, frame, kind, in_probe(frames),
                                                what=ASLEEP))
