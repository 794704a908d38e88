"""Real arm64 and riscv64 logs (scripts/capture-arch.sh): QEMU's -M virt under TCG with
Debian's own kernels (arm64 6.1.0-57, riscv64 6.12.117), OpenSBI, and U-Boot on riscv64.

samples/<scenario>/expected.json drives the generic sample tests (test_samples.py:
devices, transports, addresses, modes, status writes, findings per log). Here: what those
do not check, each fact read by hand from the logs (see each NOTES.md): the IRQ wiring
(GICv3 ITS MSI-X, GIC and PLIC lines), the features accepted, the queues, the empty
virtio-mmio transports being nobody's, and the U-Boot capture.
"""

import pytest

from conftest import SAMPLES, analyse_json, run_cli

LINUX = ("arm64-virt-mmio", "arm64-virt-pci", "riscv64-virt-mmio", "riscv64-virt-pci",
         "riscv64-virt-aplic-mixed")
# (type -> features accepted, as the sysfs dump prints them and the trace's DriverFeatures
# writes show them); legacy virtio-mmio has no VERSION_1, the PCI devices are modern.
LEGACY_FEATURES = {"net": "0x38af8064", "block": "0x30006e54", "rng": "0x30000000"}
MODERN_FEATURES = {"net": "0x10130af8024", "block": "0x10130006e54", "rng": "0x10130000000"}
IRQ_MODE = {"arm64-virt-mmio": "intx", "arm64-virt-pci": "msix", "riscv64-virt-mmio": "intx",
            "riscv64-virt-pci": "intx", "riscv64-virt-aplic-mixed": "intx"}
# /proc/interrupts: Linux IRQ numbers per device
IRQ_LINES = {
    "arm64-virt-mmio": {"net": [17], "block": [18], "rng": [19]},          # GIC-0 SPI 79..77
    "arm64-virt-pci": {"net": [20, 21, 22], "block": [23, 24], "rng": [25, 26]},  # ITS-MSI
    "riscv64-virt-mmio": {"net": [14], "block": [15], "rng": [16]},        # SiFive PLIC 8..6
    "riscv64-virt-pci": {"net": [12], "block": [13], "rng": [14]},         # SiFive PLIC 33..35
    "riscv64-virt-aplic-mixed": {"net": [12], "rng": [13], "block": [16]},  # APLIC-DIRECT
}
# the mixed machine's blk is modern virtio-mmio (version 2): VERSION_1, no RING_RESET
MIXED_FEATURES = {"net": "0x10130af8024", "block": "0x130006e54", "rng": "0x10130000000"}
QUEUES = {"net": 3, "block": 1, "rng": 1}  # rx, tx, ctrl; one request queue; one


def _typed(report):
    return {d["type"]: d for d in report["devices"]}


@pytest.mark.parametrize("log", ["console.log", "combined.log"])
@pytest.mark.parametrize("name", LINUX)
def test_irq_wiring_features_and_queues(name, log):
    report = analyse_json(SAMPLES / name / log)
    devices = _typed(report)
    assert sorted(devices) == ["block", "net", "rng"]
    features = (MIXED_FEATURES if name == "riscv64-virt-aplic-mixed"
                else MODERN_FEATURES if name.endswith("pci") else LEGACY_FEATURES)
    for kind, dev in devices.items():
        assert dev["irq_mode"] == IRQ_MODE[name], (kind, dev["irq_mode"])
        assert dev["irq_lines"] == IRQ_LINES[name][kind], kind
        assert dev["features_accepted"] == features[kind], kind
        if log == "combined.log" and dev["transport"] == "mmio":
            # queue set-up is traced on virtio-mmio only (QueueSel, QueueNum, QueuePFN)
            assert len(dev["queues"]) == QUEUES[kind], kind
            assert all(q["size"] == 1024 for q in dev["queues"]), kind


