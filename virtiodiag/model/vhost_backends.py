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

A log that shows no device at all may still name the type of the one whose vhost back-end
failed: a back-end's own error (virtiofsd's "[... ERROR virtiofsd] Waiting for daemon
failed: ...", typed fs) or a vhost device model's ("vhost-vsock: ..."). When every typed
vhost error of the log names one type and untyped ones sit beside them, they are all one
device's: a record of that type is made for them (typed errors alone keep their wording,
"an unnamed fs device", as before: nothing is joined).
"""

from __future__ import annotations

from virtiodiag import spec
from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model
from virtiodiag.model.identity import Identities


def _vhost_user_backend(device: Device) -> bool:
    """Whether a vhost-user back-end's own line showed the device (its connection)."""
    return any(e.payload.kind == "device_found" and e.payload.detail == "vhost_user"
               for e in device.timeline)


def _vhost_errors(model: Model) -> list[Event]:
    """The host's vhost errors no line tied to a device (typed or not)."""
    return [e for e in model.unattributed_errors
            if e.payload.kind == "device_error" and e.payload.detail == "vhost"
            and model.side_of(e.dialect) == "host"]


def give_errors(model: Model, device: Device, moved: list[Event], side: str = "host") -> None:
    """Move run-wide errors (``model.unattributed_errors``) to ``device``, printed by
    ``side``."""
    for event in moved:
        event.device_key = device.identity
        device.errors.append(event)
        device.insert_timeline(event)
        device.dialects.add(event.dialect)
        if device.first_event is None or event.seq < device.first_event.seq:
            device.first_event = event
        if device.last_event is None or device.last_event.seq < event.seq:
            device.last_event = event
    device.sides.add(side)
    model.unattributed_errors[:] = [e for e in model.unattributed_errors
                                    if not any(e is m for m in moved)]


def join_vhost_errors(model: Model, identities: Identities) -> None:
    """Give the VMM's untyped vhost errors to the log's one device, when a vhost-user
    back-end showed it, or to the one device type the log's typed vhost errors name
    (module docstring)."""
    errors = _vhost_errors(model)
    untyped = [e for e in errors if not e.get("device_type")]
    if not untyped:
        return
    live = model.live_devices()
    if len(live) == 1 and _vhost_user_backend(live[0]):
        give_errors(model, live[0], untyped)
        return
    types = {spec.normalise_type(str(e.get("device_type")))
             for e in errors if e.get("device_type")}
    if live or len(types) != 1 or None in types:
        return
    (wanted,) = types
    device = identities.device_for((f"name:virtio-{wanted}",))
    if device is None:
        return  # over the run's device limit (counted there)
    device.device_type = wanted
    give_errors(model, device, errors)
