"""probe-failed: a driver's probe, or the set-up of its virtqueues, failed.

**What it detects.** Linux ``probe of virtio0 failed with error -22``, ``probe with driver
... failed``, virtio-mmio ``Wrong magic value`` / ``Version N not supported``,
virtio_pci ``missing capabilities``, feature-dependency errors, virtqueue set-up
failures, a virtio module ignoring a parameter it was given (``virtio_mmio: unknown
parameter 'device' ignored``: a kernel without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES never
probes the devices of ``virtio_mmio.device=``), a shared folder no virtio device serves
(``9pnet_virtio: no channels available for device drvfs``, ``virtio-fs: tag <x> not
found``, ``9pnet: Could not find request transport: virtio``), and the equivalent messages of other
drivers, whether or not the log names the device. The errno is decoded (-2 ENOENT, -22 EINVAL, -28 ENOSPC, -19 ENODEV ...).
Read live (a pipe), a line that says why a probe failed waits for the line that ends the
probe with its errno (the driver core's ``probe of ... failed with error N``, printed just
after it), so that the finding shown is the report's; a cause no such line follows (the
driver core prints none for -ENODEV and -ENXIO) is shown when the log ends.

**Bad**::

    virtio_net: probe of virtio0 failed with error -22

**Good**::

    virtio_net virtio0 enp0s3: renamed from eth0

**Why it matters.** The device stays unusable: the driver gave up part-way (usually
after FAILED or a reset). When a later probe of the same device succeeded (the driver
reloaded, another driver bound it), the device is up and the failure is a warning. The errno says where: ENOENT and ENOSPC usually mean no
virtqueue or no MSI-X vector could be set up, EINVAL a feature or configuration value
the driver rejects, ENODEV a transport that is not a virtio device (bad magic/version).

**How to fix.** Look at the lines before the failure for the step that failed; compare the
queue count, queue sizes and feature bits the device offers with what the driver needs;
for ENODEV check the transport (MMIO magic/version, PCI capabilities).
"""

from virtiodiag.model.liveness import later_success
from virtiodiag.model.failures import (
    IgnoredParameter,
    UnservedFolder,
    ignored_parameter,
    unserved_folder,
)
from virtiodiag.rules._common import errno_text, quoted, unnamed_device
from virtiodiag.rules.base import Hit

CODE = "VD015"
NAME = "probe-failed"
SEVERITY = "error"
SUMMARY = "A driver probe or virtqueue set-up failed"
SPEC = "3.1.1"
OPTIONS: dict[str, object] = {}
LIVE_EVENTS = {"probe_failed"}

