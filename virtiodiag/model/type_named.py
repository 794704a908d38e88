"""Lines that name their device by its type alone: which device of the run each is about.

A VMM's, firmware's or guest's line may name no device, only its type (Firecracker's
"Failed to activate virtio device: Vsock(...)", rust-hypervisor-firmware's "Virtio block
device configured", Linux's "scsi host2: Virtio SCSI HBA"). This module owns the choice of
the device such a line is about, for attribution.py, which asks it only when the line's
own names matched no device; the record a driver's type-only success line made when no
device of that type was known is joined at the end by typed_records.py.
"""

from __future__ import annotations

from virtiodiag import limits, spec
from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model
from virtiodiag.model.identity import Identities

# Lines whose kind alone names their device's type: a SCSI LUN's line (SeaBIOS's
# scsi_drive_setup "virtio-scsi blksize=512 sectors=N") is its SCSI host adapter's; a GPU's
# first cap set ("[drm] cap set 0: id 1, ...", virtgpu_kms.c virtio_gpu_get_capsets(): no
# other DRM driver prints it) is a virtio GPU's; a request guestfsd read from its
# virtio-serial port ("guestfsd: <= %s (0x%x) request length %u bytes") is the console's.
_TYPE_OF_DETAIL = {"scsi_lun": "scsi", "capset": "gpu", "serial_port": "console"}


class TypeNamedLines:
    """The device a type-only line of one run is about (or None: not known)."""

    def __init__(self, model: Model, identities: Identities):
        self.model = model
        self.identities = identities
        self._typed: dict[tuple[str, str], Device] = {}  # (type, driver's number) -> device

    def only_of_its_type(self, event: Event, side: str) -> Device | None:
        """A line naming only its device's type (Firecracker's "Failed to activate virtio
        device: Vsock(...)", rust-hypervisor-firmware's "Virtio block device configured", a
        guest's "[drm:virtio_gpu_...] *ERROR*"): the one device of that type its side shows
        (a guest's error of a type only the VMM shows: its one, as join_by_unique_type)."""
        wanted = spec.normalise_type(event.get("device_type")
                                     or _TYPE_OF_DETAIL.get(str(event.payload.detail)))
        if wanted is None:
            return None
        typed = [d for d in self.model.device_index.of_type(wanted)  # model/device_index.py
                 if d.device_type == wanted and d.aliases]
        found = [d for d in typed if side in d.sides]
        if not found and side == "guest" and event.kind == "device_error":
            found = typed
        if len(found) > 1 and side == "firmware":
            # A firmware drives a type's devices in the order it listed them (rust-hypervisor-
            # firmware walks the bus by slot): the line is the first it has not finished with.
            found = [d for d in found if d.driver_ok_implied is None
                     and not d.probe_failures and d.features_refused is None][:1]
        return found[0] if len(found) == 1 else None

    def probing_of_its_type(self, event: Event) -> Device | None:
        """A guest's success line that names only its device's type and the driver's own
        number for it (Linux's "scsi host2: Virtio SCSI HBA", printed by virtio_scsi's probe
        under the SCSI host's name): the first device of that type the guest shows whose
        driver is not yet done; else the one guest device of no known type whose driver is not
        yet done; else the device an earlier line with that number went to (a
        reboot in the same log prints it again); else a new record of that type, the line
        being the only sign of the device."""
        wanted = spec.normalise_type(event.get("device_type")
                                     or _TYPE_OF_DETAIL.get(str(event.payload.detail)))
        if wanted is None:
            return None
        key = (wanted, str(event.get("slot")))
        waiting = [d for d in self.model.device_index.of_type(wanted)
                   if d.device_type == wanted and d.aliases and d.sides - {"host"}
                   and d.driver_ok_implied is None and not d.reached_driver_ok]
        device: Device | None
        if not waiting and key not in self._typed:
            # A quiet console shows the function virtio_pci enabled ("virtio-pci
            # 0000:01:02.0: enabling device") but not its type: when exactly one such
            # device waits for its driver, the type-only line is its driver's.
            waiting = [d for d in self.model.devices
                       if d.device_type is None and d.aliases and d.sides - {"host"}
                       and d.driver_ok_implied is None and not d.reached_driver_ok
                       and not d.probe_failures]
            if len(waiting) > 1:
                waiting = []
        if waiting:
            device = min(waiting, key=lambda d: d.first_event.seq if d.first_event else 0)
        else:
            known = self._typed.get(key)
            device = known if known is not None and known.aliases else (
                self.identities.device_for((f"typed:{wanted}:{key[1]}",)))
        if device is not None:
            device.device_type = device.device_type or wanted
            if len(self._typed) < limits.DEVICES:
                self._typed[key] = device
        return device
