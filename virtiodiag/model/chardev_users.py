"""The declared vhost-user device whose socket QEMU could not open.

QEMU opens every -chardev before it creates any device (system/vl.c qemu_create_early_backends),
and exits when one fails: a socket chardev in client mode whose server is not there
(util/qemu-sockets.c unix_connect_saddr() "Failed to connect to '%s'", "Connection refused"
when the server is gone), a path it may not use. The error names the chardev only
("-chardev socket,id=char0,path=/run/vfsd.sock: Failed to connect to ...";
grammars/qemu_stderr.lark config_refused[chardev]); the command line says whose socket it
was: the virtio device whose chardev= is that id (vhost-user-fs, vhost-user-blk,
vhost-user-vsock ...: its back-end, virtiofsd or a vhost-user target, was not listening).
A chardev no declared virtio device uses (a serial port's, a monitor's, a TPM emulator's,
a log without the command line) is no virtio device's refusal and is left out, as QEMU's
refusals of other options are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtiodiag.events import Event, Payload

if TYPE_CHECKING:
    from virtiodiag.model.device import Model

CHARDEV = "chardev"  # config_refused's detail for a chardev QEMU could not open


def chardev_id(option: str) -> str | None:
    """The id= of a -chardev option as QEMU echoes it ("-chardev socket,id=c0,...:")."""
    value = option.partition(" ")[2].rstrip(":")
    return next((word[3:] for word in value.split(",") if word.startswith("id=")), None)


def resolve_chardev_refusals(model: Model) -> None:
    """Give each chardev QEMU could not open to the declared virtio device whose chardev=
    it is (the refusal then names that device: its model in ``device_type``, its id in
    ``nic_id``); drop the ones no declared virtio device used."""
    refusals = model.config_refusals
    if not any(e.payload.detail == CHARDEV for e in refusals):
        return
    kept = []
    for event in refusals:
        if event.payload.detail != CHARDEV:
            kept.append(event)
            continue
        ident = chardev_id(str(event.get("option") or ""))
        user = next((d for d in model.declarations if ident and d.chardev == ident), None)
        if user is None:
            continue
        payload = event.payload
        named = (("device_type", user.driver),
                 *((("nic_id", user.qemu_id),) if user.qemu_id else ()))
        kept.append(Event(Payload(payload.dialect, payload.kind, (*payload.fields, *named),
                                  payload.detail),
                          event.path, event.line, event.text, time=event.time,
                          clock=event.clock, seq=event.seq))
    refusals[:] = kept
