"""features-refused: the device did not accept the features the driver chose.

**What it detects.** Any of: Linux's ``virtio: device refuses features: %x``; a status
read back after a FEATURES_OK write, in the same attempt, that lacks FEATURES_OK (spec
3.1.1 step 6; an RTOS "status readback" line, a sysfs ``status``); a device that uses
the modern interface but does not offer VIRTIO_F_VERSION_1 (Linux: ``device uses modern
interface but does not have VIRTIO_F_VERSION_1``, or the virtio-mmio Version 2 message),
or a device refused by a driver that supports only virtio 1.x devices (``device does not
comply with spec version 1.x``: virtio_snd, virtio_scmi, virtio-can, virtio-spi).

**Bad**::

    virtio_net virtio0: virtio: device refuses features: 3
    [    0.013] virtio-net0: Step 5: status |= FEATURES_OK -> 0x0b
    [    0.014] virtio-net0: Step 6: status readback 0x03

**Good**::

    [    0.013] virtio-net0: Step 5: status |= FEATURES_OK -> 0x0b
    [    0.014] virtio-net0: Step 6: status readback 0x0b

**Why it matters.** A device clears FEATURES_OK when it cannot work with the subset of
features written (spec 2.2.2); the device is then unusable and the driver must set FAILED
(3.1.1). QEMU drops such a status write silently (for example when the device offers
ACCESS_PLATFORM and the driver did not accept it), so only the read-back shows it. A
modern device without VERSION_1 breaks spec 6.2.

**How to fix.** Compare the features written with the ones offered: accept only offered
bits, accept the bits the offered ones depend on (2.2.1), accept VIRTIO_F_VERSION_1 and
VIRTIO_F_ACCESS_PLATFORM when offered; on a modern device without VERSION_1 fix the
device model (QEMU ``disable-legacy``/``force-legacy`` settings).
"""

from virtiodiag import spec
from virtiodiag.rules._common import status_text
from virtiodiag.rules.base import Hit

CODE = "VD002"
NAME = "features-refused"
SEVERITY = "error"
SUMMARY = "The device did not keep FEATURES_OK, or a modern device lacks VERSION_1"
SPEC = "2.2.2, 3.1.1, 6.2"
OPTIONS: dict[str, object] = {}
LIVE_EVENTS = {"features_refused", "version1_missing", "status_read"}

_HINT = ("accept only features the device offered, with the features they depend on, and "
         "VERSION_1 / ACCESS_PLATFORM when offered; then set FAILED and stop (spec 3.1.1)")


def check(ctx):
    for device in ctx.devices:
        refused = device.features_refused
        if refused is not None:
            value = refused.get("status")
            shown = f" (status {status_text(value)})" if isinstance(value, int) else ""
            yield Hit(device, refused,
                      f"{device.id}: the device refused the features written: FEATURES_OK "
                      f"was not kept{shown}",
                      _HINT, related=_accepted(device), key="refused")
        else:
            hit = _readback(device)
            if hit is not None:
                yield hit
        if device.version1_missing is not None and (
                device.version1_missing.payload.detail == "driver_requires"):
            yield Hit(device, device.version1_missing,
                      f"{device.id}: the driver supports only virtio 1.x devices and the "
                      "device does not offer VIRTIO_F_VERSION_1 (bit 32): it was offered "
                      "through a legacy (virtio 0.9.5) interface, or a modern one that "
                      "breaks spec 6.2",
                      "give the device its modern interface (QEMU: a virtio-*-pci device "
                      "without disable-modern=on; a virtio-mmio one with -global "
                      "virtio-mmio.force-legacy=false), or a device model that offers "
                      "VERSION_1",
                      key="no-version1")
        elif device.version1_missing is not None:
            yield Hit(device, device.version1_missing,
                      f"{device.id}: the device uses the modern interface but does not offer "
                      "VIRTIO_F_VERSION_1 (bit 32)",
                      "a modern device must offer VERSION_1 (spec 6.2): fix the device model "
                      "or its configuration (QEMU disable-legacy / force-legacy)",
                      key="no-version1")


def _readback(device):
    for attempt in device.attempts():
        cleared = attempt.features_ok_cleared  # model/attempts.py
        if cleared is None:
            continue
        written, change = cleared
        return Hit(device, change.event,
                   f"{device.id}: status read back as {status_text(change.value)} after "
                   f"{status_text(written.value)} was written: the device cleared "
                   "FEATURES_OK (features refused)",
                   _HINT, related=[(written.event, "FEATURES_OK written")] + _accepted(device),
                   key="refused")
    return None


def _accepted(device):
    event = device.features_accepted_event
    if event is None or device.features_accepted is None:
        return []
    names = ", ".join(spec.feature_names(device.features_accepted, device.device_type)[:12])
    return [(event, f"features accepted 0x{device.features_accepted:x} ({names or 'none'})")]
