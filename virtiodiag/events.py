"""Typed events: what a dialect's grammar turns a log line into.

This module is the contract between grammars and the model. A grammar rule (or an
alternative aliased with ``-> name``) whose name is an event kind below produces that
event; ``kind__detail`` produces ``kind`` with ``detail`` set. Its fields come from the
terminals (or sub-rules) inside the rule, named after the field in upper case: ``DEVICE``
becomes ``device``. Numbers are read as hex when they start with ``0x`` or when the
terminal name ends in ``_HEX``, as decimal otherwise. See docs/grammar-contract.md.
"""

from __future__ import annotations

from typing import Any

# kind -> {field: description}. The documentation of the grammar contract is generated
# from this table (``virtiodiag grammar fields``), so it cannot drift from the code.
EVENT_KINDS: dict[str, dict[str, str]] = {
    "device_found": {
        "device": "the name the log uses for the device (slot, BDF, vdev pointer, ...)",
        "transport": "pci | mmio | other text",
        "address": "PCI BDF (0000:00:03.0) or MMIO base address",
        "pci_vendor": "PCI vendor id (hex)", "pci_device": "PCI device id (hex)",
        "virtio_id": "virtio device id (1 net, 2 block, ...; 0 = placeholder)",
        "device_type": "type name (net, blk, virtio_net, Network ...)",
        "mmio_version": "virtio-mmio Version register (1 legacy, 2 modern)",
        "mode": "modern | legacy | transitional, as the log states it",
        "irq": "interrupt line", "magic": "virtio-mmio MagicValue",
        "vendor": "virtio vendor id (virtio-mmio VendorID, hex)",
        "slot": "slot number in the log's own numbering (RTOS board files)",
        "pci_bus": ("the PCI bus as the log names it (BSD autoconf/newbus unit 'pci0'), "
                    "or its number"),
        "pci_slot": "PCI device (slot) number",
        "pci_function": "PCI function number (absent: 0, a firmware scanning function 0)",
        "legacy_only": "present (empty) when the line comes from a driver that drives only "
                       "the legacy interface (FreeBSD 9-12 'VirtIO PCI Network adapter')",
        "subchannel": "an s390 channel subsystem's subchannel, cssid.ssid.number (virtio-ccw)",
        "devno": "an s390 ccw device number (virtio-ccw: Linux names the device 0.ssid.devno)",
    },
    "device_bind": {
        "device": "a driver-side name (virtio0, virtio-net0, vtnet0)",
        "address": "the slot, BDF or base address it is bound to (links the two names)",
        "slot": "slot number the driver attached to", "driver": "driver name",
        "device_type": "type name", "irq": "interrupt line", "netdev": "interface name",
        "virtio_id": "virtio device id, when the bind line states it",
        "features": "features the driver negotiated, when its attach line prints them "
                    "(NetBSD 'vioif0 at virtio0: features: 0x...<V1,...>')",
        "names": "feature names as printed",
        "queue_split": "virtio_blk's default/read/poll request queue counts ('4/0/2'): the "
                       "virtqueues its probe set up",
    },
    "status_write": {"device": "device", "status": "value written",
                     "bit": "flag name ORed in when no value is given (ACKNOWLEDGE, DRIVER ...)"},
    "status_read": {"device": "device", "status": "value read back"},
    "reset": {"device": "device"},
    "features_offered": {"device": "device", "features": "feature bits offered by the device",
                         "word": "32-bit word index when only one word is shown",
                         "names": "feature names as printed"},
    "features_accepted": {"device": "device", "features": "feature bits the driver accepted",
                          "word": "32-bit word index", "names": "feature names as printed",
                          "bitstring": "sysfs style 0/1 string, bit 0 first"},
    "features_refused": {"device": "device", "status": "status read back",
                         "address": "the transport the line names besides its device (OpenBSD "
                                    "'vio0 at virtio0virtio0: Feature negotiation failed')"},
    "version1_missing": {"device": "device",
                         "address": "the transport the line names besides its device"},
    "queue_select": {"device": "device", "queue": "queue index"},
    "queue_config": {"device": "device", "queue": "queue index", "size": "queue size",
                     "desc": "descriptor table address", "avail": "driver/available ring address",
                     "used": "device/used ring address", "pfn": "legacy page frame number",
                     "align": "legacy QueueAlign", "ready": "QUEUE_READY value on this line",
                     "vq": "virtqueue pointer"},
    "queue_ready": {"device": "device", "queue": "queue index", "ready": "0 or 1"},
    "notify": {"device": "device", "queue": "queue index", "notify_offset": "offset in notify area",
               "vq": "virtqueue pointer"},
    "queue_io": {"vq": "virtqueue pointer (the device side names its queue by it alone)",
                 "count": "used buffers published at once (flush)"},
    "interrupt": {"device": "device", "queue": "queue index", "vq": "virtqueue pointer",
                  "level": "IRQ line level", "vector": "MSI-X vector", "count": "interrupt count"},
    "irq_setup": {"device": "device", "irq": "interrupt number", "mode": "msix | msi | intx",
                  "handler": "handler name", "vector": "vector name (config, input.0 ...)",
                  "count": "interrupts counted so far", "failed": "set when setup failed"},
    "irq_enable": {"device": "device", "irq": "interrupt number"},
    "net_hdr": {"device": "device", "hdr_len": "virtio-net header length in bytes",
                "num_buffers": "num_buffers value (absent when the header has none)"},
    "legacy_fallback": {"device": "device", "reason": "why"},
    "probe_failed": {"device": "device", "errno": "negative errno", "reason": "why",
                     "address": "MMIO base or BDF when the line names no device",
                     "mmio_version": "virtio-mmio Version that was refused",
                     "virtio_id": "device id that was refused (0 = placeholder)",
                     "queue": "queue index that failed",
                     "param": "a module or command-line parameter value it could not use"},
    "device_error": {"device": "device", "message": "text", "value": "number in the message",
                     "offset": "register offset", "hdr_len": "guest header length",
                     "queue": "queue index"},
    "config_refused": {"device": "device option text",
                       "reason": "why QEMU refused (the text of its error)"},
    "mmio_access": {"device": "device", "op": "read | write", "offset": "register offset",
                    "value": "value written (writes only)"},
    "mmio_guest_page": {"device": "device", "page_size": "legacy GuestPageSize"},
    "sysfs_attr": {"device": "virtioN", "attr": "status | features | device | vendor",
                   "value": "attribute text",
                   "value_text": "attribute text kept as text (read before value)"},
    "device_link": {"device": "virtioN", "address": "PCI BDF or MMIO name it sits on",
                    "netdev": "the interface a sysfs path names under the device (net/eth0)",
                    "disk": "the disk a sysfs path names under the device (block/vda)"},
    "netdev": {"device": "device", "netdev": "interface name", "mac": "MAC address",
               "hdr_len": "header length", "old_name": "previous name",
               "address": "the transport device an attach line names (BSD 'vio0 at virtio0: "
                          "address ...')"},
    "mac_random": {"device": "device"},
    "driver_ready": {"device": "device", "message": "success marker printed by a driver",
                     "host_features": "the device's features, as the driver prints them when "
                                      "it is done (Solo5 'configured, ... features=0x...')"},
    "test_verdict": {"test": "test name", "verdict": "PASS | FAIL | SKIP ..."},
    "traffic": {"device": "device", "irq_delta": "interrupts counted during the traffic",
                "seq": "sequence number", "dst": "destination",
                "lost": "the request got no answer (timeout, unreachable): nothing flowed"},
    "boot": {"message": "a new boot of the machine starts (banner)"},
    "note": {"device": "device", "message": "recognised virtio line with no handshake meaning",
             "address": "BDF or MMIO base the line names",
             "subchannel": "the s390 subchannel a channel command went to (virtio-ccw)",
             "command": "the channel command code (virtio-ccw: 0x31 WRITE_STATUS ...)"},
    "cmdline": {"param": "one kernel command-line word (name=value), repeated per word"},
    "pci_bridge": {"address": "the PCI function of a bridge or root port",
                   "pci_bus": "the bus number behind it (its secondary bus, hex)"},
    "pci_scan": {"address": "the PCI function whose BAR the PCI core read or assigned while "
                            "scanning its bus, before any driver can bind",
                 "bar": "the BAR the line names"},
    "vmm_cmdline": {"arg": "one word of a VMM's command line (QEMU's options and their "
                           "values), repeated per word",
                    "device_arg": "one device as a VMM's configuration lists it without an "
                                  "option word (vfkit's logged --device values), repeated",
                    "argv_index": "the word's index in the VMM's argv, when a log prints one "
                                  "word a line (the Android emulator's 'argv[NN] = ...')"},
    "iommu_event": {"iommu": "the IOMMU unit that reported (an SMMU's device name)",
                    "event_id": "the event record's type (SMMUv3: 0x10 F_TRANSLATION ...)",
                    "dword": "one 64-bit word of the raw event record, in order",
                    "sid": "the stream ID the record names (a PCI function's requester id)",
                    "client": "the device the IOMMU's driver bound to that stream",
                    "syndrome": ("an SMMUv2 context fault's CBFRSYNRA, the faulting stream ID "
                                 "in its low 16 bits"),
                    "context_bank": "the SMMUv2 context bank a context fault is in (cb=)"},
    "oops": {"message": "what the kernel reports (BUG, Oops, WARNING ...)",
             "function": "function named on the line (WARNING ... at FILE:LINE FUNC)",
             "module": "module of that function ([virtio_net])",
             "source": ("source file and line of 'kernel BUG at FILE:LINE!' (or of the "
                        "function a sanitizer names, decoded)"),
             "task": "the blocked task a hung-task report names (its comm: jbd2/vda1-8)",
             "root_disk": ("the disk a root-mount panic names ('VFS: Unable to mount root "
                           "fs on vda')"),
             "major": ("the major number of the disk a root-mount panic names by number "
                       "('unknown-block(254,0)': no driver registered a disk of that name)"),
             "minor": "its minor number"},
    "trace_frame": {"function": "function of one call-trace frame (or RIP/pc line)",
                    "module": "module the function belongs to, when printed",
                    "source": ("source file and line of the function, in a trace decoded "
                               "by scripts/decode_stacktrace.sh"),
                    "irq": "the interrupt whose thread was running (FreeBSD 'current "
                           "process = 12 (irq284: virtio_pci3)')",
                    "units": "the names of the handlers on that interrupt thread",
                    "unit": "the device whose taskqueue thread was running ('vtnet0 rxq 0')",
                    "work": "the work function a kworker was running (Linux 'Workqueue: "
                            "events_freezable virtscsi_handle_event [virtio_scsi]')",
                    "trap": "a trap marker ('--- trap 0xc, rip = ...'): the frames after it "
                            "are the code that trapped"},
    "filter": {"pattern": "the pattern a pasted command line piped the log through grep "
                          "with ('$ dmesg | grep virtio'): only lines matching it follow"},
    "run_end": {"signal": "signal that ended the emulator", "pid": "process that sent it",
                "program": "name of that process"},
    "userspace": {"program": "the program the kernel starts as init ('/init'), when named"},
    "module_loaded": {"module": "a kernel module loaded when the list was printed (lsmod, "
                                "/proc/modules): a driver present, never a device",
                      "module_size": "its size in bytes", "refcount": "its reference count ('-': "
                      "not counted)", "users": "the modules using it, comma-separated",
                      "state": "Live | Loading | Unloading (/proc/modules only)"},
    "root_mount": {"root": "the root device the kernel was asked for (Linux root=, as printed)",
                   "disk": "the block device it tried ('unknown-block(0,0)' when no disk "
                           "answered, '/dev/vtbd0p2')",
                   "fstype": "the file system type it tried (FreeBSD 'ufs', 'zfs')",
                   "errno": "the error number printed (Linux a negative errno, BSD positive)",
                   "reason": "the error's text printed (busybox mount's strerror: 'No such "
                             "device')"},
}

