"""device-failed: the driver gave up on a device, the device needs a reset, or QEMU refused it.

**What it detects.** Any of: a status value (written or read back) with FAILED (0x80) or
DEVICE_NEEDS_RESET (0x40); an error the device side reports (QEMU ``virtio_error`` and
guest-error messages, a guest driver's ring errors such as ``input.0:id 300 out of
range``), one finding per distinct message with the number of repeats; QEMU refusing a
virtio device's configuration at start-up (the guest never ran), or not creating a
virtio NIC the command line asked for (the guest runs without it). A block device whose
capacity reads 0 sectors (virtio_blk "[vdb] 0 512-byte logical blocks") is a warning: the
driver took it, but its backend has no medium or an empty image, and so is a driver's
read of a register the VMM's transport does not have (cloud-hypervisor's "invalid virtio
register word read: 0x1": the read gives 0, the device is untouched; a write there is
dropped, an error). A file system's journal thread of a virtio disk blocked past the
hung-task timeout ("INFO: task jbd2/vda1-8:212 blocked for more than 120 seconds.") is
that disk's device error ``[hung]``: its I/O stalled. DRM's fbdev emulation failing on a
virtio GPU ("virtio_gpu virtio0: [drm] *ERROR* fbdev: Failed to setup generic emulation")
is a warning: the GPU was driven, only its framebuffer console is missing. virtio_gpu's
request for the GPU's cap sets unanswered ("timed out waiting for cap set 0") is an error of a
GPU past DRIVER_OK: the driver asks only after virtio_device_ready(). A lock order
reversal FreeBSD's WITNESS reports of a lock a virtio driver named after its device ("lock
order reversal:", " 1st 0x... vtnet0-rx0 (vtnet0-rx0) @ .../if_vtnet.c:1872") is a
warning of that device: a possible deadlock, no failure of the handshake. Header-length errors of virtio-net
are left to num-buffers-missing.
An IOMMU fault the log ties to no device (an Arm SMMUv2 context fault before Linux 5.3
names its context bank, not its stream: model/iommu_events.py) is a warning: a device's
DMA was blocked, and the log cannot say whose. The UEFI boot manager failing to load or
start a boot option from a PCI function's own device (EDK2's BdsDxe "failed to load
Boot0001 ... from PciRoot(0x0)/Pci(0x3,0x0): Not Found": a virtio disk on QEMU) is the
device's at that function when the log shows one, else the run's, naming the function (no
device is made up from the line); a warning when the OS started afterwards from another
option, else an error (the boot stopped in the firmware). A Windows guest's storport bus reset
(event 129, "Reset to device, \\Device\\RaidPort0, was issued.": a request not completed
within the timeout) is the virtio storage device's whose driver (vioscsi, viostor) the event
log names as the source (model/storport_resets.py). A virtio-net control-queue command the
device refused (NetKVM's "CParaNdisCX::SendControlMessage - ERROR: error 1 returned for class
2": the ack VIRTIO_NET_ERR) is a warning: the driver goes on without that setting.

**Bad**::

    virtio_set_status vdev 0x5581c3e4a2d0 val 3
    virtio_set_status vdev 0x5581c3e4a2d0 val 131
    virtio_net virtio0: input.0:id 300 out of range

**Good**::

    virtio_set_status vdev 0x5581c3e4a2d0 val 11
    virtio_set_status vdev 0x5581c3e4a2d0 val 15

**Why it matters.** FAILED means the driver gave up (spec 3.1.1); DEVICE_NEEDS_RESET
means the device is in an error state and nothing it does can be relied on (2.1.2); a
``virtio_error`` marks the device broken until the next reset. Later symptoms (timeouts,
no network) are consequences: this is the first cause to look at.

**How to fix.** Read the line before the FAILED write or the error: refused features,
a queue that failed to set up, a ring address QEMU cannot map, an index out of range.
When a later attempt on the same device (after a reset: the driver reloaded, or another
driver bound it) reached DRIVER_OK, the device is up: the FAILED or DEVICE_NEEDS_RESET
status is a warning.
For a refused configuration, fix the QEMU command line as the message says.
"""

from virtiodiag import spec
from virtiodiag.model import failures
from virtiodiag.model.boot_paths import mmio_base_of
from virtiodiag.model.identity import bsd_pci_address as pci_address
from virtiodiag.model.liveness import later_success
from virtiodiag.model.netdev_users import backend_option
from virtiodiag.model.records import error_groups
from virtiodiag.rules._common import quoted, status_text, unnamed_device
from virtiodiag.rules.base import Hit

CODE = "VD006"
NAME = "device-failed"
SEVERITY = "error"
SUMMARY = "FAILED or DEVICE_NEEDS_RESET in the status, a device error, or a refused configuration"
SPEC = "2.1.1, 2.1.2, 3.1.1"
OPTIONS: dict[str, object] = {}
LIVE_EVENTS = {"status_write", "status_read", "device_error", "sysfs_attr"}