@pytest.mark.parametrize("log", ["console.log", "combined.log"])
def test_gicv2m_msis_are_msix_vectors(log):
    # GICv2m's chip is plain "MSI" in /proc/interrupts ('19: 0 MSI 16384 Edge virtio0-config')
    devices = _typed(analyse_json(SAMPLES / "arm64-virt-pci-gicv2m" / log))
    assert {k: (d["irq_mode"], d["irq_lines"]) for k, d in devices.items()} == {
        "net": ("msix", [19, 20, 21]), "block": ("msix", [22, 23])}
    assert devices["net"]["features_accepted"] == MODERN_FEATURES["net"]


def test_a_failed_probe_on_modern_mmio():
    report = analyse_json(SAMPLES / "arm64-virt-mmio-modern-net-fail" / "combined.log")
    devices = _typed(report)
    net, blk = devices["net"], devices["block"]
    assert net["features_accepted"] == "0x130418020"  # written before FAILED
    assert net["irq_mode"] is None and blk["irq_lines"] == [17]
    assert [q["index"] for q in blk["queues"]] == [0] and not net["queues"]
    assert [v for v in net["status_writes"] if v] == [1, 3, 131, 131]
    [probe] = [f for f in report["findings"] if f["name"] == "probe-failed"]
    assert probe["device"] == "virtio1" and "VIRTIO_NET_F_MQ" in probe["evidence"]


def test_the_console_table_says_how_far_a_failed_device_got():
    # sysfs status 0x83 read back: the driver acknowledged it and gave up; it was driven

    out = run_cli("analyze", "--no-color",
                  SAMPLES / "arm64-virt-mmio-modern-net-fail" / "console.log").stdout.decode()
    [row] = [line for line in out.splitlines() if line.lstrip("✗ ").startswith("virtio1 ")]
    assert "ACKNOWLEDGE|DRIVER|FAILED (0x83) read back, line 264" in row
    assert "never driven" not in row


@pytest.mark.parametrize("name", ["arm64-virt-pci", "riscv64-virt-pci", "arm64-virt-pci-gicv2m"])
def test_the_empty_mmio_transports_are_no_devices(name):
    # -M virt probes every virtio-mmio transport (32 on arm64, 8 on riscv64): MagicValue,
    # Version, DeviceID 0, nothing else. Those reads named no vdev and went to the PCI
    # device traced next, which the trace alone then called an mmio device.
    report = analyse_json(SAMPLES / name / "trace.log")
    assert len(report["devices"]) == len(_typed(analyse_json(SAMPLES / name / "console.log")))
    assert all(d["transport"] != "mmio" for d in report["devices"])
    assert all(d["reached_driver_ok"] == "yes" and d["mode"] == "modern"
               for d in report["devices"])


@pytest.mark.parametrize("name", ["arm64-virt-mmio", "riscv64-virt-mmio"])
def test_the_mmio_devices_keep_their_own_probe(name):
    # The trace alone: each device's own legacy probe (GuestPageSize) is its evidence,
    # not an empty transport's.
    report = analyse_json(SAMPLES / name / "trace.log")
    assert [d["transport"] for d in report["devices"]] == ["mmio"] * 3
    for dev in report["devices"]:
        assert dev["mode"] == "legacy"
        assert "GuestPageSize" in dev["mode_evidence"][0]["text"]


@pytest.mark.parametrize("name,names", [
    ("arm64-virt-mmio", {"0xa003a00": "virtio0", "0xa003c00": "virtio1", "0xa003e00": "virtio2"}),
    ("riscv64-virt-mmio", {"0x10008000": "virtio0", "0x10007000": "virtio1",
                           "0x10006000": "virtio2"}),
])
def test_a_device_tree_sysfs_link_alone_places_virtio_n(tmp_path, name, names):
    # Without /proc/iomem's lines the sysfs link (.../platform/a003a00.virtio_mmio/virtio0)
    # is the only line tying virtioN to its transport: it was 'kept apart', no transport.
    lines = (SAMPLES / name / "console.log").read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if b".virtio_mmio virtio_mmio@" not in line]
    assert len(kept) == len(lines) - 3
    log = tmp_path / "console.log"
    log.write_bytes(b"".join(kept))
    report = analyse_json(log)
    assert {d["address"]: d["guest_name"] for d in report["devices"]} == names
    assert {d["transport"] for d in report["devices"]} == {"mmio"}
    assert report["matching_notes"] == []


