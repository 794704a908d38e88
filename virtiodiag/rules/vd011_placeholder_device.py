"""placeholder-device: a driver tried to initialise an empty virtio-mmio slot (device id 0).

**What it detects.** A handshake (a status write with ACKNOWLEDGE or DRIVER) or a driver
attach on a virtio-mmio slot whose DeviceID register reads 0: QEMU's machines create
every virtio-mmio transport up front and leave the unused ones as placeholders.

**Bad**::

    virtio: mmio slot 1 @ 0x0a000200 irq=49 magic=0x74726976 version=1 device_id=0 vendor=0x554d4551
    virtio-net0: attach slot 1 base=0x0a000200 irq=49

**Good**::

    virtio: mmio slot 0 @ 0x0a000000 irq=48 magic=0x74726976 version=1 device_id=1 vendor=0x554d4551
    virtio-net0: attach slot 0 base=0x0a000000 irq=48

**Why it matters.** Spec 4.2.3.1.1: a driver that reads DeviceID 0 MUST abort
initialisation and MUST NOT access any other register. Driving a placeholder talks to a
device that does not exist; usually the real device sits in another slot and is left
alone, so the driver "works" against nothing and traffic never flows.

**How to fix.** Probe every slot, skip the ones whose DeviceID is 0 without an error, and
attach the driver to the slot whose DeviceID matches its device type.
"""

from virtiodiag import spec
from virtiodiag.rules._common import first_event_of, status_text
from virtiodiag.rules.base import Hit

CODE = "VD011"
NAME = "placeholder-device"
SEVERITY = "error"
SUMMARY = "A handshake on a virtio-mmio slot whose device id is 0 (a placeholder)"
SPEC = "4.2.2.2, 4.2.3.1.1"
OPTIONS: dict[str, object] = {}
LIVE_EVENTS = {"status_write", "device_bind"}


def check(ctx):
    for device in ctx.devices:
        if device.virtio_id != 0 and device.placeholder_event is None:
            continue
        started = next((s for s in device.status if not s.read
                        and s.value & (spec.ACKNOWLEDGE | spec.DRIVER)), None)
        bind = first_event_of(device, "device_bind", "driver_ready") if device.bound else None
        if started is None and bind is None:
            continue
        if started is not None and (bind is None or started.event.seq < bind.seq):
            event, what = started.event, f"status {status_text(started.value)} written"
        else:
            event, what = bind, "a driver attached"
        where = device.address or "the slot"
        related = [(device.placeholder_event, "device id 0 (placeholder)")] \
            if device.placeholder_event is not None and device.placeholder_event is not event else []
        yield Hit(device, event,
                  f"{device.id}: {what} on {where}, a placeholder slot (DeviceID 0): the driver "
                  "must stop after reading DeviceID 0",
                  "skip slots whose DeviceID is 0 (no error) and attach to the slot with the "
                  "matching DeviceID", related=related, key="placeholder")