def check(ctx):
    for device in ctx.devices:
        for bit, name, what in ((spec.FAILED, "failed", "FAILED: the driver gave up on the device"),
                                (spec.DEVICE_NEEDS_RESET, "needs-reset",
                                 "DEVICE_NEEDS_RESET: the device entered an error state")):
            change = next((s for s in device.status if s.value & bit), None)
            if change is None:
                continue
            verb = "read back" if change.read else "written"
            # After a reset, a later attempt (the driver reloaded, another driver) that
            # reached DRIVER_OK: the device is up, its verdict follows that attempt.
            later = later_success(device, change.event)
            up = (f"; a later attempt reached DRIVER_OK (line {later.line}): the device is up"
                  if later is not None else "")
            related = _before(device, change)
            if later is not None:
                related.append((later, "the later attempt's DRIVER_OK"))
            yield Hit(device, change.event,
                      f"{device.id}: status {status_text(change.value)} {verb}: {what}{up}",
                      "look at the step just before: refused features, a failed queue set-up "
                      "or a device error; reset the device before trying again",
                      related=related, key=name,
                      severity="warning" if later is not None else None)
        yield from _errors(device, error_groups(device.errors), ctx.model)
        if device.empty_disk is not None:
            yield Hit(device, device.empty_disk,
                      f"{device.id}: the block device has a capacity of 0 sectors (its "
                      "virtio_blk_config.capacity reads 0): the driver took a disk of no size",
                      "its backend has no medium or an empty image: check the -drive file= "
                      "(or the VMM's disk path) and its size; a placeholder drive filled in "
                      "later (Kata on Firecracker, which has no hot-plug, attaches empty "
                      "drives and swaps their backing file) is expected to be empty",
                      key="empty-disk", severity="warning")
    if ctx.final:
        unattributed = [e for e in ctx.model.unattributed_errors if e.kind == "device_error"]
        yield from _errors(None, error_groups(unattributed), ctx.model)
        refusals = [e for e in ctx.model.config_refusals
                    if e.payload.detail != "nic_not_created"]
        for index, event in enumerate(ctx.model.config_refusals):
            if event.payload.detail == "nic_not_created":
                yield _nic_not_created(event, index)
        for index, (refused, events) in enumerate(failures.refusal_groups(refusals)):
            yield _refused(refused, events, index)


def _refused(refused, events, index):
    """QEMU refused a virtio device at start-up: one finding per device, naming its model,
    type and transport, with QEMU's reason."""
    first = events[0]
    vmm = refused.vmm if refused is not None else "QEMU"
    related = [(e, f"{vmm}'s next error about the same device") for e in events[1:]]
    if refused is None:
        return Hit(None, first, "QEMU refused the configuration of a virtio device; the guest "
                   "never ran", _REFUSAL_HINTS[None], related=related, key=f"config-refused-{index}")
    what = [f"id {quoted(refused.device_id, MESSAGE_LIMIT)}"] if refused.device_id else []
    if refused.device_type:
        on = f" on virtio-{refused.transport}" if refused.transport else ""
        what.append(f"a {refused.device_type} device{on}")
    detail = f" ({', '.join(what)})" if what else ""
    reason = f": {quoted(refused.reason, MESSAGE_LIMIT)}" if refused.reason else ""
    outcome = ("the device was not added; the guest runs on without it" if refused.hotplug
               else "the device was never created and the guest never ran")
    verb = "refused to hot-plug" if refused.hotplug else "refused"
    what_refused = quoted(refused.model, MESSAGE_LIMIT)
    if refused.backend:
        what_refused = (f"{quoted(refused.backend, MESSAGE_LIMIT)}, the network back-end of "
                        f"{what_refused}")
    return Hit(None, first,
               f"{vmm} {verb} {what_refused}{detail}{reason}; {outcome}",
               _REFUSAL_HINTS[refused.cause], related=related, key=f"config-refused-{index}")


