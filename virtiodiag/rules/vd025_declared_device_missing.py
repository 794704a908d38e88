"""declared-device-missing: a device the VMM's command line declares did not come up.

**What it detects.** QEMU's command line, when the log carries it (libvirt's domain log,
a CI job's ``set -x`` echo, ``ps`` output, Kata's "launching qemu with"), declares the
virtio devices of the machine: ``-device virtio-net-pci,...,bus=pci.0,addr=0x3``,
``-device vhost-user-fs-pci,...``, ``-device virtio-blk-device,...`` (virtio-mmio),
``-drive ...,if=virtio``, ``-nic ...,model=virtio-net-pci``. The model joins each
declaration with the guest's record of the device (by PCI function, or the only one of its
type; ``model/declared.py``). This rule reports a declared device that

* the guest never found, although its lines show it enumerating that transport (every
  PCI function Linux's PCI core finds, every virtio-mmio window): a warning, at the
  command line's line;
* the guest found but that never came up (no DRIVER_OK, or a failure left standing):
  info, at the command line's line, beside the findings that name the step where it
  stopped.

A log of the host alone (libvirt's, with no guest console) says nothing of the guest:
nothing is reported then. When the log holds the guest's own lines but they show nothing
of a declared device and do not list its transport (a quiet console, a log cut early),
the device is listed as configured and never seen by the guest, with no finding: its
lines say too little to call it missing.

**Bad**::

    -device virtio-net-pci,netdev=hostnet0,id=net0,bus=pci.0,addr=0x3 \\
    -device virtio-rng-pci,id=rng0,bus=pci.0,addr=0x9 \\
    pci 0000:00:03.0: [1af4:1000] type 00 class 0x020000
    <no function at 0000:00:09.0>

**Good**::

    -device virtio-net-pci,netdev=hostnet0,id=net0,bus=pci.0,addr=0x3 \\
    pci 0000:00:03.0: [1af4:1000] type 00 class 0x020000
    virtio_net virtio0 ens3: renamed from eth0

**Why it matters.** The machine was built with the device and the guest cannot use it:
a disk, a NIC, a file system share is simply absent, and a log that shows only the
devices that came up looks clean.

**How to fix.** For a device the guest never found: check it sits on a bus the guest
scans (a bridge or root port the firmware gave a bus number, a virtio-mmio transport the
kernel was told of: ``virtio_mmio.device=`` or the device tree), that the guest kernel has
the transport (``CONFIG_VIRTIO_PCI``, ``CONFIG_VIRTIO_MMIO``), and that the option reached
QEMU as written (libvirt rewrites addresses). For a device found but not up, the other
findings on it name the step.
"""

from virtiodiag.model.liveness import came_up
from virtiodiag.rules.base import Hit

CODE = "VD025"
NAME = "declared-device-missing"
SEVERITY = "warning"
SUMMARY = "A device the VMM's command line declares was never found, or never came up"
SPEC = "3.1.1"
OPTIONS: dict = {}
LIVE_EVENTS: set[str] = set()

_WHERE = {"pci": "its PCI functions", "mmio": "its virtio-mmio transports",
          "ccw": "its channel devices"}


def check(ctx):
    if not ctx.final:
        return
    for device in ctx.devices:
        declaration = device.declaration
        if declaration is None or declaration.unseen:
            continue  # unseen: listed, but the guest's lines say too little to judge it
        what = f"{declaration.name}, a {declaration.device_type} device"
        at = f" at {declaration.address}" if declaration.address else ""
        if declaration.missing:
            scanned = _WHERE.get(declaration.transport or "", "its devices")
            yield Hit(device, declaration.event,
                      f"{what}{at} declared on the VMM's command line, was never found by "
                      f"the guest: the guest's lines list {scanned} and none of them can be "
                      "this one",
                      "check that the device sits on a bus the guest scans (a bridge or root "
                      "port the firmware numbered, a virtio-mmio transport the kernel was "
                      "told of), that the guest kernel has its transport driver, and that "
                      "the option reached QEMU as written", key="not-found")
        elif not came_up(device):
            last = device.last_event
            related = [(last, "the guest's last line about it")] if last is not None \
                and last is not declaration.event else []
            yield Hit(device, declaration.event,
                      f"{what}{at} declared on the VMM's command line, is {device.id} in the "
                      "guest, which never brought it up (no DRIVER_OK, or a failure left "
                      "standing): the other findings on it name the step",
                      "fix the step the other findings on this device name",
                      related=related, key="not-up", severity="info")
