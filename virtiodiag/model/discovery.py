"""What a device is: the lines that find it on a bus or bind a driver to it.

Transport, address, PCI id (modern or transitional), virtio device id, virtio-mmio
version, guest name, driver and interface name; and the notes about the interface these
facts prove (a modern-only PCI id, virtio-mmio Version 1 or 2).
"""

from __future__ import annotations



from virtiodiag.cachefiles import compiled
from virtiodiag import spec
from virtiodiag.limits import QUEUES_PER_DEVICE
from virtiodiag.events import Event
from virtiodiag.grammar_facts import GrammarFacts
from virtiodiag.model.handover import OTHER_DRIVER
from virtiodiag.model.attempts import LEGACY, STRONG
from virtiodiag.model.device import Device, Model
from virtiodiag.model.identity import Identities
from virtiodiag.model.identity import (
    ALIAS_MEMO_LIMIT,
    MMIO_PLATFORM,
    VIRTIO_N,
    bsd_pci_address,
    normalise_bdf,
    normalise_mmio,
    whole_disk,
)

# The name a log gives a device it found, used for the device when no driver took it: a
# BSD autoconf unit ("virtio2", "virtio_pci5"), a VMM's device id ("_disk0", "_rng",
# "eth0"), Solo5's "PCI:00:05". Not a pointer, a bus address, a U-Boot/Linux device path
# ("virtio-blk#1", "virtio-mmio.0", "LNRO0005:00") or a driver's name ("vnet"): those
# name it otherwise.
UNIT_NAME = compiled(r"^(?:(?!0x)[A-Za-z][\w-]*\d|_[\w-]+"
                     r"|PCI:[0-9a-f]{2}:[0-9a-f]{2}(?:\.[0-9a-f]+)?)$")
# Transport drivers: a line of theirs shows the transport took the device, not that a
# device driver (virtio_net, virtio-blk ...) was bound to it.
TRANSPORT_DRIVERS = ("virtio-pci", "virtio_pci", "virtio-mmio", "virtio_mmio", "virtio_ccw")
# virtio_ccw prints the failures of its queue set-up (virtio_ccw_setup_vq(), run by the
# device driver's probe through find_vqs) under the ccw device too: they come after
# register_virtio_device(), so a virtioN does sit on that device.
_AFTER_REGISTRATION = ("queue", "queue_alloc")
# U-Boot's virtio-pci transport drivers (drivers/virtio/virtio_pci_legacy.c and
# virtio_pci_modern.c): the driver that probed the function says the interface it drives.
UBOOT_PCI_DRIVERS = {"virtio-pci.l": "legacy", "virtio-pci.m": "modern"}
UBOOT_TRANSPORT = compiled(r"(virtio-pci\.[lm])#\d+$")
_HEX16 = compiled(r"^[0-9a-f]{4}$")
# device_found[unclaimed]: a platform device's register window listed with no driver's
# request below it (/proc/iomem); model/slots.py mark_unclaimed_windows.
UNCLAIMED = "unclaimed"

# The virtio PCI capabilities of the 1.0 interface (the spec's cfg_type 1-4 and 8, as
# lspci names them: ls-caps-vendor.c show_vendor_caps_virtio()).
MODERN_PCI_CAPS = frozenset({"CommonCfg", "Notify", "ISR", "DeviceCfg", "SharedMemory"})


