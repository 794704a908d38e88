"""What any guest line says about its device besides its own kind's handling.

Attribution calls ``note_guest_line`` after a line's handler: Linux's own name of the
device (virtio3) from any of its lines; the transport and address a line's own device
name gives (a BDF, a virtio-mmio platform device, an s390 ccw device); DRIVER_OK implied
by a line that shows the probe finished; a device driver printing about the device is
bound to it. A host line gives only the transport and PCI or ccw address it names.
"""

from __future__ import annotations

from virtiodiag.events import Event
from virtiodiag.model.ccw import ccw_device_of
from virtiodiag.model.class_links import CLASS_DEVICES
from virtiodiag.model.device import Device
from virtiodiag.model.discovery import TRANSPORT_DRIVERS, imply_driver_ok, imply_ready
from virtiodiag.model.identity import (MMIO_PLATFORM, VIRTIO_N, normalise_bdf, normalise_ccw,
                                       normalise_mmio, whole_disk)


def note_guest_line(device: Device, event: Event, side: str) -> None:
    """What a guest line says about the driver, besides its own kind's handling: Linux's
    own name of the device (virtio3) from any of its lines; DRIVER_OK implied by a line
    that shows the probe finished (a driver's success line, a registered netdev, an input
    device: virtinput_probe() sets DRIVER_OK before input_register_device() prints it);
    a device driver printing an error about the device is bound to it. On any side, the
    transport a line names (a VMM's "_virtio-pci-_disk0: ...") is the device's."""
    fields = event.payload.by_name
    transport = fields.get("transport")
    if device.transport == "unknown" and transport in ("pci", "mmio"):
        device.transport = str(transport)
    if side == "host":
        # A VMM line that gives the device's PCI address ("Missing section footer for
        # 0000:00:02.0/virtio-gpu", "Failed to map descriptor ring for device 0000:00:03.0").
        for place in (fields.get("address"), fields.get("device")):
            bdf = normalise_bdf(place) if isinstance(place, str) else None
            if device.address is None and bdf:
                device.transport, device.address = "pci", bdf
        ccw = ccw_device_of(fields.get("subchannel"), fields.get("devno"))
        if ccw is not None and device.address is None:  # QEMU plugged a virtio-ccw device
            device.transport, device.address = "ccw", ccw
        return
    name = fields.get("device")
    if device.guest_name is None and isinstance(name, str) and VIRTIO_N.match(name):
        device.guest_name = name
    if device.address is None and isinstance(name, str):
        # "virtio-pci 0000:00:02.0: ...", "virtio-mmio a003e00.virtio_mmio: ...": the
        # line's own device is the transport's, at that address (whatever the line says).
        platform = MMIO_PLATFORM.match(name)
        if normalise_bdf(name):
            device.transport, device.address = "pci", normalise_bdf(name)
        elif platform:
            device.transport, device.address = "mmio", normalise_mmio(platform.group(1))
        elif normalise_ccw(name):  # "virtio_ccw 0.0.0002: ...": the s390 ccw device
            device.transport, device.address = "ccw", normalise_ccw(name)
    driver = fields.get("driver")
    if isinstance(driver, str) and driver != "virtio" and not driver.startswith(TRANSPORT_DRIVERS):
        device.driver_lines.append(event)  # the attempt it falls in had that driver (attempts.py)
    kind = event.kind
    if kind == "driver_ready":
        imply_ready(device, event)
    elif kind == "netdev":
        # Linux names the interface in 'netdev' (virtio0 ens3); a BSD attach line's
        # subject is the interface itself (vioif0: Ethernet address ...).
        interface = fields.get("netdev") or fields.get("device")
        imply_driver_ok(device, event, "the driver registered network interface "
                        f"{interface}" if interface else
                        "the driver registered a network interface")
    elif kind == "device_link" and event.payload.detail in CLASS_DEVICES:
        # a device of a class that the virtio device's driver registers in its probe
        # (an input device, an ALSA card): the probe did its work
        device_type, registered = CLASS_DEVICES[event.payload.detail]
        device.device_type = device.device_type or device_type
        if fields.get("netdev"):
            device.netdev = str(fields.get("netdev"))
        if fields.get("disk"):
            device.disk = whole_disk(str(fields.get("disk")))
        imply_driver_ok(device, event, f"the driver registered {registered}")
    elif kind == "device_error":
        if event.payload.detail == "tx_timeout":
            # net/sched's watchdog runs only on an interface that is up: the driver's
            # probe had registered it, and the device had reached DRIVER_OK, before it failed
            imply_driver_ok(device, event, "the interface's transmit watchdog ran (only an "
                            "interface that is up has one)")
        elif event.payload.detail == "xdp":
            # an XDP program is attached to a registered interface only (by user space,
            # through it): the driver's probe had registered it, DRIVER_OK set before
            imply_driver_ok(device, event, "an XDP program was attached to its network "
                            "interface (only a registered interface takes one)")
        elif event.payload.detail == "xdp_refused":
            # ... and so is one the driver refuses (virtio_net's reason, to user space)
            imply_driver_ok(device, event, "an XDP program was offered to its network "
                            "interface (only a registered interface is offered one)")
        driver = fields.get("driver")
        if (driver and name and not str(driver).startswith(TRANSPORT_DRIVERS)
                and driver != "virtio"):
            device.bound = True
            device.driver = device.driver or str(driver)
