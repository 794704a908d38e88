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

**Bad**::

    virtio_net: probe of virtio0 failed with error -22

**Good**::

    virtio_net virtio0 enp0s3: renamed from eth0

**Why it matters.** The device stays unusable: the driver gave up part-way (usually
after FAILED or a reset). The errno says where: ENOENT and ENOSPC usually mean no
virtqueue or no MSI-X vector could be set up, EINVAL a feature or configuration value
the driver rejects, ENODEV a transport that is not a virtio device (bad magic/version).

**How to fix.** Look at the lines before the failure for the step that failed; compare the
queue count, queue sizes and feature bits the device offers with what the driver needs;
for ENODEV check the transport (MMIO magic/version, PCI capabilities).
"""

from virtiodiag.rules._common import errno_text, unnamed_device
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
    "capabilities": "the virtio PCI capabilities are missing",
    "feature_dependency": "the device offers a feature without the one it depends on",
    "ram_above_4g": "legacy virtio cannot address memory above 4 GiB",
    "abi_version": "the driver and device ABI versions differ",
    "queue_length": "a virtqueue length is invalid",
    # BSD guests (NetBSD, OpenBSD, FreeBSD), VMMs and Solo5
    "no_driver": "no driver matched the device, it stays unconfigured",
    "child": "the device's driver failed to attach",
    "transport": "the transport's registers could not be mapped",
    "interrupts": "the interrupts could not be set up",
    "queue": "a virtqueue could not be set up",
    "revision": "the driver does not support the device's PCI revision",
    "activation": "the device model could not activate the device",
    "creation": "the VMM could not create the device (its back-end: a file, a tap, a socket)",
    "queues": "the driver enabled fewer virtqueues than the device needs",
    "not_configured": "the driver drives only one device of this kind",
    "unknown_device": "the driver does not know this device type",
}
_HINT = ("look at the step just before the failure; compare the queues and features the "
         "device offers with what the driver needs")


def _ignored_parameter(event) -> tuple[str, str]:
    """kernel/params.c "unknown parameter 'X' ignored" for a virtio module: what it means."""
    param, module = event.get("reason"), event.get("driver")
    if module == "virtio_mmio" and param == "device":
        return ("the kernel ignores virtio_mmio.device= (built without "
                "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES), so the virtio-mmio devices given on "
                "the command line are never probed",
                "describe the devices by ACPI or device tree instead (QEMU microvm: "
                "acpi=on), or build the kernel with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y")
    return (f"the module ignores its parameter '{param}': whatever it was to change did not "
            "happen", f"check the parameter's name against 'modinfo {module}'")


def _shared_folder(event) -> tuple[str, str]:
    """A 9p or virtio-fs mount that found no virtio device to serve it."""
    name = event.get("reason")
    if event.payload.detail == "no_transport":
        return (f"the 9p client has no '{name}' transport: the virtio 9p driver "
                "(9pnet_virtio) is not loaded or not built, so no virtio-9p device is used",
                "load 9pnet_virtio (CONFIG_NET_9P_VIRTIO) before mounting with trans=virtio")
    return (f"a mount asked for the shared folder tagged '{name}' and no bound virtio "
            f"{'9p' if event.get('driver') == '9pnet_virtio' else 'fs'} device has that tag "
            "(the device is missing, not probed yet, or its tag differs)",
            "compare the mount's tag with the device's (QEMU mount_tag=, virtiofsd/vhost-user-fs "
            "tag=) and mount only after the device's probe")


def check(ctx):
    for device in ctx.devices:
        yield from _hits(device, device.probe_failures)
    if ctx.final:
        yield from _hits(None, [e for e in ctx.model.unattributed_errors
                                if e.kind == "probe_failed"], ctx.model)


def _hits(device, events, model=None):
    seen = set()
    # On one device, a line that says why its probe failed ("bad capability len 0") and
    # the driver core's "probe with driver ... failed with error -22" after it are one
    # failure: the cause is the finding, the errno and the end line go with it.
    causes = [e for e in events if e.payload.detail] if device is not None else []
    ends = {id(e): e for e in events if not e.payload.detail and causes
            and e.seq > causes[0].seq}
    for event in events:
        if id(event) in ends:
            continue
        detail = event.payload.detail or ""
        key = f"probe:{detail}:{event.get('errno')}:{event.get('driver')}:{event.get('reason')}"
        if key in seen:
            continue
        seen.add(key)
        who = device.id if device is not None else str(
            event.get("device") or event.get("driver")
            or ("9pnet" if detail == "no_transport" else unnamed_device(event, model)))
        if detail in ("param_ignored", "mount_tag", "no_transport"):
            why, hint = (_ignored_parameter(event) if detail == "param_ignored"
                         else _shared_folder(event))
            yield Hit(device, event, f"{who}: {why}", hint, key=key)
            continue
        why = _WHY.get(detail) or event.get("reason")
        end = next((e for e in ends.values() if event is causes[0]), None) if ends else None
        errno = event.get("errno")
        parts = [errno_text(event)] if errno is not None else []
        if end is not None and errno is None and end.get("errno") is not None:
            parts.append(errno_text(end))
        if why:
            parts.append(str(why))
        yield Hit(device, event, f"{who}: probe failed: {'; '.join(parts) or event.text}",
                  _HINT, key=key, related=[(end, "the probe's end")] if end is not None else [])
