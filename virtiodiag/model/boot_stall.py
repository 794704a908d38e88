"""How far a guest's boot got: whether the kernel handed over to userspace.

Linux's kernel_init() ends its own start-up with free_initmem() ("Freeing unused kernel
... memory") and then run_init_process() ("Run /init as init process"): the first user
program runs, and the drivers built as modules are loaded from there. Either line is a
``userspace`` event (``Ending.userspace``). A log that shows a kernel starting (its
"Kernel command line:", printed early in start_kernel()) and ends with neither, with no
crash report, no power-off or restart of the guest's own, shows a boot that never
reached init: it stalled in the kernel's own start-up, or the capture stopped there.
When a device it shows was then left short of DRIVER_OK (not refused: no probe failure,
no FAILED status; and not one whose driver may have taken it without a word, such as
virtio_net's), the report says the boot never reached init in this log, with the last
device step the log shows (the verdict names it): the boot never got to the device's
driver, or stopped in its handshake. The log cannot say which of a stall or a capture
that stopped there, and the report says so.

A log piped through grep (a pasted ``dmesg | grep virtio``) may have dropped those
lines: no claim then.
"""

from __future__ import annotations

from virtiodiag import spec
from virtiodiag.events import Event
from virtiodiag.model.driver_ok import DriverOk
from virtiodiag.model.device import Device, Model
from virtiodiag.model.ending import unseen_driver
from virtiodiag.model.liveness import came_up
from virtiodiag.plain import Plain


class BootStall(Plain):
    """The boot never reached init: ``line`` (the log's last), ``device`` (the device
    whose step the log showed last, among those left short of DRIVER_OK), ``step`` (that
    step in words), ``event`` (its line) and ``killed`` (the emulator's line saying it was
    killed, if it did: then the log shows who ended the stall)."""

    FIELDS = ("line", "device", "step", "event", "killed")

    def __init__(self, line: int, device: Device, step: str, event: Event,
                 killed: Event | None = None):
        self.line = line
        self.device = device
        self.step = step
        self.event = event
        self.killed = killed


def boot_stall(model: Model) -> BootStall | None:
    """The boot the log shows never reached init, and the last step it shows of a device
    left short of DRIVER_OK; None when it did, when nothing was left short, or when the
    log cannot tell."""
    start = model.cmdline
    if start is None or model.side_of(start.dialect) == "host" or model.filters:
        return None
    ending = model.ending
    after = [ending.userspace, ending.finished,
             *(head for head, _ in model.crashes)]
    if any(event is not None and event.seq > start.seq for event in after):
        return None
    # A device whose probe failed, or that was marked FAILED, has its own explanation; one
    # whose driver may have taken it unseen (a quiet driver: ending.unseen_driver) may be up.
    short = [d for d in model.live_devices()
             if d.virtio_id != 0 and d.placeholder_event is None and not came_up(d)
             and not d.probe_failures and not any(s.value & spec.FAILED for s in d.status)
             and (d.status or unseen_driver(model, d) is None)
             # configured, never seen by the guest: no step of the guest's to name
             and not (d.declaration is not None and d.declaration.unseen)]
    last = None
    for device in short:
        step, event = _last_step(device)
        # Any line of the log, not only those after the command line: QEMU's trace of a
        # status write may come before the console's earlier lines in one file (the serial
        # line's output is buffered apart from QEMU's stderr).
        if event is not None and (last is None or event.seq > last[2].seq):
            last = (device, step, event)
    if last is None:
        return None
    return BootStall(model.lines, *last, killed=model.run_end)


def _last_step(device: Device) -> tuple[str, Event | None]:
    """The furthest the log shows the device get, in words, and the line that shows it."""
    attempt = device.last_started_attempt()
    if attempt is not None:
        _, change = attempt.last_step
        if change is not None:
            return f"status {spec.status_names(change.value)}", change.event
    if device.driver_ok.state is DriverOk.NOT_SHOWN and device.bound:
        return "a driver bound", device.last_event
    return "enumerated, no device driver bound", device.last_event
