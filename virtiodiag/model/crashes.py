"""Kernel crash reports tied to the device whose driver was probing when it happened.

An Oops, BUG or WARNING whose call trace holds a virtio driver's function (virtnet_probe,
init_vqs [virtio_net], virtblk_probe, vp_find_vqs ...) happened in that driver; when the
trace runs through a probe (``*_probe``, ``virtio_dev_probe``, ``really_probe``) the
driver was probing a device, so the crash is that device's: its probe never returned and
DRIVER_OK was never set. Which device: the one of the driver's type that has no sign of
DRIVER_OK yet, in the order the log found them; a crash no device fits stays run-wide.
A crash (or a soft lockup, hung task, RCU stall) in a virtio driver's function outside a
probe (virtnet_send_command from "ip", a driver's work item) is the driver's too: it stays
run-wide, with the frame that names the driver; it changes no device's DRIVER_OK.
"""

from __future__ import annotations

from virtiodiag.events import Event
from virtiodiag.model.attempts import DriverOk
from virtiodiag.model.device import Device, Model
from virtiodiag.model.records import Crash

# Module (as printed in "[module]") -> device type; the virtio core modules map to None
# (any virtio device).
MODULE_TYPES = {
    "virtio_net": "net", "virtio_blk": "block", "virtio_console": "console",
    "virtio_scsi": "scsi", "virtio_balloon": "balloon", "virtio_rng": "rng",
    "virtio_input": "input", "virtio_gpu": "gpu", "virtio-gpu": "gpu", "virtiofs": "fs",
    "9pnet_virtio": "9p", "vmw_vsock_virtio_transport": "vsock", "virtio_crypto": "crypto",
    "virtio_iommu": "iommu", "virtio_mem": "mem", "virtio_snd": "sound",
    "virtio_pmem": "pmem", "virtio": None, "virtio_ring": None, "virtio_pci": None,
    "virtio_mmio": None, "virtio_pci_modern_dev": None, "virtio_pci_legacy_dev": None,
}
# Function-name prefixes of the same drivers (built-in drivers print no module).
PREFIX_TYPES = (
    ("virtnet_", "net"), ("virtio_net_", "net"), ("virtblk_", "block"),
    ("virtcons_", "console"), ("virtio_cons", "console"), ("virtscsi_", "scsi"),
    ("virtballoon_", "balloon"), ("virtio_balloon", "balloon"), ("virtrng_", "rng"),
    ("virtinput_", "input"), ("virtio_gpu_", "gpu"), ("virtio_fs_", "fs"),
    ("p9_virtio_", "9p"), ("virtio_vsock_", "vsock"), ("virtio_transport_", "vsock"),
    ("virtcrypto_", "crypto"), ("viommu_", "iommu"), ("virtio_mem_", "mem"),
    ("virtsnd_", "sound"), ("virtio_pmem", "pmem"),
    ("virtio_", None), ("vp_", None), ("vm_", None), ("vring_", None), ("virtqueue_", None),
)


def driver_of(frame: Event) -> tuple[bool, str | None]:
    """(is a virtio driver's frame, the device type it drives or None for the core)."""
    module = frame.get("module")
    if isinstance(module, str) and module in MODULE_TYPES:
        return True, MODULE_TYPES[module]
    function = str(frame.get("function") or "")
    for prefix, kind in PREFIX_TYPES:
        if function.startswith(prefix):
            if kind is None and module:
                return False, None  # vm_* of another module (vm_mmap ...)
            return True, kind
    return False, None


def _in_probe(frames: list[Event]) -> bool:
    for frame in frames:
        function = str(frame.get("function") or "")
        if function.endswith("_probe") or function in ("really_probe", "virtio_dev_probe",
                                                        "driver_probe_device", "init_vqs"):
            return True
    return False


def attribute_crashes(model: Model) -> None:
    for oops, frames in model.crashes:
        virtio = [(frame, kind) for frame in frames for ok, kind in [driver_of(frame)] if ok]
        if not virtio:
            continue
        typed = next(((frame, kind) for frame, kind in virtio if kind), None)
        frame, kind = typed if typed is not None else virtio[0]
        in_probe = _in_probe(frames)
        if not in_probe:
            # Outside a probe only where it faulted counts (the RIP/pc line or the WARNING's
            # own function comes first): a virtnet_poll deep in a network stack's trace is
            # where the packet came from, not what crashed.
            if driver_of(frames[0])[0] or _names_virtio_source(oops):
                model.unattributed_crashes.append(Crash(oops, frame, kind, in_probe))
            continue
        device = _probed_device(model, kind, oops)
        if device is None:
            model.unattributed_crashes.append(Crash(oops, frame, kind, in_probe))
            continue
        if device.crash is None:
            device.crash, device.crash_report = oops, Crash(oops, frame, kind, in_probe)
            device.add_timeline(oops)


def _names_virtio_source(oops: Event) -> bool:
    """'kernel BUG at drivers/net/virtio_net.c:1664!' names the driver's own source file."""
    source = oops.get("source")
    return isinstance(source, str) and source.startswith("drivers/") and "virtio" in source


def _probed_device(model: Model, kind: str | None, oops: Event) -> Device | None:
    candidates = [d for d in model.live_devices()
                  if d.virtio_id != 0 and d.first_event is not None
                  and d.first_event.seq < oops.seq
                  and (kind is None or d.device_type == kind)
                  and d.driver_ok.state not in (DriverOk.REACHED, DriverOk.IMPLIED)]
    if kind is None and len(candidates) > 1:
        # The core's frames alone: the device the log touched last before the crash.
        candidates.sort(key=lambda d: max(e.seq for e in d.timeline if e.seq < oops.seq))
        return candidates[-1]
    return candidates[0] if candidates else None
