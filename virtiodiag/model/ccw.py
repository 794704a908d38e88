"""s390 virtio-ccw in QEMU's trace: which ccw device a traced device is.

QEMU traces a virtio-ccw device's subchannel and device number when it is plugged
(``virtio_ccw_new_device``: "add subchannel fe.0.0001, devno 0x0002"), and every channel
command the guest starts on a subchannel (``virtio_ccw_interpret_ccw``), but names the
device's ``vdev`` pointer only in the virtio core's lines. A WRITE_STATUS (0x31) or
VDEV_RESET (0x33) command is carried out at once, in the same thread: the
``virtio_set_status`` line right after it is that subchannel's device. This module owns
those two facts: the name Linux gives the ccw device (drivers/s390/cio/device.c
"0.%x.%04x": ssid, devno) and the commands whose next status line is their device's.
"""

from __future__ import annotations

# virtio_ccw.c CCW_CMD_WRITE_STATUS, CCW_CMD_VDEV_RESET
STATUS_COMMANDS = frozenset({0x31, 0x33})


def ccw_device_of(subchannel, devno) -> str | None:
    """Linux's name of the ccw device QEMU plugged at ``subchannel`` (cssid.ssid.number)
    with device number ``devno``: "0.<ssid>.<devno>" (Linux leaves the css id out)."""
    if not isinstance(subchannel, str) or not isinstance(devno, int) or not 0 <= devno <= 0xFFFF:
        return None
    parts = subchannel.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return f"0.{int(parts[1])}.{devno:04x}"


def is_status_command(event) -> bool:
    """A channel command whose next ``virtio_set_status`` line is its subchannel's device."""
    return (event.payload.kind == "note" and event.payload.detail == "ccw_command"
            and event.get("command") in STATUS_COMMANDS)
