#!/usr/bin/env python3
"""Capture a real boot with QEMU's PCIe expander bus: a q35 guest with a pxb-pcie
(bus_nr=0x80), two pcie-root-ports on it (addr 0 and 1) and a virtio-blk-pci behind each,
beside a virtio-net-pci (addr=0x3) and a third virtio-blk-pci (QEMU's automatic address)
on the main root bus.

Usage: python3 scripts/capture-pxb.py OUT_DIR

Debian's kernel and the tests' busybox initramfs (tests/guest_image.py, its /init loads
virtio_pci, virtio_blk and virtio_net and lists the virtio devices' sysfs status and
links), x86_64 TCG, one guest, bounded by ``timeout``, the NIC without a back-end, the
disks raw images of 1, 2 and 3 MiB. QEMU's stderr and the serial console (stdout) share
one pipe: OUT_DIR/q35-pxb.log, after the command line as a shell's ``set -x`` prints it.
The guest finds the expander's root bus from ACPI ("PCI Root Bridge [PC80] (domain 0000
[bus 80-82])"), the root ports at 0000:80:00.0 and 0000:80:01.0 and the disks behind
them at 0000:81:00.0 and 0000:82:00.0. -m 512M: q35 does not boot this kernel and
initramfs in the tests' 128M.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import guest_image  # type: ignore[import-not-found]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    why = guest_image.missing()
    if why:
        sys.exit(f"capture-pxb: {why}")
    kernel = guest_image.build_initramfs(str(out / "initrd.gz"))
    with tempfile.TemporaryDirectory() as work:
        disk, disk2, disk3 = (Path(work) / f"disk{n}.img" for n in ("", "2", "3"))
        for size, path in enumerate((disk, disk2, disk3), 1):
            path.write_bytes(b"\0" * (size << 20))
        command = guest_image.qemu_command(
            kernel, "initrd.gz", "vd.load=pci,blk,net",
            "-device", "pxb-pcie,id=pxb1,bus_nr=0x80,bus=pcie.0",
            "-device", "pcie-root-port,id=rp1,bus=pxb1,chassis=1,addr=0x0",
            "-drive", f"if=none,id=d0,file={disk},format=raw",
            "-device", "virtio-blk-pci,id=vblk0,drive=d0,bus=rp1,addr=0x0",
            "-device", "pcie-root-port,id=rp2,bus=pxb1,chassis=2,addr=0x1",
            "-drive", f"if=none,id=d2,file={disk3},format=raw",
            "-device", "virtio-blk-pci,id=vblk2,drive=d2,bus=rp2,addr=0x0",
            "-device", "virtio-net-pci,id=vnet0,bus=pcie.0,addr=0x3,romfile=,mac=52:54:00:12:34:56",
            "-drive", f"if=none,id=d1,file={disk2},format=raw",
            "-device", "virtio-blk-pci,id=vblk1,drive=d1,bus=pcie.0",
            machine="q35")
        # q35 does not boot this kernel and initramfs in 128M
        command[command.index("-m") + 1] = "512M"
        guest_image.capture(command, out, 420, "q35-pxb.log",
                            shown=[a.replace(work, ".") for a in command])


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