_REFUSAL_HINTS = {
    "nic_type": "this VirtualBox was built without its virtio-net adapter (VBOX_WITH_VIRTIO; "
                "some distributions' packages leave it out): give the NIC another type "
                "(--nictypeN 82540EM; minikube --nat-nic-type / --host-only-nic-type) or "
                "install a VirtualBox build that has virtio",
    "fuse": "the file system daemon behind the virtio-fs device (virtiofsd) answered the "
            "driver's FUSE request with an error (the errno is the daemon's): check the "
            "shared directory on the host (its permissions, free space, the daemon's "
            "--sandbox and --cache options) and the daemon's own log",
    "netdev": "the NIC's host back-end could not be set up, so QEMU made no NIC: for a "
              "tap, /dev/net/tun must exist (modprobe tun) and QEMU needs CAP_NET_ADMIN to "
              "create one (else hand it a tap made beforehand: ip tuntap add ... then "
              "ifname=, script=no); a back-end 'not compiled into this binary' needs a QEMU "
              "built with it (or another one: -netdev user,...,restrict=on needs nothing)",
    None: "fix the -device / -global options as QEMU's message says (the bus, the id, a "
          "property; for example disable-legacy / disable-modern) and start again",
    "backend": "QEMU could not talk to the device's vhost-user back-end: start the back-end "
               "(virtiofsd, the SPDK or DPDK target ...) before QEMU and check the chardev's "
               "socket path and permissions",
    "not_migratable": "QEMU was started with -only-migratable (a management layer that "
                      "must be able to migrate the guest asks for it) and this device's "
                      "state cannot be migrated (a vhost-user device whose back-end keeps "
                      "it, such as virtio-fs or vhost-user-vsock): leave the device out of "
                      "a guest that must migrate, or drop -only-migratable",
    "drive": "QEMU could not open or use the virtio disk's image (the -drive's file): check "
             "its path, its permissions and security label (SELinux/AppArmor for libvirt's "
             "qemu user), its format=, and whether another QEMU holds its lock; the guest "
             "never ran",
    "blkio": "QEMU could not open the virtio disk's back-end its -blockdev names (a "
             "libblkio driver: the vhost-vdpa device node, the vhost-user socket or the VFIO "
             "device): check that it exists, that no other process or guest holds it, and "
             "its permissions; the guest never ran",
    "hotplug_bus": "the bus the device_add put the device on takes no hot-plugged device "
                   "(a PCI Express root bus such as pcie.0, or a bridge without hotplug): "
                   "give it bus= a pcie-root-port or bridge that supports hotplug, or add "
                   "the device at start-up",
    "rom": "the device's option ROM file is missing: install QEMU's ROMs (ipxe-qemu, "
           "the package with efi-virtio.rom) or give the device romfile= with an empty value",
}


def _nic_not_created(event, index):
    """QEMU's net_check_clients(): a -net nic / -nic of a virtio model that the machine
    had no place for. QEMU runs on, the guest boots with no such device."""
    model = quoted(event.get("device_type") or "virtio", MESSAGE_LIMIT)
    name = quoted(event.get("device") or "anonymous", MESSAGE_LIMIT)
    return Hit(None, event,
               f"QEMU did not create the requested virtio NIC ({name}, model {model}): the "
               f"machine has no bus for it, so the guest runs without this device",
               "give the NIC as a device on a bus the machine has (-device virtio-net-pci on "
               "a PCI machine, virtio-net-device on virtio-mmio, virtio-net-ccw on s390x) "
               "with -netdev, instead of -net nic,model=...",
               key=f"nic-not-created-{index}")


# A device's own error message is the finding's substance: quoted whole up to this.
MESSAGE_LIMIT = 400

