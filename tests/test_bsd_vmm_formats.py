"""What each published format of a non-Linux guest or firmware means for its device.

One row per situation, written from the format strings of the system's sources (the
grammar headers and docs/coverage-bsd-vmm.md name the files and releases): the lines, then
the findings (rule, severity, line) and what the device's timeline must show. The grammar
samples check that each line becomes its typed event; these rows check the meaning the
model and the rules give those events together, including the gaps of the last stop
(OpenBSD's console gluing a failure to the attach line, viornd/vioscsi proving their
attach only by the interrupt line, FreeBSD 13+'s "(legacy)" transitional device, block
I/O errors, "Version1 offered but not negotiated", rust-hypervisor-firmware's bus scan).
"""

import format_tables
import pytest

from virtiodiag.analysis import analyse_blocks


def _run(text, dialects):
    return analyse_blocks("table.log", [text.encode()], dialects)


def _device(model, name):
    (device,) = [d for d in model.devices
                 if f"name:{name}" in d.aliases or f"pci:{name}" in d.aliases
                 or name in d.aliases]
    return device


OPENBSD_PCI = 'virtio{n} at pci0 dev {slot} function 0 "Qumranet Virtio 1.x {what}" rev 0x01\n'

ROWS = [
    # OpenBSD 6.6+ virtio_pci.c prints "Feature negotiation failed" from the child's attach,
    # before autoconf's newline: glued to "vioblk0 at virtio1". One refusal, then the
    # transport's "virtio configuration failed" (its end, not a second cause).
    ("openbsd-glued-feature-refusal",
     OPENBSD_PCI.format(n=1, slot=3, what="Storage")
     + "vioblk0 at virtio1virtio1: Feature negotiation failed\n"
       "virtio1: virtio configuration failed\n",
     [("VD002", "error", 2), ("VD015", "error", 3)],
     {"virtio1": {"also": "vioblk0", "driver_ok": "not-reached"}}),
    # The same with VIRTIO_DEBUG: the feature list runs into the glued message. No line
    # after it: the refusal alone ends the attach (virtio_negotiate_features() fails, the
    # child driver returns), so DRIVER_OK was not reached, at the refusal's line.
    ("openbsd-debug-glued-feature-refusal",
     OPENBSD_PCI.format(n=0, slot=2, what="Network")
     + "vio0 at virtio0 +CSum +MAC +Status +Version1virtio0: Feature negotiation failed\n",
     [("VD002", "error", 2)],
     {"virtio0": {"also": "vio0", "driver_ok": "not-reached"}}),
    # viornd prints nothing when its attach succeeds; the transport's interrupt line comes
    # from virtio_attach_finish(), which sets DRIVER_OK right after.
    ("openbsd-viornd-interrupt-line",
     OPENBSD_PCI.format(n=2, slot=4, what="RNG") + "viornd0 at virtio2\nvirtio2: msix shared\n",
     [],
     {"virtio2": {"also": "viornd0", "driver_ok": "implied", "implied_line": 3}}),
    # A vmd(8) guest: no I/O APIC, so pci_intr_string() says "irq N".
    ("openbsd-vmd-guest",
     'virtio0 at pci0 dev 1 function 0 "Qumranet Virtio RNG" rev 0x00\n'
     "viornd0 at virtio0\nvirtio0: irq 3\n"
     'virtio3 at pci0 dev 4 function 0 "OpenBSD VMM Control" rev 0x00\n'
     "vmmci0 at virtio3\nvirtio3: irq 7\n",
     [],
     {"virtio0": {"also": "viornd0", "driver_ok": "implied", "implied_line": 3},
      "virtio3": {"also": "vmmci0", "driver_ok": "implied", "implied_line": 6}}),
    # Without that line the attach is not shown to have finished.
    ("openbsd-viornd-attach-only",
     OPENBSD_PCI.format(n=2, slot=4, what="RNG") + "viornd0 at virtio2\n",
     [],
     {"virtio2": {"driver_ok": "not-shown"}}),
    # NetBSD 10's virtio_pci.c negotiates from the child's attach too: the same glue.
    ("netbsd-glued-feature-refusal",
     "virtio0 at pci0 dev 3 function 0\nvirtio0: network device (id 1, rev. 0x01)\n"
     "vioif0 at virtio0virtio0: feature negotiation failed\n"
     "virtio0: virtio configuration failed\n",
     [("VD002", "error", 3), ("VD015", "error", 4)],
     {"virtio0": {"also": "vioif0", "driver_ok": "not-reached"}}),
    # NetBSD: alloc_interrupts() prints the interrupt lines from
    # virtio_child_attach_finish(), which sets DRIVER_OK right after.
    ("netbsd-viornd-interrupt-line",
     "virtio3 at pci0 dev 6 function 0\nvirtio3: entropy device (id 4, rev. 0x01)\n"
     "viornd0 at virtio3: features: 0x100000000<V1>\n"
     "virtio3: config interrupting at msix0 vec 0\n",
     [],
     {"virtio3": {"also": "viornd0", "driver_ok": "implied", "implied_line": 4}}),
    # ... and a failure after it still wins.
    ("netbsd-interrupts-then-failure",
     "virtio3 at pci0 dev 6 function 0\nvirtio3: entropy device (id 4, rev. 0x01)\n"
     "viornd0 at virtio3: features: 0x100000000<V1>\n"
     "virtio3: interrupting at ioapic0 pin 11\nvirtio3: failed to establish soft interrupt\n",
     [("VD015", "error", 5)],
     {"virtio3": {"driver_ok": "not-reached"}}),
    # vioscsi: its scsibus, then the interrupt line, then nothing else.
    ("openbsd-vioscsi-interrupt-line",
     OPENBSD_PCI.format(n=3, slot=5, what="SCSI")
     + "vioscsi0 at virtio3: qsize 128\nvirtio3: apic 0 int 10\n",
     [],
     {"virtio3": {"also": "vioscsi0", "driver_ok": "implied", "implied_line": 3}}),
    # virtio.c's queue failure glued to viornd's attach line, then viornd's own ": Can't
    # alloc virtqueue" on the next line, then the transport's end.
    ("openbsd-glued-queue-failure",
     'virtio3 at pci0 dev 5 function 0 "Qumranet Virtio RNG" rev 0x00\n'
     "viornd1 at virtio3virtqueue 0 for Entropy request allocation failed, error 12\n"
     ": Can't alloc virtqueue\n"
     "virtio3: virtio configuration failed\n",
     [("VD015", "error", 2)],
     {"virtio3": {"also": "viornd1"}}),
    # Neither the 1.0 nor the 0.9 interface could be mapped.
    ("openbsd-cannot-attach",
     'virtio4 at pci0 dev 6 function 0 "Qumranet Virtio 1.x Network" rev 0x01: '
     "Cannot attach (19)\n",
     [("VD015", "error", 1)],
     {"virtio4": {"address": "0000:00:06.0"}}),
    # With VIRTIO_DEBUG, "-Version1": the device offered VERSION_1 and the driver did not
    # negotiate it: a driver that passed over the modern interface (an error).
    ("version1-offered-not-negotiated",
     'virtio0 at pci0 dev 3 function 0 "Qumranet Virtio Network" rev 0x00\n'
     "vio0 at virtio0 +MAC +Status -Version1: address 52:54:00:12:34:56\n",
     [("VD001", "error", 2)],
     {"virtio0": {"message": "although the device offered it"}}),
    # FreeBSD 13+: the legacy transport driver took a transitional device because the
    # modern one leaves transitional ids alone by default (hw.virtio.pci.transitional=0):
    # the guest's policy, allowed by the spec (4.1.2.3), not a failed modern attempt.
    ("freebsd13-legacy-transitional",
     "virtio_pci0: <VirtIO PCI (legacy) Network adapter> port 0xc000-0xc01f irq 11 at device "
     "3.0 on pci0\nvtnet0: <VirtIO Networking Adapter> on virtio_pci0\n",
     [("VD001", "warning", 1)],
     {"virtio_pci0": {"also": "vtnet0", "driver_ok": "implied"}}),
    # FreeBSD 9-12: a driver that has no modern interface at all.
    ("freebsd12-legacy-only-driver",
     "virtio_pci0: <VirtIO PCI Network adapter> port 0xc000-0xc01f irq 11 at device 3.0 on "
     "pci0\nvtnet0: <VirtIO Networking Adapter> on virtio_pci0\n",
     [("VD001", "info", 1)],
     {"virtio_pci0": {"driver_ok": "implied"}}),
    ("freebsd13-modern",
     "virtio_pci1: <VirtIO PCI (modern) Block adapter> mem 0xfe004000-0xfe007fff irq 10 at "
     "device 4.0 on pci0\nvtbd0: <VirtIO Block Adapter> on virtio_pci1\n",
     [],
     {"virtio_pci1": {"driver_ok": "implied"}}),
    # virtqueue.c names the transport; the child's attach step and newbus's
    # "device_attach: ... returned" are the same failure's end.
    ("freebsd-queue-does-not-exist",
     "virtio_pci3: <VirtIO PCI (modern) SCSI adapter> mem 0xfe00c000-0xfe00ffff irq 10 at "
     "device 6.0 on pci0\nvtscsi0: <VirtIO SCSI Adapter> on virtio_pci3\n"
     "virtio_pci3: virtqueue 2 (vtscsi0-request) does not exist (size is zero)\n"
     "vtscsi0: cannot allocate virtqueues\ndevice_attach: vtscsi0 attach returned 19\n",
     [("VD015", "error", 3)],
     {"virtio_pci3": {"driver_ok": "not-reached"}}),
    # A block request the device completed with an error status, after the handshake.
    ("freebsd-vtbd-io-error",
     "virtio_pci1: <VirtIO PCI (modern) Block adapter> mem 0xfe004000-0xfe007fff irq 10 at "
     "device 4.0 on pci0\nvtbd0: <VirtIO Block Adapter> on virtio_pci1\n"
     "vtbd0: 20480MB (41943040 512 byte sectors)\n"
     "vtbd0: hard error cmd=write 16384-16391\nvtbd0: hard error cmd=write 16400-16407\n",
     [("VD006", "error", 4)],
     {"virtio_pci1": {"driver_ok": "implied", "message": "back-end"}}),
    # virtio_blk.c vtblk_ident(): the host does not answer VIRTIO_BLK_T_GET_ID (the disk's
    # serial; ENOTSUP 45 for S_UNSUPP, EIO 5 for S_IOERR), and bootverbose's
    # vtblk_poll_request() "IO error" says the same of that polled request; vtblk_attach()
    # goes on: the disk works without a serial, no failure.
    ("freebsd-vtblk-no-serial",
     "virtio_pci1: <VirtIO PCI (modern) Block adapter> mem 0xfe004000-0xfe007fff irq 10 at "
     "device 4.0 on pci0\nvtblk0: <VirtIO Block Adapter> on virtio_pci1\n"
     "vtblk0: vtblk_poll_request: IO error: 45\n"
     "vtblk0: error getting device identifier: 45\n"
     "vtblk0: 8192MB (16777216 512 byte sectors)\n",
     [],
     {"virtio_pci1": {"driver_ok": "implied"}}),
    # virtio_mmio.c vtmmio_attach(): a window whose MagicValue is right and whose Version
    # reads 0, which no device has (spec 4.2.2: 1 or 2): nothing usable is behind it, the
    # transport skips it (ENXIO) and no device was lost: a warning. Any other Version the
    # driver does not support (3, or 2 on FreeBSD 10-12) stays an error.
    ("freebsd-mmio-window-version-zero",
     "virtio_mmio2: <VirtIO MMIO adapter> mem 0x10002000-0x100021ff irq 3 on simplebus0\n"
     "virtio_mmio2: Unsupported version: 0\n"
     "device_attach: virtio_mmio2 attach returned 6\n",
     [("VD015", "warning", 2)],
     {"virtio_mmio2": {"message": "Version register reads 0"}}),
    ("freebsd-mmio-version-unsupported",
     "virtio_mmio2: <VirtIO MMIO adapter> mem 0x10002000-0x100021ff irq 3 on simplebus0\n"
     "virtio_mmio2: Unsupported version: 0x3\n"
     "device_attach: virtio_mmio2 attach returned 6\n",
     [("VD015", "error", 2)],
     {}),
    # newbus prints an attach line in pieces; another thread's output cut in (FreeBSD's
    # console: "GEOM: new disk vtbd0" after "mem 0xc0004000"), and the rest of the line, with
    # "at device 5.0 on pci0", came next under no name: it is the place of the device whose
    # line was cut, and of no device when that line was another driver's.
    ("freebsd-attach-line-cut-by-other-output",
     "virtio_pci1: <VirtIO PCI (modern) Block adapter> mem 0xc0000000-0xc0003fff at device "
     "4.0 on pci0\nvtblk0: <VirtIO Block Adapter> on virtio_pci1\n"
     "vtblk0: 8192MB (16777216 512 byte sectors)\n"
     "virtio_pci2: <VirtIO PCI (modern) Network adapter> mem 0xc0004000GEOM: new disk vtbd0\n"
     "-0xc0007fff irq 11 at device 5.0 on pci0\n"
     "vtnet0: <VirtIO Networking Adapter> on virtio_pci2\n"
     "vtnet0: Ethernet address: 58:9c:fc:00:10:02\n",
     [],
     {"virtio_pci2": {"address": "0000:00:05.0", "type": "net"},
      "virtio_pci1": {"address": "0000:00:04.0"}}),
    ("freebsd-other-attach-line-cut",
     "vgapci0: <VGA-compatible display> mem 0xfc000000GEOM: new disk ada0\n"
     "-0xfdffffff,0xfebd0000-0xfebd0fff at device 2.0 on pci0\n"
     "virtio_pci0: <VirtIO PCI (modern) Network adapter> mem 0xfe000000-0xfe003fff at device "
     "3.0 on pci0\nvtnet0: <VirtIO Networking Adapter> on virtio_pci0\n",
     [],
     {"virtio_pci0": {"address": "0000:00:03.0"}}),
    # cloud-hypervisor transport/pci_common_config.rs: the driver read a register offset the
    # common configuration does not have (it gets 0, the device is untouched): a warning;
    # a write there is dropped: an error.
    ("cloud-hypervisor-register-read-is-a-warning",
     "cloud-hypervisor: 20.4ms: <vcpu0> WARN:virtio-devices/src/transport/pci_common_config.rs:"
     "169 -- invalid virtio register word read: 0x2\n",
     [("VD006", "warning", 1)],
     {}),
    ("cloud-hypervisor-register-write-is-an-error",
     "cloud-hypervisor: 20.6ms: <vcpu0> WARN:virtio-devices/src/transport/pci_common_config.rs:"
     "250 -- invalid virtio register byte write: 0x15\n",
     [("VD006", "error", 1)],
     {}),
    # cloud-hypervisor: a device's own source file (virtio-devices/src/net.rs) names its type;
    # the VMM thread's error after the net device's activation is that device's.
    ("cloud-hypervisor-device-source-names-type",
     "cloud-hypervisor: 4.1s: <vcpu0> INFO:virtio-devices/src/transport/pci_device.rs:1096 -- "
     "_virtio-pci-_net3: Needs activation; writing to activate event fd\n"
     "cloud-hypervisor: 4.2s: <vmm> ERROR:virtio-devices/src/net.rs:700 -- Error programming "
     "tap offload: IoctlError(Os { code: 22 })\n",
     [("VD006", "error", 2)],
     {"_net3": {"driver_ok": "reached", "message": "tap offload"}}),
    # The same line pasted into an issue in bold (Markdown "**...**") reads the same.
    ("cloud-hypervisor-line-in-bold",
     "cloud-hypervisor: 4.1s: <vcpu0> INFO:virtio-devices/src/transport/pci_device.rs:1096 -- "
     "_virtio-pci-_net3: Needs activation; writing to activate event fd\n"
     "**cloud-hypervisor: 4.2s: <vmm> ERROR:virtio-devices/src/net.rs:700 -- Error programming "
     "tap offload: IoctlError(Os { code: 22 })**\n",
     [("VD006", "error", 2)],
     {"_net3": {"message": "tap offload"}}),
    # Firecracker built from --config-file: main.rs's chain of contexts before the drive's
    # DriveError; and the Go SDK's FaultMessage of a failed InstanceStart (twice: the SDK's
    # error, then the caller's fatal): one failure of the one vsock device.
    ("firecracker-config-file-drive-error",
     "[fc-7:main:ERROR:src/firecracker/src/main.rs:96] RunWithoutApiError error: Failed to "
     "build MicroVM from Json: Configuration for VMM from one single json failed: Block device "
     "error: Unable to create the virtio block device: Virtio backend error: Error manipulating "
     "the backing file: No such file or directory (os error 2)\n",
     [("VD015", "error", 1)], {}),
    ("firecracker-sdk-fault-message",
     "ERRO[0000] Starting instance: [PUT /actions][500] createSyncAction default  "
     "&{FaultMessage:Cannot create vsock device. VhostOpen(VhostOpen(Os { code: 2 }))}\n"
     "FATA[0000] Failed to start machine: [PUT /actions][500] createSyncAction default  "
     "&{FaultMessage:Cannot create vsock device. VhostOpen(VhostOpen(Os { code: 2 }))}\n",
     [("VD015", "error", 1)], {}),
    # A Rust VMM's thread panicking in a virtio transport's source (Rust 1.73+: the message
    # on the next line) is a failure of an unnamed device of that transport; a panic
    # outside the devices (creating the KVM object) is none of ours.
    ("rust-vmm-panic-in-mmio-transport",
     "thread 'fc_vcpu 0' panicked at src/devices/src/virtio/mmio.rs:301:22:\n"
     "Failed to activate device: BadActivate\n",
     [("VD006", "error", 1)], {}),
    ("rust-vmm-panic-outside-devices",
     "thread 'main' panicked at 'Error creating the Kvm object: Error(2)', "
     "src/vmm/src/vstate/system.rs:53:30\n",
     [], {}),
    # A Rust vhost-user back-end's panic (Rust's panic hook, library/std/src/panicking.rs):
    # the vhost-user-backend crate's queue thread, named "vring_worker" in
    # vhost-user-backend/src/handler.rs VhostUserHandler::new(), or a location in the Rust
    # virtiofsd's source, is its device's back-end failing, as the daemon's error lines are.
    ("vhost-user-backend-vring-worker-panic-in-virtiofsd",
     "thread 'vring_worker' panicked at /build/virtiofsd-1.13.0/src/vhost_user.rs:271:18:\n"
     "called `Result::unwrap()` on an `Err` value: QueueWriter(FindMemoryRegion)\n",
     [("VD006", "error", 1)], {}),
    ("vhost-user-backend-vring-worker-panic-old-form",
     "thread 'vring_worker' panicked at 'called `Result::unwrap()` on an `Err` value: "
     "QueueReader(FindMemoryRegion)', src/vhost_user.rs:244:18\n",
     [("VD006", "error", 1)], {}),
    # Another thread of a program that is not a vhost-user back-end stays none of ours.
    ("rust-panic-of-another-program",
     "thread 'main' panicked at src/main.rs:12:5:\nindex out of bounds\n",
     [], {}),
    # A Firecracker guest's virtio-mmio transport warning, its line cut where the capture
    # ended (virtio_mmio.c "Failed to enable 64-bit or 32-bit DMA.  Trying to continue, but
    # this might not work."): still the warning it is, not a failed device.
    ("firecracker-guest-dma-warning-cut-off",
     "[    0.214000] virtio-mmio: Registering device virtio-mmio.0 at 0xd0000000-0xd0000fff, "
     "IRQ 5.\n"
     "[    0.245000] virtio-mmio virtio-mmio.0: Failed to enable 64-bit or 32-bit DMA.  "
     "Trying to cont\n",
     [("VD004", "info", 1), ("VD006", "warning", 2)],
     {"virtio-mmio.0": {"address": "0xd0000000", "message": "DMA"}}),
    # rust-hypervisor-firmware: the bus scan names the function, the block lines name only
    # the type; the firmware drives its block devices in the order it listed them.
    ("rust-hypervisor-firmware-boots",
     "Found PCI device vendor=1af4 device=1042 in slot=1\n"
     "Virtio block device configured. Capacity: 4194304 sectors\n",
     [],
     {"0000:00:01.0": {"driver_ok": "implied", "implied_line": 2}}),
    # src/pci.rs PciDevice::init() ("PCI Device: {}:{}.{} {:x}:{:x}") runs when the
    # firmware's virtio transport starts on the function: its driver took that one, the
    # others it only listed (a log cut there, as a hang leaves it, says so).
    ("rust-hypervisor-firmware-driver-started",
     "Found PCI device vendor=1af4 device=1042 in slot=1\n"
     "Found PCI device vendor=1af4 device=1041 in slot=2\n"
     "PCI Device: 0:1.0 1af4:1042\n",
     [],
     {"0000:00:01.0": {"driver_ok": "not-shown", "bound": True},
      "0000:00:02.0": {"driver_ok": "not-shown", "bound": False}}),
    # Releases since 2024 log through the log crate (src/logger.rs Logger::log():
    # "[{level}] {message}"): the same bus scan and driver start behind "[INFO] ", on a
    # riscv64 or aarch64 guest as on x86 (another vendor's function stays no device).
    ("rust-hypervisor-firmware-log-crate-levels",
     "[INFO] Booting with FDT\n"
     "[INFO] Found PCI device vendor=1b36 device=8 in slot=0\n"
     "[INFO] Found PCI device vendor=1af4 device=1042 in slot=1\n"
     "[INFO] Found PCI device vendor=1af4 device=1041 in slot=2\n"
     "[INFO] PCI Device: 0:1.0 1af4:1042\n"
     "[INFO] Bar: type=MemorySpace32 address=0x0 size=0x1000\n",
     [],
     {"0000:00:01.0": {"driver_ok": "not-shown", "bound": True},
      "0000:00:02.0": {"driver_ok": "not-shown", "bound": False}}),
    ("rust-hypervisor-firmware-feature-refusal",
     "Found PCI device vendor=1af4 device=1042 in slot=0:1\n"
     "Found PCI device vendor=1af4 device=1042 in slot=0:2\n"
     "Error configuring block device: VirtioFeatureNegotiationFailed\n"
     "Virtio block device configured. Capacity: 2048 sectors\n",
     [("VD002", "error", 3)],
     # The first refused the features: the firmware gave it up, DRIVER_OK not reached.
     {"0000:00:01.0": {"driver_ok": "not-reached"},
      "0000:00:02.0": {"driver_ok": "implied", "implied_line": 4}}),
    # NetBSD 6-9 and OpenBSD: autoconf offered the function to every child driver it has
    # and none matched ("no matching child driver; not configured", virtio_pci.c,
    # virtio.c virtio_attach_failed()): no driver took it and none failed, a device with
    # no driver (device-not-driven, a warning, as a Linux kernel without the driver), not
    # a failed probe. The other device's legacy-only driver is info: the boot is clean.
    ("netbsd-no-child-driver-for-scsi",
     "virtio0 at pci0 dev 3 function 0\n"
     "virtio0: Virtio SCSI Device (rev. 0x00)\n"
     "virtio0: no matching child driver; not configured\n"
     "virtio1 at pci0 dev 4 function 0\n"
     "virtio1: Virtio Network Device (rev. 0x00)\n"
     "vioif0 at virtio1: Features: 0x30020<CTRL_VQ,STATUS,MAC>\n"
     "vioif0: Ethernet address 42:01:0a:f0:00:16\n",
     [("VD004", "warning", 3), ("VD001", "info", 5)],
     {"virtio0": {"type": "scsi", "address": "0000:00:03.0", "message": "no driver"},
      "virtio1": {"type": "net", "driver_ok": "implied"}}),
    # NetBSD names an id past its virtio_device_name[] "Unknown (%d)": the id is the type.
    ("netbsd-unknown-numbered-type",
     "virtio0 at pci0 dev 3 function 0\n"
     "virtio0: Virtio Unknown (8) Device (rev. 0x00)\n"
     "virtio0: no matching child driver; not configured\n",
     [("VD004", "warning", 3)],
     {"virtio0": {"type": "scsi"}}),
    ("openbsd-no-child-driver-for-sound",
     'virtio3 at pci0 dev 7 function 0 vendor "Qumranet", unknown product 0x1059 rev 0x01\n'
     "virtio3: no matching child driver; not configured\n",
     [("VD004", "warning", 2)],
     {"virtio3": {"type": "sound", "driver_ok": "not-shown"}}),
    # FreeBSD's bootverbose features through a legacy driver: the host features it shows
    # have no VERSION_1 (a legacy driver reads bits 0-31 only), so no driver passed over
    # VERSION_1: a warning that 1.x was not used, not a fallback error. The names of the
    # child's features (MrgRxBuf, Status) are virtio-net's: the type.
    ("freebsd-legacy-features-without-version1",
     "virtio_pci0: host features: 0x511fffe3 <RingIndirect,NotifyOnEmpty,VLanFilter,"
     "RxMode,ControlVq,Status,MrgRxBuf,TxUFO,TxTSOECN,T>\n"
     "virtio_pci0: negotiated features: 0x100f8020 <RingIndirect,VLanFilter,RxMode,"
     "ControlVq,Status,MrgRxBuf,MacAddress>\n",
     [("VD001", "warning", 2)],
     {"virtio_pci0": {"type": "net", "message": "offered no VERSION_1"}}),
    # SLOF (ppc64 pseries): its PCI scan prints each function's bus, configuration address
    # (device << 11 | function << 8) and ids; the PCI id is the type (1009 is 9p, whatever
    # its file prints). A firmware's enumeration: no "never driven" warning.
    ("slof-pci-scan",
     " Adapters on 0800000020000000\n"
     "                     00 0000 (D) : 1af4 1009    virtio [ network ]\n"
     "                     00 1000 (D) : 1af4 1003    communication-controller*\n"
     "                     00 1800 (D) : 1af4 1004    virtio [ scsi ]\n",
     [],
     {"0000:00:00.0": {"type": "9p"}, "0000:00:02.0": {"type": "console"},
      "0000:00:03.0": {"type": "scsi", "driver_ok": "not-shown"}}),
    # Hermit (src/drivers/virtio/transport/pci.rs): a driver's init() runs the whole
    # handshake; its failure names the PCI device id, which finds the function (1041: a
    # modern net device); a transitional id it skips is a device with no driver.
    ("hermit-net-init-failed",
     "[    0.456387][0][INFO  virtio    ] device_features = F(MAC | STATUS | VERSION_1)\n"
     "[    0.695455][0][ERROR pci       ] Virtio networkd driver could not be initialized "
     "with device: 1041\n"
     "[    0.700000][0][WARN  pci       ] Legacy/transitional Virtio device, with id: 0x1001 "
     "is NOT supported, skipping!\n",
     [("VD015", "error", 2), ("VD004", "warning", 3)],
     {"pci-id:hermit:1041": {"type": "net", "driver_ok": "not-reached"},
      "pci-id:hermit:1001": {"type": "block"}}),
    ("hermit-net-up",
     "[0][INFO] Virtio network driver initialized.\n",
     [],
     {}),
    # Redox's virtio-core: an unimplemented!() in the interrupt set-up, on the line after
    # the Rust runtime's "panicked at <file>:<line>:": the probe failed, its device unnamed.
    ("redox-msix-unimplemented",
     "panicked at drivers/pcid/src/driver_interface/irq_helpers.rs:320:\n"
     "not implemented: virtio: MSI-X is not implemented on this architecture\n",
     [("VD015", "error", 2)],
     {}),
    # SerenityOS: a VERIFY in VirtIO::Device's init panics the kernel; the backtrace (the
    # panic machinery first) names the GPU driver's initialize(): its probe crashed. No
    # line found the device, so the crash is the run's.
    ("serenity-gpu-init-panic",
     "[init_stage2(1:1)]: ASSERTION FAILED: !is_error()\n"
     "[init_stage2(1:1)]: KERNEL PANIC! :^(\n"
     "[init_stage2(1:1)]: Kernel + 0x00000000015c763f  Kernel::__panic(char const*, "
     "unsigned int, char const*) +0x16f\n"
     "[init_stage2(1:1)]: Kernel + 0x00000000015c8b21  abort.localalias +0x38a\n"
     "[init_stage2(1:1)]: Kernel + 0x0000000001841aad  Kernel::VirtIO::Device::initialize() "
     "+0x285d\n"
     "[init_stage2(1:1)]: Kernel + 0x00000000003ac689  Kernel::VirtIOGraphicsAdapter::"
     "initialize() +0x89\n",
     [("VD021", "error", 1)],
     {}),
    # A kernel thread's name holds a space (Kernel/Tasks: "Finalizer Task", "Network
    # Task"), and a panic that prints to the screen puts its backtrace through
    # critical_dmesgln() with no "[thread]: " first (Kernel/KSyms.cpp dump_backtrace_impl()):
    # the net driver's own function, outside its initialize(), is where it crashed.
    ("serenity-net-crash-bare-frames",
     "[Finalizer Task(4:4)]: ASSERTION FAILED: m_rx_queue.has_value()\n"
     "[Finalizer Task(4:4)]: KERNEL PANIC! :^(\n"
     "Kernel + 0x0000000000412e10  Kernel::__panic(char const*, unsigned int, char const*) "
     "+0x90\n"
     "Kernel + 0x0000000000402f4c  abort +0x64\n"
     "Kernel + 0x0000000000433a08  Kernel::VirtIONetworkAdapter::handle_queue_update"
     "(unsigned short) +0x1f4\n",
     [("VD021", "error", 1)],
     {}),
    ("serenity-net-features-refused",
     "[Kernel]: VirtIONetAdapter: Found @ PCI [0000:00:03:00]\n"
     "[Kernel]: VirtIONetAdapter: Features not accepted by host!\n",
     [("VD002", "error", 2)],
     {"0000:00:03.0": {"type": "net"}}),
    # TamaGo's kvm/virtio: the example application wraps the driver's error; the network
    # driver found no device to drive.
    ("tamago-no-virtio-net",
     "could not start networking, could not initialize VirtIO networking, invalid VirtIO "
     "instance\n",
     [("VD015", "error", 1)],
     {}),
    # newbus prints any child "<nameunit>: <desc> on <parent>" (kern/subr_bus.c): a vendor
    # tree that renames vtnet (Junos attaches it as "em3") still attaches a virtio child to
    # the transport, which sets DRIVER_OK once that attach returns. FreeBSD 9-12's
    # legacy-only virtio_pci: VD001 info.
    ("freebsd-renamed-child-on-a-virtio-transport",
     "virtio_pci3: <VirtIO PCI Network adapter> port 0xc060-0xc07f mem 0xfe883000-0xfe883fff "
     "irq 11 at device 5.0 on pci1\n"
     "em3: <VirtIO Networking Adapter> on virtio_pci3\n",
     [("VD001", "info", 1)],
     {"virtio_pci3": {"also": "em3", "type": "net", "driver_ok": "implied",
                      "implied_line": 2}}),
    # The same name on a PCI parent is Intel's em(4), no virtio child; GEOM's line of an
    # ATA disk names no virtio disk.
    ("freebsd-em-on-pci-and-an-ata-disk-are-no-virtio",
     "em0: <Intel(R) PRO/1000 Legacy Network Connection 1.1.0> port 0xc000-0xc03f mem "
     "0xfebc0000-0xfebdffff irq 11 at device 3.0 on pci0\n"
     "GEOM: ada0: the secondary GPT header is not in the last LBA.\n",
     [],
     {}),
    # geom/part/g_part_gpt.c names the provider: vtblk's disk, made at the end of its
    # attach. The GPT's state is the medium's: no finding.
    ("freebsd-geom-names-the-vtblk-disk",
     "GEOM: vtbd0: the secondary GPT header is not in the last LBA.\n",
     [],
     {"vtbd0": {"type": "block", "driver_ok": "implied", "implied_line": 1}}),
    # vtblk's disk is vtbdN for vtblkN (virtio_blk.c vtblk_alloc_disk(): d_name "vtbd",
    # d_unit the driver's unit): FreeBSD 10-12 prints the driver's lines as vtblk0, GEOM
    # names the disk vtbd0, one device (a second record "vtbd0" before).
    ("freebsd-vtbd-disk-is-its-vtblk-device",
     "virtio_pci3: <VirtIO PCI Block adapter> port 0xc0c0-0xc0ff mem 0xfebd3000-0xfebd3fff "
     "irq 10 at device 6.0 on pci0\n"
     "vtblk0: <VirtIO Block Adapter> on virtio_pci3\n"
     "vtblk0: 40960MB (83886080 512 byte sectors)\n"
     "GEOM: vtbd0: the secondary GPT header is not in the last LBA.\n",
     [("VD001", "info", 1)],
     {"virtio_pci3": {"also": "vtbd0", "type": "block", "driver_ok": "implied",
                      "implied_line": 2}}),
]


