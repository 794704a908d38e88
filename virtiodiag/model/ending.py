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

The first two are the log being **cut off**: ``cut_off_at`` says it for one device (the
handshake-incomplete rule words it), ``log_cut_off`` for the run (the JSON's ``cut_off``).

``TAIL_LINES`` lets a cut log end with a fragment or two that say nothing (a prompt, the
CI system's own "operation was canceled"). Lines of the device itself (its kicks and
interrupts) are not the run going on.
"""

from __future__ import annotations

from virtiodiag import spec
from virtiodiag.cachefiles import compiled
from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model
from virtiodiag.model.discovery import TRANSPORT_DRIVERS
from virtiodiag.model.records import StatusChange
from virtiodiag.plain import Plain

TAIL_LINES = 2
KILLED, STOPS = "killed", "stops"
# What went_on says when a kernel panic (Linux "Kernel panic - not syncing", a BSD
# "panic:") came after the step: the kernel stopped there, the driver neither hung nor
# gave up on its own.
PANICKED = "the kernel panicked"

# Linux virtio drivers whose probe prints nothing when it succeeds: virtio_net (a line
# only when udev renames the interface or the MAC is random), virtio-rng, virtio_balloon,
# virtio_console, 9pnet_virtio, vmw_vsock_virtio_transport and virtio_fs (a line only
# for its DAX window). On a console that shows no such line the device may well be driven.
QUIET_ON_SUCCESS = frozenset({"net", "rng", "balloon", "console", "9p", "vsock", "fs"})
# Why a device that no line shows driven may be driven all the same (unseen_driver()).
VECTORS, QUIET_DRIVER, UNIDENTIFIED = "vectors", "quiet driver", "unidentified"
LISTED = "listed"  # known only from a PCI listing (lspci, pcictl, pcidump)
FILTERED = "filtered"  # its lines came through a grep its driver's need not match
QUIET_SYSTEM = "quiet system"  # found by a grammar whose system's drivers print nothing


class CutOff(Plain):
    """The log was cut off: ``how`` (KILLED: the emulator said it was killed; STOPS: it
    ends with a handshake mid-way and nothing after it shows the run going on), ``line``
    (the kill's line, or the log's last) and the devices whose handshake it cut."""

    FIELDS = ("how", "line", "devices")

    def __init__(self, how: str, line: int, devices: list[Device]):
        self.how = how
        self.line = line
        self.devices = devices


def log_cut_off(model: Model) -> CutOff | None:
    """Whether the log was cut off (None: it was not, as far as it shows)."""
    cut = [device for device in model.live_devices()
           if cut_off_at(model, device) or cut_before_driven(model, device)]
    if model.run_end is not None:
        return CutOff(KILLED, model.run_end.line, cut)
    return CutOff(STOPS, model.lines, cut) if cut else None


def cut_off_at(model: Model, device: Device) -> str | None:
    """KILLED or STOPS when the end of the log cut the device's latest handshake mid-way
    (begun, no DRIVER_OK, no FAILED, no reset after); None when it did not, or when the
    run went on after its last step (the driver hung or gave up: not a cut)."""
    if cut_at_acknowledge(device, model):
        return KILLED if model.run_end is not None else STOPS
    attempt = device.last_started_attempt()
    if (attempt is None or not attempt.driven or attempt.driver_ok.reached
            or attempt.failed is not None or attempt.reset_after):
        return None
    first = attempt.last_step[1]
    if first is None:
        return None
    if model.run_end is not None and model.run_end.seq > first.event.seq:
        return KILLED
    return STOPS if went_on(model, device, first) is None else None


def untouched(device: Device) -> bool:
    """No driver touched the device: a real device (not an id-0 placeholder) with no bind,
    probe, failure, interface, implied DRIVER_OK, crash, features, queue or kick, and no
    status beyond ACKNOWLEDGE. virtio_pci's "leaving for legacy driver" is printed by the
    transport's probe, which then drives the function through its legacy interface
    (virtio_pci_probe() falls back to virtio_pci_legacy_probe()): touched."""
    if device.virtio_id == 0 or device.placeholder_event is not None:
        return False
    if device.legacy_fallback is not None:
        return False
    if (device.bound or device.driver or device.probe_failures or device.netdev
            or device.driver_ok_implied is not None or device.crash is not None
            or device.features_refused is not None):
        return False  # a driver wrote features the device refused: it was driven
    if device.features_accepted or device.queues or device.notify_count:
        return False
    return not any(s.value & ~spec.ACKNOWLEDGE for s in device.status)


def listed_only(device: Device) -> bool:
    """Every line about the device is a listing of PCI functions (lspci, NetBSD pcictl,
    OpenBSD pcidump: device_found[listing]), which says nothing of drivers."""
    return bool(device.timeline) and all(
        e.kind == "device_found" and e.payload.detail == "listing" for e in device.timeline)


# grep's alternation (BRE "\|", ERE "|") and the literal head of each alternative.
_GREP_OR = compiled(r"\\?\|")
_LITERAL_HEAD = compiled(r"^\^?([a-z0-9_-]*)")


def filtered_out(model: Model, device: Device) -> bool:
    """The device's lines came through a pasted command's grep (the last before its first
    line) whose pattern its driver's lines need not match: no alternative's literal head
    is in the device's own name, which every attach line of its driver carries (FreeBSD
    "vtnet0: ... on virtio_pci0", OpenBSD "vio0 at virtio1", Linux "virtio_net virtio0:")."""
    first = device.first_event
    grep = next((f for f in reversed(model.filters) if first is None or f.seq < first.seq),
                None)
    if grep is None:
        return False
    name = (device.guest_name or "").lower()
    pattern = str(grep.get("pattern") or "").strip("'\"").lower()
    for alternative in _GREP_OR.split(pattern):
        head = _LITERAL_HEAD.match(alternative)
        if head is None or not head.group(1) or head.group(1) in name:
            return False  # a pattern its attach line would match (or one we cannot read)
    return True


def unseen_driver(model: Model, device: Device) -> str | None:
    """Why the log cannot tell that no driver took an untouched device, or None when it
    can. VECTORS: the guest allocated its MSI/MSI-X vectors (virtio_pci does so in
    vp_find_vqs(), which the device driver's probe calls: a driver was probing it).
    QUIET_DRIVER: its type's Linux driver prints nothing on success (QUIET_ON_SUCCESS) and
    the virtio transport ran in the guest; UNIDENTIFIED: the same for a device whose type
    the log never says. The transport ran when one of its own lines names the device
    ("virtio-pci 0000:00:03.0: enabling device (0000 -> 0003)", printed by
    virtio_pci_probe()) or when a driver took another device of the same transport (the
    transport module binds every virtio function: it was loaded)."""
    if listed_only(device):
        return LISTED
    if filtered_out(model, device):
        return FILTERED
    found = device.found_event
    if found is not None and model.grammar_of(found).quiet_drivers:
        return QUIET_SYSTEM
    if any(model.side_of(e.dialect) != "host" and e.kind == "irq_setup"
           and str(e.get("mode") or e.payload.detail).lower() == "msix"
           for e in device.irq_events):
        return VECTORS
    if device.device_type is not None and device.device_type not in QUIET_ON_SUCCESS:
        return None
    if not _transport_ran(model, device):
        return None
    return QUIET_DRIVER if device.device_type is not None else UNIDENTIFIED


def transport_line(model: Model, device: Device) -> Event | None:
    """The guest's virtio transport's own line about the device (virtio-pci's "enabling
    device", virtio-mmio's), if its timeline has one: the transport took the function."""
    return next((e for e in device.timeline
                 if str(e.get("driver") or "").startswith(TRANSPORT_DRIVERS)
                 and model.side_of(e.dialect) == "guest"), None)


def _transport_ran(model: Model, device: Device) -> bool:
    if transport_line(model, device) is not None:
        return True
    return device.transport != "unknown" and any(
        other is not device and other.transport == device.transport
        and "guest" in other.sides and not untouched(other)
        for other in model.live_devices())


def guest_could_drive(model: Model, device: Device) -> bool:
    """The log shows the side that would drive an untouched, unacknowledged device: the
    guest's own lines are in it (not only the host's), every driven device is tied to an
    address (an unplaced one may be this device), the device's enumeration is shown, and
    it is not a firmware's alone (a firmware drives only what it boots from)."""
    if not model.sides_seen() - {"host"} or device.found_event is None:
        return False
    if any(d.address is None and (d.started_handshake or d.bound) and _may_be(d, device)
           for d in model.live_devices()):
        return False
    return "firmware" not in device.sides or "guest" in device.sides


def _may_be(unplaced: Device, device: Device) -> bool:
    """An unplaced driven device may be ``device``, unless it is known only as a disk the
    kernel named ("vda": virtio_blk's) and ``device``'s known type is not a disk's."""
    if unplaced.disk is None or unplaced.found_event is not None:
        return True
    return device.device_type is None or device.device_type == unplaced.device_type


def cut_before_driven(model: Model, device: Device) -> bool:
    """The log stops right after the device was enumerated, before any driver could take
    it: untouched, never acknowledged, the guest's side shown, and nothing after its last
    line shows the run going on (device-not-driven: "cut off, not a missing driver"). Not
    a device known from a listing only: lspci's is pasted after the boot, whatever ran."""
    if not untouched(device) or listed_only(device) or any(s.value for s in device.status):
        return False
    if not guest_could_drive(model, device):
        return False
    last = device.last_event if device.last_event is not None else device.found_event
    return last is not None and went_on_after(model, device, last) is None


def cut_at_acknowledge(device: Device, model: Model) -> bool:
    """The run was cut off while the device's latest attempt had only ACKNOWLEDGE: the
    emulator was killed after it, or the log stops there. No driver could bind yet:
    device-not-driven leaves the device to handshake-incomplete."""
    attempt = device.last_started_attempt()
    if attempt is None or attempt.reset_after or attempt.driven:
        return False
    if any(c.value & ~spec.ACKNOWLEDGE for c in attempt.changes):
        return False
    step = attempt.last_step[1]
    if model.run_end is not None:
        # ACKNOWLEDGE set before the kill; QEMU re-writes it as it stops the machine,
        # after its "terminating on signal" line (virtio_vmstate_change), which is no
        # step of the guest's
        first = step.event if step is not None else attempt.changes[-1].event
        return first.seq < model.run_end.seq
    return step is not None and went_on(model, device, step) is None


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
    panic = next((head for head, _ in model.crashes
                  if head.payload.detail == "panic" and head.seq > step.seq), None)
    if panic is not None:
        return PANICKED, panic
    guest_last = model.eras.last
    if guest_last is not None and guest_last.seq > step.seq:
        if scanning_at_the_end(model, device, guest_last):
            return None
        return "the guest printed more", guest_last
    last = device.last_event if device.last_event is not None else step
    if model.lines - max(last.line, step.line) > TAIL_LINES:
        return f"{model.lines - max(last.line, step.line)} more lines follow", model.lines
    return None


def scanning_at_the_end(model: Model, device: Device, guest_last: Event) -> bool:
    """The guest's lines end among the PCI core's scan of its bus (a BAR read or assigned:
    note[pci_scan]), with no more than TAIL_LINES after: a PCI device found by that scan
    cannot have been driven yet, since Linux binds drivers to the functions of a bus only
    after scanning it and assigning its resources (pci_bus_add_devices() after
    pci_bus_assign_resources(): pci-host-common, ACPI's pci_root and x86's pcibios alike).
    The other functions the scan found before it are no sign the run went on."""
    return (device.transport == "pci" and guest_last is model.ending.pci_scan
            and model.lines - guest_last.line <= TAIL_LINES)


def cut_in_scan(model: Model, device: Device) -> Event | None:
    """The PCI core's last scan line, when the log was cut in the scan that found the
    device (``scanning_at_the_end``); None otherwise."""
    found = device.found_event
    guest_last = model.eras.last
    if found is None or guest_last is None or guest_last.seq <= found.seq:
        return None
    return guest_last if scanning_at_the_end(model, device, guest_last) else None


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
