"""An IOMMU's event records and the virtio device each one is about (grammars/linux_smmu.lark).

Linux's Arm SMMUv3 driver prints a record it did not handle as a header, "event 0x%02x
received:", and the record's four 64-bit words, one per line (arm-smmu-v3.c
arm_smmu_evtq_thread(), arm_smmu_dump_raw_event() since 6.15). The first word holds the
event id (EVTQ_0_ID, bits 7:0) and the stream ID (EVTQ_0_SID, bits 63:32); 6.15+ adds a
decoded line naming the stream ID and the device bound to it ("client: 0000:00:03.0"). A
PCI function's stream ID is its requester ID, bus << 8 | devfn, when the SMMU's stream map
is the identity (QEMU's virt machine, the usual IORT and iommu-map): at the end of the run
each record whose device the log knows becomes a DMA fault of that device
(device_error[dma_fault], as an Intel or AMD IOMMU's fault line is), at the header's line.
A record of a function no virtio device of the log sits on is left alone, as those are.

Arm SMMUv2 (arm-smmu.c) prints no records: a context fault its domain did not handle is one
line, "Unhandled context fault: ..., cbfrsynra=0x%x, cb=%d" (5.3+; CBFRSYNRA's low 16 bits
are the faulting stream ID), and a stream no context claims, with bypass disabled,
"Blocked unknown Stream ID 0x%hx; ...". Each is a record of that stream, mapped the same
way (an SMMUv2 in front of a PCIe root complex uses the same identity iommu-map). A
context fault of a kernel before 5.3 ("Unhandled context fault: fsr=0x%x, iova=0x%08lx,
fsynr=0x%x, cb=%d", and before 4.x without fsr) names its context bank, not its stream:
no line of the log says which device that bank translates for (arm-smmu.c gives a domain
the first free bank when it is first attached, and prints nothing of it), so the fault is
the run's DMA fault of no named device (model.unattributed_errors), with its SMMU and
bank: a device's DMA was blocked, and the log cannot say whose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtiodiag.events import Event, Payload
from virtiodiag.model.identity import normalise_bdf

if TYPE_CHECKING:
    from virtiodiag.model.device import Device, Model
    from virtiodiag.model.identity import Identities

_NAMES = {0x01: "F_UUT", 0x02: "C_BAD_STREAMID", 0x03: "F_STE_FETCH", 0x04: "C_BAD_STE",
          0x05: "F_BAD_ATS_TREQ", 0x06: "F_STREAM_DISABLED", 0x07: "F_TRANSL_FORBIDDEN",
          0x08: "C_BAD_SUBSTREAMID", 0x09: "F_CD_FETCH", 0x0A: "C_BAD_CD",
          0x0B: "F_WALK_EABT", 0x10: "F_TRANSLATION", 0x11: "F_ADDR_SIZE", 0x12: "F_ACCESS",
          0x13: "F_PERMISSION", 0x20: "F_TLB_CONFLICT", 0x21: "F_CFG_CONFLICT",
          0x24: "E_PAGE_REQUEST", 0x25: "F_VMS_FETCH"}


# SMMUv2's records (arm-smmu.c): a context bank's fault, a stream no context claims.
_V2_NAMES = {"context": "context fault", "blocked": "blocked unknown stream"}


def requester_function(sid: int) -> str:
    """The PCI function whose requester ID is ``sid`` (segment 0)."""
    return f"0000:{sid >> 8 & 0xFF:02x}:{sid >> 3 & 0x1F:02x}.{sid & 7}"


def join_iommu_records(model: Model, identities: Identities) -> None:
    """Each record becomes a DMA fault of the device its stream names (module docstring)."""
    for event, sid, client in model.iommu_records.records:
        function = (normalise_bdf(client) if client else None) or requester_function(sid)
        device = identities.device_for((f"pci:{function}",), known_only=True)
        if device is None:
            continue
        head = event.get("event_id")
        name = (_V2_NAMES.get(event.payload.detail or "") or
                (_NAMES.get(head, f"event 0x{head:02x}") if isinstance(head, int) else "event"))
        fault = Event(Payload(event.dialect, "device_error",
                              (("address", function), ("message", f"SMMU {name}, stream "
                                                       f"0x{sid:x}")), "dma_fault"),
                      event.path, event.line, event.text, event.time, event.clock, event.seq,
                      device.identity)
        _add(device, fault)
    for event in model.iommu_records.streamless:
        bank = event.get("context_bank")
        where = f", context bank {bank}" if isinstance(bank, int) else ""
        model.unattributed_errors.append(Event(
            Payload(event.dialect, "device_error",
                    (("message", f"SMMU {event.get('iommu')} context fault{where}, no "
                                 "stream named"),), "dma_fault"),
            event.path, event.line, event.text, event.time, event.clock, event.seq))


def _add(device: Device, fault: Event) -> None:
    device.errors.append(fault)
    device.insert_timeline(fault)
    if device.last_event is None or device.last_event.seq < fault.seq:
        device.last_event = fault
