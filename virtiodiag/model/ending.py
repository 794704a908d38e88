"""How a log ends: killed, ended by the guest, or simply stopped.

A handshake left between ACKNOWLEDGE and DRIVER_OK at the end of a log means one of
three things, and a report must not confuse them:

* the run was **killed**: QEMU says so (``terminating on signal 15 from pid N``,
  ``Model.run_end``): cut off at that step;
* the log **stops**: nothing after the device's last step shows the run going on, the
  log just ends there (a capture stopped, a CI job's output cut, QEMU SIGKILLed, whose
  last words are then the trace's): cut off at that step as well, though nothing says by
  whom;
* the run **went on**: after the device's last step the guest printed more (a line some
  grammar read, or more than ``TAIL_LINES`` lines of any kind), another device reached
  DRIVER_OK, the guest ended the run itself (``reboot: Power down``), QEMU stopped the
  machine (it re-writes each device's current status then), or the guest read the
  status itself from a running system (sysfs): the driver had the time and never
  finished, so it hung or gave up without resetting the device.

``TAIL_LINES`` lets a cut log end with a fragment or two that say nothing (a prompt, the
CI system's own "operation was canceled"). Lines of the device itself (its kicks and
interrupts) are not the run going on.
"""

from __future__ import annotations

from virtiodiag import spec
from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model
from virtiodiag.model.records import StatusChange

TAIL_LINES = 2


def went_on(model: Model, device: Device,
            change: StatusChange) -> tuple[str, Event | int] | None:
    """What shows the run went on after ``change`` (the device's last step), as (what,
    the line's event or a line number); None when the log stops there."""
    step = change.event
    if change.read and model.side_of(step.dialect) != "host":
        return "the guest read this status itself (sysfs), from a running system", step
    return went_on_after(model, device, step)


def went_on_after(model: Model, device: Device, step: Event) -> tuple[str, Event | int] | None:
    """``went_on`` for any last line of a device (one found or enabled, never driven)."""
    finished = model.ending.finished
    if finished is not None and finished.seq > step.seq:
        return "the guest ended the run", finished
    done, stopped = _summary(model)
    if stopped is not None and stopped.seq > step.seq:
        return "QEMU re-wrote the status as it stopped the machine", stopped
    for seq, event, other in done:
        if other is not device and seq > step.seq:
            return f"{other.id} reached DRIVER_OK", event
    guest_last = model.eras.last
    if guest_last is not None and guest_last.seq > step.seq:
        return "the guest printed more", guest_last
    last = device.last_event if device.last_event is not None else step
    if model.lines - max(last.line, step.line) > TAIL_LINES:
        return f"{model.lines - max(last.line, step.line)} more lines follow", model.lines
    return None


def _summary(model: Model) -> tuple[list[tuple[int, Event, Device]], Event | None]:
    """Computed once per state of the run (every device incomplete at the end asks):
    the latest DRIVER_OK status of the two devices that set it last, and the latest
    status write repeating a device's current non-zero status. QEMU re-writes each
    started device's status when the machine stops (hw/virtio/virtio.c
    virtio_vmstate_change: ``virtio_set_status(vdev, vdev->status)``), at a normal exit
    or a pause; a driver never writes the same status twice."""
    cached = model.ending.summary
    if cached is not None and cached[0] == model.events:
        return cached[1]
    done: list[tuple[int, Event, Device]] = []
    stopped: Event | None = None
    for device in model.live_devices():
        previous = None
        for change in device.status:
            if change.value & spec.DRIVER_OK:
                if not done or done[-1][2] is not device:
                    done.append((change.event.seq, change.event, device))
                elif change.event.seq > done[-1][0]:
                    done[-1] = (change.event.seq, change.event, device)
            if change.read:
                continue
            if change.value and change.value == previous and (
                    stopped is None or change.event.seq > stopped.seq):
                stopped = change.event
            previous = change.value
        done = sorted(done, key=lambda item: item[0], reverse=True)[:2]
    summary = (done, stopped)
    model.ending.summary = (model.events, summary)
    return summary
