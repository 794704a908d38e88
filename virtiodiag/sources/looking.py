"""Lines that look like virtio although no dialect understood them.

Not every virtio line says "virtio": FreeBSD's drivers print as ``vtnet0``, ``vtbd0``;
NetBSD's as ``vioif0``, ``ld0 at virtio1``; OpenBSD's as ``vio0``, ``vioblk0``; VMMs
talk about ``vsock``, ``vhost`` and ``virtqueue``. A line of that kind that no grammar
reads is counted as not understood (unrecognised-virtio-lines), and a log full of them
with no device recognised is reported (devices-missing), so that a log in an unknown
format never yields an empty report that looks like a pass.

``TRIGGERS`` are added to the scanner's prefilter (plain substrings, like a dialect's
triggers), so such lines reach the analysis even when no dialect claims them;
``looks_virtio`` is the finer test on a line that reached it and matched no grammar.
"""

from __future__ import annotations

import re
from functools import lru_cache

from virtiodiag.cachefiles import compiled

_DRIVERS = ("vtnet", "vtblk", "vtbd", "vtcon", "vtrnd", "vtscsi", "vtballoon", "vioif",
            "vioblk", "viomb", "viornd", "vioscsi", "viocon", "vmmci", "viogpu", "vioinput")
# Each trigger is one more search over every block (sources/scanner.py), so only the
# words themselves: "vio" alone would match "previous" and "obvious". "irtio" and "irtIO"
# are virtio's spellings without the first letter's case: "virtio", "Virtio" (RTOS and
# unikernel drivers start their sentences with it: "Virtio probing 0x10001000...") and
# "VirtIO", at the cost of the two words.
TRIGGERS: tuple[bytes, ...] = tuple(
    [b"irtio", b"irtIO", b"virtqueue", b"vhost", b"vsock", b"vio0", b"vio1"]
    + [name.encode() for name in _DRIVERS])

_LOOKING = compiled(
    r"virt(?:io|queue)|vhost|vsock|\b(?:" + "|".join(_DRIVERS) + r"|vio)\d+\b", re.I)


# A board, not a device: QEMU's riscv64 `-M virt` is named "riscv-virtio" in its device
# tree (hw/riscv/virt.c: model "riscv-virtio,qemu", compatible "riscv-virtio"), which
# OpenSBI ("Platform Name : riscv-virtio,qemu"), U-Boot ("Model: riscv-virtio,qemu") and
# Linux ("Machine model: riscv-virtio,qemu") print on every boot.
_BOARD = compiled(r"\briscv-virtio\b(?:,[\w-]+)?", re.I)


# A test's name, not a device: a test runner's dotted identifier with virtio words among
# its middle components, as avocado-vt names its variants after the guest's devices
# ("Host_RHEL.m8.u1.qcow2.virtio_scsi.up.virtio_net.Guest.Win2019.x86_64.io-github-autotest-
# qemu.virtio_console.q35"; avocado's human output "(%d/%d) %s: %s (%.2f s)"), or a module
# path ("tests.virtio.test_blk"). A device's own names never have a dotted name on both
# sides: "virtio-mmio.0", "a000000.virtio_mmio", "virtio_net.napi_tx=1" end or start it.
# Found word by word (a pattern of dotted components would backtrack from every position
# of a long dotted line: quadratic on hostile input).
_DOTTED_WORD = compiled(r"[\w.-]+")
_VIRTIO_COMPONENT = compiled(r"virt(?:io|queue)|vhost|vsock", re.I)


def _test_name(m: re.Match) -> str:
    parts = m.group().split(".")
    if (len(parts) >= 3 and all(parts)
            and any(_VIRTIO_COMPONENT.match(part) for part in parts[1:-1])):
        return " "
    return m.group()


# A crash report's list of loaded modules (kernel/module/main.c print_modules():
# "Modules linked in:" and the names, " %s%s" each, the taint flags "(OE)" after a name,
# " [last unloaded: %s]" at the end), or a line of it that a console, a mail or a paste
# wrapped: module names only (maybe a trailing "\\" of the paste). It names virtio
# modules without being about any device. A wrapped line is told from a sentence of plain
# words by its names: module names joined by "_", several of them or several virtio ones.
_MODULE = compiled(r"(?!(?:virtio|" + "|".join(_DRIVERS) + r"|vio)\d+$)[a-z][a-z0-9_]*"
                   r"(?:\([A-Z]+\))?$")
_LAST_UNLOADED = compiled(r"\s*\[last unloaded: [^\]]*\]\s*\\?\s*$")
_VIRTIO_MODULE = compiled(r"virtio(?:_\w+)?(?:\([A-Z]+\))?$")


