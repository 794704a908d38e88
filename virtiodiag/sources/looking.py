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

_DRIVERS = ("vtnet", "vtblk", "vtbd", "vtcon", "vtrnd", "vtscsi", "vtballoon", "vioif",
            "vioblk", "viomb", "viornd", "vioscsi", "viocon", "vmmci", "viogpu", "vioinput")
# Each trigger is one more search over every block (sources/scanner.py), so only the
# words themselves: "vio" alone would match "previous" and "obvious".
TRIGGERS: tuple[bytes, ...] = tuple(
    [b"virtio", b"VirtIO", b"virtqueue", b"vhost", b"vsock", b"vio0", b"vio1"]
    + [name.encode() for name in _DRIVERS])

_LOOKING = re.compile(
    r"virt(?:io|queue)|vhost|vsock|\b(?:" + "|".join(_DRIVERS) + r"|vio)\d+\b", re.I)


def looks_virtio(text: str) -> bool:
    """Does this line (one no grammar read) look like it is about a virtio device?"""
    return _LOOKING.search(text) is not None
