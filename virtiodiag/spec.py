"""Facts from the virtio specification and the uapi headers, in one place.

Every table of status bits, feature names, device ids and register offsets lives
here; the model, the rules and the reports import them instead of keeping twins.
"""

from __future__ import annotations

from functools import lru_cache

from virtiodiag.cachefiles import compiled

# Device status bits (spec 2.1, include/uapi/linux/virtio_config.h).
ACKNOWLEDGE = 0x01
DRIVER = 0x02
DRIVER_OK = 0x04
FEATURES_OK = 0x08
SUSPEND = 0x10
DEVICE_NEEDS_RESET = 0x40
FAILED = 0x80

STATUS_BITS = (
    (ACKNOWLEDGE, "ACKNOWLEDGE"),
    (DRIVER, "DRIVER"),
    (FEATURES_OK, "FEATURES_OK"),
    (DRIVER_OK, "DRIVER_OK"),
    (SUSPEND, "SUSPEND"),
    (DEVICE_NEEDS_RESET, "DEVICE_NEEDS_RESET"),
    (FAILED, "FAILED"),
)
STATUS_BY_NAME = {name: bit for bit, name in STATUS_BITS}
STATUS_BY_NAME.update({"ACK": ACKNOWLEDGE, "NEEDS_RESET": DEVICE_NEEDS_RESET})


@lru_cache(maxsize=1024)
def status_names(value: int) -> str:
    """``0x0b`` -> ``ACKNOWLEDGE|DRIVER|FEATURES_OK``; 0 -> ``RESET``. Remembered per value
    (a report names each status change of every device: thousands of a few values)."""
    if value == 0:
        return "RESET"
    names = [name for bit, name in STATUS_BITS if value & bit]
    unknown = value & ~sum(bit for bit, _ in STATUS_BITS)
    if unknown:
        names.append(f"0x{unknown:02x}")
    return "|".join(names)


# Steps of the initialisation sequence (spec 3.1.1), in order, for naming progress.
HANDSHAKE_STEPS = (
    (ACKNOWLEDGE, "ACKNOWLEDGE"),
    (DRIVER, "DRIVER"),
    (FEATURES_OK, "FEATURES_OK"),
    (DRIVER_OK, "DRIVER_OK"),
)

# Device-independent feature bits (spec 6).
VERSION_1 = 32
COMMON_FEATURES = {
    24: "NOTIFY_ON_EMPTY",
    27: "ANY_LAYOUT",
    28: "RING_INDIRECT_DESC",
    29: "RING_EVENT_IDX",
    30: "BAD_FEATURE",
    32: "VERSION_1",
    33: "ACCESS_PLATFORM",
    34: "RING_PACKED",
    35: "IN_ORDER",
    36: "ORDER_PLATFORM",
    37: "SR_IOV",
    38: "NOTIFICATION_DATA",
    39: "NOTIF_CONFIG_DATA",
    40: "RING_RESET",
    41: "ADMIN_VQ",
    43: "SUSPEND",
}

# virtio-net feature bits (include/uapi/linux/virtio_net.h).
NET_F_MAC = 5
NET_F_MRG_RXBUF = 15
NET_FEATURES = {
    0: "CSUM", 1: "GUEST_CSUM", 2: "CTRL_GUEST_OFFLOADS", 3: "MTU", 5: "MAC", 6: "GSO",
    7: "GUEST_TSO4", 8: "GUEST_TSO6", 9: "GUEST_ECN", 10: "GUEST_UFO", 11: "HOST_TSO4",
    12: "HOST_TSO6", 13: "HOST_ECN", 14: "HOST_UFO", 15: "MRG_RXBUF", 16: "STATUS",
    17: "CTRL_VQ", 18: "CTRL_RX", 19: "CTRL_VLAN", 20: "CTRL_RX_EXTRA", 21: "GUEST_ANNOUNCE",
    22: "MQ", 23: "CTRL_MAC_ADDR", 50: "DEVICE_STATS", 52: "VQ_NOTF_COAL", 53: "NOTF_COAL",
    54: "GUEST_USO4", 55: "GUEST_USO6", 56: "HOST_USO", 57: "HASH_REPORT", 59: "GUEST_HDRLEN",
    60: "RSS", 61: "RSC_EXT", 62: "STANDBY", 63: "SPEED_DUPLEX", 65: "GUEST_UDP_TUNNEL_GSO",
    66: "GUEST_UDP_TUNNEL_GSO_CSUM", 67: "HOST_UDP_TUNNEL_GSO", 68: "HOST_UDP_TUNNEL_GSO_CSUM",
}