_HINTS = {
    "ctrl_refused": "the device answered a control-queue command with VIRTIO_NET_ERR (class "
                    "and command as spec 5.1.6.5 numbers them: 0 rx mode, 1 mac, 2 vlan, 3 "
                    "announce, 4 mq, 5 offloads): it does not take that setting and the driver "
                    "goes on without it; compare the features it offered (CTRL_VLAN, "
                    "GUEST_ANNOUNCE, MQ) with the command",
    "ctrl": "the driver's control virtqueue failed (no answer within the timeout, an answer "
            "of the wrong length, or a command it could not queue): check the device's "
            "control queue on the host side (QEMU's virtio-net ctrl_vq, a vhost back-end) "
            "and the queue's set-up in the driver's log before it",
    "storport_reset": "storport reset the adapter's bus because a request the driver "
                      "queued was not completed within the timeout (event 129): look at "
                      "the host side of the device at that time (a stalled image or "
                      "storage back-end, a vhost or iothread stuck, QEMU's virtio errors) "
                      "before the guest driver",
    "boot_option": "the UEFI boot manager (EDK2's BdsDxe) found no bootable image on the "
                   "device or could not run it: \"Not Found\" means no EFI boot loader "
                   "where it looked (an empty or unformatted disk, no EFI system partition, "
                   "no \\EFI\\BOOT\\BOOTX64.EFI or BOOTAA64.EFI on it); \"Access Denied\" or "
                   "\"Security Violation\" means Secure Boot refused the loader; \"Device "
                   "Error\" or \"Time out\" means reads from the device failed (then look at "
                   "its virtio handshake and the VMM's errors about its back-end)",
    "tx_timeout": "the device stopped completing the interface's transmit queue: check the "
                  "host's back-end for that NIC (tap, vhost-net, vhost-user) and whether the "
                  "queue's interrupts reach the guest (MSI-X vectors, event index)",
    "io": "the device completed the driver's requests with an error status (virtio-blk "
          "VIRTIO_BLK_S_IOERR/UNSUPP): the handshake was done and the back-end failed; check "
          "the host's image file or disk (space, permissions, read-only), not the driver",
    "ioeventfd_fallback": "QEMU handles the device's notifications in its main loop "
                          "instead of an ioeventfd (slower, still working): run with KVM "
                          "(-accel kvm), and check the host's eventfd and file-descriptor "
                          "limits",
    "panic": "a thread of the VMM died at the source line shown (a bug or an unchecked error "
             "of the VMM), and the device with it, often the whole VM: report it to the VMM's "
             "project with the line, and look at what the guest or the host did just before",
    "migration": "the saved state does not fit this QEMU's device (another QEMU version, "
                 "option ROM or device options on the destination): migrate between QEMUs of "
                 "the same version and device options, or start the guest afresh",
    "no_release": "the kernel freed the virtio device as it went away (hot-unplug, the "
                  "transport's removal) and its transport had registered it without a "
                  "release() callback (drivers/base/core.c device_release() warns): a bug of "
                  "that transport's teardown (an out-of-tree one: LKL's virtio-mmio), not of "
                  "the device's set-up; the transport must set dev.release before "
                  "register_virtio_device()",
    "teardown": "the transport could not release the device's queues or interrupt "
                "indicators while the device went away (hot-unplug, driver removal, a "
                "reset): nothing the set-up depends on; if the device was not being "
                "removed, look at the host's channel subsystem (virtio-ccw: device_del, the "
                "subchannel's state)",
    "connection": "one connection through the vsock device failed and the VMM reset it "
                  "(its host-side socket peer closed, stalled or refused): the device goes "
                  "on serving the others; look at the program on the host end of that "
                  "port if the guest's application needed the connection",
    # firecracker-go-sdk vsock/dial.go, firecracker-containerd internal/vm/vsock.go
    "host_dial": "the host gave up connecting to the guest through the vsock device's Unix "
                 "socket: 'connection refused' or 'no such file' says the VMM was not "
                 "serving that socket (it had exited or failed to start, was given no "
                 "vsock device or another uds_path, or a jail hides the path); a failed "
                 "'OK <port>' acknowledgement says nothing in the guest listened on the "
                 "port (its agent did not start): read the VMM's log and the guest's console",
    "vhost": "the device's vhost back-end failed or went away (vhost-net in the host "
             "kernel, or a vhost-user daemon: virtiofsd, an SPDK or DPDK target): read the "
             "back-end's own log, and start it before the VM with the socket path and "
             "memory sharing (share=on) the VMM expects; the guest's driver is rarely the "
             "cause",
    "tap_create": "the host could not make the net device's back-end, its tap (libvirt: "
                  "the kernel refused TUNSETIFF: the name is in use, /dev/net/tun is not "
                  "reachable, or a multiqueue tap with more queues than the kernel or the "
                  "process may open): the domain does not start or migrate with this NIC; "
                  "fix the tap's name, queues or permissions on the host, not the guest",
    "tap": "the net device's host back-end, its tap, refused the frame (EIO: the tap "
           "exists but is down or has no carrier; EBADFD/ENODEV: it went away): bring it up "
           "(ip link set <tap> up) and attach it where the guest's traffic should go; the "
           "guest's driver and the device's set-up are not the cause",
    "serial_control": "the guest's virtio-console driver and QEMU's virtio-serial device "
                      "disagree about the ports: the driver reported it could not add the "
                      "device or a port (DEVICE_READY or PORT_READY with 0: no memory for the "
                      "port's buffers, a port it could not register), or its control message "
                      "named a port id the device does not have (driver and device out of step "
                      "after a hot-unplug, or a corrupt control queue). Read the guest's "
                      "virtio_console messages at that time; the port ids QEMU has are the "
                      "virtserialport nr= values",
    "vhost_fallback": "QEMU could not start the NIC's vhost back-end and moved its "
                      "datapath into its own process: the device works, slower; check "
                      "/dev/vhost-net (the vhost_net module, its permissions), the tap's "
                      "options, or whether a vDPA back-end handles the guest's byte order",
    "balloon_stats": "the balloon's statistics timer fired while the guest held no stats "
                     "buffer to answer: a driver without the stats queue "
                     "(VIRTIO_BALLOON_F_STATS_VQ) or one slow to return the buffer; the "
                     "statistics stay stale, inflating and deflating go on. Set "
                     "stats_polling_interval_s to 0 if the guest cannot report them",
    "driver_protocol": "the guest's driver broke the device's protocol (Firecracker's "
                       "balloon: a second statistics buffer before the first was answered); "
                       "the device returned the extra buffer and goes on: look at the guest "
                       "driver's version",
    "metrics": "Firecracker's metrics counted failures of the device in that flush "
               "interval (execute_fails: block requests the backing file failed, "
               "tap_read_fails / tap_write_fails: the tap, event_fails: its queue events, "
               "cfg_fails: config-space accesses out of range): read the error lines its log "
               "has for the same minute, which name the cause",
    "dma_mask": "the kernel could set no DMA mask for the transport and went on with the "
                "default one: the device works only while its buffers lie where it can reach "
                "them; check the platform's DMA ranges (device tree dma-ranges, IOMMU)",
    "iommu_fault": "the virtio-iommu only reports it: the endpoint did DMA to an address its "
                   "domain does not map (page), or while attached to no domain (domain). Look "
                   "at the endpoint's driver (a buffer used after unmap, or never mapped) and "
                   "at the VMM's side of the mappings (QEMU with vhost or VFIO behind the "
                   "IOMMU, iommu_platform=on); the endpoint id is its PCI requester id "
                   "(bus << 8 | devfn) on PCI",
    "dma_fault": "the IOMMU blocked the device's DMA: it used an address its domain does "
                 "not map (or mapped without that access). With a virtual IOMMU (QEMU "
                 "intel-iommu, smmuv3, amd-iommu) the device must negotiate "
                 "VIRTIO_F_ACCESS_PLATFORM (iommu_platform=on) so the driver maps its "
                 "buffers through the DMA API; check that, and that the back-end (vhost, "
                 "vhost-user) translates through the IOMMU (device-iotlb / ats=on)",
    "dma_bounce": "the kernel's bounce buffer (swiotlb) had no free slot for the device's "
                  "DMA mapping: the mapping failed, and the request or packet it carried "
                  "with it. Every DMA of a confidential guest (SEV, TDX), and of a device the "
                  "kernel cannot reach directly, goes through it: enlarge it (swiotlb=<slabs> "
                  "on the kernel command line; CONFIG_SWIOTLB_DYNAMIC grows it, 6.6+) or make "
                  "the mappings smaller (fewer queues or a smaller queue size, a lower "
                  "max_sectors for a disk)",
    "io_error": "the block layer failed requests of the disk: the device completed them "
                "with VIRTIO_BLK_S_IOERR, or they timed out. The cause is behind the device: "
                "its back-end (the image file and the host's disk under it, a vhost-user-blk "
                "or SPDK target, network storage): read the VMM's and the host's logs at "
                "that time; a file system that follows with errors is its consequence",
    "capset_error": "virtio_gpu had set DRIVER_OK and asked the GPU for its cap sets (the "
                    "3D renderers it offers) on the control queue: the device did not answer "
                    "within 5 s (timed out) or named an id outside 1-63 (invalid capset id). "
                    "The GPU's back-end did not serve its control queue: QEMU's virgl or "
                    "rutabaga renderer, or a vhost-user-gpu process; read the host's log "
                    "then. The driver goes on without 3D contexts, and its next commands "
                    "(display info, EDID) wait on the same queue",
    "fbdev": "the GPU was driven (its DRM device registered); only the kernel's fbdev "
             "emulation on it failed, so no framebuffer console there (ret: the errno; "
             "-ENOMEM the guest's memory for the buffer). Display clients that use DRM "
             "directly (a compositor, Xorg's modesetting) are not affected; with no console "
             "wanted on it, drm_kms_helper.fbdev_emulation=0 (or CONFIG_DRM_FBDEV_EMULATION=n) "
             "skips it",
    # FreeBSD's WITNESS (sys/kern/subr_witness.c witness_checkorder()): the driver took
    # one of its locks in the reverse of an order seen before
    "lock_order": "FreeBSD's WITNESS saw the driver take this lock in the reverse of an order "
                  "it saw before (the 1st, 2nd and 3rd lines say which locks and where): two "
                  "threads taking them so could deadlock; the device works, the handshake is "
                  "not concerned. Read the backtrace after it for the path, and report it "
                  "with the kernel's version (a known LOR may be harmless; "
                  "debug.witness.watch=0 silences WITNESS)",
    # model/journal_hangs.py: a file system's journal thread of the disk, blocked
    "hung": "the disk's file system journal thread waited past the hung-task timeout for "
            "I/O the device did not complete (its requests neither completed nor failed): "
            "the cause is behind the device: its back-end stalled or is too slow (the "
            "image's host storage, an iothread or vhost worker stuck, network storage, a "
            "host under load): read the VMM's and the host's logs at that time",
    "backend_io": "the VMM's block back-end failed the request (the host's error at the "
                  "line's end: EIO, ENOSPC, a sector out of range): the disk image's file "
                  "or the storage under it (the host's disk and file system, network "
                  "storage). cloud-hypervisor v4x+ completes the request with "
                  "VIRTIO_BLK_S_IOERR and the guest's block layer reports the I/O error; "
                  "older releases stop the queue's worker and the disk hangs. Look at the "
                  "host's kernel log and the storage at that time, not at the guest",
    "gpu_response": "the device refused a command of the driver (spec 5.7.6.7): an invalid "
                    "resource or context id is a resource the host does not know (lost on "
                    "resume or migration, or never created there), ERR_UNSPEC a failure of "
                    "the host's renderer (virglrenderer, the VMM's log says which); compare "
                    "the host's log at the same time",
    "vhost_legacy": "the guest's driver negotiated the legacy interface (no "
                    "VIRTIO_F_VERSION_1) and the vhost-user back-end serves virtio 1.0 "
                    "drivers only (libvhost-user: the C virtiofsd, QEMU's vhost-user "
                    "daemons): use a driver with modern (virtio 1.0) support, or make the "
                    "device modern-only (disable-legacy=on) so a legacy driver cannot bind it",
    "reset_active": "the driver reset (status 0) a device the VMM still had running: a guest "
                    "shutting down or reloading its driver does this. A VMM that cannot "
                    "reset the device keeps it as it was (Firecracker before its devices "
                    "supported reset): the driver's next handshake is then refused (\"... in "
                    "invalid state\" lines), which is the error to follow",
    "register_read": "the VMM answered the driver's read of a register its transport does "
                     "not have (an offset past the common configuration, a width the "
                     "register is not read with) with nothing, and carried on: a driver "
                     "that reads a register of the other virtio interface (legacy or "
                     "modern) or reads with the wrong width; the device was not touched, "
                     "whether it works is its DRIVER_OK's to say. A write to such a "
                     "register (dropped) is an error",
    "tap_busy": "the net device's tap would not take a frame (EAGAIN: its queue on the "
                "host is full, nothing on the host side reads it fast enough); the VMM keeps "
                "the frame in the ring and sends it again. Repeated without end, the guest's "
                "traffic stalls: look at what the tap is attached to (a bridge, a switch "
                "daemon, a stopped consumer), not at the guest's driver",
    "backend_warning": "the vhost-user back-end warned and serves on (SPDK: a guest memory "
                       "region it could not register for DMA, so I/O to buffers there may "
                       "fail): if the guest's I/O fails later, start there (hugepages, the "
                       "memory backing the VM shares with the target)",
    "vmm": "the VMM's model of the device refused what the driver did, or could not serve "
           "it (libvmm: a register or feature selector the device does not have, a request "
           "its queue to the host driver had no room for; bhyve and the VMMs that copied its "
           "virtio core: a descriptor chain it could not follow, which stalls that queue, or "
           "a queue it does not have): compare the driver's step just before with the "
           "spec's, and the VMM's configuration of that device",
    "register": "the VMM dropped the driver's write to a register its transport does not "
                "have (an offset past the configuration it serves, a read-only register, a "
                "width the register is not written with): the step the driver meant did "
                "not happen. A driver of the other virtio interface (legacy or modern) "
                "than the one the VMM serves, or a driver bug; a read of such a register "
                "is only a warning",
    "vmm_warning": "the VMM's model of the device warned and serves on (libvmm: a block "
                   "request waits until the data region it shares with its sDDF driver has "
                   "room): repeated without end, the device's I/O stalls; look at the host "
                   "driver that should free that region",
    "vhost_migration": "the VMM could not migrate the device because its vhost-user back-end "
                       "does not support it: the back-end must offer dirty-page logging "
                       "(VHOST_F_LOG_ALL with VHOST_USER_PROTOCOL_F_LOG_SHMFD), or keep "
                       "its state across a restore, for the VMM to move the device",
    "irq_disabled": "the kernel switched the device's interrupt line off after 100,000 "
                    "interrupts no handler claimed: from then on the device's used buffers "
                    "and configuration changes raise nothing and its queues stall. The line "
                    "fired without the device having work: a level-triggered INTx the device "
                    "keeps asserted (ISR status never read and cleared), a line shared with a "
                    "device whose driver does not ack it, or a wrong routing (the _PRT or "
                    "interrupt-map); prefer MSI-X (the VMM's vectors=, pci=nomsi not set)",
    "irq_unhandled": "the device's interrupt line fired 99,900 times in 100,000 with no "
                     "handler claiming it (the kernel disables the line next): a "
                     "level-triggered INTx left asserted, a line shared with a device whose "
                     "driver does not ack it, or a wrong routing; prefer MSI-X",
    "driver": "the device's driver printed this error about it (its own message, read as "
              "an error by its words): look it up in the driver's source for what failed "
              "there; it is no sign that the device marked itself broken, and whether the "
              "device came up is its DRIVER_OK's (or its probe's) to say",
    "xdp": "an XDP program on the interface wants a transmit queue pair per CPU beyond "
           "the stack's (or a smaller MTU, or ANY_LAYOUT) and the device has fewer: before "
           "5.12 the program was refused, since then XDP_TX and XDP_REDIRECT share queues "
           "under a lock. The device works: give it more queue pairs (QEMU -netdev "
           "...,queues=N, virtio-net-pci mq=on) or a smaller MTU",
    "beyond_capacity": "the firmware's virtio-blk driver (SLOF) refused a read past the end "
                       "of the disk, by the capacity it read from the device's "
                       "configuration space: that capacity is wrong (read in the wrong byte "
                       "order: a VMM and firmware that disagree on the device's endianness) "
                       "or the firmware reads with a block size above 512 (a DOS partition "
                       "table on a disk with logical_block_size > 512): it cannot load from "
                       "this disk; check the disk's size and block size in the VMM",
    "block_size": "the firmware's virtio-blk driver (SLOF) takes only block sizes that are "
                  "a multiple of 512 and the device's blk_size is not: it reads nothing "
                  "from the disk; set the disk's logical_block_size to 512 or a multiple",
    "xdp_refused": "virtio_net refused to attach an XDP program; the device works on "
                   "without it. By the reason given: guest offloads offered without "
                   "VIRTIO_NET_F_CTRL_GUEST_OFFLOADS (turn them off in the VMM: QEMU "
                   "guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off,"
                   "guest_csum=off), merged buffers without ANY_LAYOUT, an MTU above a "
                   "page, or fewer queue pairs than CPUs (QEMU queues=N, mq=on); or "
                   "attach it in generic mode (xdpgeneric)",
    "hotplug_timeout": "the Kata agent waited in vain for the guest kernel to show the "
                       "device the runtime hot-plugged (its block device, its network "
                       "interface): check the guest's kernel log at that time for the PCI "
                       "function at that address (no slot on the bridge, no BAR space, no "
                       "driver: the guest kernel needs virtio_blk, virtio_scsi or "
                       "virtio_net), the VMM's answer to the hot-plug (QEMU's device_add, "
                       "an add-disk of cloud-hypervisor), and the agent's hotplug_timeout",
    "port_missing": "a unit of the guest (qemu-guest-agent, spice-vdagent) needs this "
                    "virtio-serial port and it never appeared: the VM has no "
                    "virtio-serial device with a port of that name (libvirt <channel> with "
                    "<target type='virtio' name='...'/>, QEMU -device virtio-serial "
                    "-device virtserialport,name=...), or the guest lacks virtio_console",
    "pm": "the system's suspend or hibernation stopped at this device: its driver cannot "
          "freeze and restore it (virtio_mem has no save/restore), or the transport's "
          "freeze failed. The device's set-up is not in question; do not suspend a guest "
          "with this device, or use a kernel whose driver supports it",
}
# Errors after which the driver goes on (virtio_mmio/virtio_pci "Failed to enable 64-bit or
# 32-bit DMA ..."), or of a device on its way out (virtio_ccw "Error -22 while deleting
# queue 0" at detach), or QEMU does (no ioeventfd:
# "Fallback to userspace (slower)"), or about one connection through the device
# (Firecracker's vsock/csm/ and vsock/unix/: the VMM resets that stream and serves the
# others), or QEMU's virtio-net runs the datapath itself when vhost would not start
# ("falling back on userspace virtio"), or a suspend a driver refused (virtio_mem cannot
# freeze its device), or a driver reset a device the VMM still ran (Firecracker's and
# libkrun's "reset device while it's still in active state"), or a driver read a register
# the VMM's transport does not have (cloud-hypervisor, Firecracker: the read gives 0, the
# device is untouched; a write there is dropped and stays an error), or a tap that would
# block (cloud-hypervisor sends the frame again), or a vhost-user back-end's own warning
# (SPDK's *WARNING*: it serves on), or a VMM's device model's own warning (libvmm's
# "VIRTIO(BLOCK)|WARN: ..."), or an XDP program that got fewer queues than it wanted (the
# device serves on; virtio_net's virtnet_xdp_set()), or a virtio-serial port a unit of the
# guest waited for in vain (systemd; the boot goes on without that unit): a warning, not a
# failure; the device's own verdict (DRIVER_OK reached or not) says whether it worked.
_WARNING_ONLY = {"connection", "dma_mask", "balloon_stats", "ioeventfd_fallback", "teardown", "vhost_fallback",
                 "pm", "reset_active", "register_read", "tap_busy", "backend_warning", "fbdev",
                 "no_release", "lock_order", "vmm_warning", "xdp", "xdp_refused", "port_missing", "ctrl_refused"}


