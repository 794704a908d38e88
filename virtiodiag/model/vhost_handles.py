"""A vhost-user back-end's errors that name the connection by its handle, tied to the socket
the log names for that handle (grammars/dpdk_vhost.lark).

DPDK's vhost library numbers each front-end connection (its vid, "handle"): socket.c
vhost_user_add_connection() logs "new device, handle is %d" (with the socket's path before
it, "(<path>) ", or after it, ", path is %s", in some releases; with neither in others and in
SPDK's own copy of the library, whose next lines name the socket, "<path>: read message
..."). SPDK's vhost target (lib/vhost/vhost.c, rte_vhost_user.c) reports a connection's
failures by that number, "vhost device %d: Failed to get guest memory table", "vhost device
%d: Guest mmaped memory size %lx is not a 2MB multiple" (``device_error`` with ``handle``,
no device). At the end of the run:

* a connection the log names only by its handle ("handle 0") and the socket the log names
  right after it (the next device record the log starts, of a back-end's lines, before any
  other connection) are one device: the socket's; with no such socket after it, the one
  socket a server bound before it (socket.c's "bind to %s" of releases without the path
  prefix), when there is exactly one with no connection of its own;
* an error naming handle N goes to the device of the latest connection numbered N before
  it (DPDK gives a closed connection's number to the next one);
* a record named by a bare name ("vhost.0": SPDK's "Controller %s: new controller added",
  its errors "Controller %s: ..."; socket.c's ", path is %s" of a relative path) and the
  one socket whose path ends in that name ("(/run/spdk/vhost.0) ...") are one device: SPDK
  makes a controller's socket <dirname><name> (lib/vhost/rte_vhost_user.c
  vhost_register_unix_socket()), one socket, one device.
"""

from __future__ import annotations

from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model
from virtiodiag.model.identity import Identities
from virtiodiag.model.vhost_backends import give_errors

HANDLE_ALIAS = "name:handle "  # the name of a connection the log names by its handle alone


def _connection(event: Event) -> bool:
    return event.kind == "device_found" and event.payload.detail == "vhost_user"


def _handle_only(device: Device) -> int | None:
    """The handle of a connection the log names by it alone, else None."""
    if not device.aliases or not all(a.startswith(HANDLE_ALIAS) for a in device.aliases):
        return None
    found = device.found_event
    if found is None or not _connection(found):
        return None
    number = device.aliases[0][len(HANDLE_ALIAS):]
    return int(number) if number.isdigit() else None


def join_vhost_handles(model: Model, identities: Identities) -> None:
    """Join each handle-only connection to its socket, then give the errors that name a
    handle to their connection's device (module docstring)."""
    _join_sockets(model, identities)
    _join_named_sockets(model, identities)
    errors = [e for e in model.unattributed_errors if isinstance(e.get("handle"), int)]
    if not errors:
        return
    # (seq, handle, device) of every connection the log shows numbered
    numbered: list[tuple[int, int, Device]] = []
    for device in model.live_devices():
        for event in device.timeline:
            if not _connection(event):
                continue
            handle = event.get("handle")
            if not isinstance(handle, int):
                handle = _handle_only_number(device, event)
            if isinstance(handle, int):
                numbered.append((event.seq, handle, device))
    numbered.sort(key=lambda item: item[0])
    moved: dict[int, list[Event]] = {}
    owners: dict[int, Device] = {}
    for error in errors:
        owner = None
        for seq, handle, device in numbered:
            if seq < error.seq and handle == error.get("handle"):
                owner = device
        if owner is not None:
            owners[id(owner)] = owner
            moved.setdefault(id(owner), []).append(error)
    for key, events in moved.items():
        give_errors(model, owners[key], events)


def _handle_only_number(device: Device, event: Event) -> int | None:
    """A connection line that names no socket: its handle is the device's handle name."""
    for alias in device.aliases:
        if alias.startswith(HANDLE_ALIAS) and alias[len(HANDLE_ALIAS):].isdigit():
            return int(alias[len(HANDLE_ALIAS):])
    return None


def _join_sockets(model: Model, identities: Identities) -> None:
    devices = sorted((d for d in model.live_devices() if d.first_event is not None),
                     key=lambda d: d.first_event.seq if d.first_event else 0)
    for index, device in enumerate(devices):
        if _handle_only(device) is None or device.found_event is None:
            continue
        after = [d for d in devices[index + 1:]
                 if d.first_event is not None and d.first_event.seq > device.found_event.seq]
        if after and _lone_socket(model, after[0]):
            identities.merge(after[0], device,
                             how="the socket the log names after the connection")
            continue
        before = [d for d in devices[:index] if d.aliases and _lone_socket(model, d)]
        if len(before) == 1:
            identities.merge(before[0], device,
                             how="the one socket the server bound before the connection")


def _join_named_sockets(model: Model, identities: Identities) -> None:
    """Join each back-end record named by a bare name to the one socket of that name."""
    bare: list[tuple[str, Device]] = []
    sockets: dict[str, list[Device]] = {}
    for device in model.live_devices():
        if device.sides != {"host"}:
            continue
        names = [a[5:] for a in device.aliases if a.startswith("name:")]
        if names and not any("/" in n for n in names):
            bare.extend((n, device) for n in names if not n.startswith("handle "))
        for name in names:
            if "/" in name:
                sockets.setdefault(name.rsplit("/", 1)[1], []).append(device)
    for name, device in bare:
        paths = sockets.get(name, [])
        if len(paths) == 1 and paths[0] is not device and device.aliases:
            identities.merge(paths[0], device, how=f"the socket SPDK makes for {name}")


def _lone_socket(model: Model, device: Device) -> bool:
    """A record of a back-end's socket with no connection of its own."""
    first = device.first_event
    return (first is not None and model.side_of(first.dialect) == "host"
            and not any(_connection(e) for e in device.timeline)
            and _handle_only(device) is None)