def _module_list(text: str) -> bool:
    if text.startswith("Modules linked in:"):
        return True
    stripped = _LAST_UNLOADED.sub("", text)
    words = stripped.split()
    if words and words[-1] == "\\":
        words.pop()
    if len(words) < 2 or not all(_MODULE.match(w) for w in words):
        return False
    joined = sum("_" in w for w in words)
    virtio = sum(_VIRTIO_MODULE.match(w) is not None for w in words)
    return joined > 0 and (stripped != text or len(words) >= 5 or virtio >= 2)


# Both tests below are pure functions of the text, asked of each text no grammar read each
# time a line of it is decoded: a line the line memo cannot keep is decoded every time
# (an init script's "insmod .../virtio_net.ko ..." cut by a kernel line, which differs
# by its time: the benchmark's sparse file asks 2,953 times of 658 texts). Their regex
# searches go over the whole text; a hit costs a hash already made and a look-up.
_TEXTS_REMEMBERED = 4096


@lru_cache(maxsize=_TEXTS_REMEMBERED)
def looks_virtio(text: str) -> bool:
    """Does this line (one no grammar read) look like it is about a virtio device?"""
    if _LOOKING.search(text) is None or _module_list(text):
        return False
    lower = text.lower()
    board, dotted = "-virtio" in lower, ".v" in lower
    if not (board or dotted):
        return True
    if board:
        text = _BOARD.sub(" ", text)
    if dotted:
        text = _DOTTED_WORD.sub(_test_name, text)
    return _LOOKING.search(text) is not None


# What a virtio driver's or device's own message looks like: the line's subject (its
# first word, after the prefixes sources/framing.py strips) names a virtio driver or
# device, as every published format puts it:
#   Linux dev_printk  "virtio_net virtio0: ...", "virtio-pci 0000:00:03.0: ...",
#                     "virtio_mmio a000000.virtio_mmio: ..."; pr_fmt "virtio-mmio: ..."
#   QEMU              trace events "virtio_set_status vdev ...", "vhost_...",
#                     "virtqueue_fill ..."; virtio_error/error_report "virtio: ...",
#                     "virtio-net header incorrect" (after "qemu-system-x86_64: ")
#   virtio_ring       "virtqueue callback for ..." (pr_debug)
#   BSD autoconf      "vtnet0: ...", "virtio_pci0: ...", "vioif0 at virtio0: ...",
#                     "ld0 at virtio1: ...", "virtio0 at pci0 dev 3 function 0"
#   Zephyr            "<err> virtio_pci: ..."
#   EDK2              "VirtioNetInitialize: ...", "VirtioMmioInit: ..."
#   VMMs (Rust log)   "INFO:virtio-devices/src/net.rs:211 -- ...",
#                     "[...:WARN:src/devices/src/virtio/net/device.rs:457] ..."
# A line that only mentions virtio (a command line, a module path, a script's echo, a
# /proc or sysfs dump "virtio0: driver=virtio_net", "0000:00:03.0: ... driver=virtio-pci")
# is counted as not understood, but is not a driver's message.
_NAME = (r"(?:virtio(?:[-_][a-z0-9_-]*[a-z0-9]|\d+)?|vhost[-_][a-z0-9_]+|virtqueue(?:_[a-z_]+)?"
         r"|(?:" + "|".join(_DRIVERS) + r"|vio)\d+)")
_SUBJECT = compiled(
    r"(?:qemu(?:-system)?-[\w-]+:\s+|<(?:err|wrn|inf|dbg)>\s+|-device\s+)?"
    r"(?:" + _NAME + r"(?![\w.-])"          # the subject is a virtio name: "virtio_net ..."
    r"|\w+\d+ at " + _NAME + r"\b"         # a BSD child attached to one: "ld0 at virtio1"
    r"|(?-i:Virtio[A-Z]\w*):)", re.I)        # EDK2's Virtio* function names
_RUST_MODULE = compiled(r"\b(?:ERROR|WARN|INFO|DEBUG|TRACE):[\w./-]*virtio[\w./-]*\.rs:\d+")
# "NAME: key=value key=value": a dump of attributes (sysfs, /proc), not a message
_DUMP = compiled(r"[^\s:]+:\s+(?:[\w.-]+=\S*\s*)+$")


@lru_cache(maxsize=_TEXTS_REMEMBERED)
def looks_virtio_message(text: str) -> bool:
    """Is this line (one no grammar read) a virtio driver's or device's own message, by
    its shape (see above), rather than a line that only mentions virtio?"""
    if _SUBJECT.match(text) is not None:
        return _DUMP.match(text) is None
    return _RUST_MODULE.search(text) is not None
