"""A tiny guest for the end-to-end tests: Debian's kernel and a busybox initramfs.

The initramfs is written here in Python (the cpio "newc" format, no cpio tool needed):
a statically linked busybox, the virtio modules the tests need with their dependencies
(from the kernel's own modules.dep), and an /init whose behaviour the kernel command line
chooses, so one image serves every test:

- ``vd.load=pci,net``: insmod virtio_pci, then virtio_net (dependencies first; short
  names, so the command line holds no "virtio" word for the analysis to wonder about);
- ``vd.run=N vd.skipon=2,4 vd.skip=net``: on runs 2 and 4, do not load virtio_net
  (the intermittent failure of a --repeat test; N comes from ``{run}``);
- ``vd.stall=BDF``: instead of a Linux driver, /init drives the modern virtio-pci device
  at BDF itself through /dev/mem (busybox devmem), the way a bare-metal driver pokes
  registers: reset, ACKNOWLEDGE, DRIVER, VERSION_1, FEATURES_OK, and then hangs, as a
  driver stuck mid-handshake does;
- ``vd.up=1``: bring eth0 up (Linux fills the receive queue then; no back-end, IPv6
  off: nothing is sent anywhere);
- ``vd.hold=1``: at the end, print ``vd-guest: holding`` and wait (for --until);
- else at the end it prints ``vd-guest: done`` and powers off.
"""

from __future__ import annotations

import glob
import gzip
import lzma
import os
import re
import shutil
import stat
import shlex
import subprocess
from pathlib import Path

MODULES = ["virtio_pci", "virtio_net", "virtio_blk", "virtio-rng", "virtio_console"]
# loglevel 7: the PCI lines that name devices. no_timer_check: on a loaded machine a TCG
# guest's timer interrupt can miss the kernel's early check, and the kernel panics ("IO-APIC
# + timer doesn't work!", before any virtio device: the run ends clean with no device); seen
# in 1 of 17 boots at load 15-20. Hypervisors' guests skip the check the same way.
NO_TIMER_CHECK = "no_timer_check"
BOOT = f"console=ttyS0 loglevel=7 panic=-1 {NO_TIMER_CHECK}"

# The start of the init script of the capture scripts that drive one device by hand
# (scripts/capture-rebind.py, capture-handover.py): mounts, then `load MODULE`, which
# insmods a module and its dependencies once each (/etc/vd-modules, written by
# build_initramfs()).
LOADER_PREAMBLE = r"""#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
load() {
    for dep in $(grep "^$1 " /etc/vd-modules | cut -d' ' -f2-); do
        grep -q "^${dep##*/} " /etc/vd-loaded 2>/dev/null && continue
        insmod "$dep" && echo "${dep##*/} " >> /etc/vd-loaded
    done
}
"""

INIT = r"""#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1"=*) echo "${w#*=}";; esac; done; }
LOAD=$(arg vd.load); RUN=$(arg vd.run); SKIPON=$(arg vd.skipon); SKIP=$(arg vd.skip)
STALL=$(arg vd.stall); HOLD=$(arg vd.hold)
echo "vd-guest: run ${RUN:-1}"
skipped() {
    [ "$1" = "$SKIP" ] || return 1
    case ",$SKIPON," in *",$RUN,"*) return 0;; esac
    return 1
}
for short in $(echo "$LOAD" | tr , ' '); do
    m=virtio_$short
    if skipped "$short"; then echo "vd-guest: $short driver not loaded (injected failure, run $RUN)"; continue; fi
    for dep in $(grep "^$m " /etc/vd-modules | cut -d' ' -f2-); do
        grep -q "^${dep##*/} " /etc/vd-loaded 2>/dev/null && continue
        insmod "$dep" 2>/dev/null
        echo "${dep##*/} " >> /etc/vd-loaded
    done
done
if [ -n "$STALL" ]; then
    d=/sys/bus/pci/devices/$STALL
    echo 1 > $d/enable
    base=$(sed -n 5p $d/resource | cut -d' ' -f1)
    st=$((base + 0x14))
    echo "vd-guest: bare driver at $STALL, common config at $base"
    devmem $st 8 0; devmem $st 8 1; devmem $st 8 3
    devmem $((base + 0x8)) 32 1; devmem $((base + 0xc)) 32 1
    devmem $st 8 11
    echo "vd-guest: status $(devmem $st 8) after FEATURES_OK; waiting for the queues (hangs)"
    while :; do sleep 1000; done
fi
if [ -n "$LOAD" ]; then
    # What the capture scripts print too: the sysfs view that names each virtioN's
    # transport device (the analysis joins guest and QEMU names with it).
    echo "=== vd-guest: sysfs status and features ==="
    grep -H . /sys/bus/virtio/devices/*/status /sys/bus/virtio/devices/*/features
    echo "=== vd-guest: sysfs device links ==="
    ls -l /sys/bus/virtio/devices/
fi
if [ -n "$(arg vd.up)" ]; then
    # Opening the interface makes Linux fill the receive queue. No back-end: nothing can
    # leave the guest; IPv6 is switched off so the kernel does not even try.
    echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6
    echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
    ip link set eth0 up && echo "vd-guest: eth0 up"
fi
if [ -n "$HOLD" ]; then
    echo "vd-guest: holding"
    while :; do sleep 1000; done
fi
echo "vd-guest: done"
poweroff -f
"""


def missing() -> str | None:
    """Why a guest cannot be booted here, or None."""
    if not shutil.which("qemu-system-x86_64"):
        return "qemu-system-x86_64 is not installed"
    if kernel() is None:
        return "no Debian kernel with its modules in /boot and /lib/modules"
    if busybox() is None:
        return "no static busybox (busybox-static)"
    return None


