"""Devices a transport announces under no name: named by their place in the boot's probe order.

NuttX's virtio_mmio_init_device ("VIRTIO version: 2 device: 3 vendor: ffff"), Hermit's
"Found Virtio-FS device!" and Solo5's "virtio_config: device_id=1, ..." print no name, no
address and no unit number. A named device seen again in a later boot of the same log
(virtio0, 0000:00:03.0, a vdev pointer) is the same record, its timeline going on across
the reboot; an unnamed one has only its place in the order the transport probes its
devices, which firmware and RTOS drivers keep from boot to boot (a fixed table of
register windows, a bus walked in slot order). So the Nth announcement of a dialect
after a boot began is the device the Nth announcement of an earlier boot was, when the
two lines say the same (type, transport, version, vendor: the same payload); a boot
whose Nth device differs gets a record of its own for it.

A boot begins where the log says so: a line the model reads as a boot (Zephyr's "***
Booting Zephyr OS", the documented RTOS step format's start line, a VMM starting), the
guest ending a run (Linux's "reboot: Restarting system"), or the announcement's time
going back before the previous announcement's (the clock restarted). Where the log says
nothing of boots, every announcement stays a device of its own, as before: two
identical devices of one boot are never joined on a guess. Without this, a serial
capture of 1,000 boots listed 1,000 records per device, the run's device limit was
spent on repeats (events of real devices past it not applied), and memory grew with the
number of boots.
"""

from __future__ import annotations

from virtiodiag.events import Event, Payload
from virtiodiag.model.device import Device, Model
from virtiodiag.model.identity import Identities


class _ProbeOrder:
    """One dialect's unnamed announcements: the place reached in the current boot, and
    the device of each (place, announcement) seen so far."""

    __slots__ = ("place", "last_seq", "last_time", "devices")

    def __init__(self) -> None:
        self.place = 0
        self.last_seq = -1
        self.last_time: float | None = None
        # (place in its boot, the announcement) -> (device, its name)
        self.devices: dict[tuple[int, Payload], tuple[Device, str]] = {}


class UnnamedDevices:
    """The record each unnamed announcement of one run is about."""

    def __init__(self, model: Model, identities: Identities):
        self.model = model
        self.identities = identities
        self._orders: dict[str, _ProbeOrder] = {}

    def device_for(self, event: Event) -> Device | None:
        """The device an announcement with no name is about (None past the run's device
        limit, counted there)."""
        payload = event.payload
        order = self._orders.get(payload.dialect)
        if order is None:
            order = self._orders[payload.dialect] = _ProbeOrder()
        if self._new_boot(order, event):
            order.place = 0
        place = order.place
        order.place += 1
        order.last_seq = event.seq
        if event.time is not None:
            order.last_time = event.time
        known = order.devices.get((place, payload))
        if known is not None:
            device, name = known
            return self.identities.now(device, [name])  # joined to another record since
        name = f"unnamed:{payload.dialect}:{event.seq}"
        made = self.identities.device_for((name,))
        if made is not None:
            order.devices[(place, payload)] = (made, name)
        return made

    def _new_boot(self, order: _ProbeOrder, event: Event) -> bool:
        """Whether a boot began since this dialect's previous unnamed announcement."""
        if order.last_seq < 0:
            return False
        model = self.model
        boots = model.boots
        if boots and boots[-1].seq > order.last_seq:
            return True
        if model.eras.watcher is not None:
            model.eras.watcher.settle()  # a power-off held (model/last_seen.py) is read here
        finished = model.ending.finished
        if finished is not None and finished.seq > order.last_seq:
            return True
        return (event.time is not None and order.last_time is not None
                and event.time < order.last_time)
