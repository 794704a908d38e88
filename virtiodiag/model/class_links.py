"""What a device_link line (a sysfs path, an ALSA card name) says of the virtio device it names.

A virtio device's driver registers class devices under it in its probe (drivers/base/core.c
device_add(): <transport device>/virtioN/<class>/<name>; virtio_snd's ALSA card "VirtIO
SoundCard at <bus>/<transport device>/virtioN"): the grammars give the line a detail by
the class, and this table says which type of device that is, what the report says the
driver registered, and how the line joined the device to its transport device.
"""

from __future__ import annotations

# detail -> (the device's type, what the driver registered: the line implies DRIVER_OK)
CLASS_DEVICES = {
    "input": ("input", "an input device"),
    "sound": ("sound", "an ALSA sound card"),
    "net": ("net", "a network interface, which a sysfs path under the device shows"),
    "block": ("block", "a disk, which a sysfs path under the device shows"),
    "gpu": ("gpu", "a DRM card, which a sysfs path under the device shows"),
    "console": ("console", "a console port, which a sysfs path under the device shows"),
    "scsi": ("scsi", "a SCSI host, which a sysfs path under the device shows"),
}

# How a device_link's line joined its virtio device to the transport device (the report's
# "matched by"), by detail: `ls -l` of a virtio device's link, the kernel's input line,
# virtio_snd's ALSA card name; any other, a sysfs path in some tool's output.
LINK_MATCH = {"symlink": "sysfs link", "input": "sysfs path in a kernel message",
              "sound": "the ALSA card's name"}