def test_a_riscv64_boot_without_virtio_devices_is_no_unread_format(tmp_path):
    # OpenSBI's 'Platform Name : riscv-virtio,qemu' and Linux's 'Machine model:
    # riscv-virtio,qemu' name the board: up to /init no line is about a virtio device.
    lines = (SAMPLES / "riscv64-virt-mmio" / "console.log").read_bytes().splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if b"Run /init" in line)
    head = b"".join(lines[:end])
    assert b"Platform Name             : riscv-virtio,qemu" in head
    log = tmp_path / "boot.log"
    log.write_bytes(head)
    report = analyse_json(log)
    assert report["devices"] == []
    assert report["findings"] == []


UBOOT = SAMPLES / "riscv64-uboot-virtio"


def _names(report):
    return sorted(f["name"] for f in report["findings"] if f["severity"] in ("error", "warning"))


def test_uboot_console_alone():
    report = analyse_json(UBOOT / "console.log")
    devices = {d["id"]: d for d in report["devices"] if d["type"] != "placeholder"}
    assert {(i, d["type"], d["transport"], d["address"]) for i, d in devices.items()} == {
        ("virtio-blk#0", "block", "mmio", "0x10008000"),
        ("virtio-blk#8", "block", "pci", None),
        ("virtio-net#9", "net", "pci", None)}
    assert all(d["reached_driver_ok"] == "yes" for d in devices.values())
    # virtio-pci.l: U-Boot's legacy PCI transport drove both transitional functions
    assert devices["virtio-blk#8"]["mode"] == devices["virtio-net#9"]["mode"] == "legacy"
    assert _names(report) == ["legacy-fallback", "legacy-fallback"]


def test_uboot_trace_alone():
    report = analyse_json(UBOOT / "trace.log")
    driven = [d for d in report["devices"] if d["reached_driver_ok"] == "yes"]
    # (the net device prints no trace event of its own type: unknown from the trace)
    assert sorted(d["type"] for d in report["devices"]) == ["block", "block", "rng", "unknown"]
    assert len(driven) == 3
    for dev in driven:
        # ACK at bind, reset, DRIVER without ACK, legacy DRIVER_OK, QEMU's re-write at exit
        assert [v for v in dev["status_writes"] if v] == [1, 2, 6, 6]
        assert dev["mode"] == "legacy"
    [rng] = [d for d in report["devices"] if d["type"] == "rng"]
    assert rng["reached_driver_ok"] == "no" and not any(rng["status_writes"])
    assert _names(report) == ["legacy-fallback"] * 3 + ["status-order"] * 3
    mmio = [d for d in report["devices"] if d["transport"] == "mmio"]
    assert [d["type"] for d in mmio] == ["block"]


def test_uboot_combined_joins_by_the_uclass_index():
    # `dm tree` lists pci@30000000's functions (virtio 8, 9) before the virtio_mmio nodes
    # (virtio 0..7), but U-Boot bound and acknowledged them by that index: mmio blk first
    # (trace: its status 1 comes first), then the PCI blk and net.
    report = analyse_json(UBOOT / "combined.log")
    joined = {d["id"]: d for d in report["devices"] if set(d["sides"]) == {"firmware", "host"}}
    assert sorted(joined) == ["virtio-blk#0", "virtio-blk#8", "virtio-net#9"]
    assert joined["virtio-blk#0"]["transport"] == "mmio"
    assert joined["virtio-blk#0"]["address"] == "0x10008000"
    for dev in joined.values():
        assert [v for v in dev["status_writes"] if v] == [1, 2, 6, 6]
    assert _names(report) == ["legacy-fallback"] * 3 + ["status-order"] * 3
    [rng] = [d for d in report["devices"] if d["type"] == "rng"]
    assert rng["sides"] == ["host"] and rng["reached_driver_ok"] == "no"


