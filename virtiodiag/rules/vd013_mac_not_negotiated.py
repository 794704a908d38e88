"""mac-not-negotiated: a virtio-net device runs without the device's MAC address.

**What it detects.** A network device whose accepted features are known and lack
VIRTIO_NET_F_MAC (bit 5), or Linux's ``Assigned random MAC address`` (the driver did not
get a MAC from the device and made one up).

**Bad**::

    virtio_net virtio0: Assigned random MAC address 5e:0b:1c:3a:77:12

**Good**::

    /sys/bus/virtio/devices/virtio0/features:1100010000000001111101010000110010000000100000000000000000000000

**Why it matters.** Without VIRTIO_NET_F_MAC the guest uses a random address that changes
at every boot: DHCP reservations, firewall rules and the host's view of the guest (QEMU
``mac=``) no longer match, and two guests may clash. It is usually a driver that did not
accept the feature the device offered.

**How to fix.** Accept VIRTIO_NET_F_MAC when offered and read the ``mac`` field from the
device configuration space; give QEMU ``-device virtio-net-...,mac=52:54:00:..``.
"""

from virtiodiag import spec
from virtiodiag.rules.base import Hit

CODE = "VD013"
NAME = "mac-not-negotiated"
SEVERITY = "warning"
SUMMARY = "A virtio-net device without VIRTIO_NET_F_MAC (random MAC address)"
SPEC = "5.1.3, 5.1.4"
OPTIONS: dict[str, object] = {}
LIVE_EVENTS = {"mac_random"}

_HINT = "accept VIRTIO_NET_F_MAC (bit 5) when the device offers it and read mac from config space"


def check(ctx):
    for device in ctx.devices:
        if device.mac_random is not None:
            yield Hit(device, device.mac_random,
                      f"{device.id}: the driver assigned a random MAC address "
                      "(VIRTIO_NET_F_MAC not negotiated)", _HINT, key="mac")
            continue
        if not ctx.final or not device.is_net:
            continue
        accepted, event = device.features_accepted, device.features_accepted_event
        if not accepted or event is None or not _low_word_known(accepted, event):
            continue  # unknown, or all zero: nothing was negotiated (no driver)
        if accepted >> spec.NET_F_MAC & 1:
            continue
        offered = device.features_offered
        also = (" although the device offered it" if offered is not None
                and offered >> spec.NET_F_MAC & 1 else "")
        yield Hit(device, event,
                  f"{device.id}: accepted features 0x{accepted:x} lack VIRTIO_NET_F_MAC "
                  f"(bit 5){also}", _HINT, key="mac")


def _low_word_known(accepted, event):
    """Bits 0-31 were seen (not only a high feature word)."""
    word = event.get("word")
    if isinstance(word, int) and word > 0:
        return bool(accepted & 0xFFFFFFFF)
    return True
