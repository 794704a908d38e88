#!/usr/bin/env python3
"""Capture the real boot behind tests/test_attempt_drivers.py: one virtio-net device
whose driver is unbound and bound again through sysfs, then unloaded (rmmod) and loaded
again, with QEMU's virtio_set_status trace showing each reset-to-reset attempt.

Usage: python3 scripts/capture-rebind.py OUT_DIR

Debian's kernel and the tests' busybox initramfs (tests/guest_image.py) with its own
/init (below), x86_64 TCG, one guest, bounded by ``timeout``, the NIC without a back-end.
QEMU's trace (stderr) and the guest's serial console (stdout) go to one pipe, so
OUT_DIR/rebind.log holds both in the order they were written, after the command line as
a shell's ``set -x`` prints it. After each step /init lists the device's driver link
(``/sys/bus/virtio/devices/virtio0/driver -> .../virtio_net``), or says it has none.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import guest_image  # type: ignore[import-not-found]

INIT = guest_image.LOADER_PREAMBLE + r"""driver() {
    if [ -e /sys/bus/virtio/devices/virtio0/driver ]; then
        ls -l /sys/bus/virtio/devices/virtio0/driver
    else
        echo "vd-guest: virtio0 has no driver"
    fi
}
load virtio_pci
load virtio_net
echo "vd-guest: step 1, virtio_net loaded"; driver
echo virtio0 > /sys/bus/virtio/drivers/virtio_net/unbind
echo "vd-guest: step 2, unbound"; driver
echo virtio0 > /sys/bus/virtio/drivers/virtio_net/bind
echo "vd-guest: step 3, bound again"; driver
rmmod virtio_net
echo "vd-guest: step 4, virtio_net removed"; driver
insmod /lib/modules/virtio_net.ko
echo "vd-guest: step 5, virtio_net loaded again"; driver
echo "vd-guest: done"
poweroff -f
"""


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    why = guest_image.missing()
    if why:
        sys.exit(f"capture-rebind: {why}")
    guest_image.INIT = INIT
    kernel = guest_image.build_initramfs(str(out / "initrd.gz"))
    command = guest_image.qemu_command(
        kernel, "initrd.gz", "", "-trace", "virtio_set_status",
        "-device", "virtio-net-pci,addr=0x3,romfile=,mac=52:54:00:12:34:56")
    guest_image.capture(command, out, 180, "rebind.log")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
