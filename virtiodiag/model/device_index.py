"""The devices of one run by type and by interface or disk name, for the lines that name
their device by nothing else (attribution.py: a VMM's or firmware's line naming a type, a
driver's success line naming its type, a guest error naming an interface): a look-up
instead of a scan of every device per such line (a long log has hundreds of devices).

``Device`` takes its ``device_type``, ``netdev`` and ``disk`` from ``IndexedFacts``: each
is a property whose setter also files the device under the new value. A device is filed,
never taken out: an entry is every device that had that value at some point, so a look-up
checks each one it finds against what it is now, exactly as the scan it replaces did, and
gives them in the order of ``model.devices`` (by ordinal). When the entries grow past
INDEX_LIMIT keys (names that came and went in an endless stream) they are filed again
from the devices' current values (flat memory).
"""

from __future__ import annotations

from bisect import insort
from operator import attrgetter
from typing import TYPE_CHECKING, Any

# The devices filed are model/device.py's Device, which imports this module (it takes
# IndexedFacts from here): named by this alias, so the two do not import each other.
Device = Any

INDEX_LIMIT = 4096  # distinct values filed per table before it is filed afresh
_ORDINAL = attrgetter("ordinal")
_NOTHING: list = []


class DeviceIndex:
    """Which devices may have a type (``by_type``) or an interface or disk name
    (``by_name``); each list in the order of ``devices`` (the model's list)."""

    def __init__(self, devices: list[Device]):
        self.devices = devices
        self.by_type: dict[Any, list[Device]] = {}
        self.by_name: dict[Any, list[Device]] = {}

    def of_type(self, device_type) -> list[Device]:
        """The devices that may have this type (check each one's ``device_type``)."""
        return self.by_type.get(device_type, _NOTHING)

    def named(self, name) -> list[Device]:
        """The devices whose interface or disk may have this name (check ``netdev`` and
        ``disk``)."""
        return self.by_name.get(name, _NOTHING)

    def file(self, table: dict[Any, list[Device]], value, device: Device) -> None:
        listed = table.get(value)
        if listed is None:
            if len(table) >= INDEX_LIMIT:
                self._refile(table)
                listed = table.get(value)
            if listed is None:
                table[value] = [device]
                return
        if device not in listed:
            insort(listed, device, key=_ORDINAL)

    def _refile(self, table: dict[Any, list[Device]]) -> None:
        """The table from the devices' current values only."""
        table.clear()
        names = ("device_type",) if table is self.by_type else ("netdev", "disk")
        for device in self.devices:
            for name in names:
                value = getattr(device, name)
                if value is not None:
                    listed = table.setdefault(value, [])
                    if device not in listed:
                        listed.append(device)  # model.devices is in ordinal order


def _filed(slot: str, table: str) -> property:
    """A fact read as a plain attribute (``slot``, read by a C getter: no Python frame
    per read) whose setter files the device under its new value in ``table``."""

    def set_fact(device, value) -> None:
        device.__dict__[slot] = value
        index = device._index
        if value is not None and index is not None:
            index.file(getattr(index, table), value, device)

    return property(attrgetter(slot), set_fact)


class IndexedFacts:
    """The facts of a Device that its run's DeviceIndex files (``_index``, None for a
    device outside a run's model)."""

    _index: DeviceIndex | None

    if TYPE_CHECKING:
        device_type: str | None
        netdev: str | None
        disk: str | None  # vda: the block layer's name of its disk
    else:
        device_type = _filed("_device_type", "by_type")
        netdev = _filed("_netdev", "by_name")
        disk = _filed("_disk", "by_name")
