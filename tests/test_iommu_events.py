"""Arm SMMUv3 event records (grammars/linux_smmu.lark, model/iommu_events.py), written from
drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c: the raw record, "event 0x%02x received:" and
four "\\t0x%016llx" words (EVTQ_0_ID bits 7:0, EVTQ_0_SID bits 63:32 of the first), and
since 6.15 arm_smmu_dump_event()'s "event: %s client: %s sid: %#x ssid: %#x ...". A
record's stream ID is a PCI function's requester ID (bus << 8 | devfn) under the identity
stream map of QEMU's virt machine: the fault is that virtio device's."""

from __future__ import annotations

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects
from virtiodiag.model.iommu_events import requester_function

GUEST = """\
[    0.500000] pci 0000:00:02.0: [1af4:1041] type 00 class 0x020000
[    0.500100] pci 0000:00:03.0: [1af4:1042] type 00 class 0x010000
[    1.000000] virtio-pci 0000:00:03.0: enabling device (0000 -> 0003)
[    1.100000] virtio_blk virtio1: [vda] 20971520 512-byte logical blocks (10.7 GB/10.0 GiB)
"""


def _record(sid: int, event_id: int = 0x10, unit: str = "9050000.smmuv3") -> str:
    words = [sid << 32 | event_id, 0x20000000000, 0xFFFFF000, 0]
    return (f"[    2.000000] arm-smmu-v3 {unit}: event 0x{event_id:02x} received:\n"
            + "".join(f"[    2.000001] arm-smmu-v3 {unit}: \t0x{w:016x}\n" for w in words))


def _faults(text: str):
    result = analyse_blocks("smmu.log", [text.encode()], shared_dialects())
    return {d.address: [(e.line, e.get("message")) for e in d.errors]
            for d in result.model.live_devices()}, result


def test_a_stream_id_is_a_requester_id():
    assert requester_function(0x18) == "0000:00:03.0"
    assert requester_function(0x0101) == "0000:01:00.1"


def test_a_raw_record_is_a_fault_of_the_device_its_stream_names():
    faults, result = _faults(GUEST + _record(0x18) + _record(0x30, 0x04))
    assert faults == {"0000:00:02.0": [],
                      "0000:00:03.0": [(5, "SMMU F_TRANSLATION, stream 0x18")]}
    # the second record's stream (00:06.0) is no virtio device of the log: no device made
    assert len(result.model.live_devices()) == 2
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert finding.line == 5 and "0000:00:03.0" in finding.device


def test_the_decoded_line_of_6_15_is_the_same_record():
    decoded = ("[    2.000002] arm-smmu-v3 9050000.smmuv3: event: F_TRANSLATION client: "
               "0000:00:03.0 sid: 0x18 ssid: 0x0 iova: 0xfffff000 ipa: 0x0\n"
               "[    2.000003] arm-smmu-v3 9050000.smmuv3: unpriv data write s1 "
               "\"Input address caused fault\" stag: 0x0\n")
    faults, _ = _faults(GUEST + _record(0x18) + decoded)
    assert faults["0000:00:03.0"] == [(5, "SMMU F_TRANSLATION, stream 0x18")]


def test_words_of_two_units_do_not_mix():
    # the second unit's header comes between the first unit's header and its words
    text = (GUEST + "[    2.0] arm-smmu-v3 a.smmuv3: event 0x10 received:\n"
            "[    2.0] arm-smmu-v3 b.smmuv3: event 0x10 received:\n"
            "[    2.0] arm-smmu-v3 b.smmuv3: \t0x0000001000000010\n"
            "[    2.0] arm-smmu-v3 a.smmuv3: \t0x0000001800000010\n")
    faults, _ = _faults(text)
    assert faults["0000:00:03.0"] == [(5, "SMMU F_TRANSLATION, stream 0x18")]
    assert faults["0000:00:02.0"] == [(6, "SMMU F_TRANSLATION, stream 0x10")]