ARM64_UBOOT = SAMPLES / "arm64-uboot-virtio"


def test_arm64_uboot_console_alone():
    report = analyse_json(ARM64_UBOOT / "console.log")
    devices = {d["id"]: d for d in report["devices"] if d["type"] != "placeholder"}
    assert {(i, d["type"], d["transport"], d["address"], d["mode"])
            for i, d in devices.items()} == {
        ("virtio-rng#30", "rng", "mmio", "0xa003c00", "unknown"),
        ("virtio-blk#31", "block", "mmio", "0xa003e00", "unknown"),
        ("virtio-blk#32", "block", "pci", None, "modern"),     # virtio-pci.m
        ("virtio-net#33", "net", "pci", None, "legacy")}       # virtio-pci.l
    slots = [d for d in report["devices"] if d["type"] == "placeholder"]
    assert len(slots) == 30  # the 32 transports, less the two with a child
    assert _names(report) == ["legacy-fallback"]


@pytest.mark.parametrize("log", ["trace.log", "combined.log"])
def test_arm64_uboot_with_the_trace(log):
    report = analyse_json(ARM64_UBOOT / log)
    devices = [d for d in report["devices"] if d["type"] != "placeholder"]
    assert len(devices) == 4 and all(d["reached_driver_ok"] == "yes" for d in devices)
    writes = sorted([v for v in d["status_writes"] if v] for d in devices)
    assert writes == [[1, 2, 6, 6]] * 3 + [[1, 2, 10, 14, 14]]
    assert _names(report) == ["legacy-fallback"] * 3 + ["status-order"] * 4
    if log == "combined.log":
        by_id = {d["id"]: d for d in devices}
        # joined in the order U-Boot bound them (uclass index 30..33) = QEMU's acknowledgements
        assert set(by_id) == {"virtio-rng#30", "virtio-blk#31", "virtio-blk#32", "virtio-net#33"}
        assert all(set(d["sides"]) == {"firmware", "host"} for d in devices)
        assert by_id["virtio-blk#32"]["mode"] == "modern"
        assert by_id["virtio-rng#30"]["mode"] == by_id["virtio-blk#31"]["mode"] == "legacy"


def test_an_mmio_device_s_late_accesses_are_not_the_next_pci_device_s():
    # riscv64-virt-aplic-mixed's trace: after the mmio blk's DRIVER_OK, its interrupt
    # acknowledgement (offset 0x64), 'setting IRQ 0' and a status read name no vdev; the
    # next vdev line is the PCI rng's. They made the rng an mmio device.
    report = analyse_json(SAMPLES / "riscv64-virt-aplic-mixed" / "trace.log")
    by_type = {d["type"]: d for d in report["devices"]}
    assert by_type["rng"]["transport"] != "mmio"
    assert by_type["block"]["transport"] == "mmio"
    assert [d["transport"] for d in report["devices"]].count("mmio") == 1


def test_uboot_transports_without_a_driver_are_not_said_to_be_id_0():
    # riscv64's dm tree lists 7 virtio_mmio transports with no child: 6 empty, and
    # 0x10007000, the rng, for which qemu-riscv64_smode has no driver (its probe read
    # VendorID and wrote GuestPageSize in the trace). The tree cannot tell them apart.

    out = run_cli("analyze", "--no-color", UBOOT / "console.log").stdout.decode()
    assert ("7 empty slots (no driver bound below: device id 0, or a device the firmware "
            "has no driver for): mmio 0x10007000, ") in out
    assert "device id 0, nothing to drive" not in out


# ---- arm64 under EDK2 with ACPI (arm64-virt-edk2-acpi), riscv64 with MSIs through the IMSIC
# (riscv64-virt-imsic-msix): scripts/capture-arch.sh, 2026-12-02. Facts read from the logs.