def _errors(device, groups, model=None):
    """One finding per error group of the model (records.error_groups: kind and message
    shape, numbers aside; the rejections of a driver's act are the rule's about that act)."""
    for group in groups:
        first, more = group.events[0], group.events[1:]
        repeats = f" ({len(group.events)} times)" if more else ""
        if group.detail == "boot_option":
            who = device.id if device is not None else _boot_device(first)
            yield _boot_failed(device, group, who, repeats, model)
            continue
        who = (device.id if device is not None else
               # an IOMMU's fault of no named stream: any device behind it, virtio or not
               "a device the line does not name" if group.detail == "dma_fault" else
               # systemd waited for /dev/virtio-ports/NAME: a port no device of the log has
               _missing_port(first) if group.detail == "port_missing" else
               unnamed_device(first, model))
        if device is not None and device.declaration is not None and backend_option(first):
            # QEMU's error about the back-end of a NIC its command line declared
            who = f"{who}, declared {device.declaration.name}"
        kind = f" [{group.detail}]" if group.detail else ""
        yield Hit(device, first,
                  f"{who}: device error{kind}{repeats}: {quoted(group.message, MESSAGE_LIMIT)}"
                  f"{_what_it_names(first)}",
                  _port_hint(first) if group.detail == "port_missing" else _HINTS.get(group.detail,
                             "the device marks itself broken until the next reset: check "
                             "the ring addresses and indices the driver gave it, and the "
                             "step before the error"),
                  related=[(e, "same error again") for e in more[:2]],
                  key=f"error:{group.detail}:{group.key}"[:120],
                  severity="warning" if group.detail in _WARNING_ONLY or (
                      device is None and group.detail == "dma_fault") else None)