def on_device_found(device: Device, event: Event) -> None:
    fields = event.payload.by_name
    device.found_event = device.found_event or event
    transport = fields.get("transport") or event.payload.detail
    if transport == UNCLAIMED:
        transport = "mmio"  # a platform device's register window: virtio-mmio's
    if transport in ("pci", "mmio"):
        device.transport = transport
    address = fields.get("address")
    if isinstance(address, str) and normalise_bdf(address):
        device.transport = "pci"
        device.address = normalise_bdf(address)
    elif address is not None and device.transport == "mmio":
        device.address = normalise_mmio(address) or str(address)
    elif address is not None and device.address is None:
        mmio = normalise_mmio(address)
        if mmio:
            device.transport = "mmio" if device.transport == "unknown" else device.transport
            device.address = mmio
    uboot = UBOOT_TRANSPORT.match(address) if isinstance(address, str) else None
    if uboot is not None:
        # U-Boot's `virtio list` row of a device no driver took names only its transport
        # device ("virtio-pci.m#2"), whose driver says the interface.
        device.guest_name = device.guest_name or address
        _uboot_transport(device, uboot.group(1), event)
    bsd_pci = bsd_pci_address(event)
    if bsd_pci is not None and device.address is None:
        device.transport, device.address = "pci", bsd_pci
    vendor, pci_device = fields.get("pci_vendor"), fields.get("pci_device")
    if pci_device is None:
        vendor, pci_device = windows_pci_ids(fields.get("device"))
    _pci_ids(device, vendor, pci_device, event)
    virtio_id = fields.get("virtio_id")
    product = fields.get("pci_name")
    if virtio_id is None and device.virtio_id is None and isinstance(product, str):
        virtio_id = spec.PCI_IDS_PRODUCTS.get(product.lower())  # lspci's product name
    if isinstance(virtio_id, int):
        device.virtio_id = virtio_id
        device.device_type = spec.DEVICE_TYPES.get(virtio_id, f"id{virtio_id}")
        if virtio_id == 0:
            device.placeholder_event = event
    version = fields.get("mmio_version")
    if isinstance(version, int):
        device.transport = "mmio"
        device.mmio_version = version
        word = {1: "legacy", 2: "modern"}.get(version, "no version a device has")
        device.note(f"virtio-mmio Version {version} ({word})", event)
    name = fields.get("device")
    if device.guest_name is None and isinstance(name, str) and UNIT_NAME.match(name):
        device.guest_name = name
    if "legacy_only" in fields:
        device.add_evidence(LEGACY, "legacy_only_driver", STRONG, "a legacy-only driver took it "
                            "(the attach line of a driver that has only the 0.9 interface: "
                            "FreeBSD 9-12's virtio_pci, NetBSD 6-9's virtio)", event)
    if fields.get("pci_cap") in MODERN_PCI_CAPS and device.pci_caps is None:
        # The function has the virtio 1.0 PCI interface (a transitional one has both):
        # what it offers (model/attempts.device_evidence), not what a driver did.
        device.pci_caps = event
        device.note("the function has the virtio 1.0 PCI capabilities (a listing's "
                    "VirtIO: CommonCfg, Notify, ...)", event)
    mode = str(fields.get("mode") or "").lower()
    mode = spec.MODE_WORDS.get(mode, mode)
    if mode in ("legacy", "modern"):
        device.add_evidence(mode, "log_says", STRONG, f"the log says {mode} mode", event)
    driver = str(fields.get("driver") or "")
    if driver in UBOOT_PCI_DRIVERS:
        _uboot_transport(device, driver, event)
    elif driver == "virtio-mmio":
        device.transport = "mmio"
    name = fields.get("device")
    if device.address is None and isinstance(name, str) and normalise_bdf(name):
        # "virtio-pci 0000:00:03.0: enabling device (0000 -> 0003)": the line's own device
        # is the PCI function.
        device.transport, device.address = "pci", normalise_bdf(name)


# Event details of DRM's lines (drm_print.c, the DRM core's own words under the DRM
# device's prefix): virtio_gpu is the only DRM driver of a virtio device, so a DRM line on
# a virtio transport's device ("virtio-pci 0000:00:01.0: [drm:...] ...") is the GPU's.
DRM_DETAILS = frozenset({"drm", "gpu_response", "capset"})
# virtio_blk names its disks "vd<letters>" (drivers/block/virtio_blk.c
# virtblk_name_format("vd", ...)), and no other driver does: a line that names such a disk
# names a virtio block device.
VIRTIO_DISK = compiled(r"vd[a-z]+\d*$")


# Windows names a PCI function by its device instance ID (the PnP manager's events,
# SetupAPI's text log, devcon, pnputil): "PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00\
# 3&13c0b0c5&0&18", its vendor and device ids first.
WINDOWS_PCI_INSTANCE = compiled(r"PCI\\VEN_([0-9A-Fa-f]{4})&DEV_([0-9A-Fa-f]{4})&")


def windows_pci_ids(name: object) -> tuple[int | None, int | None]:
    """The PCI vendor and device ids of a Windows device instance ID, (None, None) for
    any other name."""
    match = WINDOWS_PCI_INSTANCE.match(name) if isinstance(name, str) else None
    if match is None:
        return None, None
    return int(match.group(1), 16), int(match.group(2), 16)


