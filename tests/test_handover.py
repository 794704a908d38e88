"""A virtio PCI function that passes between drivers (model/handover.py): the timeline
keeps every attempt and names each driver, and the virtio driver's teardown before
another driver takes the function is no failure.

The real cases are two boots captured here by scripts/capture-handover.py
(tests/fixtures/attempts/README.md: QEMU 7.2 q35 with intel-iommu and ``-trace
virtio_set_status``, Debian kernel 6.1): virtio_net drives 0000:00:03.0, user space gives
the function to vfio-pci (driver_override, unbind, drivers_probe), then back to
virtio-pci. The hand-written logs below follow the published formats: drivers/base/dd.c
really_probe() "bus: '%s': %s: probing driver %s with device %s" and driver_bound()
"driver: '%s': %s: bound to device '%s'"; drivers/pci/pci-stub.c pci_stub_probe()
"claimed by stub" and its "add %04X:%04X sub=..." (pci-stub.ids=); drivers/pci/
setup-res.c pci_enable_resources() "enabling device (%04x -> %04x)"; drivers/pci/probe.c
"[%04x:%04x] type %02x class %#08x"; virtio_blk's capacity line."""

from __future__ import annotations

from pathlib import Path

from conftest import analyse_json, run_cli

ATTEMPTS = Path(__file__).parent / "fixtures" / "attempts"
QUIET, DYNDBG = ATTEMPTS / "handover.log", ATTEMPTS / "handover-dyndbg.log"


def _started(device: dict) -> list[dict]:
    return [a for a in device["attempts"] if a["steps"]]


def _serious(report: dict) -> list[str]:
    return [f["rule"] for f in report["findings"] if f["severity"] in ("error", "warning")]


def test_dyndbg_capture_names_each_driver_and_the_handover():
    report = analyse_json(DYNDBG)
    (device,) = report["devices"]
    first, handed, back = _started(device)
    assert [a.get("drivers") for a in (first, handed, back)] == [
        ["virtio_net"], ["vfio-pci"], ["virtio_net"]]
    assert first["driver_ok"] == back["driver_ok"] == "reached"
    # the attempt between: virtio's remove reset the device and set ACKNOWLEDGE again,
    # then vfio-pci took the function; no virtio driver failed
    assert [s["step"] for s in handed["steps"]] == ["ACKNOWLEDGE"]
    lines = DYNDBG.read_text().splitlines()
    assert "matched device 0000:00:03.0 with driver vfio-pci" in lines[
        handed["taken_by"]["line"] - 1]
    assert handed["taken_by"]["driver"] == "vfio-pci"
    assert "taken_by" not in first and "taken_by" not in back
    assert "held_by" not in device  # virtio-pci took it back
    assert report["verdict"] == "pass" and _serious(report) == []


def test_quiet_capture_names_the_other_driver_from_its_driver_link():
    report = analyse_json(QUIET)
    (device,) = report["devices"]
    first, handed, back = _started(device)
    lines = QUIET.read_text().splitlines()
    assert lines[handed["taken_by"]["line"] - 1].endswith("bus/pci/drivers/vfio-pci")
    assert first["driver_ok"] == back["driver_ok"] == "reached"
    assert _serious(report) == []


def test_text_report_says_who_took_the_function_not_that_the_attempt_stopped():
    result = run_cli("analyze", str(DYNDBG))
    assert result.returncode == 0
    row = next(line for line in result.stdout.decode().splitlines() if "3 attempts" in line)
    assert "then vfio-pci took the function (line " in row
    assert "stops here" not in row


def test_a_log_ending_while_vfio_pci_holds_the_function(tmp_path):
    # cut after step 3: the function is vfio-pci's when the log ends
    text = DYNDBG.read_text()
    cut = tmp_path / "cut.log"
    cut.write_text(text[:text.index("vd-guest: step 3")])
    report = analyse_json(cut)
    (device,) = report["devices"]
    assert device["held_by"]["driver"] == "vfio-pci"
    assert _serious(report) == [] and report["verdict"] == "pass"
    result = run_cli("analyze", str(cut))
    assert result.returncode == 0 and "stops here" not in result.stdout.decode()


STUB = """\
[    0.310000] pci 0000:00:03.0: [1af4:1041] type 00 class 0x020000
[    0.310100] pci 0000:00:04.0: [1af4:1042] type 00 class 0x010000
[    0.310200] pci 0000:00:05.0: [8086:100e] type 00 class 0x020000
[    1.000000] pci-stub: add 1AF4:1041 sub=FFFFFFFF:FFFFFFFF cls=00000000/00000000
[    1.000100] pci-stub 0000:00:03.0: claimed by stub
[    1.100000] e1000 0000:00:05.0: enabling device (0000 -> 0003)
[    1.200000] virtio_blk virtio0: [vda] 2048 512-byte logical blocks (1.05 MB/1.00 MiB)
[    2.000000] Run /init as init process
"""


def test_a_function_kept_for_passthrough_is_not_a_device_nobody_drove(tmp_path):
    log = tmp_path / "stub.log"
    log.write_text(STUB)
    report = analyse_json(log)
    devices = {d["address"]: d for d in report["devices"]}
    # the e1000's function is no virtio device: its line makes none
    assert sorted(devices) == ["0000:00:03.0", "0000:00:04.0"]
    assert devices["0000:00:03.0"]["held_by"] == {"driver": "pci-stub", "line": 5}
    assert devices["0000:00:03.0"]["reached_driver_ok"] == "not shown"
    assert "VD004" not in [f["rule"] for f in report["findings"]]
    assert "held_by" not in devices["0000:00:04.0"]


def test_without_the_stub_line_the_nic_is_still_a_device_nobody_drove(tmp_path):
    # the same log without pci-stub's line: what the finding is there for
    log = tmp_path / "no-stub.log"
    log.write_text(STUB.replace("[    1.000100] pci-stub 0000:00:03.0: claimed by stub\n", ""))
    report = analyse_json(log)
    assert "VD004" in [f["rule"] for f in report["findings"]]
