"""The root file system a kernel could not mount: a run-level fact, joined with the panic
that followed and with the virtio disk the kernel names.

A kernel that cannot mount its root stops there: no init, no userspace, whatever the
virtio devices did before. The grammars read the lines (root-mount: Linux's "VFS: Cannot
open root device ...", FreeBSD's "Mounting from ... failed with error N." and its
"mountroot>" prompt, NetBSD's "cannot mount root, error = N", OpenBSD's "panic: cannot
mount root"); this module owns what they mean:

* the first line that says the mount failed is the fact (``RootMount.failed``; an
  initramfs that gave up waiting for the root device, "ALERT!  /dev/vda1 does not exist",
  is one too: ``missing``); FreeBSD's
  "...; retrying for N more seconds" is the kernel waiting for its disk, no failure, and
  Linux's "Please append a correct root= boot option" only repeats the failure;
* the panic the kernel raises next (Linux's "Kernel panic - not syncing: VFS: Unable to
  mount root fs on ...", a crash report of model/crashes.py) is the same failure's end,
  joined to it (``RootMount.panic``), not a second fact; OpenBSD's panic is both;
* Linux's "Waiting for root device %s..." (rootwait) is the kernel waiting for root=: the
  fact (``RootMount.waiting``) only while nothing later shows the device coming (init
  started, the virtio disk of that name registered after it) and no failure line says
  more; a later failure line (6.x's rootwait=N timed out) is the fact instead;
* dracut's "Warning: .../initqueue/finished/devexists-\\x2fdev\\x2fvda4.sh: ..." (listed when
  its initqueue timed out waiting for that device) is the failure (``RootMount.timed_out``):
  the device the hook's name spells ("\\x2f" is "/") never appeared, unless a later line
  shows the virtio disk of that name registered;
* the disk: the one the line names ("vda1", "/dev/vtbd0p2"), else the root= it was asked
  for, else the root device the BSD kernel said it chose ("root on ld0a dumps on ld0b",
  NetBSD's "root device (default ld0a):"; ``root_mount[chosen]``, no failure itself: the
  last one before the failure), else the kernel command line's root=; Linux's
  "unknown-block(M,m)" is the number of a disk no driver registered, no name. A name is
  joined to the virtio block device that registered it: Linux virtio_blk's "[vda]"
  (driver_ready's ``disk``), a BSD unit the device's lines named ("vtbd0", "ld0"), a
  partition or slice of it ("vda1", "vtbd0p2", "vtbd0s1a", "ld0a") being on it. No such
  device: the failure stays run-level.
* whether the device dracut waited for may be a virtio disk at all (``RootMount.virtio_disk``):
  a disk of the log's virtio block devices, a name virtio_blk gives ("vda4") or udev's for it
  ("/dev/disk/by-id/virtio-SERIAL") is; a SCSI disk ("sda2") is when the log has a virtio
  SCSI host; a name of no driver (by-uuid, by-label, /dev/mapper, /dev/root) is when the log
  has a virtio block or SCSI device; another driver's disk (nvme0n1p2, xvda1, mmcblk0p2,
  hda1), or any of those in a log with no virtio storage, is not: the boot stopped, but not
  on a virtio device.
* an initramfs's mount(8) that failed (busybox's "mount: mounting %s on %s failed: %s",
  the error's text last): a source that is no path is the tag of a shared file system (9p,
  virtiofs), no disk (``RootMount.tag``); "No such device" (mount(2)'s ENODEV) is a file
  system type the kernel has no driver for (``RootMount.no_type``).
* when no line of the failure named the disk (Linux's "No filesystem could mount root,
  tried: ..."), the root panic's reason does: "VFS: Unable to mount root fs on %s", a name
  or "unknown-block(M,m)", the number the kernel's list of partitions printed just before
  gives in hex ("fe00 524288 vda"): the disk was opened and read, its file system is what
  no type of the kernel mounted.
"""

from __future__ import annotations


from virtiodiag.cachefiles import compiled
from virtiodiag.events import Event
from virtiodiag.model.crashes import on_crash_head
from virtiodiag.model.device import Device, Model
from virtiodiag.model.identity import whole_disk
from virtiodiag.model.records import RootMount

# Details of a root_mount event that say the mount failed (the others: "retry", "hint").
FAILURES = frozenset({"open_failed", "failed", "no_fs", "prompt", "panic", "missing",
                      "timeout"})