# Fields any kind may carry: who printed the line.
for _fields in EVENT_KINDS.values():
    _fields.setdefault("driver", "driver or program that printed the line")
    _fields.setdefault("device", "device")
EVENT_KINDS["config_refused"]["option"] = "the command-line option QEMU refused"
EVENT_KINDS["config_refused"]["device_type"] = "the device model asked for (virtio-net-pci)"
EVENT_KINDS["config_refused"]["backend"] = ("a refused network back-end's option, when the "
                                            "model named the NIC it served")
EVENT_KINDS["config_refused"]["nic_id"] = "that NIC's id on the command line"
EVENT_KINDS["device_error"].update({
    "device_name": "device name in the message", "function": "C function that reported it",
    "host_hdr_len": "header length the device expects", "rest": "rest of the message",
    "vq_name": "virtqueue name (input.0, output.0, control)",
    "port_name": "the virtio-serial port's name a unit waited for (/dev/virtio-ports/NAME)"})
# FreeBSD's WITNESS (sys/kern/subr_witness.c): a lock of a lock order reversal
for _kind in ("device_error", "note"):
    EVENT_KINDS[_kind]["lock"] = ("a lock of a lock order reversal (its name: a virtio "
                                  "driver's is named after its device, 'vtnet0-rx0')")
    EVENT_KINDS[_kind]["source"] = "where the lock was taken (file:line)"