def _pci_ids(device: Device, vendor: object, pci_device: object, event: Event) -> None:
    """A virtio PCI function's device id (the vendor's, when the line gives it, Red Hat's):
    its kind (legacy, transitional, modern) and, from it, its type."""
    if isinstance(pci_device, int) and (vendor is None or vendor == spec.VIRTIO_PCI_VENDOR):
        kind, virtio_id = spec.classify_pci_id(pci_device)
        if kind != "not-virtio":
            device.pci_device = pci_device
            device.pci_kind = kind
            device.transport = "pci"
            if virtio_id is not None:
                device.virtio_id = virtio_id
                device.device_type = spec.DEVICE_TYPES.get(virtio_id, f"id{virtio_id}")
            device.note(f"PCI id 1af4:{pci_device:04x} is a {kind} device", event)


def infer_type(device: Device, fields: dict, detail: str | None = None,
               event: Event | None = None) -> None:
    """The device type an event's fields show, for a device whose type is not known;
    ``detail``: the event's detail (a DRM line's says the device is a GPU)."""
    payload = event.payload if event is not None else None
    if (payload is not None and _NO_TYPE.get(id(payload)) is payload
            and device.device_type is None):
        return  # its fields show no type and no Windows PCI ids (remembered below)
    if event is not None and device.pci_device is None:
        # A Windows device instance ID names the function's PCI ids, whatever the line
        # (the PnP manager's "Device ... was started." as much as a listing's).
        vendor, pci_device = windows_pci_ids(fields.get("device"))
        _pci_ids(device, vendor, pci_device, event)
    trace_event = fields.get("trace_event")
    if trace_event and fields.get("device"):
        # virtio_blk_req_complete -> block: the event's class names the device type.
        parts = str(trace_event).split("_")
        if len(parts) > 2:
            device.device_type = spec.normalise_type(parts[1])
    if device.device_type is None:
        device.device_type = spec.normalise_type(fields.get("device_type")
                                                 or fields.get("driver"))
    if device.device_type is None and isinstance(fields.get("device"), str):
        # A device named after its type (cloud-hypervisor's "_disk0", Firecracker's
        # "vsock", FreeBSD's "vtnet0"), or after the BSD child driver that took it
        # ("vio0: ...", "ld0: ...").
        device.device_type = (spec.normalise_type(fields["device"].lstrip("_"))
                              or spec.child_driver_type(fields["device"]))
    if device.device_type is None and isinstance(fields.get("names"), str):
        device.device_type = spec.type_of_feature_names(fields["names"])
    if device.device_type is None and detail in DRM_DETAILS:
        device.device_type = spec.normalise_type("gpu")
    disk = fields.get("disk")
    if device.device_type is None and isinstance(disk, str) and VIRTIO_DISK.match(disk):
        device.device_type = spec.normalise_type("block")
    if (payload is not None and device.device_type is None and fields is payload.by_name
            and detail == payload.detail and windows_pci_ids(fields.get("device"))[1] is None):
        # Nothing above changed the device: every test reads the payload alone, and the
        # device had no type. A device of no known type asks again on each of its lines
        # (QEMU's status writes of a vdev: 5,807 on the benchmark's sparse file).
        if len(_NO_TYPE) >= ALIAS_MEMO_LIMIT:
            _NO_TYPE.clear()
        _NO_TYPE[id(payload)] = payload


# id(payload) -> the payload, for the payloads whose fields show no device type
# (infer_type); the payload is kept, so its id is not reused while it is here.
_NO_TYPE: dict[int, object] = {}


def _uboot_transport(device: Device, driver: str, event: Event) -> None:
    device.transport = "pci"
    word = UBOOT_PCI_DRIVERS[driver]
    device.add_evidence(word, "transport_driver", STRONG,
                        f"U-Boot's {word} virtio-pci driver ({driver}) probed it", event)


def found_by_refusal(device: Device, event: Event) -> None:
    """A line that refuses a PCI function no earlier line found also finds it (Solo5
    "PCI:00:06: unknown virtio device (0x5)", NetBSD "virtio3 at pci0 dev 7 function 0:
    unknown revision 0x02; giving up"), or by its PCI device id alone (Hermit "Virtio
    networkd driver could not be initialized with device: 1041"): its name, address and
    device id."""
    if device.address is None and device.found_event is None and (
            bsd_pci_address(event) or isinstance(event.get("pci_device"), int)):
        on_device_found(device, event)


