"""Linux's sysfs view of a virtio device: the attributes of /sys/bus/virtio/devices/NAME
read back (``status``, ``features``, ``device``), and the guest name NAME itself.

What they prove is recorded like the driver's own lines: a status read back, the
features the driver accepted (with VERSION_1 as interface evidence once something was
negotiated) and the virtio device id.
"""

from __future__ import annotations

from collections.abc import Callable

from virtiodiag import limits, spec
from virtiodiag.events import Event
from virtiodiag.model.attempts import LEGACY, MODERN, STRONG, FeatureValue
from virtiodiag.model.device import Device, Model
from virtiodiag.model.identity import VIRTIO_N

StatusRecorder = Callable[[Device, Event, int, bool], None]  # Handlers.status


def read_attribute(model: Model, device: Device, event: Event, status: StatusRecorder) -> None:
    """One ``sysfs_attr`` line; ``status`` records a status value (read back) on the device."""
    # /sys/bus/virtio/devices/NAME: NAME is the guest's own name of the device (Linux
    # registers virtio0, virtio1 ... in probe order, drivers/virtio/virtio.c), so it
    # counts for link_guest_names like a driver's "virtio_blk virtio1:" line does.
    name = event.get("device")
    if device.guest_name is None and isinstance(name, str) and VIRTIO_N.match(name):
        device.guest_name = name
    attr, value = event.get("attr"), event.get("value_text", event.get("value"))
    text = str(value) if value is not None else ""
    if attr == "status":
        try:
            number = limits.status_byte(model, event, value, text)  # 8 bits
        except ValueError:  # not a number, or (counted) wider than a byte
            return
        status(device, event, number, True)
    elif attr == "features":
        if set(text) <= {"0", "1"} and text:
            bits = sum(1 << i for i, ch in enumerate(text) if ch == "1")
            device.features_accepted = bits
            device.features_accepted_event = event
            device.feature_log.append(FeatureValue("accepted", bits, event))
            if not (device.final_status or 0) & (spec.FEATURES_OK | spec.DRIVER_OK):
                return  # nothing negotiated yet (no driver bound): no mode evidence
            if bits >> spec.VERSION_1 & 1:
                device.add_evidence(MODERN, "version1_accepted", STRONG,
                                    "sysfs features include VERSION_1 (bit 32)", event)
            else:
                device.add_evidence(LEGACY, "version1_not_accepted", STRONG,
                                    "sysfs features lack VERSION_1 (bit 32)", event)
    elif attr == "device":
        try:
            number = value if isinstance(value, int) else int(text, 16)
        except ValueError:
            return
        device.virtio_id = number
        device.device_type = device.device_type or spec.DEVICE_TYPES.get(number, f"id{number}")