EVENT_KINDS["device_found"]["pci_class"] = "PCI class code"
# A virtio PCI capability a listing shows under the function listed just before (lspci -v
# "Vendor Specific Information: VirtIO: CommonCfg"): the function has the 1.0 interface.
EVENT_KINDS["device_found"]["pci_cap"] = ("a virtio PCI capability the function has "
                                          "(CommonCfg, Notify, ISR, DeviceCfg, SharedMemory)")
# A vhost-user back-end's number of a front-end connection (DPDK's vid: socket.c "new device,
# handle is %d"; SPDK's "vhost device %d: ..."): model/vhost_handles.py
for _kind in ("device_found", "device_error"):
    EVENT_KINDS[_kind]["handle"] = ("a vhost-user back-end's number of the connection "
                                    "(DPDK's vid)")
# A line naming its device by a PCI function's parts (EDK2's boot manager names a device
# path's PciRoot(UID)/Pci(slot,function); a root bridge's UID is its bus number in OVMF)
EVENT_KINDS["device_error"].update({k: EVENT_KINDS["device_found"][k]
                                    for k in ("pci_bus", "pci_slot", "pci_function")})
EVENT_KINDS["note"]["bar"] = "the BAR (base address register) a PCI resource line names"
EVENT_KINDS["note"]["iommu"] = "the IOMMU unit the line is about (an SMMU's device name)"
EVENT_KINDS["device_error"]["mmio_base_le"] = (
    "a virtio-mmio base as EDK2's VenHw() device path prints it, bytes in memory order "
    "(003e000a00000000: 0xa003e00)")
