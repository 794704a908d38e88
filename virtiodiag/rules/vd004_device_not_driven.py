"""device-not-driven: a virtio device was found but no driver took it.

**What it detects.** A device the log enumerates (its PCI id printed, a virtio-mmio slot
registered) that was never driven past reset, or that its bus offered to every driver it
has and none matched (NetBSD's and OpenBSD's ``virtioN: no matching child driver; not
configured``): no status write with ACKNOWLEDGE or
DRIVER, no status read showing progress (a sysfs ``status`` of 0x0f counts as driven), no
driver bound to it. Also a device the transport acknowledged (status 1) but that never
got DRIVER: no device driver claimed it. Only checked when the log shows the guest's own
lines (a QEMU trace alone cannot tell a missing driver from a guest that never booted),
and as info only when the log stops right after the device was found (nothing after
shows the run going on: cut off, model/ending.py). Not for a device only the firmware
enumerated (a firmware drives only the devices it may boot from: SeaBIOS has no
virtio-net driver; the OS's lines, if any, say nothing of it); placeholder slots
(device id 0) are left to placeholder-device. Info as well when the log cannot tell
(model/ending.py ``unseen_driver``): the guest allocated the device's MSI-X vectors (a
driver's probe does), or the virtio transport was at work in the guest and the device's
Linux driver prints nothing when its probe succeeds (virtio_net without a rename,
virtio-rng, virtio_balloon, virtio_console, 9p, vsock, virtio-fs) or its type is not shown.
Not for a PCI function that another driver holds at the end of the log (vfio-pci, pci-stub,
uio_pci_generic bound in its place: model/handover.py): given away on purpose.

**Bad**::

    pci 0000:00:02.0: [1af4:1041] type 00 class 0x020000
    <no virtio_pci / virtio_net line for 0000:00:02.0, or:>
    /sys/bus/virtio/devices/virtio0/status:0x00000001

**Good**::

    pci 0000:00:02.0: [1af4:1041] type 00 class 0x020000
    /sys/bus/virtio/devices/virtio0/status:0x0000000f

**Why it matters.** The device exists but the guest does not use it: no network, no disk.
The cause is almost always outside the virtio protocol: the transport module
(virtio_pci, virtio_mmio) or the device driver (virtio_net, virtio_blk) not loaded,
blacklisted or not built, or a device id the driver does not match.

**How to fix.** Load (or build in) the transport and the device driver
(``CONFIG_VIRTIO_PCI``, ``CONFIG_VIRTIO_NET`` ...), check ``module_blacklist=`` and
modprobe configuration, and check the driver's id table matches the device id.
"""

from virtiodiag import spec
from virtiodiag.model.ending import (
    FILTERED,
    LISTED,
    QUIET_DRIVER,
    QUIET_SYSTEM,
    VECTORS,
    cut_at_acknowledge,
    cut_before_driven,
    cut_in_scan,
    transport_line,
    guest_could_drive,
    unseen_driver,
    untouched,
)
from virtiodiag.model.handover import held_by_other_driver
from virtiodiag.rules._common import status_text
from virtiodiag.rules.base import Hit

CODE = "VD004"
NAME = "device-not-driven"
SEVERITY = "warning"
SUMMARY = "A virtio device was enumerated but no driver drove it past reset"
SPEC = "3.1.1"
OPTIONS: dict[str, object] = {}
LIVE_EVENTS: set[str] = set()

_TRANSPORT_MODULE = {"pci": "virtio_pci", "mmio": "virtio_mmio"}