def kernel() -> tuple[str, str] | None:
    """(vmlinuz path, version) of the newest installed kernel with a modules tree."""
    found = []
    for path in glob.glob("/boot/vmlinuz-*"):
        version = path[len("/boot/vmlinuz-"):]
        if os.path.exists(f"/lib/modules/{version}/modules.dep") and os.access(path, os.R_OK):
            found.append((_version_key(version), path, version))
    if not found:
        return None
    found.sort()
    return found[-1][1], found[-1][2]


def _version_key(version: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"[.-]", version)]


def busybox() -> str | None:
    """A statically linked busybox (a dynamic one would not run in the initramfs)."""
    for path in ("/bin/busybox", "/usr/bin/busybox"):
        try:
            with open(path, "rb") as handle:
                head = handle.read(4096)
        except OSError:
            continue
        if head.startswith(b"\x7fELF") and b"ld-linux" not in head:  # no ELF interpreter
            return path
    return None


def _module_paths(version: str) -> dict[str, list[str]]:
    """Module name -> its file and its dependencies' files, dependencies first."""
    base = f"/lib/modules/{version}"
    deps: dict[str, list[str]] = {}
    with open(f"{base}/modules.dep", encoding="utf-8") as handle:
        for line in handle:
            target, _, rest = line.partition(":")
            deps[target] = rest.split()
    by_name = {_name(t): t for t in deps}
    out = {}
    for name in MODULES:
        target = by_name.get(name.replace("-", "_"))
        if target is None:
            continue
        order: list[str] = []
        _visit(target, deps, order)
        out[name] = order
    return out


def _visit(target: str, deps: dict[str, list[str]], order: list[str]) -> None:
    """Depth first: ``target``'s dependencies, then ``target``, each once."""
    for dep in deps.get(target, []):
        if dep not in order:
            _visit(dep, deps, order)
    if target not in order:
        order.append(target)


def _name(target: str) -> str:
    return re.sub(r"\.ko(\.(xz|gz|zst))?$", "", os.path.basename(target)).replace("-", "_")


def _module_bytes(path: str) -> bytes:
    if path.endswith(".xz"):
        return lzma.open(path).read()
    if path.endswith(".gz"):
        return gzip.open(path).read()
    with open(path, "rb") as handle:
        return handle.read()


class _Cpio:
    """Writer of a cpio "newc" archive (what the kernel unpacks as an initramfs)."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.ino = 1

    def add(self, name: str, mode: int, data: bytes = b"") -> None:
        encoded = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
        header = b"070701" + b"".join(b"%08x" % f for f in fields)
        self.ino += 1
        self.parts.append(header + encoded + b"\0" * (-(len(header) + len(encoded)) % 4))
        self.parts.append(data + b"\0" * (-len(data) % 4))

    def bytes(self) -> bytes:
        self.add("TRAILER!!!", 0)
        return b"".join(self.parts)


def build_initramfs(out: str) -> str:
    """Write the initramfs to ``out`` (gzip'ed newc cpio); returns the kernel's path."""
    vmlinuz, version = kernel()
    archive = _Cpio()
    for folder in ("bin", "proc", "sys", "dev", "tmp", "etc", "lib", "lib/modules"):
        archive.add(folder, stat.S_IFDIR | 0o755)
    box = busybox()
    with open(box, "rb") as handle:
        archive.add("bin/busybox", stat.S_IFREG | 0o755, handle.read())
    applets = subprocess.run([box, "--list"], capture_output=True, text=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            archive.add(f"bin/{applet}", stat.S_IFLNK | 0o777, b"busybox")
    table = []
    written: set[str] = set()
    for name, order in _module_paths(version).items():
        files = []
        for target in order:
            inside = f"lib/modules/{_name(target)}.ko"
            if inside not in written:
                written.add(inside)
                archive.add(inside, stat.S_IFREG | 0o644,
                            _module_bytes(f"/lib/modules/{version}/{target}"))
            files.append("/" + inside)
        table.append(f"{name.replace('-', '_')} " + " ".join(files))
    archive.add("etc/vd-modules", stat.S_IFREG | 0o644, ("\n".join(table) + "\n").encode())
    archive.add("init", stat.S_IFREG | 0o755, INIT.encode())
    with open(out, "wb") as handle:
        handle.write(gzip.compress(archive.bytes(), compresslevel=1))
    return vmlinuz


def qemu_command(kernel_path: str, initrd: str, append: str, *devices: str,
                 machine: str = "pc") -> list[str]:
    """A short TCG boot: no default devices, no NIC back-end, console on stdout."""
    return ["qemu-system-x86_64", "-M", machine, "-accel", "tcg", "-smp", "1", "-m", "128M",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-kernel", kernel_path, "-initrd", initrd, "-append", f"{BOOT} {append}",
            "-serial", "stdio", *devices]


def capture(command: list[str], cwd: Path | str, seconds: int, name: str,
            shown: list[str] | None = None) -> None:
    """Boot ``command`` under ``timeout`` (every QEMU run here is bounded), write its
    console, stdout and stderr interleaved, to ``cwd/name`` after a "+ command" line (``shown``:
    the command as the sample's notes should show it), and print the exit status and
    line count. The capture scripts of one-device scenarios share it."""
    run = subprocess.run(["timeout", "--kill-after=5", str(seconds), *command], cwd=cwd,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, errors="replace", check=False)
    text = "+ " + shlex.join(shown or command) + "\n" + run.stdout
    Path(cwd, name).write_text(text)
    print(f"{name.removesuffix('.log')}: exit {run.returncode}, {text.count(chr(10))} lines")
