"""What a probe-failure line means beyond its kind, decided from the line's typed fields.

Two kinds of failure are about something other than a device's probe: a virtio module
that ignored a parameter it was given (kernel/params.c "unknown parameter 'X' ignored"),
and a shared folder no virtio device serves (9pnet_virtio "no channels available for
device TAG", virtio-fs "tag <TAG> not found", 9pnet "Could not find request transport:
virtio", mount(8) "unknown filesystem type 'virtiofs'"). Which module, which parameter,
which tag and which kind of folder is decided here; the probe-failed rule only words it.
"""

from __future__ import annotations

import json

from virtiodiag import spec
from virtiodiag.cachefiles import compiled
from virtiodiag.events import Event
from virtiodiag.model.declared import driver_type
from virtiodiag.plain import Plain

# The 9p transport module; a tag any other module could not find is virtio-fs's.
NINEP_MODULE = "9pnet_virtio"


class IgnoredParameter(Plain):
    """A virtio module ignored a parameter: ``module``, ``param``, and whether that drops
    the virtio-mmio devices given on the kernel command line (``virtio_mmio.device=`` on a
    kernel without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES)."""

    FIELDS = ("module", "param", "drops_cmdline_devices")

    def __init__(self, module: str, param: str):
        self.module = module
        self.param = param
        self.drops_cmdline_devices = module == "virtio_mmio" and param == "device"


class UnservedFolder(Plain):
    """A shared folder a mount asked for that no virtio device serves: its ``tag`` (with
    ``no_transport``, the transport the 9p client lacks; with ``no_filesystem``, the file
    system type the kernel lacks), and its ``kind``, "9p" or "fs"."""

    FIELDS = ("tag", "kind", "no_transport", "no_filesystem")

    def __init__(self, tag: str, kind: str, no_transport: bool, no_filesystem: bool = False):
        self.tag = tag
        self.kind = kind
        self.no_transport = no_transport
        self.no_filesystem = no_filesystem


def ignored_parameter(event: Event) -> IgnoredParameter | None:
    """The parameter a "param_ignored" probe failure is about."""
    if event.payload.kind != "probe_failed" or event.payload.detail != "param_ignored":
        return None
    return IgnoredParameter(str(event.get("driver") or ""), str(event.get("reason") or ""))


def unserved_folder(event: Event) -> UnservedFolder | None:
    """The shared folder a "mount_tag", "no_transport" or "no_filesystem" probe failure is
    about (mount(8)'s "no_filesystem" names the virtio-fs type: the kernel has no virtiofs)."""
    detail = event.payload.detail
    if event.payload.kind != "probe_failed" or detail not in (
            "mount_tag", "no_transport", "no_filesystem"):
        return None
    no_transport = detail == "no_transport"
    kind = "9p" if no_transport or event.get("driver") == NINEP_MODULE else "fs"
    return UnservedFolder(str(event.get("reason") or ""), kind, no_transport,
                          detail == "no_filesystem")


# QEMU's virtio device models are "<front>-<type>-<transport>" (virtio-net-pci,
# virtio-blk-device, virtio-net-ccw, vhost-user-fs-pci, vhost-vsock-device), and
# "virtio-<type>" alone is an alias of the board's usual transport (virtio-balloon, which
# QEMU's message then names by its concrete type, 'virtio-balloon-pci').
_TRANSPORTS = (("-pci-non-transitional", "pci"), ("-pci-transitional", "pci"), ("-pci", "pci"),
               ("-device", "mmio"), ("-ccw", "ccw"))


