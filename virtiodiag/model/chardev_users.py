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

from virtiodiag.model.netdev_users import option_id, resolve_refusals

if TYPE_CHECKING:
    from virtiodiag.model.device import Model
    from virtiodiag.model.records import Declaration

CHARDEV = "chardev"  # config_refused's detail for a chardev QEMU could not open


def resolve_chardev_refusals(model: Model) -> None:
    """Give each chardev QEMU could not open to the declared virtio device whose chardev=
    it is (the refusal then names that device: its model in ``device_type``, its id in
    ``nic_id``); drop the ones no declared virtio device used."""
    def user_for(option: str) -> Declaration | None:
        ident = option_id(option)
        return next((d for d in model.declarations if ident and d.chardev == ident), None)

    resolve_refusals(model, CHARDEV, user_for)