# Feature bits of the other device types (spec 5.x "Feature bits"; include/uapi/linux/
# virtio_blk.h, virtio_console.h, virtio_balloon.h, virtio_scsi.h, virtio_gpu.h,
# virtio_9p.h, virtio_vsock.h, virtio_crypto.h, virtio_iommu.h, virtio_mem.h, virtio_fs.h).
# Legacy-only bits keep their legacy names (BARRIER, SCSI, FLUSH is WCE in legacy).
BLOCK_FEATURES = {
    0: "BARRIER", 1: "SIZE_MAX", 2: "SEG_MAX", 4: "GEOMETRY", 5: "RO", 6: "BLK_SIZE",
    7: "SCSI", 9: "FLUSH", 10: "TOPOLOGY", 11: "CONFIG_WCE", 12: "MQ", 13: "DISCARD",
    14: "WRITE_ZEROES", 15: "LIFETIME", 16: "SECURE_ERASE", 17: "ZONED",
}
DEVICE_FEATURES = {
    "net": NET_FEATURES,
    "block": BLOCK_FEATURES,
    "console": {0: "SIZE", 1: "MULTIPORT", 2: "EMERG_WRITE"},
    "balloon": {0: "MUST_TELL_HOST", 1: "STATS_VQ", 2: "DEFLATE_ON_OOM", 3: "FREE_PAGE_HINT",
                4: "PAGE_POISON", 5: "REPORTING"},
    "scsi": {0: "INOUT", 1: "HOTPLUG", 2: "CHANGE", 3: "T10_PI"},
    "gpu": {0: "VIRGL", 1: "EDID", 2: "RESOURCE_UUID", 3: "RESOURCE_BLOB", 4: "CONTEXT_INIT"},
    "9p": {0: "MOUNT_TAG"},
    "vsock": {0: "STREAM", 1: "SEQPACKET"},
    "crypto": {0: "REVISION_1", 1: "CIPHER_STATELESS_MODE", 2: "HASH_STATELESS_MODE",
               3: "MAC_STATELESS_MODE", 4: "AEAD_STATELESS_MODE"},
    "iommu": {0: "INPUT_RANGE", 1: "DOMAIN_RANGE", 2: "MAP_UNMAP", 3: "BYPASS", 4: "PROBE",
              5: "MMIO", 6: "BYPASS_CONFIG"},
    "mem": {0: "ACPI_PXM", 1: "UNPLUGGED_INACCESSIBLE", 2: "PERSISTENT_SUSPEND"},
    "fs": {0: "NOTIFICATION"},
}

