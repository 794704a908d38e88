"""A boot manager's failure on a virtio-mmio device, tied to that device when the log shows it.

ArmVirtPkg's VirtioFdtDxe (and OvmfPkg's VirtioMmioDeviceLib users: the microvm and
cloud-hypervisor firmware) gives each "virtio,mmio" node of the device tree a device path
of its own, a vendor hardware node with gVirtioMmioTransportGuid (837DCA9E-E874-4D82-B29A-
23FE0E23D1E2) and the transport's base address as a UINT64 (VIRTIO_TRANSPORT_DEVICE_PATH's
PhysBase). ConvertDevicePathToText() (DevPathToTextVendor()) prints the vendor data byte by
byte, "%02x" each, in memory order: the base little-endian, 0xa003e00 as "003e000a00000000".
BdsDxe's "failed to load Boot0001 ... from VenHw(837DCA9E-...,003e000a00000000): Not Found"
is then about the virtio-mmio transport at that base (``mmio_base_le``). The line comes
before the OS names its devices, so at the end of the run such a failure goes to the device
the log shows at that base (Linux's "a003e00.virtio_mmio"), and stays the run's otherwise.
"""

from __future__ import annotations

from virtiodiag.events import Event
from virtiodiag.model.device import Model
from virtiodiag.model.identity import Identities
from virtiodiag.model.vhost_backends import give_errors

BASE_BYTES = 8  # a UINT64


def mmio_base_of(event: Event) -> int | None:
    """The virtio-mmio base a device path's vendor data gives (little-endian), else None."""
    text = event.get("mmio_base_le")
    if not isinstance(text, str) or len(text) != 2 * BASE_BYTES:
        return None
    try:
        return int.from_bytes(bytes.fromhex(text), "little")
    except ValueError:
        return None


def join_mmio_boot_paths(model: Model, identities: Identities) -> None:
    """Give each failure on a virtio-mmio device path to the device at its base."""
    for event in list(model.unattributed_errors):
        base = mmio_base_of(event)
        if base is None:
            continue
        device = identities.by_alias.get(f"mmio:0x{base:x}")
        if device is not None and device.aliases:
            give_errors(model, device, [event], model.side_of(event.dialect))
