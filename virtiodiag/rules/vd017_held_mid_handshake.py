"""held-mid-handshake: QEMU holds a device mid-handshake while the guest's log is silent.

**What it detects.** With ``virtiodiag run``, QEMU is asked over QMP for each virtio
device's status when the run stalls, times out, is stopped by ``--until`` or ends. A
device that QEMU holds with DRIVER set but neither DRIVER_OK nor FAILED, paired with a
device of the log, is one the driver left mid-handshake: the message gives the step QEMU
holds it at, the log's last status line for it (where the guest went silent), and the
state of its queues in QEMU (set up or not, buffers made available or not).

**Bad**::

    # QEMU, at the stall: status 0x0b, no queue has a ring address
    virtio_set_status vdev 0x55aa val 1
    virtio_set_status vdev 0x55aa val 3
    virtio_set_status vdev 0x55aa val 11
    <the guest prints nothing more>

**Good**::

    # QEMU: status 0x0f
    virtio_set_status vdev 0x55aa val 11
    virtio_set_status vdev 0x55aa val 15

**Why it matters.** The log alone cannot tell a driver that hung from a log that was cut
off or a device that never answered: QEMU's own state says where the device really is,
and its queue indices say whether the driver got as far as the queues (spec 3.1.1).

**How to fix.** Look at what the driver does after the step QEMU holds: after
FEATURES_OK, queue discovery and set-up (queue_select, queue_size, ring addresses,
queue_enable); a driver waiting there on an interrupt or a register that never changes
is the usual cause.
"""

from virtiodiag import spec
from virtiodiag.rules.base import Hit
from virtiodiag.rules._common import qemu_pairs

CODE = "VD017"
NAME = "held-mid-handshake"
SEVERITY = "error"
SUMMARY = "QEMU holds a device mid-handshake (QMP) while the guest's log is silent"
SPEC = "3.1.1"
OPTIONS: dict[str, object] = {}
LIVE_EVENTS: set[str] = set()


def check(ctx):
    for qemu, device in qemu_pairs(ctx):
        status = qemu.status
        if device is None or not status & spec.DRIVER or status & (spec.DRIVER_OK | spec.FAILED):
            continue
        step = next((name for bit, name in reversed(spec.HANDSHAKE_STEPS) if status & bit),
                    "ACKNOWLEDGE")
        configured = [q for q in qemu.queues if q.configured]
        queues = (f"no queue of {len(qemu.queues)} set up" if not configured else
                  f"{len(configured)}/{len(qemu.queues)} queue(s) set up, "
                  f"{sum(1 for q in configured if q.filled)} given buffers")
        last = device.last_progress
        silent = (f"the log's last status change for it is line {last.line}" if last else
                  "the log shows no status change for it")
        yield Hit(device, last,
                  f"{device.id}: QEMU holds it at {step} (status 0x{status:02x} "
                  f"{spec.status_names(status)}) at the {ctx.model.run.qemu_view.when}; {silent}; {queues}",
                  f"the driver stopped after {step}: look at the step that follows it "
                  "(queue set-up after FEATURES_OK, DRIVER_OK after the queues)",
                  key=f"held-{status:02x}")