_WHY = {
    "magic": "the MagicValue is not 0x74726976 (not a virtio-mmio device)",
    "version": "the virtio-mmio Version is not supported",
    "capabilities": "the virtio PCI capabilities are missing or cannot be mapped",
    "feature_dependency": "the device offers a feature without the one it depends on",
    "ram_above_4g": "legacy virtio cannot address memory above 4 GiB",
    "abi_version": "the driver and device ABI versions differ",
    "queue_length": "a virtqueue length is invalid",
    "mmio_region": "its register window could not be claimed (already taken: the same "
                   "device registered twice, or an overlapping one) or mapped",
    "pci_enable": "the PCI function could not be enabled: one of its BARs has no address "
                  "(not assigned) or no place in its bridge's window (not claimed)",
    "mem_region": "the memory region the virtio-mem device offers could not be reserved: "
                  "it overlaps memory the kernel already has (placed there by the VMM, or "
                  "still plugged from an earlier load of the driver)",
    # BSD guests (NetBSD, OpenBSD, FreeBSD), VMMs and Solo5
    "no_driver": "no driver matched the device, it stays unconfigured",
    "child": "the device's driver failed to attach",
    "transport": "the transport's registers could not be mapped",
    "interrupts": "the interrupts could not be set up",
    "queue": "a virtqueue could not be set up",
    # s390 virtio-ccw
    "online": "the channel subsystem could not set the ccw device online: no virtio device "
              "was registered on it",
    "register": "the transport could not register the virtio device",
    "revision": "the driver does not support the device's PCI revision",
    "activation": "the device model could not activate the device",
    "creation": "the VMM could not create the device (its back-end: a file, a tap, a socket)",
    "config": "the VMM refused the device's options before the VM started",
    "not_in_build": "the VMM has no model of this device: it was built without it",
    "unknown_option": "the VMM does not know the option that adds this device, and would "
                      "not start",
    "queues": "the driver enabled fewer virtqueues than the device needs",
    "not_configured": "the driver drives only one device of this kind",
    "unknown_device": "the driver does not know this device type",
    "fuse_init": "the file system daemon behind the device (virtiofsd) answered the "
                 "driver's FUSE_INIT with an error",
}
# What a failure of this kind means, said when the line gives neither an errno nor a
# reason of its own (the line itself is the finding's evidence, never quoted here).
_WHY_ALONE = {
    "config_access": "the driver cannot read the device's configuration space (config access "
                     "disabled)",
    "block_size": "the device reports a block size the driver rejects",
    "zone_model": "the device reports a zoned model the driver does not support",
    "mtu": "the device's MTU is below what the driver was set up for",
    "access_platform": "the device does not offer VIRTIO_F_ACCESS_PLATFORM, which this "
                       "platform requires",
    "required_feature": "the device does not offer a feature this driver cannot work "
                        "without (the line names it)",
    "init_vqs": "the virtqueues could not be set up",
    "find_vq": "the virtqueues could not be set up",
    "queue_size": "a virtqueue size is invalid (0, or larger than the driver supports)",
    "queue_active": "a virtqueue was already active when the driver set it up",
    "queue_count": "the driver asked for more virtqueues than the device has",
    "queue_alloc": "the virtqueues could not be allocated",
    "control_queue": "the buffers of the console's control queue could not be allocated",
    "chrdev": "the console's character device could not be registered",
    "dax_region": "the DAX window's memory could not be reserved",
    "features": "the features could not be negotiated again after a reset",
    "minimal_features": "the device does not offer the features the driver needs at least "
                        "(VERSION_1 and the driver's own minimum), and the driver gave up",
    "driver_features": "the feature set the driver asked for breaks the spec's feature "
                       "dependencies, and the driver gave up",
    "features_not_kept": "the device did not keep FEATURES_OK: it refused the features "
                         "written, and the driver gave up",
    "legacy_only": "the device has no modern (common configuration) capability",
    "not_found": "no virtio device with the driver's id is on the bus",
    "placeholder": "the device id is 0 (an empty placeholder slot)",
    "attach": "the device's driver failed to attach",
    "parameter": "a virtio_mmio= device description could not be parsed: that device is "
                 "not attached",
    "channel": "the program could not open its virtio-serial port (/dev/virtio-ports/...): "
               "no console device, or its driver did not add that port",
}
# Lines that, after a line saying why, say only that the driver's attach failed: a BSD
# transport's "virtio configuration failed" (child), a BSD child's failed attach step
# ("vtscsi0: cannot allocate virtqueues" after the transport's "virtqueue 2 (...) does not
# exist") (attach). Alone, each is the finding.
_END_DETAILS = ("child", "attach")
_HINT = ("look at the step just before the failure; compare the queues and features the "
         "device offers with what the driver needs")
_EMPTY_WINDOW_HINT = ("if a device was meant to be there, check the VMM's or board's "
                      "virtio-mmio slots (which window each device is given) against the "
                      "device tree's virtio,mmio nodes; otherwise drop the unused node")
