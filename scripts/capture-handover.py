#!/usr/bin/env python3
"""Capture a real boot where one virtio PCI function passes between drivers: virtio-pci
(with virtio_net on top) takes it, is unbound, vfio-pci takes it, is unbound, and
virtio-pci takes it again (a second virtio_net probe, under a new virtioN name).

Usage: python3 scripts/capture-handover.py OUT_DIR

Debian's kernel and the tests' busybox initramfs (tests/guest_image.py) with its own /init
(below) and the vfio-pci modules, x86_64 TCG on q35 with QEMU's intel-iommu (vfio-pci
needs an IOMMU group; Debian's kernel has no VFIO_NOIOMMU), one guest at a time, bounded
by ``timeout``, the NIC without a back-end. QEMU's trace of the status register (stderr)
and the serial console (stdout) share one pipe, in the order they were written, after the
command line as a shell's ``set -x`` prints it. Two boots: OUT_DIR/handover.log at
loglevel 7, OUT_DIR/handover-dyndbg.log the same with ignore_loglevel and the driver
core's dynamic debug (drivers/base/dd.c: "really_probe: probing driver %s with device
%s", "driver_bound: bound to device '%s'"). After each step /init lists the PCI
function's driver link.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import guest_image  # type: ignore[import-not-found]

INIT = guest_image.LOADER_PREAMBLE + r"""F=0000:00:03.0
D=/sys/bus/pci/devices/$F
driver() {
    if [ -e $D/driver ]; then ls -l $D/driver; else echo "vd-guest: $F has no driver"; fi
    ls /sys/bus/virtio/devices/
}
load virtio_pci
load virtio_net
echo "vd-guest: step 1, virtio_net loaded"; driver
load vfio_pci
echo vfio-pci > $D/driver_override
echo $F > /sys/bus/pci/drivers/virtio-pci/unbind
echo "vd-guest: step 2, unbound from virtio-pci"; driver
echo $F > /sys/bus/pci/drivers_probe
echo "vd-guest: step 3, probed with driver_override vfio-pci"; driver
echo $F > /sys/bus/pci/drivers/vfio-pci/unbind
echo > $D/driver_override
echo $F > /sys/bus/pci/drivers_probe
echo "vd-guest: step 4, back to virtio-pci"; driver
echo "vd-guest: done"
poweroff -f
"""


def boot(out: Path, name: str, append: str) -> None:
    command = guest_image.qemu_command(
        KERNEL, "initrd.gz", append, "-trace", "virtio_set_status",
        "-device", "intel-iommu",
        "-device", "virtio-net-pci,addr=0x3,romfile=,mac=52:54:00:12:34:56",
        machine="q35")
    # q35 with its IOMMU does not boot this kernel and initramfs in 128M
    command[command.index("-m") + 1] = "512M"
    guest_image.capture(command, out, 240, name)


def main(out: Path) -> None:
    global KERNEL
    out.mkdir(parents=True, exist_ok=True)
    why = guest_image.missing()
    if why:
        sys.exit(f"capture-handover: {why}")
    guest_image.INIT = INIT
    guest_image.MODULES = [*guest_image.MODULES, "vfio-pci"]
    KERNEL = guest_image.build_initramfs(str(out / "initrd.gz"))
    boot(out, "handover.log", "intel_iommu=on")
    boot(out, "handover-dyndbg.log",
         "intel_iommu=on ignore_loglevel dyndbg=\"file drivers/base/dd.c +p\"")


KERNEL = ""

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