EVENT_KINDS["device_error"]["disk"] = "the block layer's name of the disk (vda, vda1)"
EVENT_KINDS["device_error"]["irq"] = ("the interrupt line the kernel reports as unclaimed or "
                                      "switched off (kernel/irq/spurious.c)")
EVENT_KINDS["driver_ready"]["disk"] = "the disk the driver registered (virtio_blk's [vda])"
EVENT_KINDS["driver_ready"]["devt"] = ("the disk's number as the kernel's partition list prints it "
                                      "(block/genhd.c bdevt_str(): major and minor, two hex "
                                      "digits each)")
EVENT_KINDS["device_found"]["pci_name"] = ("the product's name in pci.ids after 'Virtio' "
                                          "(lspci: 'network device', 'file system')")
EVENT_KINDS["device_bind"].update({
    "blk_devnum": ("a firmware's number of a virtio block device, in bind order (U-Boot's "
                   "'virtio N', as in 'Device 0: ...')"),
    "blk_vendor": ("the vendor shown for that block device (U-Boot: an mmio VendorID as "
                   "text, 'QEMU', or a PCI subsystem vendor, '1af4')")})
EVENT_KINDS["device_found"]["pci_config_address"] = (
    "the PCI function as a configuration address: bus << 16 | device << 11 | function << 8 "
    "(SLOF prints its low 16 bits beside the bus)")