# A VMM's failures are about its side of the device, not the guest driver's.
_HINTS = {
    "creation": "the VMM would not create the device: fix what its error names on the host "
                "(a missing or unreadable backing file, a tap it may not open, a vsock socket "
                "path already in use, /dev/vhost-vsock missing) and start the VM again",
    "config": "the VMM would not start with these options of the device: change what the "
              "error names (cloud-hypervisor: DoubleTtyMode, --console and --serial both "
              "tty; Vnet..., --net's num_queues, fds or mtu; DiskSocketAndPath, --disk "
              "with both path and vhost socket; a vhost-user device needs --memory "
              "shared=on or hugepages; a vsock CID of 3 or more) and start the VM again",
    "not_in_build": "the VMM binary was built without this device model (a distribution's "
                    "QEMU may leave some out): install or build one that has it (QEMU's "
                    "'-device help' lists the models a binary has; libvirt reads them from "
                    "'virsh domcapabilities'), or leave the device out of the configuration",
    # crosvm's argh parser: an option another version had (crosvm dropped --vhost-user-gpu
    # in 2025) or one of a feature left out of the build
    "unknown_option": "the VMM's command line has an option this build does not have: check "
                      "it against the VMM's own help ('crosvm run --help'): another version's "
                      "option, or one of a feature the build left out (crosvm's gpu, audio "
                      "...); write the device as this version's help says",
    "pci_enable": "the firmware or the kernel placed no address for that BAR: check that "
                  "the bus's windows are large enough for the device's BARs (the firmware's "
                  "PCI assignment, a hotplug bridge's reserved space, pci=realloc)",
    "mem_region": "give the virtio-mem device a region of its own above the guest's other "
                  "memory (QEMU: -m ...,maxmem= and the device's memaddr=, on a machine with "
                  "memory hotplug; QEMU's microvm has none and maps the device at 0); after "
                  "a driver reload, unplug its memory first",
    "channel": "give the VM a virtio-serial device with a port of the name the program "
               "opens (QEMU: -device virtio-serial-pci and -device virtserialport,name=...; "
               "libguestfs: org.libguestfs.channel.0), and the guest its driver "
               "(virtio_console)",
    "activation": "the VMM failed to start the device when the driver set DRIVER_OK: read "
                  "its error (the back-end, event fds, worker threads); the guest sees the "
                  "device stop (DEVICE_NEEDS_RESET) or hang",
}


def _ignored_parameter(ignored: IgnoredParameter) -> tuple[str, str]:
    """kernel/params.c "unknown parameter 'X' ignored" for a virtio module: what it means."""
    if ignored.drops_cmdline_devices:
        return ("the kernel ignores virtio_mmio.device= (built without "
                "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES), so the virtio-mmio devices given on "
                "the command line are never probed",
                "describe the devices by ACPI or device tree instead (QEMU microvm: "
                "acpi=on), or build the kernel with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y")
    return (f"the module ignores its parameter '{quoted(ignored.param)}': whatever it was to "
            "change did not happen",
            f"check the parameter's name against 'modinfo {quoted(ignored.module)}'")


def _shared_folder(folder: UnservedFolder) -> tuple[str, str]:
    """A 9p or virtio-fs mount that found no virtio device to serve it."""
    name = quoted(folder.tag)
    if folder.no_transport:
        return (f"the 9p client has no '{name}' transport: the virtio 9p driver "
                "(9pnet_virtio) is not loaded or not built, so no virtio-9p device is used",
                "load 9pnet_virtio (CONFIG_NET_9P_VIRTIO) before mounting with trans=virtio")
    if folder.no_filesystem:
        return (f"the guest kernel has no '{name}' file system (the mount failed with "
                "ENODEV): the virtio-fs driver is not built or not loaded, so no virtio-fs "
                "shared folder can be mounted",
                "build CONFIG_VIRTIO_FS (=y, or =m and load the virtiofs module) into the "
                "guest's kernel; a distribution's smaller kernel package may leave it out")
    fix = ("compare the mount's tag with the device's (QEMU mount_tag=, virtiofsd/vhost-user-fs "
           "tag=) and mount only after the device's probe")
    if folder.tag.startswith("/dev/") and folder.kind == "fs":
        # init/do_mounts.c hands a root= block device name (root=/dev/root) to the file
        # system as its source: a virtio-fs root is named by its tag instead.
        fix = ("the tag is a block device's name: the root file system was mounted from "
               "root=/dev/...; name the shared folder itself: root=<tag> "
               "rootfstype=virtiofs (a kernel that mounts a tag as root), or rootfstype=9p "
               "rootflags=trans=virtio")
    elif folder.tag.startswith("/dev/"):
        # A 9p root (root=/dev/root rootfstype=9p rootflags=trans=virtio) is mounted from
        # that name as its tag, and a VMM may export it so (virtme's mount_tag=/dev/root):
        # the channel is missing, not misnamed.
        fix = (f"a 9p root is mounted from root= as its tag: give the guest a virtio-9p "
               f"device with mount_tag={name} (QEMU -virtfs or -device virtio-9p-pci) and "
               "build its transport (virtio_pci or virtio_mmio) and 9pnet_virtio into the "
               "kernel or its initramfs")
    # Kernels before the tag was added to the message (3.x-4.x) name none
    asked = (f"the shared folder tagged '{name}'" if folder.tag
             else "a shared folder (this kernel does not print its tag)")
    return (f"a mount asked for {asked} and no bound virtio {folder.kind} device has that "
            "tag (the device is missing, not probed yet, or its tag differs)", fix)


