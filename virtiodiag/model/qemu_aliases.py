"""The transport of a virtio device a QEMU command line names by its alias.

QEMU resolves a -device name with no transport suffix through its alias table
(system/qdev-monitor.c, softmmu/ before 8.0, qdev_alias_table: "virtio-blk" is
virtio-blk-ccw on QEMU_ARCH_VIRTIO_CCW, the s390x target; virtio-blk-device on
QEMU_ARCH_VIRTIO_MMIO, m68k; virtio-blk-pci on every other target), and so does what
-drive if=virtio and a NIC's model=virtio create. Which target runs is the binary's name
("qemu-system-s390x", a path before it, Go's "[" before a quoted argv) or the machine's
("-M s390-ccw-virtio", "-machine s390-ccw-virtio-8.2,accel=kvm"). Only the targets whose
alias is no PCI device are read here: elsewhere the alias is the PCI device, which the
declaration leaves unplaced as before (its function is the guest's lines' to show), and a
line naming neither (qemu-kvm, libvirt's one option a line) says nothing.
"""

from __future__ import annotations

# qemu-system-<target> -> the transport its alias names
_TARGETS = {"s390x": "ccw", "m68k": "mmio"}
_MACHINES = (("s390-ccw-virtio", "ccw"),)


def alias_transport(words: tuple) -> str | None:
    """ccw or mmio when the command's words show a target whose aliases are on that
    transport, else None."""
    for index, word in enumerate(words):
        text = str(word).strip("[]\"'").rstrip(",")
        base = text.rsplit("/", 1)[-1]
        if base.startswith("qemu-system-"):
            transport = _TARGETS.get(base.removeprefix("qemu-system-"))
            if transport is not None:
                return transport
        if text in ("-M", "-machine", "--machine") and index + 1 < len(words):
            machine = str(words[index + 1]).strip("\"'").split(",", 1)[0]
            machine = machine.removeprefix("type=")
            for prefix, transport in _MACHINES:
                if machine.startswith(prefix):
                    return transport
    return None