# Arm SMMUv2, drivers/iommu/arm/arm-smmu/arm-smmu.c (drivers/iommu/arm-smmu.c before 5.9):
# arm_smmu_context_fault() "Unhandled context fault: fsr=0x%x, iova=0x%08lx, fsynr=0x%x,
# cbfrsynra=0x%x, cb=%d" (5.3+; CBFRSYNRA's low 16 bits are the stream ID), before that
# "fsr=0x%x, iova=0x%08lx, fsynr=0x%x, cb=%d" and (3.x-4.x) "iova=0x%08lx, fsynr=0x%x,
# cb=%d"; arm_smmu_global_fault() "Blocked unknown Stream ID 0x%hx; boot with
# \"arm-smmu.disable_bypass=0\" to allow, but this may have security implications".
V2 = "[    2.000000] arm-smmu 5040000.smmu: "


def test_an_smmuv2_context_fault_is_the_fault_of_its_stream():
    text = (GUEST + V2 + "Unhandled context fault: fsr=0x402, iova=0xfffff000, fsynr=0x1, "
            "cbfrsynra=0x18, cb=0\n"
            + V2 + "Unhandled context fault: fsr=0x402, iova=0xfffff000, fsynr=0x1, "
            "cbfrsynra=0x30, cb=1\n")  # 00:06.0: no virtio device of the log
    faults, result = _faults(text)
    assert faults == {"0000:00:02.0": [],
                      "0000:00:03.0": [(5, "SMMU context fault, stream 0x18")]}
    assert len(result.model.live_devices()) == 2
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert finding.line == 5 and "0000:00:03.0" in finding.device


def test_cbfrsynras_upper_half_is_not_the_stream():
    text = GUEST + V2 + ("Unhandled context fault: fsr=0x402, iova=0x0, fsynr=0x1, "
                         "cbfrsynra=0x10010, cb=0\n")
    faults, _ = _faults(text)
    assert faults["0000:00:02.0"] == [(5, "SMMU context fault, stream 0x10")]


def test_a_context_fault_that_names_no_stream_is_the_runs_not_a_devices():
    # arm-smmu.c arm_smmu_context_fault() before 5.3: "Unhandled context fault: fsr=0x%x,
    # iova=0x%08lx, fsynr=0x%x, cb=%d" (4.x-5.2), "iova=0x%08lx, fsynr=0x%x, cb=%d" (3.x-4.x),
    # after "Unexpected context fault (fsr 0x%x)" when FSR_IGN is set. The context bank is
    # no stream, and no line says which device's domain holds it: no device is blamed,
    # but a DMA was blocked, and the report says so (a warning: whose is not known). The
    # old report was silent: exit 0 and no finding for an unhandled DMA fault.
    for pairs, bank in (("fsr=0x402, iova=0xfffff000, fsynr=0x1, cb=0", 0),
                        ("iova=0xfffff000, fsynr=0x1, cb=2", 2)):
        text = (GUEST + V2 + "Unexpected context fault (fsr 0x80000402)\n"
                + V2 + f"Unhandled context fault: {pairs}\n")
        faults, result = _faults(text)
        assert faults == {"0000:00:02.0": [], "0000:00:03.0": []}
        (finding,) = [f for f in result.findings if f.rule == "VD006"]
        assert finding.severity == "warning" and finding.device == "-"
        assert finding.line == 6
        assert f"SMMU 5040000.smmu context fault, context bank {bank}" in finding.message
        assert "virtio" not in finding.message.split(":")[0]  # not said to be virtio's
        assert not [f for f in result.findings if f.rule in ("VD016", "VD020")]


def test_a_blocked_unknown_stream_is_that_devices_fault():
    text = GUEST + V2 + ("Blocked unknown Stream ID 0x18; boot with "
                         "\"arm-smmu.disable_bypass=0\" to allow, but this may have "
                         "security implications\n")
    faults, _ = _faults(text)
    assert faults["0000:00:03.0"] == [(5, "SMMU blocked unknown stream, stream 0x18")]