class RefusedDevice(Plain):
    """A virtio device QEMU refused at start-up, so the guest never saw it: its ``model``
    (virtio-scsi-pci), ``device_type``, ``transport`` (pci, mmio, ccw or None), the
    ``device_id`` the command line gave it, QEMU's ``reason``, and which kind of refusal it
    is: ``backend`` (a vhost-user device whose back-end did not answer on its socket),
    ``not_migratable`` (-only-migratable and a device whose state cannot be migrated),
    ``rom`` (the device's option ROM file is missing), ``drive`` (the disk's -drive: its
    image could not be opened or used), ``hotplug_bus`` (a hot-plug onto a bus that takes
    none), ``netdev`` (the NIC's network back-end, its ``backend``) or None."""

    FIELDS = ("model", "device_type", "transport", "device_id", "reason", "cause", "hotplug",
              "backend", "vmm")

    def __init__(self, model: str, device_id: str | None, reason: str | None,
                 hotplug: bool = False, cause: str | None = None, backend: str | None = None,
                 vmm: str = "QEMU"):
        self.model = model
        # The program that refused it: QEMU, or VirtualBox (cause "nic_type")
        self.vmm = vmm
        # The refused network back-end's option, when QEMU refused the NIC's back-end
        # (cause "netdev", model/netdev_users.py), not the NIC itself.
        self.backend = backend
        self.device_id = device_id
        self.reason = reason
        # Refused when hot-plugged (QMP device_add): the guest runs on without it.
        self.hotplug = hotplug
        self.transport = _transport(model)
        if self.transport is None and reason and f"'{model}-pci'" in reason:
            self.transport = "pci"  # "No 'PCI' bus found for device 'virtio-balloon-pci'"
        # The names spec does not read (virtio-gpu-gl-pci, virtio-vga-gl, virtio-multitouch-
        # pci ...) are typed as a command line's declaration of them is
        self.device_type = spec.normalise_type(model)
        if self.device_type is None:
            typed = driver_type(model)
            if typed is not None:
                self.device_type, self.transport = typed[0], typed[1] or self.transport
        text = reason or ""
        # The caller's cause (a -drive's: "drive"), else what the model and reason say.
        self.cause: str | None = cause
        if cause is None and "--only-migratable" in text:
            # savevm.c vmstate_check_only_migratable(): the device's VMState cannot be
            # migrated. %s is the virtio device's own type ("vhost-user-fs-device"), also
            # the inner device of a PCI proxy: it does not say the transport.
            self.cause = "not_migratable"
            if model.endswith("-device"):
                self.transport = None
        elif cause is None and hotplug and "hotplug" in text:
            # qdev-monitor.c: "Bus '%s' does not support hotplugging" (a root bus, pcie.0,
            # or a bridge without hotplug): the bus, not the device or its back-end
            self.cause = "hotplug_bus"
        elif cause is None and _PROPERTY_ERROR.search(text):
            # QOM's and qdev's errors of the -device's own properties (qom/object.c
            # object_property_find_err() "Property '%s.%s' not found", qdev-properties.c
            # "Property '%s.%s' doesn't take value '%s'"): options this QEMU does not have
            # or accept, whatever the device's back-end (a vhost-user-fs-pci's cache-size=,
            # which only a virtio-fs DAX branch had): the generic refusal, not its back-end
            pass
        elif cause is None and (model.startswith("vhost-user") or "msg header" in text
                              or "vhost_backend_init" in text):
            self.cause = "backend"
        elif cause is None and "romfile" in text:
            self.cause = "rom"


def _transport(model: str) -> str | None:
    return next((transport for suffix, transport in _TRANSPORTS if model.endswith(suffix)), None)


