"""status-order: status bits written out of the order of spec 3.1.1, or cleared.

**What it detects.** Within one attempt (the writes after a reset), a status write that:
sets DRIVER without ACKNOWLEDGE; sets FEATURES_OK without DRIVER; sets DRIVER_OK without
DRIVER; sets DRIVER_OK without FEATURES_OK on a device driven through the modern
interface in that attempt (the legacy interface has no FEATURES_OK, spec 3.1.2, so legacy
attempts are exempt; a transitional device's interface is judged per attempt, since
firmware may drive it modern and the OS legacy after a reset); clears a bit an earlier
write (or read-back) had, other than by writing 0 (a reset); or follows a write with FAILED without a reset in between and changes the status
(a write of the status the device already has sets nothing: QEMU re-writes the current
status itself when the VM stops). A write that adds FAILED is not counted as clearing
bits (the driver gives up with what it last read).

**Bad**::

    virtio_set_status vdev 0x55d0a7b3c010 val 0
    virtio_set_status vdev 0x55d0a7b3c010 val 2
    virtio_set_status vdev 0x55d0a7b3c010 val 3
    virtio_set_status vdev 0x55d0a7b3c010 val 1

**Good**::

    virtio_set_status vdev 0x55d0a7b3c010 val 0
    virtio_set_status vdev 0x55d0a7b3c010 val 1
    virtio_set_status vdev 0x55d0a7b3c010 val 3
    virtio_set_status vdev 0x55d0a7b3c010 val 11
    virtio_set_status vdev 0x55d0a7b3c010 val 15

**Why it matters.** The driver MUST follow the 3.1.1 sequence and MUST NOT clear a status
bit (2.1.1); after FAILED it MUST reset before re-initialising. Devices act on each bit
as it appears (QEMU validates features on FEATURES_OK, starts backends on DRIVER_OK), so
a skipped or cleared step leaves the device half-configured in ways that show up later.

**How to fix.** Read-modify-write the status (``status |= BIT``), one step at a time:
reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, re-read, queues, DRIVER_OK; to start
over, write 0 and wait until status reads 0.
"""

from virtiodiag import spec
from virtiodiag.model.attempts import MODERN
from virtiodiag.rules._common import status_text
from virtiodiag.rules.base import Hit

CODE = "VD005"
NAME = "status-order"
SEVERITY = "error"
SUMMARY = "Status bits set out of the 3.1.1 order, cleared without a reset, or written after FAILED"
SPEC = "2.1.1, 3.1.1, 3.1.2"
OPTIONS: dict[str, object] = {}
# Live, each write is judged as it is read, with the attempt so far: all a write's order
# and clearing needs is there (the writes and read-backs before it since the reset), except
# whether DRIVER_OK without FEATURES_OK breaks the order: that depends on the interface of
# the attempt, which its later lines may still settle; such a write waits for the end.
LIVE_EVENTS = {"status_write"}

_HINT = ("set the status bits one step at a time in the 3.1.1 order with read-modify-write "
         "(status |= BIT); never clear one except by a reset (write 0)")


def check(ctx):
    for device in ctx.devices:
        if not ctx.final:
            attempts = device.attempts()
            if attempts:
                yield from _check_attempt(device, attempts[-1].changes, None)
            continue
        for attempt in device.attempts():
            # The interface of THIS attempt, as the model decided it (model/attempts.py):
            # a transitional device may be driven modern by firmware, legacy by the OS.
            yield from _check_attempt(device, attempt.changes, attempt.interface == MODERN)


def _check_attempt(device, attempt, modern):
    """``modern``: the attempt's interface is the modern one; None: not known yet (live)."""
    known = None  # latest status value known (written or read back)
    failed = None  # the write that set FAILED
    for change in attempt:
        value = change.value
        if change.read:
            known = value
            continue
        if value == 0:
            known, failed = 0, None
            continue
        if failed is not None and value != known:
            # A write of the very status the device already has sets and clears nothing:
            # it is no re-initialisation (QEMU itself re-writes the current status when
            # the VM stops, virtio_vmstate_change in hw/virtio/virtio.c).
            yield Hit(device, change.event,
                      f"{device.id}: status {status_text(value)} written after FAILED "
                      f"({status_text(failed.value)}) without a reset",
                      "after setting FAILED the driver must reset the device (write 0) "
                      "before initialising it again (spec 2.1.1)",
                      related=[(failed.event, "FAILED set")], key="after-failed")
            failed = None
        problem = _order_problem(value, modern)
        if problem is not None:
            name, text = problem
            yield Hit(device, change.event,
                      f"{device.id}: status {status_text(value)} {text}", _HINT, key=name)
        elif modern is None and value & spec.DRIVER_OK and not value & spec.FEATURES_OK:
            pass  # out of order on a modern interface (not cleared bits): not known yet
        elif known and not value & spec.FAILED:
            cleared = known & ~value & ~spec.DEVICE_NEEDS_RESET
            if cleared:
                yield Hit(device, change.event,
                          f"{device.id}: status {status_text(value)} clears "
                          f"{spec.status_names(cleared)} (it was {status_text(known)}) "
                          "without a reset",
                          _HINT, key="cleared")
        if value & spec.FAILED:
            failed = change
        known = value


def _order_problem(value, modern):
    if value & spec.DRIVER and not value & spec.ACKNOWLEDGE:
        return "driver-before-ack", "sets DRIVER without ACKNOWLEDGE"
    if value & spec.FEATURES_OK and not value & spec.DRIVER:
        return "features-ok-before-driver", "sets FEATURES_OK without DRIVER"
    if value & spec.DRIVER_OK and not value & spec.DRIVER:
        return "driver-ok-before-driver", "sets DRIVER_OK without DRIVER"
    if value & spec.DRIVER_OK and not value & spec.FEATURES_OK and modern:
        return ("driver-ok-before-features-ok",
                "sets DRIVER_OK without FEATURES_OK on a device driven through the modern "
                "interface (steps 5 and 6 of 3.1.1 skipped)")
    return None