# Virtio device ids: every id of the specification's "Device Types" (virtio 1.3, section
# 5; include/uapi/linux/virtio_ids.h), with the short type names we print. virtio-vga
# is a GPU (id 16) that also has VGA compatibility: QEMU's virtio-vga and virtio-gpu-pci
# are the same device type.
DEVICE_TYPES = {
    0: "placeholder", 1: "net", 2: "block", 3: "console", 4: "rng", 5: "balloon",
    6: "iomem", 7: "rpmsg", 8: "scsi", 9: "9p", 10: "mac80211-wlan", 11: "rproc-serial",
    12: "caif", 13: "memory-balloon", 16: "gpu", 17: "clock", 18: "input", 19: "vsock",
    20: "crypto", 21: "signal-dist", 22: "pstore", 23: "iommu", 24: "mem", 25: "sound",
    26: "fs", 27: "pmem", 28: "rpmb", 29: "mac80211-hwsim", 30: "video-encoder",
    31: "video-decoder", 32: "scmi", 33: "nitro-sec-mod", 34: "i2c", 35: "watchdog",
    36: "can", 37: "dmabuf", 38: "param-serv", 39: "audio-policy", 40: "bluetooth",
    41: "gpio", 42: "rdma", 43: "camera", 44: "ism", 45: "spi",
    # OpenBSD's own device for vmd(8) guests, vmmci(4) (sys/dev/pv/virtioreg.h
    # PCI_PRODUCT_VIRTIO_VMMCI 65535, "a private id"): host-requested shutdown and clock sync.
    65535: "vmmci",
}
# Names that logs give device types (Linux driver and module names, QEMU device names,
# FreeBSD/U-Boot driver names), mapped to the names above.
TYPE_ALIASES = {"blk": "block", "network": "net", "entropy": "rng", "serial": "console",
                "ethernet": "net", "disk": "block", "networking": "net", "storage": "block",
                # BSD device names (NetBSD/OpenBSD virtio_device_name[], pcidevs)
                "memory balloon": "balloon", "scsi host": "scsi", "9p transport": "9p",
                "i/o memory": "iomem", "remote processor messaging": "rpmsg",
                "mac80211 wlan": "mac80211-wlan",
                # OSv drivers/virtio-net.cc read_config(), whose logger prefix (and so the
                # driver's tag) a pasted log may have cut: only that driver says it
                "mac addr of the device": "net",
                # Redox's driver daemons (virtio-netd, virtio-blkd, virtio-gpud); Hermit's
                # driver names ("sock", "filesystem")
                "netd": "net", "blkd": "block", "gpud": "gpu", "sock": "vsock",
                "filesystem": "fs",
                # SerenityOS's driver classes (Kernel/Bus/VirtIO/Device.cpp
                # determine_device_class()), which name its lines
                "virtionetadapter": "net", "virtioblockdevice": "block",
                "virtioconsole": "console", "virtiorng": "rng", "virtiogpu": "gpu",
                # IncludeOS's driver classes (src/drivers/virtionet.cpp ...), which name
                # their INFO lines ("[ VirtioNet ] Driver initializing")
                "virtionet": "net", "virtioblk": "block", "virtiocon": "console",
                # NetBSD's pcidevs product names of vendor 0x1af4 ("Virtio 9p Filesystem")
                "9p filesystem": "9p", "rng entropy": "rng", "block device": "block",
                # Linux: virtio_scsi's SCSI host template name ("Virtio SCSI HBA"), the
                # rpmsg bus driver (virtio_rpmsg_bus)
                "scsi hba": "scsi", "rpmsg_bus": "rpmsg",
                # cloud-hypervisor's ValidationError variants of one device's options
                # (vmm/src/config.rs) that name no type themselves; "Vnet..." is its net
                "doublettymode": "console", "vnet": "net", "invalidmtu": "net",
                "nohardwarechecksumoffload": "net",
                # Firecracker's API paths (/drives/ID, /network-interfaces/ID)
                "drives": "block", "network-interfaces": "net",
                "vga": "gpu", "gpu-pci": "gpu", "gpu-device": "gpu", "virtiofs": "fs",
                # virtio-win's Windows drivers, by the directory each is built in (the
                # friendly name of their WPP traces: grammars/virtio_win.lark)
                "viostor": "block", "vioscsi": "scsi", "netkvm": "net", "vioserial": "console",
                "vioser": "console", "viorng": "rng", "vioinput": "input", "viogpudo": "gpu",
                "viogpu": "gpu", "viofs": "fs", "viomem": "mem", "viosock": "vsock",
                # NetKVM's control-queue class, whose debug lines name it, not the driver
                # (NetKVM/Common/ParaNdis-CX.cpp)
                "cparandiscx": "net",
                # the C virtiofsd's fuse_virtio.c virtio_session_mount(), its FUSE-over-virtio
                # session with the VMM ("virtio_session_mount: Received vhost-user socket ...")
                "session_mount": "fs",
                # the C virtiofsd's fuse_virtio.c ("fv_panic: libvhost-user: ...")
                "fv": "fs",
                "9pnet_virtio": "9p", "9pnet": "9p", "vmw_vsock_virtio_transport": "vsock",
                # bhyve's device models (usr.sbin/bhyve pci_virtio_*.c vc_name "vtcon",
                # "vtrnd"; the "vt" goes like a driver's) and its -s emulation "virtio-rnd"
                "con": "console", "rnd": "rng",
                "snd": "sound", "keyboard": "input", "tablet": "input", "mouse": "input",
                "iommu-pci": "iommu", "mem-pci": "mem", "bt": "bluetooth", "i2c-adapter": "i2c",
                "nitro_sec_mod": "nitro-sec-mod", "mac80211_hwsim": "mac80211-hwsim",
                # Firecracker's net device names itself by its host back-end ("Failed to
                # write to tap: ..."), a tap being only ever a NIC's
                "tap": "net",
                # Firecracker v0.1x-v0.2x refusing a device by the guest-side identity its
                # configuration gave ("The specified guest MAC address is already in use.",
                # "The specified guest CID is already in use.")
                "mac": "net", "cid": "vsock",
                # QEMU's virtio-serial device's bus type, which its messages name
                "serial-bus": "console"}

