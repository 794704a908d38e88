"""The declared NIC whose network back-end QEMU refused.

QEMU sets up its network back-ends (net/net.c net_init_clients(): every -netdev, then each
-nic's own) before it creates any device, and exits when one fails: a tap it could not
open or configure (net/tap-linux.c tap_open() "could not configure /dev/net/tun (%s)"), a
back-end "not compiled into this binary", a bridge helper that failed. The refusal names
the back-end only ("-netdev tap,id=hn0,...: ..."; grammars/qemu_stderr.lark
config_refused[netdev]); the command line says which NIC it served: the -device whose
netdev= is that id, or the -nic whose own option it is (model/declared.py). A back-end no
declared virtio NIC uses (an e1000's, a log without the command line) is no virtio
device's refusal and is left out, as QEMU's refusals of other options are.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from virtiodiag.events import Event, Payload
from virtiodiag.model.declared import attach_declaration
from virtiodiag.model.eras import OS

if TYPE_CHECKING:
    from virtiodiag.model.device import Model
    from virtiodiag.model.records import Declaration

NETDEV = "netdev"  # config_refused's detail for a refused back-end


def backend_option(event: Event) -> str | None:
    """The network back-end's option a QEMU error line is located at ("-netdev ...:",
    "-nic ...:"), None for any other."""
    option = event.get("option")
    return option if isinstance(option, str) and option.startswith(("-netdev ", "-nic ")) \
        else None


def option_id(option: str) -> str | None:
    """The id= of an option as QEMU echoes it ("-netdev tap,id=hn0,...:", "-chardev
    socket,id=c0,...:", or libvirt 7.x+'s JSON '-netdev {"type":"tap","id":"hostnet0",...}:')."""
    value = option.partition(" ")[2].rstrip(":")
    if value.startswith("{"):
        try:
            fields = json.loads(value)
        except ValueError:
            return None
        found = fields.get("id") if isinstance(fields, dict) else None
        return found if isinstance(found, str) else None
    return next((word[3:] for word in value.split(",") if word.startswith("id=")), None)


def user_of(model: Model, option: str) -> Declaration | None:
    """The declared virtio NIC the back-end of this option served, if the log says."""
    if option.startswith("-nic "):
        own = option.rstrip(":")
        return next((d for d in model.declarations if d.option == own), None)
    ident = option_id(option)
    if ident is None:
        return None
    return next((d for d in model.declarations if d.netdev == ident), None)


def name_backend_errors(model: Model) -> None:
    """A host-only net device made of QEMU's errors about a back-end's vhost ("-netdev
    tap,id=hn0,vhost=on: vhost-net requested but could not be initialized", QEMU exits) is
    the declared NIC that back-end served: it takes that declaration, which no guest saw."""
    taken = {id(d.declaration) for d in model.live_devices() if d.declaration is not None}
    for device in model.live_devices():
        if device.declaration is not None or device.sides != {"host"}:
            continue
        options = (backend_option(e) for e in device.errors)
        option = next((o for o in options if o is not None), None)
        nic = user_of(model, option) if option is not None else None
        if nic is None or id(nic) in taken or nic.device_type != device.device_type:
            continue
        nic.unseen, nic.guest_silent = True, OS not in model.eras.sides
        taken.add(id(nic))
        attach_declaration(device, nic)


def resolve_netdev_refusals(model: Model) -> None:
    """Give each refused back-end to the NIC it served (the refusal then names that NIC:
    its model in ``device_type``, its id in ``nic_id``, the back-end's option in
    ``backend``); drop the ones no declared virtio NIC used."""
    resolve_refusals(model, NETDEV, lambda option: user_of(model, option),
                     lambda option: (("backend", option.rstrip(":")),))


def resolve_refusals(model: Model, detail: str,
                     user_for: Callable[[str], Declaration | None],
                     extra: Callable[[str], tuple[tuple[str, str], ...]] = lambda _: ()
                     ) -> None:
    """Give each of QEMU's refusals of one kind of option (``detail``: a back-end, a
    chardev) to the declared virtio device that used it (``user_for`` its option): the
    refusal then names that device, its model in ``device_type`` (after ``extra``'s fields)
    and its id in ``nic_id``; drop the refusals no declared virtio device used."""
    refusals = model.config_refusals
    if not any(e.payload.detail == detail for e in refusals):
        return
    kept = []
    for event in refusals:
        if event.payload.detail != detail:
            kept.append(event)
            continue
        option = str(event.get("option") or "")
        user = user_for(option)
        if user is None:
            continue
        payload = event.payload
        named = (("device_type", user.driver), *extra(option),
                 *((("nic_id", user.qemu_id),) if user.qemu_id else ()))
        fields = (*payload.fields, *named)
        kept.append(Event(Payload(payload.dialect, payload.kind, fields, payload.detail),
                          event.path, event.line, event.text, time=event.time,
                          clock=event.clock, seq=event.seq))
    refusals[:] = kept