def refused_device(event: Event) -> RefusedDevice | None:
    """The device a "config_refused" line is about: from its -device option
    ("-device virtio-scsi-pci,id=scsi0,bus=pcie.3:") or the model it names
    ("Initialization of device virtio-net-pci failed")."""
    if event.payload.kind != "config_refused" or event.payload.detail == "nic_not_created":
        return None
    option = event.get("option")
    reason = event.get("reason")
    reason = str(reason) if reason else None
    if event.payload.detail == "nic_type":
        # VBoxManage's "--nictypeN virtio" on a VirtualBox built without VBOX_WITH_VIRTIO,
        # which has no virtio-net adapter (grammars/vboxmanage.lark)
        return RefusedDevice("virtio-net", None, reason, cause="nic_type", vmm="VirtualBox")
    if event.payload.detail == "chardev":
        # a vhost-user device's socket (model/chardev_users.py named the device using it)
        device_id = event.get("nic_id")
        return RefusedDevice(str(event.get("device_type")), str(device_id) if device_id else None,
                             reason, cause="backend")
    if event.payload.detail == "netdev":
        # a NIC's back-end (model/netdev_users.py named the NIC it served)
        nic_id = event.get("nic_id")
        return RefusedDevice(str(event.get("device_type")), str(nic_id) if nic_id else None,
                             reason, cause="netdev", backend=str(event.get("backend")))
    if isinstance(option, str) and option.startswith("-device {"):
        # libvirt 7.0+: the option is a JSON object ({"driver":"virtio-...","id":...})
        try:
            fields = json.loads(option[len("-device "):].rstrip(":"))
        except ValueError:
            fields = None
        if isinstance(fields, dict) and isinstance(fields.get("driver"), str):
            device_id = fields.get("id")
            return RefusedDevice(fields["driver"],
                                 device_id if isinstance(device_id, str) else None, reason)
    if isinstance(option, str) and option.startswith("-drive "):
        # A virtio disk's -drive (if=virtio, or libvirt's id "drive-virtio-disk<N>", whose
        # device is "virtio-disk<N>"): the disk's image, so the device, could not be made
        words = option[len("-drive "):].rstrip(":").split(",")
        drive_id = next((w[3:] for w in words if w.startswith("id=")), "")
        device_id = drive_id[len("drive-"):] if drive_id.startswith("drive-virtio-disk") else None
        return RefusedDevice("virtio-blk", device_id, reason, cause="drive")
    if isinstance(option, str) and option.startswith("-blockdev "):
        # A libblkio virtio-blk back-end (block/blkio.c, QEMU 7.2+): its vDPA device, its
        # vhost-user socket or its VFIO device could not be opened, so no disk was made
        return RefusedDevice("virtio-blk", None, reason, cause="blkio")
    if isinstance(option, str) and option.startswith("-virtfs "):
        # vl.c QEMU_OPTION_virtfs: -virtfs is an -fsdev and a "virtio-9p-pci" -device
        # (the model QEMU's error names, when it names one); its mount_tag is no -device id
        named = _NAMED_MODEL.search(reason) if reason else None
        return RefusedDevice(named.group(1) if named else "virtio-9p-pci", None, reason)
    # A -device option, or a monitor's hot-plug request (HMP "device_add
    # virtio-net-pci,id=net1,...", refused by QEMU's answer on the next line): the same
    # MODEL,id=ID,... list
    hotplug_request = isinstance(option, str) and option.startswith("device_add ")
    if hotplug_request or (isinstance(option, str) and option.startswith("-device ")):
        words = option.split(" ", 1)[1].rstrip(":").split(",")
        device_id = next((w[3:] for w in words[1:] if w.startswith("id=")), None)
        # qdev-monitor.c qdev_device_add() reads the model from the "driver" key, which
        # the option's implied first value is (govmm writes "-device driver=MODEL,...")
        model = next((w[len("driver="):] for w in words if w.startswith("driver=")), words[0])
        return RefusedDevice(model, device_id, reason, hotplug=hotplug_request)
    model = event.get("device_type")
    hotplug = event.payload.detail == "hotplug"
    if not model and reason:
        # QEMU's error names the model it refused ("Property 'virtio-net-ccw.page-per-vq'
        # not found", "... not available for virtio-net-pci, in use by ...")
        named = _NAMED_MODEL.search(reason)
        model = named.group(1) if named else None
    return RefusedDevice(str(model), None, reason, hotplug) if model else None


_PROPERTY_ERROR = compiled(r"Property '[^']*' (not found|doesn't take value)")
_NAMED_MODEL = compiled(r"\b((?:virtio|vhost)-[a-z0-9-]*[a-z0-9])")


def refusal_groups(events: list[Event]) -> list[tuple[RefusedDevice | None, list[Event]]]:
    """The refusals of one run, one group per refused device: QEMU may print several
    errors about one -device option (a vhost-user device's "Failed to read msg header"
    then "vhost_backend_init failed"); each group keeps its lines in order."""
    groups: dict[object, tuple[RefusedDevice | None, list[Event]]] = {}
    for event in events:
        refused = refused_device(event)
        key: object = event.get("option") or event.get("device_type") or id(event)
        if key in groups:
            groups[key][1].append(event)
        else:
            groups[key] = (refused, [event])
    return list(groups.values())