def check(ctx):
    for device in ctx.devices:
        yield from _hits(device, device.probe_failures, live=not ctx.final)
    if ctx.final:
        yield from _hits(None, [e for e in ctx.model.unattributed_errors
                                if e.kind == "probe_failed"], ctx.model)


def _hits(device, events, model=None, live=False):
    seen = set()
    # On one device, a line that says why its probe failed ("bad capability len 0") and
    # the driver core's "probe with driver ... failed with error -22" after it are one
    # failure: the cause is the finding, the errno and the end line go with it.
    # So is a BSD line that says only that the attach failed (_END_DETAILS).
    causes = ([e for e in events if e.payload.detail and e.payload.detail not in _END_DETAILS]
              or [e for e in events if e.payload.detail]) if device is not None else []
    ends = {id(e): e for e in events
            if (not e.payload.detail or e.payload.detail in _END_DETAILS) and causes
            and e.seq > causes[0].seq and e is not causes[0]}
    for event in events:
        if id(event) in ends:
            continue
        detail = event.payload.detail or ""
        key = f"probe:{detail}:{event.get('errno')}:{event.get('driver')}:{event.get('reason')}"
        if key in seen:
            continue
        seen.add(key)
        named = event.get("device") or event.get("driver")
        who = (device.id if device is not None else quoted(named) if named
               else "9pnet" if detail == "no_transport"
               else "mount" if detail == "no_filesystem" else unnamed_device(event, model))
        ignored, folder = ignored_parameter(event), unserved_folder(event)
        if ignored is not None or folder is not None:
            what, hint = (_ignored_parameter(ignored) if ignored is not None
                          else _shared_folder(folder) if folder is not None else ("", ""))
            # One line (the kernel ignoring virtio_mmio.device=) can be the failure of every
            # device the command line declared: a finding for each.
            yield Hit(device, event, f"{who}: {what}", hint,
                      key=f"{key}:{device.identity}" if device is not None else key)
            continue
        reason, param = event.get("reason"), event.get("param")
        why: str | None = _WHY.get(detail) or (quoted(reason) if reason else None)
        end = next((e for e in ends.values() if event is causes[0]), None) if ends else None
        errno = event.get("errno")
        if live and end is None and errno is None and causes and event is causes[0]:
            # Read live, the cause waits for its end line (the driver core's "probe of X
            # failed with error N" just after it), whose errno the finding gives: shown
            # then, as the report words it; a failure with no end line, at the end.
            continue
        parts = [errno_text(event)] if errno is not None else []
        if end is not None and errno is None and end.get("errno") is not None:
            parts.append(errno_text(end))
        if why:
            parts.append(why)
        if not parts:
            parts.append(_WHY_ALONE.get(detail, "the line names no cause")
                         + (f" ('{quoted(param)}')" if param is not None else ""))
        related = [(end, "the probe's end")] if end is not None else []
        later = later_success(device, event) if device is not None else None
        empty = detail == "version" and event.get("mmio_version") == 0
        if empty:
            # The window answers the magic but its Version reads 0, a value no virtio-mmio
            # device has (spec 4.2.2: 1 legacy, 2 modern): nothing usable is behind it (a
            # slot the VMM or board declares and leaves unimplemented), and the transport
            # skips it; no device of any type was lost, as for an id-0 placeholder.
            parts = [errno_text(end)] if end is not None and end.get("errno") is not None \
                else []
            parts.append("its Version register reads 0, which no virtio-mmio device has "
                         "(1 legacy, 2 modern): no usable device is behind this window, and "
                         "the transport skipped it")
        failed = "probe failed"
        if later is not None:
            # The device was probed again (its driver reloaded, or another driver took
            # it) and that probe succeeded: the device is up, the failure a warning.
            failed = f"probe{_driver_of(event)} failed"
            parts.append(f"a later probe{_driver_of(later)} succeeded (line {later.line}): "
                         "the device is up")
            related.append((later, "the later probe's success"))
        yield Hit(device, event, f"{who}: {failed}: {'; '.join(parts)}",
                  _EMPTY_WINDOW_HINT if empty else _HINTS.get(detail, _HINT), key=key,
                  related=related,
                  severity="warning" if later is not None or empty else None)


def _driver_of(event) -> str:
    """" by <driver>" for the driver a line names, or nothing."""
    driver = event.get("driver")
    return f" by {quoted(driver)}" if driver else ""
