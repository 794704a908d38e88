"""QEMU's view of the devices (a QMP snapshot) beside the log's devices.

Each QEMU device is paired with the device the log describes: by PCI slot and function
(QEMU's ``addr`` against the guest's 0000:00:SS.F), else by device type when exactly one
device of that type is left on each side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtiodiag import spec
from virtiodiag.reports.escape import safe

if TYPE_CHECKING:
    from virtiodiag.launch.qmp import DeviceView, Snapshot
    from virtiodiag.model.device import Device, Model


def pair(snapshot: Snapshot | None, model: Model) -> list[tuple[DeviceView, Device | None]]:
    """[(DeviceView, log Device or None)] in QEMU's order."""
    if snapshot is None or not snapshot.devices:
        return []
    devices = model.live_devices()
    taken: set[int] = set()
    pairs: list[list] = []
    for view in snapshot.devices:
        match = None
        if view.pci_address:
            match = next((d for d in devices if id(d) not in taken and d.address
                          and d.address.lower().endswith(":" + view.pci_address)), None)
        if match is not None:
            taken.add(id(match))
        pairs.append([view, match])
    for entry in pairs:
        if entry[1] is not None:
            continue
        view = entry[0]
        same = [d for d in devices if id(d) not in taken and d.device_type == view.device_type]
        views = [e for e in pairs if e[1] is None and e[0].device_type == view.device_type]
        if len(same) == 1 and len(views) == 1:
            entry[1] = same[0]
            taken.add(id(same[0]))
    return [(entry[0], entry[1]) for entry in pairs]


def render_text(snapshot, model, stream) -> None:
    if snapshot is None:
        return
    stream.write(f"\nQEMU's view of the devices (QMP, at {snapshot.when}):\n")
    if snapshot.note:
        stream.write(f"  {safe(snapshot.note)}\n")
    for view, device in pair(snapshot, model):
        where = f" at {view.pci_address}" if view.pci_address else ""
        log_name = safe(device.id) if device is not None else "no device of the log"
        stream.write(f"  {safe(view.name)}{where} ({safe(view.path)}) = {log_name}\n")
        stream.write(f"    status 0x{view.status:02x} {spec.status_names(view.status)}"
                     f"{'; broken' if view.broken else ''}"
                     f"{'' if view.vm_running else '; VM not running'}\n")
        offered = ", ".join(view.host_features[b] for b in sorted(view.host_features))
        accepted = ", ".join(view.guest_features[b] for b in sorted(view.guest_features))
        stream.write(f"    features offered  0x{view.features_offered:x}: {offered or '-'}\n")
        stream.write(f"    features accepted 0x{view.features_accepted:x}: {accepted or '-'}\n")
        for q in view.queues:
            state = "not set up" if not q.configured else (
                "never filled" if not q.filled else "in use")
            given = "" if q.avail_idx is None else f", guest avail idx {q.avail_idx}"
            stream.write(f"    queue {q.index}: size {q.size}, last_avail_idx "
                         f"{_idx(q.last_avail_idx)}, used_idx {q.used_idx}, inuse {q.inuse}"
                         f"{given} ({state})\n")


def to_dict(snapshot, model) -> dict | None:
    if snapshot is None:
        return None
    devices = []
    for view, device in pair(snapshot, model):
        devices.append({
            "path": view.path, "name": view.name, "type": view.device_type,
            "pci_address": view.pci_address, "log_device": device.id if device else None,
            "status": view.status, "status_names": spec.status_names(view.status),
            "features_offered": view.features_offered,
            "features_accepted": view.features_accepted,
            "broken": view.broken, "vm_running": view.vm_running,
            "queues": [{"index": q.index, "size": q.size, "last_avail_idx": q.last_avail_idx,
                        "used_idx": q.used_idx, "inuse": q.inuse,
                        "avail_idx": q.avail_idx, "configured": q.configured} for q in view.queues],
        })
    return {"when": snapshot.when, "note": snapshot.note, "devices": devices}


def _idx(value) -> str:
    return "-" if value is None else str(value)
