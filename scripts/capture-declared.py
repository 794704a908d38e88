#!/usr/bin/env python3
"""Capture the real boots behind tests/test_declared_places.py: QEMU command lines that
give several virtio devices of one type no addr=, or put them behind PCIe root ports.

Usage: python3 scripts/capture-declared.py OUT_DIR

Each scenario boots Debian's kernel with the tests' busybox initramfs
(tests/guest_image.py) under TCG, one guest at a time, bounded by ``timeout``, no NIC
back-end (QEMU warns "nic ... has no peer"). OUT_DIR/<scenario>.log is the command line
as a shell's ``set -x`` prints it ("+ qemu-system-x86_64 ..."), then the guest's serial
console; the console ends with the sysfs links of every virtioN (the truth the tests
check the joins against). Disk images are 1 MiB files in OUT_DIR, named relatively.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import guest_image  # type: ignore[import-not-found]

DISKS = ["-drive", "if=none,id=d0,file=d0.img,format=raw",
         "-drive", "if=none,id=d1,file=d1.img,format=raw"]
SCENARIOS = {
    # Two virtio-blk-pci and a virtio-net-pci without addr=, a virtio-rng-pci at 06.
    "pc-auto-blk": ("pc", "vd.load=pci,net,blk", [
        *DISKS, "-device", "virtio-net-pci,romfile=,mac=52:54:00:12:34:56",
        "-device", "virtio-blk-pci,drive=d0,serial=first",
        "-device", "virtio-rng-pci,addr=0x6",
        "-device", "virtio-blk-pci,drive=d1,serial=second"]),
    # The same kinds of options in the three syntaxes QEMU creates in a fixed order, on a
    # console at loglevel 6 (no "pci 0000:..." lines: the guest names virtioN only).
    "pc-auto-blk-quiet": ("pc", "loglevel=6 vd.load=pci,net,blk", [
        *DISKS, "-drive", "if=virtio,file=d2.img,format=raw",
        "-device", "virtio-net-pci,romfile=,mac=52:54:00:12:34:56",
        "-device", '{"driver":"virtio-blk-pci","drive":"d1","id":"json1"}',
        "-device", "virtio-blk-pci,drive=d0,id=kv1",
        "-device", "virtio-rng-pci,addr=0x6"]),
    # q35 with two PCIe root ports (one at an automatic address, one at 05): a
    # virtio-net-pci and a virtio-blk-pci behind them, another virtio-blk-pci on pcie.0.
    "q35-root-ports": ("q35", "vd.load=pci,net,blk", [
        *DISKS, "-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
        "-device", "pcie-root-port,id=rp2,chassis=2,slot=2,addr=0x5",
        "-device", "virtio-net-pci,bus=rp1,romfile=,mac=52:54:00:12:34:56,id=net0",
        "-device", "virtio-blk-pci,bus=rp2,drive=d0,id=disk0",
        "-device", "virtio-blk-pci,drive=d1,id=disk1"]),
}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    why = guest_image.missing()
    if why:
        sys.exit(f"capture-declared: {why}")
    for name in ("d0.img", "d1.img", "d2.img"):
        with open(out / name, "wb") as handle:
            handle.truncate(1 << 20)
    kernel = guest_image.build_initramfs(str(out / "initrd.gz"))
    for scenario, (machine, append, devices) in SCENARIOS.items():
        command = guest_image.qemu_command(kernel, "initrd.gz", append, *devices,
                                           machine=machine)
        run = subprocess.run(["timeout", "--kill-after=5", "180", *command], cwd=out,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
                             errors="replace")
        text = "+ " + shlex.join(command) + "\n" + run.stderr + run.stdout
        (out / f"{scenario}.log").write_text(text)
        print(f"{scenario}: exit {run.returncode}, {text.count(chr(10))} lines")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