def on_device_bind(device: Device, event: Event, grammar: GrammarFacts) -> None:
    """A driver took the device (``device_bind``, or a line whose kind implies a bind);
    ``grammar``: what the event's grammar declares about its lines."""
    if event.payload.detail == OTHER_DRIVER:
        return  # another driver took the PCI function: no bind of the virtio device (handover.py)
    fields = event.payload.by_name
    driver = fields.get("driver")
    transport_only = str(driver or "").startswith(TRANSPORT_DRIVERS)
    if not transport_only:
        device.bound = True
    name = fields.get("device")
    child_type = spec.child_driver_type(name)
    if child_type is not None and child_type != device.device_type:
        # A BSD bus attached the child driver that matched the device's virtio id: its
        # type is the device's, over a PCI product name's (xhyve's virtio-rnd carried
        # the balloon's PCI id, 0x1002, and OpenBSD still attached viornd).
        device.device_type = child_type
    if (isinstance(name, str) and not normalise_bdf(name) and not MMIO_PLATFORM.match(name)
            and (device.guest_name is None or VIRTIO_N.match(name))):
        device.guest_name = name
    if driver and device.driver is None and not transport_only:
        device.driver = str(driver)
    if isinstance(fields.get("pci_device"), int) and device.pci_device is None:
        # a driver naming the function it takes by its PCI ids: its kind and type
        _pci_ids(device, fields.get("pci_vendor"), fields.get("pci_device"), event)
    split = fields.get("queue_split")
    if isinstance(split, str):
        # virtio_blk's default/read/poll counts: request virtqueues 0..N-1 were found
        # (virtio_find_vqs), N their sum; what their set-up was the line does not say.
        for index in range(min(sum(int(n) for n in split.split("/")), QUEUES_PER_DEVICE)):
            device.queue(index)
    why = grammar.bind_implies_driver_ok
    if (why is not None and event.kind == "device_bind" and not transport_only
            and event.payload.detail != "unprobed"):
        # The grammar's bind lines are printed once the device driver's probe returned,
        # which set DRIVER_OK (`//@ bind_implies_driver_ok:`, e.g. U-Boot's
        # virtio_uclass_child_post_probe, FreeBSD's vtpci_attach_completed); a bind line
        # the grammar marks unprobed (U-Boot's dm tree "[   ]" child) is bound only.
        imply_driver_ok(device, event, why)
    if fields.get("netdev"):
        device.netdev = str(fields.get("netdev"))
    if fields.get("disk"):
        device.disk = whole_disk(str(fields.get("disk")))
    vendor = fields.get("blk_vendor")
    if isinstance(vendor, str) and device.transport == "unknown" and not _HEX16.match(vendor):
        # U-Boot's virtio_blk_bind() prints a vendor id wider than 16 bits as its four
        # characters, which only virtio-mmio's 32-bit VendorID can be ("QEMU"); a PCI
        # subsystem vendor is 16 bits, printed "%04x" (as would be a small mmio VendorID).
        device.transport = "mmio"
    address = fields.get("address")
    uboot = UBOOT_TRANSPORT.match(address) if isinstance(address, str) else None
    if uboot is not None:
        _uboot_transport(device, uboot.group(1), event)  # `virtio list`: its transport
    elif address is not None and device.address is None:
        bdf = normalise_bdf(str(address)) if isinstance(address, str) else None
        if bdf:
            device.transport, device.address = "pci", bdf
        else:
            # a device-tree platform device ("10006000.virtio_mmio", a sysfs driver link's
            # parent) is named after its base address
            platform = MMIO_PLATFORM.match(address) if isinstance(address, str) else None
            mmio = normalise_mmio(platform.group(1) if platform else address)
            if mmio:
                device.transport, device.address = "mmio", mmio
    elif device.address is None and (bsd_pci := bsd_pci_address(event)) is not None:
        device.transport, device.address = "pci", bsd_pci


def imply_driver_ok(device: Device, event: Event, why: str) -> None:
    """Record the first line that shows the driver's probe finished (DRIVER_OK implied)."""
    if device.driver_ok_implied is None:
        device.driver_ok_implied = event
        device.driver_ok_implied_why = why


