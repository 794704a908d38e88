"""root-not-mounted: the kernel could not mount its root file system.

**What it detects.** A kernel that says it could not mount its root file system: Linux's
``VFS: Cannot open root device "%s" or %s: error %d`` (``No filesystem could mount root,
tried: ...``) and the ``Kernel panic - not syncing: VFS: Unable to mount root fs on %s``
that ends it, FreeBSD's ``Mounting from %s:%s failed with error %d.`` and its
``mountroot>`` prompt, NetBSD's ``cannot mount root, error = %d``, OpenBSD's ``panic:
cannot mount root``. One error per run, on the virtio block device whose disk the kernel
named (``vda1`` is on the disk virtio_blk registered as ``[vda]``, ``/dev/vtbd0p2`` on
``vtbd0``, ``ld0a`` on ``ld0``), else run-wide, naming the root device it was asked for.
Linux's ``unknown-block(M,m)`` is a disk no driver registered: the root= name, else the
kernel command line's, is then the one the finding gives. Linux's ``Waiting for root device
%s...`` (rootwait) with no later line showing that disk registered or init started is a
warning: the guest hangs there, or the log was cut there. dracut's initqueue timing out
while it waits for a device (the ``devexists-`` hook it lists, ``\\x2fdev\\x2fvda4`` for
``/dev/vda4``) is an error, unless a later line shows that virtio disk registered; when the
device cannot be a virtio disk (another driver's name, ``nvme0n1p2``, ``sda2`` with no virtio
SCSI host, or any name in a log with no virtio block or SCSI device), it is said as info.
An initramfs's mount(8) that failed on a root shared by tag (``mount: mounting virtioroot on
/root failed: No such device``: no disk, the tag of a 9p or virtiofs device) is said as such,
with the kernel's missing file system type when mount(2) gave ENODEV.

**Bad**::

    virtio_blk virtio1: [vda] 20971520 512-byte logical blocks (10.7 GB/10.0 GiB)
    VFS: Cannot open root device "vdb1" or unknown-block(0,0): error -6
    Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)

**Good**::

    virtio_blk virtio1: [vda] 20971520 512-byte logical blocks (10.7 GB/10.0 GiB)
     vda: vda1 vda2
    EXT4-fs (vda2): mounted filesystem with ordered data mode.
    Run /sbin/init as init process

**Why it matters.** The guest stops there: no init, no userspace, no test. Every virtio
device may have reached DRIVER_OK and the run is still a failed boot; counted by its
devices alone it would pass.

**How to fix.** Compare the root device the kernel was asked for with the disks it found
(Linux lists them after "here are the available partitions:"): root= names a disk or a
partition that is not there (vda2 on a disk with one partition, sda for a virtio disk that
is vda), the block driver is a module the initramfs lacks (virtio_blk, virtio_pci), or the
file system on it is one the kernel was built without (Linux "No filesystem could mount
root", error -22 or 19/EINVAL on a BSD). When the named disk is a virtio device that did
not reach DRIVER_OK, fix that first: the other findings on it say why.
"""

from virtiodiag.rules._common import quoted
from virtiodiag.rules.base import Hit

CODE = "VD024"
NAME = "root-not-mounted"
SEVERITY = "error"
SUMMARY = "The kernel could not mount its root file system"
SPEC = ""
OPTIONS: dict = {}
LIVE_EVENTS = {"root_mount"}

_HINT = ("check that root= names a disk or partition the kernel found, that its block "
         "driver (virtio_blk, virtio_pci) is built in or in the initramfs, and that the "
         "kernel has the root file system's type")


_HINT_WAIT = ("if the guest stopped there, the disk root= names never registered: check that "
              "the VMM gives it (a virtio-mmio window the kernel reads from the command line "
              "needs CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES), that virtio_blk and the transport "
              "are built in or in the initramfs, and that root= names the disk it registers "
              "(vda, not sda); a log cut right after this line says nothing more")


_HINT_NO_FS = ("the disk answered; its file system did not: build the root file system's type "
               "(ext4, xfs, btrfs ...) into the kernel or its initramfs (\"tried:\" lists "
               "the types it has), and check that root= names the partition that holds it "
               "and rootfstype= its type")