def _missing_port(event) -> str:
    """The virtio-serial port systemd waited for, by the name its line gives."""
    name = event.get("port_name")
    return (f"the virtio-serial port {quoted(str(name), MESSAGE_LIMIT)} a unit of the guest "
            "waits for" if name else "the virtio-serial port a unit of the guest waits for")


def _port_hint(event) -> str:
    """How to give the guest the port it waited for, by its name."""
    name = event.get("port_name")
    if not name:
        return _HINTS["port_missing"]
    name = quoted(str(name), MESSAGE_LIMIT)
    return (f"the VM has no virtio-serial port named {name} (or the guest lacks "
            "virtio_console): give it one, QEMU -device virtio-serial -device virtserialport,"
            f"chardev=ID,name={name} (libvirt: a <channel> with <target type='virtio' "
            f"name='{name}'/>)")


def _boot_device(event) -> str:
    """How a boot manager's failure names a device no line of the log shows: by the PCI
    function of its device path, when the path gives one on a root bus."""
    address = pci_address(event)  # the model's reading of the bus, slot and function
    if address is not None:
        return f"the device at PCI {address} (no other line of the log names it)"
    base = mmio_base_of(event)  # the model's reading of a virtio-mmio device path
    if base is not None:
        return f"the device at virtio-mmio {base:#x} (no other line of the log names it)"
    return "a device behind a PCI bridge (no other line of the log names it)"