@pytest.mark.parametrize("name, text, findings, devices", ROWS, ids=[r[0] for r in ROWS])
def test_format_meaning(name, text, findings, devices, dialects):
    result = _run(text, dialects)
    model = result.model
    assert model.unrecognised == 0, model.unrecognised_samples
    got = [(f.rule, f.severity, f.line) for f in result.findings if f.rule != "VD016"]
    assert got == findings
    for device_name, want in devices.items():
        device = _device(model, device_name)
        if "also" in want:
            assert f"name:{want['also']}" in device.aliases
        if "driver_ok" in want:
            assert device.driver_ok.state.value == want["driver_ok"]
        if "implied_line" in want:
            assert device.driver_ok_implied.line == want["implied_line"]
        if "address" in want:
            assert device.address == want["address"]
        if "type" in want:
            assert device.device_type == want["type"]
        if "bound" in want:
            assert device.bound == want["bound"]
        if "message" in want:
            assert any(want["message"] in f.message + f.hint for f in result.findings
                       if f.device == device.id)


_TABLE = format_tables.rows("bsd-vmm.tsv")


def test_the_format_table_covers_every_system():
    systems = {dialect for dialect, _, _ in _TABLE}
    assert systems == {"freebsd", "bsd-panic", "bsd-pci-list", "netbsd", "openbsd",
                       "cloud-hypervisor", "firecracker", "rust-hypervisor-firmware", "solo5",
                       "rust-vmm-panic", "illumos", "nuttx", "bsd-ifconfig", "slof", "hermit", "redox", "serenity", "tamago",
                       "root-mount", "xv6", "freebsd-loader", "osv", "bhyve-cmdline", "unikraft"}
    assert len(_TABLE) >= 120


@pytest.mark.parametrize("rows", format_tables.by_dialect(_TABLE))
def test_each_published_format_becomes_its_typed_event(rows, dialects):
    """A line rendered from each format string is read by its system's dialect into the
    event kind (and detail) that carries its meaning."""
    format_tables.assert_each_read_as(dialects, rows)


def test_the_rest_of_another_drivers_cut_attach_line_makes_no_device(dialects):
    """The rest of vgapci0's cut attach line ("... at device 2.0 on pci0", after "GEOM: new
    disk ada0" cut it) comes after no virtio device's line: it is no device's place, and
    no PCI function 0000:00:02.0 is made up."""
    text = {row[0]: row[1] for row in ROWS}["freebsd-other-attach-line-cut"]
    model = _run(text, dialects).model
    assert [d.address for d in model.devices] == ["0000:00:03.0"]