# What a driver_ready line shows, by its detail (imply_ready).
READY_WHY = {"dax": "the virtio-fs DAX window was set up",
             "no_dax": "virtio-fs found no DAX window, at the end of its probe (it works "
                       "without one)", "iommu": "the IOMMU was registered",
             "crypto": "the crypto device reported ready", "drm": "the DRM device was registered",
             "capset": "virtio_gpu read the GPU's first cap set, which it asks the device for "
                       "only after setting DRIVER_OK",
             "partition_list": "the kernel lists its disk among the available partitions "
                               "(virtio_blk adds the disk after DRIVER_OK)",
             "partition_scan": "the kernel read its disk's partition table (virtio_blk adds "
                               "the disk after DRIVER_OK)",
             "fs_mounted": "a file system on its disk was mounted (its superblock was read "
                           "from the disk)",
             "fs_checked": "e2fsck checked a file system on its disk (it read the disk)",
             "fb": "a frame buffer was registered",
             "serial_port": "a request came through its virtio-serial port (a port is added "
                            "after DRIVER_OK)",
             "balloon": "the balloon driver was inflating (it runs only once its probe is done)",
             "scsi_host": "virtio_scsi registered its SCSI host",
             "hwrng": "hw_random lists its RNG (virtio-rng registers it once DRIVER_OK is set)",
             "rpmsg": "the rpmsg bus said the host is online (the end of its probe)",
             "resize": "the disk was resized, which happens only after its probe",
             "bound": "the driver core bound the driver (its probe returned 0)",
             "link": "the interface's link came up (reported only once the driver ran)",
             "driver_info": "ethtool names virtio_net as its interface's driver (the probe "
                            "registers the interface once the device works)",
             "mount_attempt": "the guest looked its disk up by the name its driver registers "
                              "only after setting DRIVER_OK, to mount it (whether the mount "
                              "worked is its file system's matter)"}


def imply_ready(device: Device, event: Event) -> None:
    """A line a driver prints when its probe has done its work (driver_ready): DRIVER_OK
    implied, with what the line shows."""
    if device.driver_ok_implied is not None:
        return  # implied already (imply_driver_ok keeps the first)
    if (event.payload.detail == "bound"
            and str(event.get("driver") or "").startswith(TRANSPORT_DRIVERS)):
        # A transport driver bound to its PCI function or MMIO device ("driver:
        # 'virtio-pci': driver_bound: ..."): the virtio device's own driver may come later.
        return
    what = READY_WHY.get(event.payload.detail or "", "the driver registered the device")
    imply_driver_ok(device, event, what)


def transport_probe_failed(device: Device) -> bool:
    """The transport driver's own probe of the device failed ("virtio-mmio: probe of
    virtio-mmio.0 failed with error -16", "virtio-pci 0000:01:00.0: virtio_pci: unable to
    map virtio 56@0 on bar 4"): virtio_pci_probe() / vm_probe() returned before
    register_virtio_device(), so no virtioN sits on it and Linux's numbering skips it."""
    return any(str(e.get("driver") or "").startswith(TRANSPORT_DRIVERS)
               and not (e.get("driver") == "virtio_ccw"
                        and e.payload.detail in _AFTER_REGISTRATION)
               for e in device.probe_failures)


def join_declared_types(model: Model, identities: Identities) -> None:
    """A device a VMM created naming only its type (cloud-hypervisor's "Creating virtio-rng
    device: RngConfig { ... }": the id it gives it, "_rng" or "__rng" by release, is not
    printed) is the one device of that type the same VMM's later lines name
    ("_virtio-pci-__rng: Needs activation ..."), when there is exactly one."""
    devices = model.live_devices()
    for declared in [d for d in devices if _declared_by_type(d)]:
        # The same VMM's lines: the dialects scope the match, never compared by name.
        named = [d for d in devices if d is not declared and d.aliases
                 and d.device_type == declared.device_type and d.dialects & declared.dialects
                 and not _declared_by_type(d)]
        if len(named) == 1:
            identities.merge(named[0], declared,
                             how=f"the only {declared.device_type} device the VMM's lines name")


def _declared_by_type(device: Device) -> bool:
    found = device.found_event
    return (found is not None and found.kind == "device_found" and found.get("device") is None
            and device.aliases == [f"name:virtio-{device.device_type}"])
