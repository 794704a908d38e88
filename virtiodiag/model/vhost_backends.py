"""A vhost-user back-end's own log and its VMM's vhost errors: one device's.

QEMU's vhost and vhost-user errors (hw/virtio/vhost.c, hw/virtio/vhost-user.c: "Failed to
set msg fds.", "vhost VQ 0 ring restore failed: -22: ...", "Error starting vhost: 22",
"Failed to read msg header. Read 0 instead of 12. ...") name no device: they are
``device_error[vhost]`` events of no device and no type. A back-end's own log may show
the device they are about: virtiofsd's "Client connected, servicing requests" (or the C
daemon's "virtio_session_mount: Received vhost-user socket connection") is the VMM
opening the vhost-user connection of its virtio-fs device (``device_found[vhost_user]``).
When that device is the only one the log shows, the VMM's vhost errors are about it: the
connection that failed has the back-end at its other end. With any other device in the
log they stay unattributed (a vhost-net NIC's kernel back-end prints no line of its own,
so nothing tells whose they are).
"""

from __future__ import annotations

from virtiodiag.model.device import Device, Model


def _vhost_user_backend(device: Device) -> bool:
    """Whether a vhost-user back-end's own line showed the device (its connection)."""
    return any(e.payload.kind == "device_found" and e.payload.detail == "vhost_user"
               for e in device.timeline)


def join_vhost_errors(model: Model) -> None:
    """Give the VMM's untyped vhost errors to the log's one device, when a vhost-user
    back-end showed it (module docstring)."""
    live = model.live_devices()
    if len(live) != 1 or not _vhost_user_backend(live[0]):
        return
    (device,) = live
    moved = [e for e in model.unattributed_errors
             if e.payload.kind == "device_error" and e.payload.detail == "vhost"
             and not e.get("device_type") and model.side_of(e.dialect) == "host"]
    if not moved:
        return
    for event in moved:
        event.device_key = device.identity
        device.errors.append(event)
        device.insert_timeline(event)
        device.dialects.add(event.dialect)
        if device.last_event is None or device.last_event.seq < event.seq:
            device.last_event = event
    device.sides.add("host")
    model.unattributed_errors[:] = [e for e in model.unattributed_errors
                                    if not any(e is m for m in moved)]
