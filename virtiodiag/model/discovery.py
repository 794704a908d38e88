"""What a device is: the lines that find it on a bus or bind a driver to it.

Transport, address, PCI id (modern or transitional), virtio device id, virtio-mmio
version, guest name, driver and interface name; and the notes about the interface these
facts prove (a modern-only PCI id, virtio-mmio Version 1 or 2).
"""

from __future__ import annotations

import re

from virtiodiag import spec
from virtiodiag.events import Event
from virtiodiag.model.attempts import STRONG
from virtiodiag.model.device import Device
from virtiodiag.model.identity import (
    MMIO_PLATFORM,
    VIRTIO_N,
    bsd_pci_address,
    normalise_bdf,
    normalise_mmio,
)

# The name a log gives a device it found, used for the device when no driver took it: a
# BSD autoconf unit ("virtio2", "virtio_pci5"), a VMM's device id ("_disk0", "_rng",
# "eth0"), Solo5's "PCI:00:05". Not a pointer, a bus address, a U-Boot/Linux device path
# ("virtio-blk#1", "virtio-mmio.0", "LNRO0005:00") or a driver's name ("vnet"): those
# name it otherwise.
UNIT_NAME = re.compile(r"^(?:(?!0x)[A-Za-z][\w-]*\d|_[\w-]+|PCI:[0-9a-f]{2}:[0-9a-f]{2}(?:\.[0-9a-f]+)?)$")


def on_device_found(device: Device, event: Event) -> None:
    device.found_event = device.found_event or event
    transport = event.get("transport") or event.payload.detail
    if transport in ("pci", "mmio"):
        device.transport = transport
    address = event.get("address")
    if isinstance(address, str) and normalise_bdf(address):
        device.transport = "pci"
        device.address = normalise_bdf(address)
    elif address is not None and device.transport == "mmio":
        device.address = normalise_mmio(address) or str(address)
    elif address is not None and device.address is None:
        mmio = normalise_mmio(address)
        if mmio:
            device.transport = "mmio" if device.transport == "unknown" else device.transport
            device.address = mmio
    bsd_pci = bsd_pci_address(event)
    if bsd_pci is not None and device.address is None:
        device.transport, device.address = "pci", bsd_pci
    vendor, pci_device = event.get("pci_vendor"), event.get("pci_device")
    if isinstance(pci_device, int) and (vendor is None or vendor == spec.VIRTIO_PCI_VENDOR):
        kind, virtio_id = spec.classify_pci_id(pci_device)
        if kind != "not-virtio":
            device.pci_device = pci_device
            device.pci_kind = kind
            device.transport = "pci"
            if virtio_id is not None:
                device.virtio_id = virtio_id
                device.device_type = spec.DEVICE_TYPES.get(virtio_id, f"id{virtio_id}")
            device.note(f"PCI id 1af4:{pci_device:04x} is a {kind} device", event)
    virtio_id = event.get("virtio_id")
    if isinstance(virtio_id, int):
        device.virtio_id = virtio_id
        device.device_type = spec.DEVICE_TYPES.get(virtio_id, f"id{virtio_id}")
        if virtio_id == 0:
            device.placeholder_event = event
    version = event.get("mmio_version")
    if isinstance(version, int):
        device.transport = "mmio"
        device.mmio_version = version
        word = "legacy" if version == 1 else "modern"
        device.note(f"virtio-mmio Version {version} ({word})", event)
    name = event.get("device")
    if device.guest_name is None and isinstance(name, str) and UNIT_NAME.match(name):
        device.guest_name = name
    mode = str(event.get("mode") or "").lower()
    mode = spec.MODE_WORDS.get(mode, mode)
    if mode in ("legacy", "modern"):
        device.add_evidence(mode, "log_says", STRONG, f"the log says {mode} mode", event)

def found_by_refusal(device: Device, event: Event) -> None:
    """A line that refuses a PCI function no earlier line found also finds it (Solo5
    "PCI:00:06: unknown virtio device (0x5)", NetBSD "virtio3 at pci0 dev 7 function 0:
    unknown revision 0x02; giving up"): its name, address and device id."""
    if device.address is None and device.found_event is None and bsd_pci_address(event):
        on_device_found(device, event)


def on_device_bind(device: Device, event: Event) -> None:
    device.bound = True
    name = event.get("device")
    if isinstance(name, str) and not normalise_bdf(name) and not MMIO_PLATFORM.match(name):
        if device.guest_name is None or VIRTIO_N.match(name):
            device.guest_name = name
    driver = event.get("driver")
    if driver and device.driver is None and not str(driver).startswith(("virtio-pci", "virtio-mmio")):
        device.driver = str(driver)
    if event.get("netdev"):
        device.netdev = str(event.get("netdev"))
    address = event.get("address")
    if address is not None and device.address is None:
        bdf = normalise_bdf(str(address)) if isinstance(address, str) else None
        if bdf:
            device.transport, device.address = "pci", bdf
        else:
            mmio = normalise_mmio(address)
            if mmio:
                device.transport, device.address = "mmio", mmio
