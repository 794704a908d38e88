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
from virtiodiag.rules._common import is_modern, is_weak_legacy, status_text
from virtiodiag.rules.base import Hit

CODE = "VD005"
NAME = "status-order"
SEVERITY = "error"
SUMMARY = "Status bits set out of the 3.1.1 order, cleared without a reset, or written after FAILED"
SPEC = "2.1.1, 3.1.1, 3.1.2"
OPTIONS = {}
LIVE_EVENTS = set()

_HINT = ("set the status bits one step at a time in the 3.1.1 order with read-modify-write "
         "(status |= BIT); never clear one except by a reset (write 0)")


def check(ctx):
    for device in ctx.devices:
        attempts = device.attempts()
        modern = is_modern(device)
        for index, attempt in enumerate(attempts):
            end = attempts[index + 1][0].event.seq if index + 1 < len(attempts) else None
            yield from _check_attempt(device, attempt, _modern_in(device, attempt, end, modern))


def _modern_in(device, attempt, end, modern_overall):
    """Whether THIS attempt drove the device through the modern interface.

    A device with only the modern interface (modern-only PCI id, virtio-mmio Version 2) is
    always driven modern. A transitional one serves both, and tells a legacy driver by
    VIRTIO_F_VERSION_1 not being acknowledged (spec 2.2.3, "Legacy Interface: A Note on
    Feature Bits"): each driver that resets it picks an interface afresh, so the
    interface of another attempt says nothing about this one: SeaBIOS drives a
    transitional virtio-blk modern (3, 11, 15), then Linux with virtio_pci.force_legacy=1
    drives it legacy (1, 3, 7). Only evidence inside the attempt (from its reset to the
    next one) decides; with none, the device's overall mode does (a log with one attempt,
    or evidence printed apart from the writes).
    """
    if device.pci_kind == "modern" or device.mmio_version == 2:
        return True
    start = attempt[0].event.seq

    def inside(evidence):
        seq = evidence.event.seq
        return seq >= start and (end is None or seq < end)

    if any(not c.read and c.value & spec.FEATURES_OK for c in attempt):
        return True
    modern = [e for e in device.modern_evidence if inside(e)]
    legacy = [e for e in device.legacy_evidence if inside(e) and not is_weak_legacy(e)]
    if modern or legacy:
        if not legacy:
            return True
        if not modern:
            return False
        return modern[-1].event.seq > legacy[-1].event.seq
    # Nothing in this attempt itself. FEATURES_OK written in another attempt belongs to
    # that attempt's driver; other evidence (recorded once per device) may be this one's.
    outside = [e for e in device.modern_evidence if not inside(e)]
    written = {id(c.event) for c in device.status if not c.read}
    if outside and all(id(e.event) in written for e in outside):
        return False
    return modern_overall


def _check_attempt(device, attempt, modern):
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