EDK2 = SAMPLES / "arm64-virt-edk2-acpi"
IMSIC = SAMPLES / "riscv64-virt-imsic-msix"
# /proc/interrupts of both runs: 'NN: 0 ITS-PCI-MSIX-0000:00:01.0 0 Edge virtio0-config'
EDK2_MSIX = {"net": [51, 52, 53], "block": [54, 55], "rng": [56, 57], "scsi": [58, 59, 60, 61]}
# sysfs features of the guest (scsi: HOTPLUG, CHANGE, INDIRECT_DESC, EVENT_IDX, VERSION_1,
# RING_RESET)
EDK2_FEATURES = dict(MODERN_FEATURES, scsi="0x10130000006")
IMSIC_MSIX = {"net": [16, 17, 18], "block": [19, 20], "rng": [21, 22]}  # 'PCI-MSIX-0000:..'


@pytest.mark.parametrize("log", ["console.log", "combined.log"])
def test_edk2_acpi_boot_devices_msix_and_features(log):
    report = analyse_json(EDK2 / log)
    devices = {d["type"]: d for d in report["devices"] if d["type"] != "placeholder"}
    assert sorted(devices) == ["block", "net", "rng", "scsi"]
    for kind, dev in devices.items():
        assert dev["transport"] == "pci" and dev["mode"] == "transitional-used-as-modern"
        assert (dev["irq_mode"], dev["irq_lines"]) == ("msix", EDK2_MSIX[kind]), kind
        assert dev["features_accepted"] == EDK2_FEATURES[kind], kind
        assert dev["reached_driver_ok"] == "yes"
    assert {k: d["address"] for k, d in devices.items()} == {
        "net": "0000:00:01.0", "block": "0000:00:02.0", "rng": "0000:00:03.0",
        "scsi": "0000:00:04.0"}
    assert report["verdict"] == "pass" and not report["findings"]


def test_edk2_acpi_mmio_windows_are_empty_slots_not_undriven_devices():
    # ACPI lists the DSDT's 32 virtio-mmio transports in /proc/iomem with no driver's claim
    # ("0a000000-0a0001ff : LNRO0005:00", no "LNRO0005:00 LNRO0005:00" below): empty. They
    # were 32 device-not-driven warnings.
    report = analyse_json(EDK2 / "console.log")
    slots = [d for d in report["devices"] if d["type"] == "placeholder"]
    assert [d["address"] for d in slots] == [f"0x{0xa000000 + 0x200 * i:x}" for i in range(32)]
    assert all(d["virtio_id"] == 0 and d["status_writes"] == [] for d in slots)
    text = run_cli("analyze", "--no-color", EDK2 / "console.log").stdout.decode()
    assert ("32 empty slots (no driver claimed its registers in /proc/iomem: device id 0, "
            "or virtio_mmio never probed it)") in text


def test_edk2_drives_the_rng_legacy_before_linux_drives_it_modern():
    # EDK2 takes a transitional function's legacy interface (1, 3, 7: no FEATURES_OK) for
    # the EFI stub's random seed, and resets it at ExitBootServices; Linux then 1, 3, 11, 15.
    lines = (EDK2 / "combined.log").read_text(errors="replace").splitlines()
    stub = next(i for i, text in enumerate(lines, 1) if "EFI stub: Booting Linux Kernel" in text)
    linux = next(i for i, text in enumerate(lines, 1) if "Booting Linux on physical CPU" in text)
    rng = _typed(analyse_json(EDK2 / "combined.log"))["rng"]
    assert set(rng["sides"]) == {"guest", "host"}
    tried = [a for a in rng["attempts"] if a["steps"]]
    assert [(a["interface"], [s["step"] for s in a["steps"]]) for a in tried] == [
        ("legacy", ["ACKNOWLEDGE", "DRIVER", "DRIVER_OK"]),
        ("modern", ["ACKNOWLEDGE", "DRIVER", "FEATURES_OK", "DRIVER_OK"])]
    assert tried[0]["steps"][-1]["line"] < stub and tried[0]["reset_after"]
    assert tried[1]["steps"][0]["line"] > linux
    text = run_cli("analyze", "--no-color", EDK2 / "combined.log").stdout.decode()
    assert ("2 attempts: firmware: ACK → DRIVER → DRIVER_OK (legacy); "
            "Linux: ACK → DRIVER → FEATURES_OK → DRIVER_OK (modern)") in text
    # the other three: reset by EDK2 (status 0 writes) and driven by Linux only
    for kind in ("net", "block", "scsi"):
        dev = _typed(analyse_json(EDK2 / "combined.log"))[kind]
        assert [v for v in dev["status_writes"] if v] == [1, 3, 11, 15], kind