def check(ctx):
    if not ctx.final:
        return
    for device in ctx.devices:
        if not untouched(device):  # model/ending.py: no driver touched it
            continue
        if held_by_other_driver(device) is not None:
            continue  # another driver holds the function (vfio-pci, pci-stub): on purpose
        what = device.device_type or "virtio"
        if device.unclaimed is not None:  # the bus said no driver matched it
            yield Hit(device, device.unclaimed,
                      f"{device.id} ({what}): no driver in the guest matched the device, so "
                      "it stays unconfigured: the guest has no driver for this device type "
                      "(not a failed probe: no driver tried)",
                      f"use a guest kernel with a {what} driver (built in, or its module "
                      "loaded), or leave the device out of the VM if the guest does not "
                      "need it", related=_found(device), key="no-driver")
            continue
        acked = next((s for s in device.status if s.value & spec.ACKNOWLEDGE), None)
        if acked is not None and cut_at_acknowledge(device, ctx.model):
            continue  # the run was cut off before a driver could bind: handshake-incomplete
        if acked is not None:
            yield Hit(device, acked.event,
                      f"{device.id} ({what}): the transport acknowledged the device (status "
                      f"{status_text(acked.value)}) but no driver bound: DRIVER was never set",
                      f"load the {what} device driver (is it built, blacklisted, or missing "
                      "from the initramfs?) and check its id table matches the device",
                      related=_found(device), key="no-driver")
            continue
        if not guest_could_drive(ctx.model, device) or device.found_event is None:
            continue
        wrong = next((d for d in ctx.devices if d is not device and d.virtio_id == 0
                      and (d.bound or d.started_handshake)), None)
        instead = [(wrong.first_event, f"{wrong.id}: a driver drove this placeholder instead")] \
            if wrong is not None and wrong.first_event is not None else []
        if cut_before_driven(ctx.model, device):
            last = device.last_event or device.found_event
            scan = cut_in_scan(ctx.model, device)
            where = (f"the log ends at line {scan.line}, while the PCI core was still "
                     "scanning the bus and assigning its BARs (drivers bind only after)"
                     if scan is not None else f"the log ends at line {last.line}")
            took = transport_line(ctx.model, device)
            if took is not None:  # the transport's own line (virtio-pci enabling it)
                yield Hit(device, device.found_event,
                          f"{device.id} ({what}): the virtio transport took it (line "
                          f"{took.line}) and {where}, before a device driver bound: nothing "
                          "after shows the run going on (cut off, or the guest stopped "
                          "there)",
                          "capture the whole boot; if the guest stopped here, the device "
                          "driver's probe did not return: look at the device's back-end, "
                          "which its first requests wait on", related=_found(device),
                          key="not-driven", severity="info")
                continue
            yield Hit(device, device.found_event,
                      f"{device.id} ({what}) was enumerated and {where}, before any driver "
                      "took it: nothing after shows the run going on (cut off, not a "
                      "missing driver)",
                      "capture the whole boot: the log stops before the virtio transport "
                      "and driver probe the device", related=_found(device), key="not-driven",
                      severity="info")
            continue
        unseen = unseen_driver(ctx.model, device)
        if unseen is not None:
            if unseen == LISTED and device.transport == "ccw":
                unseen = _LISTED_CCW  # lscss's rows: channel subsystem devices, no PCI
            yield Hit(device, device.found_event, f"{device.id} ({what}): no line shows a driver "
                      f"taking it, but {_UNSEEN.get(unseen, _UNSEEN_DEFAULT).format(what=what)}: the log cannot tell "
                      "whether it was driven",
                      "read /sys/bus/virtio/devices/*/driver and status in the guest to see "
                      "which driver holds it", related=_found(device), key="not-shown",
                      severity="info")
            continue
        yield Hit(device, device.found_event,
                  f"{device.id} ({what}) was enumerated but never driven: no status write, "
                  "no driver bound (the virtio transport or the driver was never loaded, or "
                  "the log ends before it was)",
                  f"load the virtio transport ({_TRANSPORT_MODULE.get(device.transport, 'virtio_pci / virtio_mmio')}) "
                  f"and the {what} driver; check module_blacklist= and the kernel config"
                  + ("; a driver was attached to a placeholder slot: attach it to this one"
                     if instead else ""),
                  related=instead, key="not-driven")


# What unseen_driver()'s reason means, for the message.
_LISTED_CCW = "listed-ccw"
_UNSEEN = {
    VECTORS: "the guest allocated its MSI/MSI-X vectors, which virtio_pci does for a "
             "driver's probe (vp_find_vqs)",
    QUIET_DRIVER: "the virtio transport was at work in the guest and Linux's {what} driver "
                  "prints nothing when its probe succeeds",
    LISTED: "it is known only from a listing of PCI functions (lspci, NetBSD pcictl, "
            "OpenBSD pcidump), which says nothing of drivers",
    _LISTED_CCW: "it is known only from a listing of channel subsystem devices (lscss), "
                 "which says nothing of drivers",
    FILTERED: "the log was pasted through grep (its command line is in it) with a pattern "
              "its driver's lines need not match",
    QUIET_SYSTEM: "the system that found it has device drivers that print nothing when "
                  "they take a device",
}
_UNSEEN_DEFAULT = ("the virtio transport was at work in the guest and the log never says "
                   "the device's type: its driver may be one that prints nothing on success")


def _found(device):
    if device.found_event is None:
        return []
    return [(device.found_event, "device enumerated")]