# dracut's hook names write a path's "/" as "\x2f" (str_replace in dracut-lib.sh)
_HOOK_ESCAPE = compiled(r"\\x([0-9a-fA-F]{2})")
_BSD_UNIT = compiled(r"[a-z]+\d+")  # vtbd0p2, vtbd0s1a, ld0a -> vtbd0, ld0
# Linux's disk names by driver: virtio_blk's own (drivers/block/virtio_blk.c "vd"), the SCSI
# disk driver's (a virtio-scsi HBA's disks among them), and other drivers' kernel names.
_VIRTIO_BLK_NAME = compiled(r"vd[a-z]+\d*$")
_SCSI_DISK_NAME = compiled(r"sd[a-z]+\d*$")
# strerror(ENODEV) as glibc, musl and busybox's libc print it
_ENODEV_TEXT = "No such device"
_OTHER_DISK_NAME = compiled(r"(nvme\d|xvd[a-z]|hd[a-z]|mmcblk\d|sr\d|nbd\d|pmem\d|ubd|"
                            r"mtdblock\d|loop\d|ram\d|md\d|dm-\d)")
# The BSDs' disks of other drivers: ATA (FreeBSD's ada, NetBSD's and OpenBSD's wd), NVMe
# (nvd, nda), SD/MMC (mmcsd), Xen (xbd) and the memory disks (FreeBSD's md(4) "md0", an
# installer's or a live image's preloaded root, matched above; OpenBSD's rd(4) "rd0").
# Their virtio disks are vtbd, ld and sd or da (through virtio-scsi or vioblk's scsibus).
_OTHER_BSD_DISK_NAME = compiled(r"(ada|wd|nvd|nda|mmcsd|xbd|rd)\d")


def on_root_mount(model: Model, event: Event) -> None:
    detail = event.payload.detail
    if detail == "chosen":
        if model.root_mount is None:  # a later choice (the prompt's default) is no news
            model.root_chosen = event
        return
    if detail == "waiting":
        if model.root_mount is None:
            model.root_mount = RootMount(event)
            root = event.get("root")
            model.root_mount.root = root if isinstance(root, str) else None
        return
    if detail == "panic":
        on_crash_head(model, event)  # a panic like any other: a crash report too
    if detail not in FAILURES:
        return
    fact = model.root_mount
    if fact is None or fact.waiting:
        waited = fact
        fact = model.root_mount = RootMount(event)
        if waited is not None:  # the wait's root= is the one the failure is about
            fact.root = waited.root
    # Later lines of the same failure add what the first did not print.
    disk = event.get("disk")
    if fact.disk is None and isinstance(disk, str) and not disk.startswith("unknown-block"):
        fact.disk = disk
    root = event.get("root")
    if detail == "timeout" and isinstance(root, str):
        root = _HOOK_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), root)
    if fact.root is None and isinstance(root, str):
        fact.root = root
    error = event.get("errno")
    if fact.error is None and isinstance(error, int):
        fact.error = error
    reason = event.get("reason")
    if fact.reason is None and isinstance(reason, str):
        _mount_failed(fact, reason.strip(), disk)


def _mount_failed(fact: RootMount, reason: str, source: object) -> None:
    """mount(8)'s own failure (busybox's "mounting %s on %s failed: %s"): the source as it
    was given and the error's text. initramfs-tools mounts a disk root by its path
    (/dev/vda2, /dev/disk/by-uuid/...); a source that is no path and names no device by
    "KEY=value" is the tag a shared file system is mounted by (9p's mount_tag, virtiofs's
    tag): no disk holds that root. mount(2) fails with ENODEV, "No such device", when the
    kernel has no driver for the file system type asked for (neither built in nor loaded):
    the disk or the tag is not in question, the type is."""
    fact.reason = reason
    if isinstance(source, str) and "/" not in source and "=" not in source:
        fact.tag = True
    fact.no_type = reason == _ENODEV_TEXT


def join_root_mount(model: Model) -> None:
    """At the end of the run: the panic that ended the failure, the root= of the command
    line when no line named the device, and the virtio disk it names."""
    fact = model.root_mount
    if fact is None:
        return
    if (fact.waiting or fact.timed_out) and _root_came(model, fact):
        model.root_mount = None
        return
    seq = fact.failed.seq
    fact.panic = next((head for head, _frames in model.crashes
                       if head.seq >= seq and head.payload.detail == "panic"), None)
    if fact.disk is None and fact.panic is not None:
        fact.disk = _panic_disk(model, fact.panic)
    if fact.root is None and fact.disk is None:
        chosen = model.root_chosen.get("root") if model.root_chosen is not None else None
        fact.root = chosen if isinstance(chosen, str) else _cmdline_root(model)
    fact.device = None
    for name in fact.names():
        fact.device = _disk_device(model, name)
        if fact.device is not None:
            return
    if fact.timed_out:
        fact.virtio_disk = any(virtio_disk(model, name) for name in fact.names())
    elif fact.names():
        # A mount that failed on a disk only another driver names (a memory disk, NVMe,
        # ATA) failed on no virtio disk, whatever the log's virtio devices did.
        fact.virtio_disk = not all(_other_driver_disk(name) for name in fact.names())