EVENT_KINDS["device_bind"]["bus_slot"] = ("PCI bus and device in hex, no function "
                                          "(SeaBIOS before 1.10: 'found virtio-scsi at 0:3')")
EVENT_KINDS["device_found"]["bus_slot"] = EVENT_KINDS["device_bind"]["bus_slot"]
for _kind in ("note", "probe_failed", "driver_ready", "features_refused", "version1_missing"):
    EVENT_KINDS[_kind]["bus_slot"] = EVENT_KINDS["device_bind"]["bus_slot"]
# A BSD attach line that refuses the function it names ("virtio3 at pci0 dev 7 function 0:
# unknown revision 0x02; giving up") finds it too.
EVENT_KINDS["probe_failed"].update({k: EVENT_KINDS["device_found"][k]
                                    for k in ("pci_bus", "pci_slot", "pci_function",
                                              "pci_device")})
# A driver that names the device it drove by its PCI device id only (Hermit's "Network
# device with id 1041, has been initalized by driver!", "Features have been negotiated
# between network device 1041 and driver.").
for _kind in ("driver_ready", "features_accepted", "note"):
    EVENT_KINDS[_kind]["pci_device"] = EVENT_KINDS["device_found"]["pci_device"]
# A driver that names the function it takes by its PCI ids (Windows viogpudo's
# "VioGpuDod::CheckHardware VendorId = 0x1AF4 DeviceId = 0x1050").
EVENT_KINDS["device_bind"].update({k: EVENT_KINDS["device_found"][k]
                                   for k in ("pci_vendor", "pci_device")})
EVENT_KINDS["features_accepted"].setdefault("device_type", "device type named by the line")
EVENT_KINDS["device_error"]["address"] = ("the PCI address a VMM's message gives the device "
                                          "(a migration section's '0000:00:02.0/virtio-gpu')")
EVENT_KINDS["device_error"].update({"errno": "negative errno in a driver's error message",
                                    "netdev": "interface name of the line's prefix",
                                    "option": "the QEMU command-line option the error is about",
                                    "response": "a virtio-gpu error response (0x1200 ...)",
                                    "command": "the virtio-gpu command it answered",
                                    "endpoint": "a virtio-iommu fault's endpoint id"})
EVENT_KINDS["driver_ready"]["address"] = "the name the line gives the device besides its prefix"
EVENT_KINDS["irq_setup"].update({"vector_name": "per-queue vector name (config, input.0)",
                                 "vectors": "number of MSI-X vectors asked for",
                                 "address": ("the transport a child driver's line names "
                                             "beside it (OpenBSD's glued 'viogpu0 at "
                                             "virtio2virtio2: msix per-VQ')")})
