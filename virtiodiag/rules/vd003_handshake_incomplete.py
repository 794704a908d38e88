"""handshake-incomplete: a driver started the handshake but never reached DRIVER_OK.

**What it detects.** A device whose latest attempt (the status writes since its last
reset) set DRIVER, so a driver took it, but never DRIVER_OK by the end of the log. The
message names the last step reached and its line, and tells a log that was cut off
mid-init (the log ends during the attempt) from a driver that gave up (it reset the
device to 0 or set FAILED). A device left at ACKNOWLEDGE alone never had a driver bound:
that is ``device-not-driven``, not this rule. In a live stream, ``--stall-timeout``
reports a device whose handshake has made no progress for that long while the stream is
still open, and a driver that set FAILED is reported as the line arrives (the attempt ended
there; the end of the log changes nothing about it). A later attempt after a reset that
reaches DRIVER_OK (the driver rebound) leaves nothing to report at the end: the live
finding is then withdrawn, with the reason. A reset *after* DRIVER_OK (shutdown, unbind) is not an incomplete handshake.
When QEMU says it was killed (``terminating on signal 15 from pid N (timeout)``) the run
was cut off: the message says the run was killed at step X (even at ACKNOWLEDGE, which
otherwise is ``device-not-driven``'s case), not that a driver is missing; whether the guest
had stalled before the kill (a boot that never took an interrupt again) the kill hides. A log
that simply stops is cut off the same way: when nothing after the device's last step
shows the run going on (no later line a grammar read, at most two lines of any kind, no
other device reaching DRIVER_OK, no ``reboot: Power down``), the message says the log
ends at step X. When the run did go on, it says so, with the line that shows it: the
driver had the time and hung or gave up without resetting the device
(model/ending.py). A kernel panic after the step ("Kernel panic - not syncing", a BSD
"panic:") is none of these: the kernel stopped there, and the message says so.

**Bad**::

    virtio_set_status vdev 0x5581c3e4a2d0 val 1
    virtio_set_status vdev 0x5581c3e4a2d0 val 3
    virtio_set_status vdev 0x5581c3e4a2d0 val 11
    <end of log>                      (the log ends at FEATURES_OK: cut off)

    virtio_set_status vdev 0x5581c3e4a2d0 val 11
    virtio_set_status vdev 0x5581c3e4b7e0 val 15
    <more boot lines>                 (the run went on: the driver hung at FEATURES_OK)

**Good**::

    virtio_set_status vdev 0x5581c3e4a2d0 val 11
    virtio_set_status vdev 0x5581c3e4a2d0 val 15

**Why it matters.** Until DRIVER_OK the device is not live (spec 3.1.1 step 8): no
traffic, and a driver waiting for it hangs the boot.

**How to fix.** Look at the step after the last one reached: features refused
(FEATURES_OK not kept), queue set-up failing, or an interrupt enabled before init ended.
"""

from virtiodiag import spec
from virtiodiag.model.ending import (KILLED, PANICKED, STOPS, cut_at_acknowledge, cut_off_at,
                                     went_on)
from virtiodiag.events import Event
from virtiodiag.rules.base import Hit

CODE = "VD003"
NAME = "handshake-incomplete"
SEVERITY = "error"
SUMMARY = "A driver began the virtio handshake but never reached DRIVER_OK"
SPEC = "3.1.1"
OPTIONS: dict[str, object] = {}
# A FAILED status (written, or read back) settles the attempt: shown as it arrives.
LIVE_EVENTS = {"status_write", "status_read"}


def check(ctx):
    stall_now = ctx.options.get("stall_now")
    stall_timeout = ctx.options.get("stall_timeout")
    run_end = ctx.model.run_end
    for device in ctx.devices:
        attempt = device.last_started_attempt()
        if ctx.final and stall_now is None and cut_at_acknowledge(device, ctx.model):
            yield (_killed(device, attempt, run_end) if run_end is not None
                   else _stopped(device, attempt, ctx.model))
            continue
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
        if not ctx.final and failed is None:
            continue  # live: how the attempt ended is only known when the log ends
        if failed is not None:
            # Settled by the FAILED write itself (shown live as it arrives, as the final
            # pass shows it): the driver gave up on this attempt, and no later line of
            # the attempt can undo that; only a new attempt after a reset can.
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
        cut = cut_off_at(ctx.model, device)  # model/ending.py: killed, stops or not cut
        if cut == KILLED and run_end is not None:
            yield _killed(device, attempt, run_end)
            continue
        if cut == STOPS:
            yield _stopped(device, attempt, ctx.model)
            continue
        shown = went_on(ctx.model, device, first) if first is not None else None
        what, proof = shown if shown is not None else ("", None)
        proof_line = proof.line if isinstance(proof, Event) else proof
        related = [(device.first_event, "first event of this device")]
        if isinstance(proof, Event):
            related.append((proof, what))
        if what == PANICKED:
            yield Hit(device, where,
                      f"{device.id}: handshake incomplete, last step {step} (status "
                      f"0x{attempt.changes[-1].value:02x}) at line "
                      f"{where.line if where else '?'}; the kernel panicked (line {proof_line}) "
                      "before DRIVER_OK was set: the handshake ended there",
                      "read the panic's reason and call trace: a virtio driver's own crash "
                      "is reported with it (driver-crashed)", related=related, key="panicked")
            continue
        yield Hit(device, where,
                  f"{device.id}: handshake incomplete, last step {step} (status "
                  f"0x{attempt.changes[-1].value:02x}) at line {where.line if where else '?'}; "
                  + (f"the run went on ({what}, line {proof_line}) but DRIVER_OK was never set: "
                     "the driver hung or gave up without resetting the device"
                     if shown is not None else "DRIVER_OK was never set"),
                  f"the driver hung after {step}: look at what it does next (feature "
                  "negotiation, queue set-up, the device's config space)",
                  related=related, key="incomplete")


def _stopped(device, attempt, model):
    step, first = attempt.last_step
    where = first.event if first is not None else None
    unfinished = " (its last line is unfinished)" if model.truncated_last_line else ""
    return Hit(device, where,
               f"{device.id}: the log ends at {step} (line {where.line if where else '?'}): "
               "nothing after it shows the run going on (no later guest line, no other "
               f"device finishing, no shutdown){unfinished}; the handshake was cut off "
               "there, not refused",
               "capture the whole run: the log stops mid-handshake (a capture or CI job cut "
               f"short, the emulator killed without a word); if the guest hung, it hung after "
               f"{step}",
               related=[(device.first_event, "first event of this device")], key="stopped")


def _killed(device, attempt, run_end):
    step, first = attempt.last_step
    where = first.event if first is not None else None
    signal, pid, program = run_end.get("signal"), run_end.get("pid"), run_end.get("program")
    who = f" from pid {pid}" + (f" ({program})" if program else "") if pid is not None else ""
    return Hit(device, where,
               f"{device.id}: the run was killed at {step} (QEMU terminated on signal "
               f"{signal}{who}, line {run_end.line}): the handshake was cut off there, not "
               "refused; the kill hides whether the guest was still busy or had stalled",
               "if the guest printed nothing for long before the kill, it stalled after "
               f"{step} (look at what it waits for next: an interrupt that never comes, a "
               "module never loaded); else give the run more time (the killer's timeout); "
               "nothing in the log says the driver failed",
               related=[(run_end, "the emulator was killed here")], key="killed")