def _other_driver_disk(name: str) -> bool:
    path = name.removeprefix("/dev/")
    base = path.rsplit("/", 1)[-1]
    return any(pattern.match(word) for pattern in (_OTHER_DISK_NAME, _OTHER_BSD_DISK_NAME)
               for word in (path, base))


def _panic_disk(model: Model, panic: Event) -> str | None:
    """The disk the root panic names: by name, or by number through the kernel's partition
    list (printk_all_partitions(), printed just before: "fe00 524288 vda", the number in
    hex); None for no disk (0,0) or a number the list does not hold."""
    # linux-oops reads init/do_mounts.c's "VFS: Unable to mount root fs on %s": the disk's
    # name (root_disk), or __bdevname()'s "unknown-block(%u,%u)" (major, minor)
    name, major, minor = panic.get("root_disk"), panic.get("major"), panic.get("minor")
    if isinstance(name, str):
        return name
    if not isinstance(major, int) or not isinstance(minor, int):
        return None
    number = (major, minor)
    if number == (0, 0):
        return None
    for device in model.live_devices():
        for event in device.timeline:
            devt, disk = event.get("devt"), event.get("disk")
            if (isinstance(devt, str) and len(devt) == 4 and isinstance(disk, str)
                    and (int(devt[:2], 16), int(devt[2:], 16)) == number):
                return disk
    return None


def virtio_disk(model: Model, name: str) -> bool:
    """Whether the disk ``name`` dracut waits for (no device of the log has it) may be a
    virtio disk (module docstring)."""
    path = name.removeprefix("/dev/")
    base = path.rsplit("/", 1)[-1]
    if _VIRTIO_BLK_NAME.match(path) or path.startswith("disk/by-id/virtio-"):
        return True
    types = {device.device_type for device in model.live_devices()}
    if _SCSI_DISK_NAME.match(path):
        return "scsi" in types
    if _OTHER_DISK_NAME.match(path) or _OTHER_DISK_NAME.match(base):
        return False
    return bool(types & {"block", "scsi"})  # by-uuid, by-label, mapper, /dev/root ...


def _root_came(model: Model, fact: RootMount) -> bool:
    """After "Waiting for root device ...": the kernel went on to start init (it mounted a
    root), or a virtio block device registered the disk the wait names. After dracut's
    timeout (in the initramfs, init long started): only the disk registering."""
    seq = fact.failed.seq
    userspace = model.ending.userspace
    if fact.waiting and userspace is not None and userspace.seq > seq:
        return True
    device = _disk_device(model, fact.root) if fact.root else None
    return device is not None and any(event.seq > seq and event.get("disk") is not None
                                      for event in device.timeline)


def _cmdline_root(model: Model) -> str | None:
    if model.cmdline is None:
        return None
    words = model.cmdline.payload.by_name.get("param")
    words = words if isinstance(words, tuple) else (words,) if words else ()
    for word in words:
        name, _, value = str(word).partition("=")
        if name == "root" and value:
            return value
    return None


def _disk_device(model: Model, name: str) -> Device | None:
    name = name.removeprefix("/dev/")
    unit = _BSD_UNIT.match(name)
    wanted = {name, whole_disk(name)} | ({unit.group()} if unit else set())
    for device in model.live_devices():
        if device.device_type not in (None, "block"):
            continue
        names = {alias.removeprefix("name:") for alias in device.aliases
                 if alias.startswith("name:")}
        # FreeBSD's vtblk(4) names its disk "vtbd" with its own unit (virtio_blk.c
        # vtblk_alloc_disk(): d_name "vtbd", d_unit the device's unit): vtblk0's is vtbd0
        names.update("vtbd" + name[5:] for name in list(names)
                     if name.startswith("vtblk") and name[5:].isdigit())
        if device.disk:
            names.add(device.disk)
        # virtio_blk's "[vda] ..." (driver_ready's disk), kept on the device's timeline
        names.update(whole_disk(str(event.get("disk"))) for event in device.timeline
                     if event.get("disk") is not None)
        if names & wanted:
            return device
    return None
