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

from virtiodiag.model.netdev_users import backend_option, option_id, resolve_refusals, user_of
from virtiodiag.model.vhost_backends import give_errors

if TYPE_CHECKING:
    from virtiodiag.model.device import Model
    from virtiodiag.model.records import Declaration

CHARDEV = "chardev"  # config_refused's detail for a chardev QEMU could not open


def chardev_user(model: Model, option: str) -> Declaration | None:
    """The declared virtio device whose chardev= is the id of this -chardev option."""
    ident = option_id(option)
    return next((d for d in model.declarations if ident and d.chardev == ident), None)


def resolve_chardev_refusals(model: Model) -> None:
    """Give each chardev QEMU could not open to the declared virtio device whose chardev=
    it is (the refusal then names that device: its model in ``device_type``, its id in
    ``nic_id``); drop the ones no declared virtio device used."""
    resolve_refusals(model, CHARDEV, lambda option: chardev_user(model, option))


def join_option_errors(model: Model) -> None:
    """QEMU's vhost errors located at a back-end's option and at nothing else: "-netdev
    tap,id=hn0,vhost=on: vhost-net requested but could not be initialized" (net/tap.c),
    "-netdev vhost-user,id=n0,chardev=c0: Failed to read msg header. ..." (hw/virtio/
    vhost-user.c, net/vhost-user.c vhost_user_start()), "-chardev socket,id=c1,...: Failed
    to connect to '...': Connection refused" (chardev/char-socket.c, util/qemu-sockets.c):
    QEMU exits there, and no later line names a device. The command line says whose
    back-end it was: the declared virtio device whose netdev= (a -nic's own) or chardev= is
    the option's id. The error is that device's (its record, declared and not shown, or
    the guest's record the declaration joined); one no declared virtio device used stays
    the run's."""
    for event in [e for e in model.unattributed_errors
                  if e.payload.kind == "device_error" and e.payload.detail == "vhost"]:
        option = event.get("option")
        if not isinstance(option, str):
            continue
        netdev = backend_option(event)
        user = (user_of(model, netdev) if netdev is not None
                else chardev_user(model, option) if option.startswith("-chardev ")
                else None)
        device = next((d for d in model.live_devices() if user is not None
                       and d.declaration is user), None)
        if device is not None:
            give_errors(model, device, [event])
