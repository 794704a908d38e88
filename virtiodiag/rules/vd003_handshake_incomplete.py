"""handshake-incomplete: a driver started the handshake but never reached DRIVER_OK.

**What it detects.** A device whose latest attempt (the status writes since its last
reset) set DRIVER, so a driver took it, but never DRIVER_OK by the end of the log. The
message names the last step reached and its line, and tells a log that was cut off
mid-init (the log ends during the attempt) from a driver that gave up (it reset the
device to 0 or set FAILED). A device left at ACKNOWLEDGE alone never had a driver bound:
that is ``device-not-driven``, not this rule. In a live stream, ``--stall-timeout``
reports a device whose handshake has made no progress for that long while the stream is
still open. A reset *after* DRIVER_OK (shutdown, unbind) is not an incomplete handshake.

**Bad**::

    virtio_set_status vdev 0x5581c3e4a2d0 val 1
    virtio_set_status vdev 0x5581c3e4a2d0 val 3
    virtio_set_status vdev 0x5581c3e4a2d0 val 11
    <end of log>

**Good**::

    virtio_set_status vdev 0x5581c3e4a2d0 val 11
    virtio_set_status vdev 0x5581c3e4a2d0 val 15

**Why it matters.** Until DRIVER_OK the device is not live (spec 3.1.1 step 8): no
traffic, and a driver waiting for it hangs the boot.

**How to fix.** Look at the step after the last one reached: features refused
(FEATURES_OK not kept), queue set-up failing, or an interrupt enabled before init ended.
"""

from virtiodiag import spec
from virtiodiag.rules.base import Hit

CODE = "VD003"
NAME = "handshake-incomplete"
SEVERITY = "error"
SUMMARY = "A driver began the virtio handshake but never reached DRIVER_OK"
SPEC = "3.1.1"
OPTIONS = {}
LIVE_EVENTS = set()


def check(ctx):
    stall_now = ctx.options.get("stall_now")
    stall_timeout = ctx.options.get("stall_timeout")
    for device in ctx.devices:
        attempt = device.last_started_attempt()
        if attempt is None or not attempt.driven:
            continue  # no driver took the device (or it is fine): not this rule
        if attempt.driver_ok.reached:
            continue
        step, first = attempt.last_step
        where = first.event if first is not None else None
        failed = attempt.failed
        reset_after = attempt.reset_after
        if stall_now is not None:
            if failed or reset_after or device.last_progress is None:
                continue
            arrival = device.last_progress.arrival
            if arrival is None or stall_now - arrival < stall_timeout:
                continue
            yield Hit(device, where,
                      f"{device.id}: handshake stalled at {step} for {stall_now - arrival:.1f} s "
                      f"(no status change since line {where.line if where else '?'})",
                      f"the driver is waiting on the device or hung after {step}",
                      key="stalled")
            continue
        if not ctx.final:
            continue
        if failed is not None:
            yield Hit(device, failed.event,
                      f"{device.id}: the driver set FAILED (status 0x{failed.value:02x} "
                      f"{spec.status_names(failed.value)}) after reaching {step}: it gave up "
                      "and DRIVER_OK was never set",
                      "the step after the last one reached failed; see the device's errors",
                      related=[(where, f"last step {step}")] if where else [], key="failed")
            continue
        if reset_after:
            reset = device.attempts()[attempt.index + 1].changes[0]
            yield Hit(device, reset.event,
                      f"{device.id}: the driver reset the device after reaching {step} "
                      f"(line {where.line if where else '?'}) without setting DRIVER_OK: it gave up",
                      "look for a probe failure or refused features just before the reset",
                      related=[(where, f"last step {step}")] if where else [], key="gave-up")
            continue
        yield Hit(device, where,
                  f"{device.id}: handshake incomplete, last step {step} (status "
                  f"0x{attempt.changes[-1].value:02x}) at line {where.line if where else '?'}; the log "
                  "ends while the device is mid-initialisation (cut off, or the driver hung)",
                  "if the log was cut off, capture until the guest is up; otherwise the "
                  f"driver hung after {step}",
                  related=[(device.first_event, "first event of this device")],
                  key="incomplete")
