"""A file system's journal thread blocked on a virtio disk: the disk's stalled I/O.

kernel/hung_task.c names the blocked task ("INFO: task %s:%d blocked for more than %ld
seconds.", its comm). A file system's journal thread is named after its disk: fs/jbd2/
journal.c's kthread "jbd2/%s" of j_devname, "%pg-%lu" (the disk or partition and the journal's
inode: jbd2/vda1-8; an external journal's disk alone), fs/xfs/xfs_trans_ail.c's "xfsaild/%s"
(the super block's device: xfsaild/vdb1). Blocked past the timeout, it waits for I/O its disk
did not complete (a journal commit's writes and flush), and only virtio_blk names its disks
"vd<letters>": the report is that virtio block device's error (its I/O stalled), on the one
device that has the disk, else a record of its own by the disk's name. Such a thread runs
only for a mounted file system: the driver had registered the disk (DRIVER_OK implied). A
report that also shows a virtio driver's frame is crashes.py's (a task stuck in the driver).
"""

from __future__ import annotations


from virtiodiag.cachefiles import compiled
from virtiodiag.model.crashes import driver_of
from virtiodiag.model.device import Model
from virtiodiag.model.discovery import imply_driver_ok
from virtiodiag.model.identity import Identities, whole_disk
from virtiodiag.model.named_lines import by_interface

_JOURNAL_TASK = compiled(r"(?:jbd2|xfsaild)/(vd[a-z]+\d*)(?:-\d+)?$")


def join_journal_hangs(model: Model, identities: Identities) -> None:
    for oops, frames in model.crashes:
        if oops.payload.detail != "hung" or model.side_of(oops.dialect) != "guest":
            continue
        match = _JOURNAL_TASK.match(str(oops.get("task") or ""))
        if match is None or any(driver_of(frame)[0] for frame in frames):
            continue
        disk = whole_disk(match.group(1))
        device = by_interface(model, disk) or identities.device_for((f"name:{disk}",))
        if device is None or device.device_type not in (None, "block"):
            continue
        device.device_type, device.disk = "block", device.disk or disk
        device.errors.append(oops)
        device.add_timeline(oops)
        imply_driver_ok(device, oops, f"a file system's journal thread of disk {disk} ran "
                        "(the driver had registered the disk)")