def test_edk2_probe_reads_of_empty_transports_are_no_device_s():
    # EDK2's VirtioMmioInit reads DeviceID, then MagicValue and Version, of each of the 32
    # transports, right after QEMU's own resets named the last PCI device: that read of
    # DeviceID made the device an mmio one in the trace alone.
    report = analyse_json(EDK2 / "trace.log")
    assert len(report["devices"]) == 4
    for dev in report["devices"]:
        assert dev["transport"] == "unknown", dev["id"]
        assert not any(e["event"].startswith("mmio_access") for e in dev["timeline"]), dev["id"]


@pytest.mark.parametrize("log", ["console.log", "combined.log"])
def test_riscv64_imsic_msix_vectors(log):
    report = analyse_json(IMSIC / log)
    devices = _typed(report)
    assert sorted(devices) == ["block", "net", "rng"]
    for kind, dev in devices.items():
        assert (dev["irq_mode"], dev["irq_lines"]) == ("msix", IMSIC_MSIX[kind]), kind
        assert dev["features_accepted"] == MODERN_FEATURES[kind], kind
        assert dev["transport"] == "pci" and dev["reached_driver_ok"] == "yes"
    assert report["verdict"] == "pass" and not report["findings"]


STALL = SAMPLES / "riscv64-virt-imsic-qemu72-stall"


@pytest.mark.parametrize("log, kill_line", [("trace.log", 43), ("combined.log", 309)])
def test_a_boot_stalled_after_acknowledge_and_killed_by_timeout_is_cut_off(log, kill_line):
    # QEMU 7.2 + aia=aplic-imsic: virtio_pci acknowledged the three devices, the boot then
    # stalled and timeout(1) killed QEMU ('terminating on signal 15 from pid N (timeout)'),
    # which re-wrote status 1 as it stopped the machine. That re-write, after the kill, made
    # the handshakes look like ones the run went on from: three device-not-driven warnings
    # ("load the driver") and a PASS. They were cut off at ACKNOWLEDGE by the kill.
    report = analyse_json(STALL / log)
    assert report["verdict"] == "fail"
    cut = dict(report["cut_off"])
    # combined.log also shows the console: the kernel started and never reached init
    # (model/boot_stall.py); the trace alone cannot say how far the boot got.
    before_init = cut.pop("before_init", None)
    assert cut == {"how": "killed", "line": kill_line,
                   "devices": [d["id"] for d in report["devices"]]}
    assert before_init == ({"device": "pci-0000:00:03.0", "step": "status ACKNOWLEDGE",
                            "line": 89} if log == "combined.log" else None)
    assert len(report["devices"]) == 3
    for dev in report["devices"]:
        assert [v for v in dev["status_writes"] if v] == [1, 1]
        assert dev["last_step"] == "ACKNOWLEDGE" and dev["reached_driver_ok"] == "no"
    found = [(f["name"], f["severity"]) for f in report["findings"]]
    assert found == [("handshake-incomplete", "error")] * 3
    for finding in report["findings"]:
        assert "killed at ACKNOWLEDGE" in finding["message"], finding["message"]
        assert f"line {kill_line}" in finding["message"]
        # the guest had stalled 145 s before the kill: no claim that it had not
        assert "not refused or hung" not in finding["message"]
        assert "still busy or had stalled" in finding["message"]
