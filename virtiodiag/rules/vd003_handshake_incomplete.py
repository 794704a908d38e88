"""handshake-incomplete: a device started the handshake but never reached DRIVER_OK.

**What it detects.** A device with ACKNOWLEDGE or DRIVER written whose latest attempt
never set DRIVER_OK by the end of the log. The message names the last step reached and
its line, and tells a log that was cut off mid-init (the device was still progressing
when the log ended) from a driver that gave up (reset to 0 or set FAILED). In a live
stream, ``--stall-timeout`` reports a device whose handshake has made no progress for
that long while the stream is still open.

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
(FEATURES_OK not kept), queue set-up failing, or an interrupt storm before init ended.
"""

from virtiodiag import spec
from virtiodiag.rules.base import Hit

CODE = "VD003"
NAME = "handshake-incomplete"
SEVERITY = "error"
SUMMARY = "A device began the virtio handshake but never reached DRIVER_OK"
SPEC = "3.1.1"
OPTIONS = {}
LIVE_EVENTS = set()


def check(ctx):
    stall_now = ctx.options.get("stall_now")
    stall_timeout = ctx.options.get("stall_timeout")
    for device in ctx.devices:
        attempt = device.current_attempt()
        if not any(s.value & (spec.ACKNOWLEDGE | spec.DRIVER) for s in device.status):
            continue
        if any(s.value & spec.DRIVER_OK for s in attempt):
            continue
        step, where = device.last_step()
        if stall_now is not None:
            if device.last_progress is None or device.last_progress.arrival is None:
                continue
            idle = stall_now - device.last_progress.arrival
            if idle < stall_timeout:
                continue
            yield Hit(device, where,
                      f"{device.id}: handshake stalled at {step} for {idle:.1f} s "
                      f"(no status change since line {where.line if where else '?'})",
                      "the driver is waiting on the device or hung: see the step after "
                      f"{step}", key="stalled")
            continue
        if not ctx.final:
            continue
        gave_up = None
        for change in device.status:
            if change.value & spec.FAILED:
                gave_up = change
        if gave_up is None and attempt and len(attempt) == 1 and attempt[0].value == 0:
            # Reset after starting: the driver gave up (or unbound) and reset the device.
            previous = [s for s in device.status if s.value & (spec.ACKNOWLEDGE | spec.DRIVER)]
            if previous:
                step_before = max((name for s in previous for bit, name in spec.HANDSHAKE_STEPS
                                   if s.value & bit), key=_order)
                yield Hit(device, attempt[0].event,
                          f"{device.id}: the driver reset the device after reaching "
                          f"{step_before} and never set DRIVER_OK (gave up)",
                          "look for a probe failure or refused features just before the reset",
                          related=[(previous[-1].event, f"last step {step_before}")],
                          key="gave-up")
                continue
        if gave_up is not None:
            yield Hit(device, gave_up.event,
                      f"{device.id}: the driver set FAILED (status 0x{gave_up.value:02x}) "
                      f"after reaching {step}: it gave up on the device",
                      "the step after the last one reached failed; see the device's errors",
                      related=[(where, f"last step {step}")] if where else [],
                      key="failed")
            continue
        cut = "the log ends while the device is mid-initialisation (cut off?)"
        yield Hit(device, where,
                  f"{device.id}: handshake incomplete, last step {step} "
                  f"(status 0x{device.final_status or 0:02x}) at line "
                  f"{where.line if where else '?'}; {cut}",
                  "if the log was cut off, capture until the guest is up; otherwise the "
                  f"driver hung after {step}",
                  related=[(device.first_event, "first event of this device")],
                  key="incomplete")


def _order(name: str) -> int:
    return [n for _, n in spec.HANDSHAKE_STEPS].index(name)
