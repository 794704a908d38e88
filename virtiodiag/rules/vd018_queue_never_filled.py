"""queue-never-filled: a receive queue QEMU holds set up but empty after DRIVER_OK.

**What it detects.** With ``virtiodiag run``, QEMU's view over QMP: a network device at
DRIVER_OK whose receive queue (queue 0, 2, 4 …) has its ring addresses set but to which
the guest never made a buffer available: the avail ring's idx, read from guest memory
when QEMU is asked, is still 0.

**Bad**::

    # QEMU: status 0x0f; queue 0 size 256, ring set, guest avail idx 0
    virtio_set_status vdev 0x55aa val 15
    <no receive buffer ever given>

**Good**::

    # queue 0: guest avail idx 256: the driver filled the ring
    virtio_set_status vdev 0x55aa val 15

**Why it matters.** A network device can deliver a packet only into a buffer the driver
made available (spec 5.1.6.3): with an empty receive queue nothing is ever received,
which looks like a dead link. Linux fills the queue when the interface is opened, so
an interface never brought up shows this too: hence only information.

**How to fix.** Fill the receive queue (and notify the device) once DRIVER_OK is set, or
bring the interface up; check the avail index is written after the descriptors.
"""

from virtiodiag import spec
from virtiodiag.rules.base import Hit
from virtiodiag.rules._common import qemu_pairs

CODE = "VD018"
NAME = "queue-never-filled"
SEVERITY = "info"
SUMMARY = "A network receive queue is set up but the guest never gave it a buffer (QMP)"
SPEC = "5.1.6.3"
OPTIONS: dict[str, object] = {}
LIVE_EVENTS: set[str] = set()


def check(ctx):
    for qemu, device in qemu_pairs(ctx):
        if qemu.device_type != "net" or not qemu.status & spec.DRIVER_OK or device is None:
            continue
        # Receive queues are the even ones; with an odd count the last is the control queue.
        receive = [q for q in qemu.queues[:len(qemu.queues) - len(qemu.queues) % 2]
                   if q.index % 2 == 0]
        # Only where the guest's own avail idx was read: QEMU's indices stay 0 on a NIC
        # without a peer even when the ring is full.
        empty = [q for q in receive if q.configured and q.avail_idx == 0]
        if not empty:
            continue
        names = ", ".join(f"queue {q.index} (size {q.size})" for q in empty)
        yield Hit(device, device.driver_ok_event,
                  f"{device.id}: QEMU holds its receive {names} set up but never given a "
                  f"buffer (the guest's avail idx is 0) at the {ctx.model.run.qemu_view.when}",
                  "fill the receive queue after DRIVER_OK (Linux does it when the "
                  "interface is brought up)", key="rx-empty")
