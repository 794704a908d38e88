"""features-not-offered: the guest's log claims features QEMU's device does not offer.

**What it detects.** With ``virtiodiag run``, QEMU's view over QMP gives the features
each device offers. A device whose log records accepted features (sysfs ``features``,
a driver's own print) with a bit the device does not offer is flagged, naming the bits.

**Bad**::

    # QEMU offers VERSION_1 and MAC only
    /sys/bus/virtio/devices/virtio0/features:1000010000000000000000000000000010000000000000000000000000000000

**Good**::

    /sys/bus/virtio/devices/virtio0/features:0000010000000000000000000000000010000000000000000000000000000000

**Why it matters.** A driver may accept only features the device offers (spec 3.1.1
step 4, 2.2): a driver that believes it negotiated more (a stale mask, a bit number
off by one, a legacy 32-bit feature word) drives the device in a way it does not
understand, and the device may reject FEATURES_OK or misbehave later.

**How to fix.** Accept the intersection of what the device offers and what the driver
supports; read both feature words (bits 32 and up through the select register).
"""

from virtiodiag import spec
from virtiodiag.rules.base import Hit
from virtiodiag.rules._common import qemu_pairs

CODE = "VD019"
NAME = "features-not-offered"
SEVERITY = "error"
SUMMARY = "The guest's log claims features the device does not offer (QEMU's view, QMP)"
SPEC = "3.1.1"
OPTIONS: dict[str, object] = {}
LIVE_EVENTS: set[str] = set()


def check(ctx):
    for qemu, device in qemu_pairs(ctx):
        if device is None or not device.features_accepted:
            continue
        claimed = device.features_accepted
        extra = claimed & ~qemu.features_offered
        # A name QEMU gave that we could not turn into a bit might be one of them: skip it.
        unknown = set(qemu.unmapped_features)
        names = [n for n in spec.feature_names(extra, qemu.device_type) if n not in unknown]
        if not names:
            continue
        yield Hit(device, device.features_accepted_event,
                  f"{device.id}: the log says the guest accepted {', '.join(names)}, which "
                  f"QEMU's device does not offer (offered 0x{qemu.features_offered:x})",
                  "accept only features the device offers (device features AND driver "
                  "features), reading both 32-bit feature words", key="not-offered")
