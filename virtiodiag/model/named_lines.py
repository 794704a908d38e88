"""Guest lines that name their device by something other than its names: the interface or
disk the guest calls it now, or the interrupt line it owns. Attribution asks here when an
event's own names (device, address) found no device.

* An interface or a disk ("NETDEV WATCHDOG: eth0 (virtio_net): ...", "I/O error, dev
  vda1"): the one device whose network interface or disk has that name now. Not an
  alias: such a name moves between devices (renames, hot-plug). A disk the kernel lists by
  its name alone (block/genhd.c printk_all_partitions() "fd00 368 vda" after a failed
  root mount) is the device that registered it, a record of its own when no earlier line
  of the log showed that device.
* kernel/irq/spurious.c's report of an interrupt line no handler claimed ("irq %d: nobody
  cared ...") and switched off ("Disabling IRQ #%d"): the virtio device that owns the
  line (identities.irq_owner). A line no virtio device of the log owns is not this tool's
  business, unless the report's handler list, just before "Disabling IRQ #N", named a
  virtio transport's handler (vp_interrupt, vm_interrupt ...): then a virtio device's line
  went off, which one the log does not say.
"""

from __future__ import annotations

from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model
from virtiodiag.model.discovery import imply_driver_ok
from virtiodiag.model.identity import Identities, whole_disk

IRQ_LINE_DETAILS = frozenset({"irq_unhandled", "irq_disabled"})
_HANDLERS_SHOWN = 8  # lines of a report's handler list, at most, before "Disabling IRQ"


def by_interface(model: Model, name: str) -> Device | None:
    """The one device whose network interface or disk has this name now."""
    # Model.live_devices() (d.aliases) folded into the one pass; the devices that ever had
    # the name (model/device_index.py), not every device: per line
    owners = [d for d in model.device_index.named(name)
              if d.aliases and name in (d.netdev, d.disk)]
    return owners[0] if len(owners) == 1 else None


def by_listed_disk(identities: Identities, disk: str) -> Device | None:
    """The record of a disk a line lists by name alone (no earlier line showed its device)."""
    return identities.device_for((f"name:{whole_disk(disk)}",))


class BadIrqReports:
    """The handler list of kernel/irq/spurious.c's last report, for a line no device owns."""

    def __init__(self) -> None:
        self.virtio_handler: Event | None = None  # its last virtio transport's handler

    def unowned(self, model: Model, event: Event) -> None:
        """``event``: a report's line about an interrupt line no virtio device owns."""
        if event.payload.detail == "irq_handler":
            self.virtio_handler = event
            return
        listed = self.virtio_handler
        if (event.payload.detail == "irq_disabled" and listed is not None
                and event.seq - listed.seq <= _HANDLERS_SHOWN):
            model.unattributed_errors.append(event)


def by_unowned_name(model: Model, identities: Identities, event: Event,
                    side: str) -> Device | None:
    """The record of a device a guest line names only by its interface or disk, which no
    device of the log has: a disk the kernel lists (by_listed_disk), or one an error names
    (by_error_name)."""
    fields = event.payload.by_name
    if event.kind == "driver_ready" and fields.get("disk"):
        if event.payload.detail in _DISK_READ:
            return by_disk_read(model, identities, str(fields["disk"]))
        return by_listed_disk(identities, str(fields["disk"]))
    if event.kind == "device_error" and side == "guest":
        return by_error_name(model, identities, event)
    return None


# driver_ready details of a line that shows the kernel read a disk it names only by name
# (root_mount.lark): the partition scan, a file system mounted or checked by e2fsck.
_DISK_READ = frozenset({"partition_scan", "fs_mounted", "fs_checked"})


def by_disk_read(model: Model, identities: Identities, disk: str) -> Device | None:
    """The record of the device whose disk a line shows read (" vda: vda1 vda2", "EXT4-fs
    (vda1): mounted filesystem ..."), when no line named that disk before: the one device
    of the log that may be a disk and has none named (a block device, or one of no known
    type: a legacy PCI function the driver left to virtio_pci's legacy probe), else a
    record of its own when the log has no such device. With several, which one is the
    disk the log does not say: no device gets it (no second record of one device)."""
    name = whole_disk(disk)
    could_be = [d for d in model.live_devices()
                if d.device_type in ("block", None) and d.disk is None]
    if len(could_be) > 1:
        return None
    if not could_be:
        return by_listed_disk(identities, name)
    device = could_be[0]
    device.device_type, device.disk = "block", name
    return device


def by_error_name(model: Model, identities: Identities, event: Event) -> Device | None:
    """The record of the device a guest error names only by its interface or disk, which no
    line of the log gave a device before: net/sched's "NETDEV
    WATCHDOG: enp0s1 (virtio_net): transmit queue 0 timed out" names the driver that
    registered the interface, and only virtio_blk names its disks "vd<letters>"
    (virtblk_name_format("vd", ...)), so "I/O error, dev vdc, ..." is a virtio block
    device's. With a device of that type whose interface or disk the log never named, the
    error may be that one's. A disk's goes to the one block device (or one of no known
    type) that has no disk named, as by_disk_read gives it the disk the kernel read (a VMM's
    record of its one disk, cloud-hypervisor's "_disk0", and the guest's "I/O error, dev
    vda" are one disk); an interface's stays unattributed (an interface may be a second
    NIC's that the excerpt never showed), as does a disk's among two or more candidates
    (no second record of one device). A disk's when every block device has a disk of
    another name (two disks' errors, "dev vda" then "dev vdb") is a device of its own."""
    fields = event.payload.by_name
    netdev, disk, driver = fields.get("netdev"), fields.get("disk"), fields.get("driver")
    if isinstance(netdev, str) and driver in _NET_DRIVERS:
        kind, name = "net", netdev
    elif isinstance(disk, str) and disk[:2] == "vd" and not netdev:
        kind, name = "block", whole_disk(disk)
    else:
        return None
    of_kind = [d for d in model.live_devices() if d.device_type in (kind, None)]
    unnamed = [d for d in of_kind if d.disk is None] if kind == "block" else []
    if len(unnamed) == 1:
        device: Device | None = unnamed[0]
    elif unnamed or (of_kind and kind == "net"):
        return None
    else:
        # No device, or only block devices whose disks have other names: virtio_blk names
        # each disk once (its index), so this one is a device of its own.
        device = identities.device_for((f"name:{name}",))
    if device is not None:
        device.device_type = device.device_type or kind
        if kind == "net":
            device.netdev = name
        else:
            # virtblk_probe() sets DRIVER_OK (virtio_device_ready) before add_disk()
            # makes the disk that had the requests
            device.disk = name
            imply_driver_ok(device, event, f"the driver had registered disk {name}, which "
                            "had requests")
    return device


_NET_DRIVERS = frozenset({"virtio_net", "virtio-net"})
