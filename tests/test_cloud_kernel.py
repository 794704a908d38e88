"""Real logs of Debian kernels of other builds: the cloud flavour (linux-image-6.1.0-57-cloud-amd64)
and PREEMPT_RT (linux-image-6.1.0-57-rt-amd64), captured with scripts/capture-cloud.sh.

Each sample's NOTES.md gives the correct diagnosis; per log, the devices (address, type,
DRIVER_OK) and the finding codes. VD016, the informational count of virtio lines no grammar
reads (/init's insmod lines, the sysfs dump headers), is left out. The trace alone names no
address, so there only DRIVER_OK per device is compared.
"""

import pytest

from conftest import SAMPLES, analyse_json

LOGS = ("trace.log", "console.log", "combined.log")
MULTI = [("0000:00:03.0", "net", True), ("0000:00:04.0", "block", True),
         ("0000:00:05.0", "rng", True), ("0000:00:06.0", "console", True),
         ("0000:00:07.0", "scsi", True)]

CLOUD = {
    "cloud-multi-device": (MULTI, {}),
    "rt-multi-device": (MULTI, {}),
    "cloud-force-legacy": ([("0000:00:03.0", "net", True), ("0000:00:04.0", "block", True)],
                           {log: {"VD001"} for log in LOGS}),
    "cloud-microvm-acpi": ([("0xfeb02e00", "net", True), ("0xfeb02c00", "block", True)], {}),
    "cloud-net-mq-no-ctrl-vq": ([("0000:00:03.0", "net", False)],
                                {"trace.log": {"VD003", "VD006"},
                                 "console.log": {"VD003", "VD006", "VD015"},
                                 "combined.log": {"VD003", "VD006", "VD015"}}),
}
CLOUD_LOGS = [(name, log) for name in CLOUD for log in LOGS]


def _codes(report):
    return {f["rule"] for f in report["findings"]} - {"VD016"}


@pytest.mark.parametrize("name,log", CLOUD_LOGS, ids=[f"{n}/{log}" for n, log in CLOUD_LOGS])
def test_cloud_capture_diagnosis(name, log):
    devices, findings = CLOUD[name]
    report = analyse_json(SAMPLES / name / log)
    assert _codes(report) == findings.get(log, set()), [f["message"] for f in report["findings"]]
    got = sorted((d.get("address"), d["type"], d["reached_driver_ok"] == "yes") for d in report["devices"])
    if log == "trace.log":
        assert sorted(ok for _, _, ok in got) == sorted(ok for _, _, ok in devices)
    else:
        assert got == sorted(devices)


@pytest.mark.parametrize("name", ["cloud-multi-device", "rt-multi-device"])
def test_guest_names_follow_the_probe_order_of_the_pci_slots(name):
    for log in ("console.log", "combined.log"):
        report = analyse_json(SAMPLES / name / log)
        names = {d["address"]: d["guest_name"] for d in report["devices"]}
        assert names == {"0000:00:03.0": "virtio0", "0000:00:04.0": "virtio1",
                         "0000:00:05.0": "virtio2", "0000:00:06.0": "virtio3",
                         "0000:00:07.0": "virtio4"}, log
        assert all(d["mode"] == "modern" for d in report["devices"]), log


def test_firmware_driving_modern_does_not_make_linux_legacy_attempt_an_order_fault():
    # trace.log: SeaBIOS drives the transitional blk modern (lines 14-16: 3, 11, 15); after
    # the reset Linux (virtio_pci.force_legacy=1) drives it legacy (43: 1, 49: 3, 50: 7).
    report = analyse_json(SAMPLES / "cloud-force-legacy" / "trace.log")
    assert not [f for f in report["findings"] if f["name"] == "status-order"]
    fallbacks = sorted(f["line"] for f in report["findings"] if f["name"] == "legacy-fallback")
    assert fallbacks == [45, 50]
    for log in ("console.log", "combined.log"):
        report = analyse_json(SAMPLES / "cloud-force-legacy" / log)
        assert {d["mode"] for d in report["devices"]} == {"transitional-used-as-legacy"}, log


def test_microvm_without_acpi_devices_the_guest_never_found_are_not_driven_anywhere():
    for log in LOGS:
        report = analyse_json(SAMPLES / "cloud-microvm-noacpi" / log)
        assert not any(d["reached_driver_ok"] == "yes" for d in report["devices"]), log
        assert not any(d["status_writes"] and any(d["status_writes"]) for d in report["devices"]), log


@pytest.mark.parametrize("log", ["console.log", "combined.log"])
def test_microvm_without_acpi_says_the_kernel_ignores_the_mmio_devices(log):
    """The guest hears of the virtio-mmio devices only by virtio_mmio.device= on its
    command line, which this kernel ignores (no CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES):
    "virtio_mmio: unknown parameter 'device' ignored" is the line that proves it."""
    report = analyse_json(SAMPLES / "cloud-microvm-noacpi" / log)
    if log == "combined.log":
        # QEMU's trace lists the two devices by vdev pointer and no line says which
        # declaration is which: no guest record beside them, one finding for the run.
        assert [d["id"] for d in report["devices"]] == ["qemu-dev1", "qemu-dev2"]
        (found,) = [f for f in report["findings"] if f["rule"] == "VD015"]
        assert "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES" in found["message"]
        return
    # The two transports QEMU declared (virtio_mmio.device=512@0xfeb00e00:12 and
    # 512@0xfeb00c00:11) are devices of the run, each never probed: the ignored parameter
    # is each one's failure (before, no device and one run-wide finding).
    declared = {d["address"]: d for d in report["devices"] if d["transport"] == "mmio"}
    assert set(declared) == {"0xfeb00e00", "0xfeb00c00"}
    assert [declared[a]["irq_lines"] for a in ("0xfeb00e00", "0xfeb00c00")] == [[12], [11]]
    assert all(d["driver_ok"]["state"] == "not-reached" for d in declared.values())
    found = [f for f in report["findings"] if f["rule"] == "VD015"]
    assert sorted(f["device"] for f in found) == ["mmio-0xfeb00c00", "mmio-0xfeb00e00"]
    for finding in found:
        assert "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES" in finding["message"]
        assert finding["evidence"] == "virtio_mmio: unknown parameter 'device' ignored"
        assert "acpi=on" in finding["hint"]


@pytest.mark.parametrize("log", ["console.log", "combined.log"])
def test_one_command_line_that_makes_two_devices_legacy_is_a_finding_for_each(log):
    """virtio_pci.force_legacy=1 (the command line, one line) is the evidence that both the
    net and the block device were driven legacy: each device the table shows as legacy has
    its own VD001. The final pass took a second finding of one rule on the same line for a
    repeat, so in combined.log the net device had none."""
    report = analyse_json(SAMPLES / "cloud-force-legacy" / log)
    legacy = sorted(d["id"] for d in report["devices"]
                    if d["mode"] == "transitional-used-as-legacy")
    flagged = sorted(f["device"] for f in report["findings"] if f["rule"] == "VD001")
    assert len(legacy) == 2 and flagged == legacy, (legacy, flagged)
