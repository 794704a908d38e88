"""The device a BSD crash report names by its unit: FreeBSD's trap_fatal names the thread that
was running ("current process = 12 (irq284: virtio_pci3)", a driver's taskqueue "vtnet0 rxq
0"), a virtqueue assertion's panic names the queue, which its driver named after the device's
unit ("panic: vq_ring_free_chain: vtnet0-0 tx - ..."). Each such line is that device's (its
driver had attached: DRIVER_OK implied), and the crash report it belongs to is that device's
crash (crashes.py attribute_crashes asks thread_owner and queue_owner).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtiodiag import spec
from virtiodiag.cachefiles import compiled
from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model
from virtiodiag.model.discovery import imply_driver_ok

if TYPE_CHECKING:
    from virtiodiag.model.handlers import Handlers
    from virtiodiag.model.identity import Identities


def note_crash_thread(identities: Identities, handlers: Handlers, event: Event,
                      side: str) -> None:
    """FreeBSD's trap_fatal names the thread that was running ("current process = 12
    (irq284: virtio_pci3)"): an interrupt thread after its IRQ and the handlers on it, a
    driver's taskqueue thread after its device ("vtnet0 rxq 0"). A virtio unit among them
    was running: its driver had attached and set up its interrupts (DRIVER_OK implied), and
    the crash is that device's (attribute_crashes)."""
    names = str(event.get("units") or event.get("unit") or "").replace("+", " ").split()
    for name in names:
        unit = name.split(":")[0]  # bus_describe_intr(): "virtio_pci3:vq0"
        if not spec.is_virtio_unit(unit):
            continue
        _unit_running(identities, handlers, event, side, unit,
                      "its interrupt thread was running (its driver had set up the interrupt)"
                      if event.get("irq") is not None else "its driver's thread was running")
        return


def _unit_running(identities: Identities, handlers: Handlers, event: Event, side: str,
                  unit: str, why: str) -> None:
    """The crash report's line is the device of a BSD unit name that was running: its
    record (by that name), typed by its driver, DRIVER_OK implied for ``why``."""
    device = identities.device_for((f"name:{unit}",))
    if device is None:
        return
    device.guest_name = device.guest_name or unit
    handlers.apply(device, event, side)
    device.device_type = device.device_type or spec.child_driver_type(unit)
    imply_driver_ok(device, event, why)


# FreeBSD's sys/dev/virtio/virtqueue.c VQASSERT(): KASSERT's panic message "%s: %s - <why>",
# the virtqueue function (__func__) and the queue's vq_name, which each driver makes from its
# device's unit name ("vtnet0-rx0", "vtnet0-0 tx", "vtblk0 request", "vtscsi0 control").
_VQ_ASSERT = compiled(r"(?:vq_|virtqueue_)\w+: ([a-z][a-z_]*\d+)[- ]\S*.* - ")


def vq_assert_unit(event: Event) -> str | None:
    """The virtio unit whose virtqueue a FreeBSD panic's VQASSERT names, or None."""
    message = event.get("message")
    if event.kind != "oops" or event.payload.detail != "panic" or not isinstance(message, str):
        return None
    found = _VQ_ASSERT.match(message)
    unit = found.group(1) if found else None
    return unit if unit is not None and spec.is_virtio_unit(unit) else None


def note_vq_assert(identities: Identities, handlers: Handlers, event: Event,
                   side: str) -> None:
    """A panic of a virtqueue assertion names the queue, whose name is its device's unit
    ("panic: vq_ring_free_chain: vtnet0-0 tx - failed to free entire desc chain"): that
    device's queue was in use (its driver had attached, DRIVER_OK implied) and the crash is
    its own (attribute_crashes)."""
    unit = vq_assert_unit(event)
    if unit is not None:
        _unit_running(identities, handlers, event, side, unit,
                      "a virtqueue of its driver was in use")


def queue_owner(model: Model, oops: Event) -> tuple[Device, Event] | None:
    """The device whose virtqueue a panic's assertion names (note_vq_assert)."""
    if oops.device_key is None or vq_assert_unit(oops) is None:
        return None
    owner = next((d for d in model.live_devices() if d.identity == oops.device_key), None)
    return (owner, oops) if owner is not None else None


def thread_owner(model: Model, frames: list[Event]) -> tuple[Device, Event] | None:
    """The device whose own thread the report says was running (note_crash_thread)."""
    for frame in frames:
        if frame.device_key is not None and (frame.get("units") or frame.get("unit")):
            owner = next((d for d in model.live_devices()
                          if d.identity == frame.device_key), None)
            if owner is not None:
                return owner, frame
    return None
