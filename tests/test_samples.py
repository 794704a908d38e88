"""Real captured logs: devices, mode, status sequence and DRIVER_OK from each side.

Every folder under samples/ with an expected.json was captured by
scripts/capture-samples.sh from Debian's QEMU and kernel; expected.json was written
from reading the logs and knowing the scenario, not by this tool. The same assertions
run on the QEMU trace alone, the guest console alone and the combined stream.
"""

import json

import pytest

from virtiodiag.spec import normalise_type

from conftest import SAMPLES, analyse_json
from each_case import check_each, grouped

CASES = sorted(p.parent for p in SAMPLES.glob("*/expected.json"))
# Each check below is one test for up to 9 folders, each failing folder named
# (each_case.check_each): a check reads the session's shared analysis, a few ms.
FOLDERS = grouped(CASES, key=lambda folder: "samples", at_most=9)


def _expected(folder):
    return json.loads((folder / "expected.json").read_text())


def _by_alias(devices, expected):
    """The reported device that is the expected one (by address, else by vdev)."""
    for dev in devices:
        if expected.get("address") and dev["address"] == _norm(expected["address"]):
            return dev
    return None


def _norm(address):
    address = str(address)
    if address.startswith("0x"):
        return f"0x{int(address, 16):x}"
    return address.lower()


def _trace_mode(mode):
    return {"transitional-used-as-modern": "modern", "transitional-used-as-legacy": "legacy"}.get(
        mode, mode)


def _nonzero(values):
    return [v for v in values if v]


def test_there_are_real_samples():
    assert len(CASES) >= 8, "samples/ should hold the captured scenarios"


@pytest.mark.parametrize("folders", FOLDERS)
def test_trace_alone(folders):
    check_each(((folder.name, (folder,)) for folder in folders), _trace_alone)


def _trace_alone(folder):
    expected = _expected(folder)
    report = analyse_json(folder / "trace.log")
    handshaking = [d for d in report["devices"] if _nonzero(d["status_writes"])]
    want = [d for d in expected["devices"] if _nonzero(d.get("status_writes", []))]
    assert len(handshaking) == len(want)
    for exp in want:
        matches = [d for d in report["devices"] if d["status_writes"] == exp["status_writes"]]
        assert matches, f"no device with status writes {exp['status_writes']}"
        dev = matches[0]
        assert (dev["reached_driver_ok"] == "yes") == exp["reached_driver_ok"]
        if exp["mode"] != "unknown" and exp["reached_driver_ok"]:
            assert dev["mode"] == _trace_mode(exp["mode"])


@pytest.mark.parametrize("folders", FOLDERS)
def test_console_alone(folders):
    check_each(((folder.name, (folder,)) for folder in folders), _console_alone)


def _console_alone(folder):
    expected = _expected(folder)
    report = analyse_json(folder / "console.log")
    for exp in expected["devices"]:
        if not exp.get("address"):
            continue
        dev = _by_alias(report["devices"], exp)
        assert dev is not None, f"device at {exp['address']} not found"
        assert dev["transport"] == exp["transport"]
        assert dev["type"] == normalise_type(exp["type"])
        assert (dev["reached_driver_ok"] == "yes") == exp["reached_driver_ok"]
        # (a console.log cut before the features lines shows less than combined.log)
        assert dev["mode"] == exp.get("mode_console", exp["mode"])
    names = [d for d in expected["devices"] if d.get("address")]
    devices = [d for d in report["devices"] if d["type"] != "placeholder"]
    assert len(devices) == len(names), [d["id"] for d in devices]
    _assert_empty_slots(report, expected)


def _assert_empty_slots(report, expected):
    """The transports the guest lists with nothing behind them (expected.json
    ``empty_slots``: arm64 ACPI's 32 LNRO0005 windows) are reported as empty slots, not as
    devices no driver took."""
    slots = sorted(d["address"] for d in report["devices"] if d["type"] == "placeholder")
    assert slots == sorted(_norm(a) for a in expected.get("empty_slots", []))


@pytest.mark.parametrize("folders", FOLDERS)
def test_combined_stream(folders):
    check_each(((folder.name, (folder,)) for folder in folders), _combined_stream)


def _combined_stream(folder):
    expected = _expected(folder)
    report = analyse_json(folder / "combined.log")
    for exp in expected["devices"]:
        if not exp.get("address"):
            continue
        dev = _by_alias(report["devices"], exp)
        assert dev is not None, f"device at {exp['address']} not found"
        assert dev["mode"] == exp["mode"]
        assert (dev["reached_driver_ok"] == "yes") == exp["reached_driver_ok"]
        if _nonzero(exp.get("status_writes", [])):
            # Both sides of the device are reported once, with QEMU's status writes.
            assert set(dev["sides"]) == {"guest", "host"}, dev.get("matched_by")
            want = exp.get("status_writes_combined", exp["status_writes"])
            assert _nonzero(dev["status_writes"]) == _nonzero(want)
    _assert_empty_slots(report, expected)


# What one side cannot see. The cut-off guest console stops inside `insmod virtio_net`:
# without QEMU's trace nothing shows the driver took the device, so the honest finding
# from the console alone is "not driven (or the log ends before it was)".
# QEMU's trace has no probe messages: it sees the FAILED status, not that the probe failed.
SIDE_LIMITS = {("cutoff-mid-init", "console.log"): {"device-not-driven"},
               ("net-mq-no-ctrl-vq", "trace.log"): {"handshake-incomplete", "device-failed"},
               ("arm64-virt-mmio-modern-net-fail", "trace.log"): {"handshake-incomplete",
                                                                  "device-failed"},
               # the stalled boot's console ends 4 kernel lines after the enumeration:
               # the blk enumerated and never driven (net and rng: info, quiet drivers)
               ("riscv64-virt-imsic-qemu72-stall", "console.log"): {"device-not-driven"},
               # Linux 5.10's virtio_rng and virtio_balloon kick a queue before DRIVER_OK:
               # only QEMU's trace shows a notify
               ("x86-linux510-multi", "console.log"): set(),
               ("arm64-linux510-pci", "console.log"): set(),
               ("arm64-linux510-mmio", "console.log"): {"legacy-fallback"},
               ("x86-linux510-legacy-mixed", "console.log"): {"legacy-fallback"},
               ("s390x-ccw-virtio", "console.log"): set()}


@pytest.mark.parametrize("folders", FOLDERS)
def test_expected_findings(folders):
    check_each(((f"{folder.name}/{log}", (folder, log)) for folder in folders
                for log in ("trace.log", "console.log", "combined.log")), _expected_findings)


def _expected_findings(folder, log):
    expected = _expected(folder)
    report = analyse_json(folder / log)
    names = {f["name"] for f in report["findings"] if f["severity"] in ("error", "warning")}
    wanted = SIDE_LIMITS.get((folder.name, log), set(expected.get("expected_findings", [])))
    assert names == wanted
    legacy = [f for f in report["findings"] if f["name"] == "legacy-fallback"]
    for finding in legacy:
        assert finding["line"] and finding["evidence"], "legacy finding names its evidence line"