_HINT_OTHER = ("check the disk's own driver and controller (its module in the initramfs) and "
               "that root= names a device the guest has")


_HINT_TAG = ("a root shared by tag needs its file system and virtio transport in the kernel "
             "or the initramfs (9p with 9pnet_virtio, or virtiofs), rootfstype= naming that "
             "type, and the VMM exporting that tag (QEMU's mount_tag=, virtiofsd's tag)")


def check(ctx):
    fact = ctx.model.root_mount
    if fact is None:
        return
    device = fact.device
    if device is not None and device not in ctx.devices:
        return  # the run is analysed for other devices only
    names = fact.names()
    what = f"from {quoted(names[0])}" if names else "(the log names no root device)"
    error = f", error {fact.error}" if fact.error is not None else ""
    related = [(fact.panic, "the kernel panicked")] if fact.panic is not None else []
    if fact.waiting:
        if not ctx.final:
            return  # live: whether the disk comes (rootwait) is told by the lines to come
        # The kernel waits; a log cut right there looks the same: a warning.
        named = f" {quoted(names[0])}" if names else ""
        on_disk = (f"; {device.id} has that disk, not the partition or name it asked for"
                   if device is not None else "; no virtio block device of the log has that disk")
        yield Hit(device, fact.failed,
                  f"the kernel waits for its root device{named} (rootwait) and no later line "
                  f"shows it coming (no init started, no disk of that name registered){on_disk}",
                  _HINT_WAIT, related=related, key="root", severity="warning")
        return
    if fact.never_appeared:
        named = f" {quoted(names[0])}" if names else ""
        failed = f"the initramfs gave up waiting for its root device{named}, which never appeared"
    elif fact.timed_out:
        named = f" {quoted(names[0])}" if names else ""
        failed = (f"the initramfs (dracut) timed out waiting for the device{named} it needs to "
                  "boot, which never appeared")
        if not fact.virtio_disk:
            # Another driver's disk, or a log with no virtio storage: the boot stopped, but
            # no virtio device is in question; said, not gated on.
            yield Hit(None, fact.failed,
                      f"{failed}; it is not a virtio disk (no virtio block or SCSI device of "
                      "the log may have it)", _HINT_OTHER, related=related, key="root",
                      severity="info")
            return
    elif fact.tag and names:
        # No disk holds this root: the tag names a 9p or virtiofs share (model/root_mount.py).
        because = (": the kernel has no driver for its file system type (No such device)"
                   if fact.no_type else f": {quoted(fact.reason)}" if fact.reason else "")
        yield Hit(None, fact.failed,
                  f"the initramfs could not mount its root file system from the tag "
                  f"{quoted(names[0])} (a shared directory's, 9p or virtiofs: no disk)"
                  f"{because}; the guest stopped there", _HINT_TAG, related=related, key="root")
        return
    elif fact.no_file_system and names:
        # The disk answered: the file system is what failed, whichever device holds it.
        on = (" (no virtio block device of the log has it)" if device is None
              else " (this virtio block device)" if device.id == names[0]
              else f" ({device.id}, this virtio block device)")
        yield Hit(device, fact.failed,
                  f"the kernel read its root disk {quoted(names[0])}{on}, but no file system "
                  "type it has mounted it; the guest stopped there", _HINT_NO_FS,
                  related=related, key="root")
        return
    else:
        failed = f"the kernel could not mount its root file system {what}"
        if device is None and not fact.virtio_disk:
            # A disk only another driver names (FreeBSD's memory disk md0, an NVMe or ATA
            # disk): the boot stopped, but on no virtio device; said, not gated on.
            yield Hit(None, fact.failed,
                      f"{failed}{error}; it is not a virtio disk (a name only another "
                      "driver gives) and the guest stopped there", _HINT_OTHER,
                      related=related, key="root", severity="info")
            return
    if device is not None:
        message = (f"{device.id}: {failed}, a disk on this virtio block device{error}; "
                   "the guest stopped there")
    else:
        message = (f"{failed}{error}; no virtio block device of the log has that disk; the "
                   "guest stopped there")
    yield Hit(device, fact.failed, message, _HINT, related=related, key="root")