# The BSDs' virtio device drivers, by the stem of the unit name autoconf/newbus gives
# each (<driver><n>: "viornd0", "ld1", "vtnet0"): the bus attached the driver that matched
# the device's virtio device id (a legacy or transitional PCI function's subsystem id,
# spec 4.1.2.1), so a bound child's driver names the device's type, whatever the PCI
# product name said. OpenBSD sys/dev/pv (vio, vioblk, vioscsi, viomb, viornd, viocon,
# viogpu, vioinput, viofs), NetBSD sys/dev/pci and sys/dev/virtio (vioif, ld at virtio,
# viomb, viornd, vioscsi, viocon, vio9p), FreeBSD and DragonFly sys/dev/virtio (vtnet,
# vtblk, vtscsi, vtballoon, vtrnd, vtcon), illumos (vioif, vioblk, vioscsi, viorand).
# FreeBSD's vtblk names the disk it creates "vtbd" (virtio_blk.c vtblk_alloc_disk():
# d_name), and the disk's lines (its size, GEOM's) name only that unit.
BSD_CHILD_DRIVERS = {
    "vio": "net", "vioif": "net", "vtnet": "net",
    "vioblk": "block", "ld": "block", "vtblk": "block", "vtbd": "block",
    "vioscsi": "scsi", "vtscsi": "scsi",
    "viomb": "balloon", "vtballoon": "balloon",
    "viornd": "rng", "vtrnd": "rng", "viorand": "rng",
    "viocon": "console", "vtcon": "console",
    "vio9p": "9p", "viogpu": "gpu", "vioinput": "input", "viofs": "fs", "vmmci": "vmmci",
}
_CHILD_UNIT = compiled(r"^([a-z][a-z0-9]*?)\d+$")


def child_driver_type(unit: object) -> str | None:
    """The device type a BSD virtio child driver's unit name ("viornd0") gives, if any."""
    match = _CHILD_UNIT.match(unit) if isinstance(unit, str) else None
    return BSD_CHILD_DRIVERS.get(match.group(1)) if match else None


# FreeBSD's vtblk creates its disk with d_name "vtbd" and d_unit its own unit number
# (virtio_blk.c vtblk_alloc_disk()): the disk vtbdN is vtblkN's, and the lines that name
# one (GEOM's, the disk's size) are the other's device.
_BSD_DISK_UNIT = compiled(r"^vtbd(\d+)$")


def bsd_driver_unit_of_disk(unit: object) -> str | None:
    """The driver unit whose disk a BSD disk unit name is ("vtbd0" -> "vtblk0"), if any."""
    match = _BSD_DISK_UNIT.match(unit) if isinstance(unit, str) else None
    return f"vtblk{match.group(1)}" if match else None


_TRANSPORT_UNIT = compiled(r"^virtio(?:_pci|_mmio)?\d+$")


def is_virtio_unit(unit: object) -> bool:
    """A BSD unit name of a virtio transport ("virtio_pci3", "virtio2") or child driver."""
    return isinstance(unit, str) and (bool(_TRANSPORT_UNIT.match(unit))
                                      or child_driver_type(unit) is not None)


# How logs name the interface a driver uses, beyond "legacy" and "modern": OpenBSD's
# pcidevs names the modern PCI ids "Virtio 1.x ...".
MODE_WORDS = {"1.x": "modern", "1.0": "modern", "v1": "modern", "0.9": "legacy",
              "0.9.5": "legacy"}