def _boot_failed(device, group, who, repeats, model):
    """The firmware's boot manager could not load or start a boot option from a device:
    an error when the OS never spoke after it (the boot stopped in the firmware), else a
    warning (another option booted)."""
    first = group.events[-1]  # the latest attempt: what the boot manager did last
    went_on = model is not None and model.eras.os_spoke_after(first.seq)
    after = "; the OS started afterwards (from another boot option)" if went_on else ""
    return Hit(device, first,
               f"{who}: the firmware could not boot from it{repeats}: "
               f"{quoted(group.message, MESSAGE_LIMIT)}{after}",
               _HINTS["boot_option"],
               related=[(e, "an earlier attempt") for e in group.events[:-1][:2]],
               key=f"error:boot_option:{group.key}"[:120],
               severity="warning" if went_on else None)


def _what_it_names(event) -> str:
    """What the numbers of an error line stand for, from its typed fields: the virtio-gpu
    command and response (spec names), the endpoint of a virtio-iommu fault."""
    if event.payload.detail == "gpu_response" and event.get("response") is not None:
        command = spec.gpu_code_name(spec.GPU_COMMANDS, "CMD", event.get("command"))
        response = spec.gpu_code_name(spec.GPU_ERROR_RESPONSES, "RESP", event.get("response"))
        return f" (the device answered {command} with {response})"
    endpoint = event.get("endpoint")
    if event.payload.detail == "iommu_fault" and isinstance(endpoint, int):
        if endpoint <= 0xFFFF:
            bdf = f"{endpoint >> 8:02x}:{(endpoint >> 3) & 0x1F:02x}.{endpoint & 7}"
            return f" (endpoint {endpoint}: PCI {bdf} if it is a requester id)"
        return f" (endpoint {endpoint})"
    return ""


def _before(device, change):
    earlier = [s for s in device.status if s.event.seq < change.event.seq and s.value]
    if not earlier:
        return []
    last = earlier[-1]
    return [(last.event, f"previous status {status_text(last.value)}")]