EVENT_KINDS["mmio_guest_page"]["shift"] = "page shift"
EVENT_KINDS["note"]["trace_event"] = "QEMU trace event name"
EVENT_KINDS["note"]["slot"] = "index of a firmware's device row (U-Boot dm tree)"
EVENT_KINDS["note"]["blk_devnum"] = EVENT_KINDS["device_bind"]["blk_devnum"]
EVENT_KINDS["device_error"]["blk_devnum"] = EVENT_KINDS["device_bind"]["blk_devnum"]
# illumos's report of a finished attach names the function by its device path
# ("vioif0 is /pci@0,0/pci1af4,1@3"): its bus, device and function.
EVENT_KINDS["device_bind"].update({k: EVENT_KINDS["device_found"][k]
                                   for k in ("pci_bus", "pci_slot", "pci_function")})
# The rest of a FreeBSD attach line that other output cut ("-0x800002fff at device 5.0 on
# pci0") gives the PCI place of the device announced just before.
EVENT_KINDS["note"].update({k: EVENT_KINDS["device_found"][k]
                            for k in ("pci_bus", "pci_slot", "pci_function")})
EVENT_KINDS["notify"].update({"value": "value written to the notify register",
                              "width": "access width in bytes"})
EVENT_KINDS["queue_config"]["max_size"] = "largest queue size the device allows"
# A VMM's line may name the transport its device sits on (cloud-hypervisor's
# "_virtio-pci-_disk0: ..."), a fact about the device whatever the line's kind.
for _kind in ("driver_ready", "note", "probe_failed", "device_error"):
    EVENT_KINDS[_kind]["transport"] = "pci | mmio: the transport the line's device sits on"
EVENT_KINDS["netdev"]["names"] = ("features as the attach line lists them (OpenBSD's debug "
                                  "'+CSum -GuestCSum ...': offered, '+' negotiated)")
for _kind in ("probe_failed", "device_error", "note", "features_refused", "version1_missing"):
    # (or a name that holds it besides naming the device: RT-Thread's "virtio0-blk")
    EVENT_KINDS[_kind]["device_type"] = ("the type of the line's device, when the line names "
                                         "no device but its type (a VMM's source file)")
EVENT_KINDS["driver_ready"]["slot"] = "the driver's own number for a device it names by type"
EVENT_KINDS["driver_ready"]["device_type"] = ("the type of the device being probed, when the "
                                               "line names only that (scsi host2: Virtio SCSI HBA)")

# Kinds that a grammar may produce; anything else in a grammar is syntax only.
KINDS = frozenset(EVENT_KINDS)


class ValueOutOfRange(ValueError):
    """A field's value does not fit the field (dialects/transformer.FIELD_BITS): the line
    is not understood, and counted as such."""


# Payload and Event are written out rather than generated by @dataclass: they are the
# hot path's objects, and generating their methods at import was a measurable part of a
# small log's analysis. Same semantics as the dataclasses they replace.
class Payload:
    """What a line means, independent of where it was seen (cached per line text).

    Immutable (one object is shared by every line with the same text) and compared and
    hashed by value: dialect, kind, fields, detail."""

    __slots__ = ("dialect", "kind", "fields", "detail", "by_name")
    dialect: str
    kind: str
    fields: tuple[tuple[str, Any], ...]
    detail: str | None
    by_name: dict[str, Any]

    def __init__(self, dialect: str, kind: str, fields: tuple[tuple[str, Any], ...],
                 detail: str | None = None):
        setter = object.__setattr__
        setter(self, "dialect", dialect)
        setter(self, "kind", kind)
        setter(self, "fields", fields)
        setter(self, "detail", detail)
        setter(self, "by_name", dict(fields))

    def __setattr__(self, name, value):
        raise AttributeError(f"Payload is immutable (cannot set {name!r})")

    __delattr__ = __setattr__  # type: ignore[assignment]  # immutable both ways

    def _key(self) -> tuple:
        return (self.dialect, self.kind, self.fields, self.detail)

    def __eq__(self, other):
        if other.__class__ is not Payload:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Payload(dialect={self.dialect!r}, kind={self.kind!r}, "
                f"fields={self.fields!r}, detail={self.detail!r})")

    def __reduce__(self):  # pickling (-j workers) without __setattr__
        return (Payload, self._key())

    def get(self, name: str, default: Any = None) -> Any:
        return self.by_name.get(name, default)