# pci.ids' names of vendor 0x1af4's products after "Virtio" (lspci; "Virtio 1.0 <name>"
# for the modern ids): "filesystem" is 0x1009/0x1049, the 9p transport (virtio id 9),
# "file system" 0x105a, virtio-fs (26).
PCI_IDS_PRODUCTS = {"network device": 1, "block device": 2, "console": 3, "rng": 4,
                    "memory balloon": 5, "balloon": 5, "scsi": 8, "filesystem": 9,
                    "gpu": 16, "input": 18, "socket": 19, "file system": 26}

# Transitional PCI device ids (spec 4.1.2.1) map to virtio ids.
TRANSITIONAL_PCI_IDS = {0x1000: 1, 0x1001: 2, 0x1002: 5, 0x1003: 3, 0x1004: 8, 0x1005: 4, 0x1009: 9}
VIRTIO_PCI_VENDOR = 0x1AF4


def feature_names(bits: int, device_type: str | None = None) -> list[str]:
    names = []
    for bit in range(bits.bit_length()):
        if bits >> bit & 1:
            name = COMMON_FEATURES.get(bit)
            if name is None and device_type is not None:
                name = DEVICE_FEATURES.get(device_type, {}).get(bit)
            names.append(name or f"bit{bit}")
    return names


# Feature names as operating systems print them, to the spec's names above. NetBSD prints
# snprintb() names (sys/dev/pci/virtioreg.h VIRTIO_COMMON_FLAG_BITS: "V1",
# "INDIRECT_DESC", "EVENT_IDX", "NOTIFY_ON_EMPTY"; the device bits without their prefix:
# "MAC", "CTRL_VQ", "SEG_MAX"); FreeBSD (sys/dev/virtio/virtio.c, if_vtnet.c ...) and
# OpenBSD (sys/dev/pv/virtio.c, VIRTIO_DEBUG) print CamelCase descriptions ("RingEventIdx",
# "Version1", "CtrlVq", "AccessPlatf"). CamelCase is split into words first; the names
# that still differ from the spec's are listed here.
FEATURE_NAME_ALIASES = {
    "V1": "VERSION_1", "VERSION1": "VERSION_1", "INDIRECT_DESC": "RING_INDIRECT_DESC",
    "EVENT_IDX": "RING_EVENT_IDX", "ACCESS_PLATF": "ACCESS_PLATFORM",
    "IOMMU_PLATFORM": "ACCESS_PLATFORM", "ORDER_PLATF": "ORDER_PLATFORM",
    "NOTIF_DATA": "NOTIFICATION_DATA", "NOTIF_CONF_DATA": "NOTIF_CONFIG_DATA",
    "MRG_RX_BUF": "MRG_RXBUF", "CTRL_RX_MODE": "CTRL_RX", "TX_CHECKSUM": "CSUM",
    "RX_CHECKSUM": "GUEST_CSUM", "CTRL_VLAN_FILTER": "CTRL_VLAN",
    # OpenBSD's virtio_net_feature_names (if_vio.c: "CSum", "GuestCSum", "CtrlGuestOffl",
    # "CtrlMAC") and vioblk_feature_names (vioblk.c: "Write0s", "SecErase"), split at
    # their capitals.
    "C_SUM": "CSUM", "GUEST_C_SUM": "GUEST_CSUM", "CTRL_GUEST_OFFL": "CTRL_GUEST_OFFLOADS",
    "CTRL_MAC": "CTRL_MAC_ADDR", "WRITE0S": "WRITE_ZEROES", "SEC_ERASE": "SECURE_ERASE",
}
_CAMEL_BREAK = compiled(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_FEATURE_PREFIX = compiled(r"^VIRTIO_(?:[A-Z0-9]+_)?F_")


def feature_bit(name: str, device_type: str | None = None) -> int | None:
    """The spec bit of a feature name as a log prints it (``V1``, ``RingEventIdx``,
    ``VIRTIO_NET_F_MAC``, ``CtrlVq``), for a device of ``device_type``; None if unknown."""
    word = name.strip()
    if "_" not in word and not word.isupper():
        word = _CAMEL_BREAK.sub("_", word)
    word = _FEATURE_PREFIX.sub("", word.upper())
    word = FEATURE_NAME_ALIASES.get(word, word)
    for table in (COMMON_FEATURES, DEVICE_FEATURES.get(device_type or "", {})):
        for bit, spec_name in table.items():
            if spec_name == word:
                return bit
    return None


_NAME_LIST = compiled(r"[A-Za-z][A-Za-z0-9_]*")


def type_of_feature_names(text: str) -> str | None:
    """The one device type whose device-specific features the names of a feature list
    belong to (FreeBSD's "negotiated features: 0x... <MrgRxBuf,Status,...>": a child's
    feature table names them), or None when no name is device-specific or they disagree."""
    types: set[str] | None = None
    for name in _NAME_LIST.findall(text):
        if feature_bit(name) is not None:
            continue  # a feature every device type may have (RingEventIdx, Version1)
        owners = {t for t in DEVICE_FEATURES if feature_bit(name, t) is not None}
        if owners:
            types = owners if types is None else types & owners
    return next(iter(types)) if types is not None and len(types) == 1 else None


_SIGNED_NAME = compiled(r"([+-])([A-Za-z][A-Za-z0-9]*)(?:\((\d+)\))?")


def signed_feature_bits(text: str, device_type: str | None = None) -> tuple[int, int] | None:
    """Offered and negotiated features from a list that prints every feature the device
    offers, "+" before those negotiated and "-" before the rest (OpenBSD's
    virtio_log_features(): " +CSum -GuestCSum +MAC ... +Version1", "Unknown(N)" for a bit
    it has no name for). None when the text is no such list; names this table does not
    know are left out."""
    offered = accepted = 0
    found = False
    for sign, name, number in _SIGNED_NAME.findall(text):
        found = True
        bit = int(number) if name == "Unknown" and number else feature_bit(name, device_type)
        if bit is None or bit > 127:
            continue
        offered |= 1 << bit
        if sign == "+":
            accepted |= 1 << bit
    return (offered, accepted) if found else None


_UNKNOWN_ID = compiled(r"^unknown \((\d+)\)$")


@lru_cache(maxsize=1024)
def normalise_type(text: str | None) -> str | None:
    """Map names seen in logs (``virtio_net``, ``virtio-blk``, ``Network``) to a type."""
    if not text:
        return None
    word = text.lower()
    numbered = _UNKNOWN_ID.match(word)
    if numbered:  # NetBSD's name for an id past its table: "Unknown (8)"
        return DEVICE_TYPES.get(int(numbered.group(1)))
    for prefix in ("vhost-user-", "vhost-", "virtio_", "virtio-", "virtio ", "vt"):
        if word.startswith(prefix):
            word = word[len(prefix):]
            break
    # QEMU's device models end in their transport (virtio-net-pci, virtio-blk-device,
    # virtio-net-ccw, virtio-scsi-pci-non-transitional).
    for suffix in ("-pci-non-transitional", "-pci-transitional", "-pci", "-device", "-ccw"):
        if word.endswith(suffix):
            word = word[:-len(suffix)]
            break
    word = word.split("#")[0].split("-mmio")[0].rstrip("0123456789")
    word = TYPE_ALIASES.get(word, word)
    return word if word in DEVICE_TYPES.values() else None


def classify_pci_id(device_id: int) -> tuple[str, int | None]:
    """Return (kind, virtio id) for a PCI device id of vendor 0x1af4 (spec 4.1.2)."""
    if 0x1000 <= device_id <= 0x103F:
        return "transitional", TRANSITIONAL_PCI_IDS.get(device_id)
    if 0x1040 <= device_id <= 0x107F:
        return "modern", device_id - 0x1040
    return "not-virtio", None


# virtio-mmio register offsets (include/uapi/linux/virtio_mmio.h), for decoding QEMU traces.
MMIO_REGISTERS = {
    0x000: "MagicValue", 0x004: "Version", 0x008: "DeviceID", 0x00C: "VendorID",
    0x010: "DeviceFeatures", 0x014: "DeviceFeaturesSel", 0x020: "DriverFeatures",
    0x024: "DriverFeaturesSel", 0x028: "GuestPageSize", 0x030: "QueueSel",
    0x034: "QueueNumMax", 0x038: "QueueNum", 0x03C: "QueueAlign", 0x040: "QueuePFN",
    0x044: "QueueReady", 0x050: "QueueNotify", 0x060: "InterruptStatus",
    0x064: "InterruptACK", 0x070: "Status", 0x080: "QueueDescLow", 0x084: "QueueDescHigh",
    0x090: "QueueAvailLow", 0x094: "QueueAvailHigh", 0x0A0: "QueueUsedLow",
    0x0A4: "QueueUsedHigh", 0x0AC: "SHMSel", 0x0B0: "SHMLenLow", 0x0B4: "SHMLenHigh",
    0x0B8: "SHMBaseLow", 0x0BC: "SHMBaseHigh", 0x0FC: "ConfigGeneration",
}


def mmio_register_name(offset: int) -> str:
    if offset >= 0x100:
        return f"Config+0x{offset - 0x100:x}"
    return MMIO_REGISTERS.get(offset, f"0x{offset:03x}")


# Split virtqueue alignment (spec 2.7): modern parts, and the legacy page (2.7.2).
MODERN_QUEUE_ALIGN = {"desc": 16, "avail": 2, "used": 4}
LEGACY_QUEUE_ALIGN = 4096

# virtio-net header sizes (spec 5.1.6; include/uapi/linux/virtio_net.h).
NET_HDR_LEGACY = 10
NET_HDR_MRG = 12

# Linux errno names, for probe failures.
ERRNO = {
    1: "EPERM", 2: "ENOENT", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 12: "ENOMEM", 14: "EFAULT",
    16: "EBUSY", 19: "ENODEV", 22: "EINVAL", 28: "ENOSPC", 34: "ERANGE", 95: "EOPNOTSUPP",
    110: "ETIMEDOUT", 134: "ENOTSUPP", 524: "ENOTSUPP",
}


def errno_name(value: int | None) -> str:
    if value is None:
        return "unknown error"
    return f"{value} ({ERRNO.get(abs(value), 'errno ' + str(abs(value)))})"

# virtio-gpu control commands and error responses (spec 5.7.6.7 "Device Operation: Request
# header"): what a driver's "response 0x1203 (command 0x202)" names.
GPU_COMMANDS = {
    0x100: "GET_DISPLAY_INFO", 0x101: "RESOURCE_CREATE_2D", 0x102: "RESOURCE_UNREF",
    0x103: "SET_SCANOUT", 0x104: "RESOURCE_FLUSH", 0x105: "TRANSFER_TO_HOST_2D",
    0x106: "RESOURCE_ATTACH_BACKING", 0x107: "RESOURCE_DETACH_BACKING",
    0x108: "GET_CAPSET_INFO", 0x109: "GET_CAPSET", 0x10A: "GET_EDID",
    0x10B: "RESOURCE_ASSIGN_UUID", 0x10C: "RESOURCE_CREATE_BLOB", 0x10D: "SET_SCANOUT_BLOB",
    0x200: "CTX_CREATE", 0x201: "CTX_DESTROY", 0x202: "CTX_ATTACH_RESOURCE",
    0x203: "CTX_DETACH_RESOURCE", 0x204: "RESOURCE_CREATE_3D", 0x205: "TRANSFER_TO_HOST_3D",
    0x206: "TRANSFER_FROM_HOST_3D", 0x207: "SUBMIT_3D", 0x208: "RESOURCE_MAP_BLOB",
    0x209: "RESOURCE_UNMAP_BLOB", 0x300: "UPDATE_CURSOR", 0x301: "MOVE_CURSOR",
}
GPU_ERROR_RESPONSES = {
    0x1200: "ERR_UNSPEC", 0x1201: "ERR_OUT_OF_MEMORY", 0x1202: "ERR_INVALID_SCANOUT_ID",
    0x1203: "ERR_INVALID_RESOURCE_ID", 0x1204: "ERR_INVALID_CONTEXT_ID",
    0x1205: "ERR_INVALID_PARAMETER",
}


def gpu_code_name(table: dict[int, str], prefix: str, value: object) -> str:
    """VIRTIO_GPU_CMD_SUBMIT_3D / VIRTIO_GPU_RESP_ERR_UNSPEC, or the number in hex."""
    if isinstance(value, int) and value in table:
        return f"VIRTIO_GPU_{prefix}_{table[value]}"
    return f"0x{value:x}" if isinstance(value, int) else "an unknown code"
