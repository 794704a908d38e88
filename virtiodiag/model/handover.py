"""A PCI function that passes from virtio's drivers to another driver and back.

User space may unbind virtio-pci from a function and bind another driver to it (vfio-pci
for DPDK or a nested guest, pci-stub, uio_pci_generic: driver_override or new_id, then
drivers_probe), and later give it back. virtio-pci's remove resets the device, and Linux's
virtio_dev_remove() sets ACKNOWLEDGE again after its driver's remove, so the reset-to-reset
attempt in which the other driver takes the function shows ACKNOWLEDGE and nothing more:
the device changed hands, no virtio driver failed. A grammar marks a line about such a
driver ``device_bind`` with detail ``other_driver`` (grammars/linux_pci_driver.lark, the
PCI function's driver link in grammars/linux_sysfs.lark); the model ties it to the virtio
function it names (it makes no device of another function), keeps it in the device's
timeline and in the attempt it falls in (model/attempts.Attempt.taken_by), and never
reads it as a bind of the virtio device or as DRIVER_OK.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from virtiodiag import spec
from virtiodiag.events import Event
from virtiodiag.model.records import StatusChange

# device_bind's detail for a PCI function taken by a driver that is not virtio's.
OTHER_DRIVER = "other_driver"


def held_by_other_driver(device: DeviceFacts) -> Event | None:
    """The line of a driver that is not virtio's holding the device's function at the end
    of the log: the last driver line about the device is such a driver's, and no status
    write after it set DRIVER (no virtio driver took the function back). Such a device is
    not driven through virtio on purpose (kept for passthrough, DPDK)."""
    lines = device.driver_lines
    last = lines[-1] if lines else None
    if last is None or last.payload.detail != OTHER_DRIVER:
        return None
    if any(c.event.seq > last.seq and c.value & spec.DRIVER and not c.read
           for c in device.status):
        return None
    return last


class DeviceFacts(Protocol):
    """What held_by_other_driver() reads of a device (model/device.Device is one)."""

    @property
    def driver_lines(self) -> Sequence[Event]: ...
    @property
    def status(self) -> Sequence[StatusChange]: ...