# An event's line number and sequence number are kept as one int (``Event._place``:
# seq << PLACE_BITS | line): a long log's model keeps tens of thousands of events (timelines,
# histories), and two numbers per event cost 64 bytes where one costs 32. A line or seq
# that does not fit (negative, not an int, a line of 2**40 or more) is kept as a pair.
PLACE_BITS = 40
LINE_MASK = (1 << PLACE_BITS) - 1


def _place(line, seq):
    if (line.__class__ is int and seq.__class__ is int and 0 <= line <= LINE_MASK
            and seq >= 0):
        return seq << PLACE_BITS | line
    return (line, seq)


class Event:
    """One occurrence of a payload at a place in a log."""

    __slots__ = ("payload", "path", "_place", "text", "time", "clock", "device_key",
                 "arrival")

    def __init__(self, payload: Payload, path: str, line: int, text: str,
                 time: float | None = None, clock: str | None = None, seq: int = 0,
                 device_key: str | None = None, arrival: float | None = None):
        self.payload = payload
        self.path = path
        # _place(line, seq), inlined: an Event is made for every line understood
        self._place: Any = (seq << PLACE_BITS | line
                            if (line.__class__ is int and seq.__class__ is int
                                and 0 <= line <= LINE_MASK and seq >= 0)
                            else (line, seq))
        self.text = text
        self.time = time
        self.clock = clock  # "boot" (guest), "host" (QEMU), "wall" (ISO/CI) or None
        self.device_key = device_key  # filled by the model
        self.arrival = arrival  # monotonic time it was read (live streams only)

    @property
    def line(self) -> int:
        place = self._place
        return place & LINE_MASK if place.__class__ is int else place[0]

    @line.setter
    def line(self, line: int) -> None:
        self._place = _place(line, self.seq)

    @property
    def seq(self) -> int:
        """Order of arrival across all sources."""
        place = self._place
        return place >> PLACE_BITS if place.__class__ is int else place[1]

    @seq.setter
    def seq(self, seq: int) -> None:
        self._place = _place(self.line, seq)

    def _key(self) -> tuple:
        return (self.payload, self.path, self.line, self.text, self.time, self.clock,
                self.seq, self.device_key, self.arrival)

    def __eq__(self, other):
        if other.__class__ is not Event:
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # mutable (device_key is filled later), like the dataclass it was

    def __repr__(self) -> str:
        return (f"Event(payload={self.payload!r}, path={self.path!r}, line={self.line!r}, "
                f"text={self.text!r}, time={self.time!r}, clock={self.clock!r}, "
                f"seq={self.seq!r}, device_key={self.device_key!r}, "
                f"arrival={self.arrival!r})")

    def __getstate__(self):
        return self._key()

    def __setstate__(self, state):
        (self.payload, self.path, line, self.text, self.time, self.clock, seq,
         self.device_key, self.arrival) = state
        self._place = _place(line, seq)

    @property
    def kind(self) -> str:
        return self.payload.kind

    @property
    def dialect(self) -> str:
        return self.payload.dialect

    def get(self, name: str, default: Any = None) -> Any:
        return self.payload.by_name.get(name, default)  # the model's hot path

    def describe(self) -> str:
        parts = [self.kind + (f"[{self.payload.detail}]" if self.payload.detail else "")]
        for key, value in self.payload.fields:
            if isinstance(value, int) and key not in ("queue", "errno", "irq", "hdr_len", "size",
                                                       "virtio_id", "mmio_version", "level",
                                                       "ready", "count", "irq_delta", "seq",
                                                       "num_buffers", "word", "refcount",
                                                       "module_size", "argv_index", "handle"):
                parts.append(f"{key}={value:#x}")
            else:
                parts.append(f"{key}={value}")
        return " ".join(parts)
