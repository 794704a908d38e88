"""Per-attempt facts are decided once, in the model, and every rule and report reads them.

Two contradictions the review found, each from one fact decided twice: VD001 ("driven in
legacy mode") and VD005 ("on a device driven through the modern interface") on the same
write sequence; and the JSON's ``last_step_line`` pointing at a later re-write of the
status than the line VD003 names.
"""

import json

import pytest
from conftest import SAMPLES, analyse_json, shared_dialects
from each_case import by_folder, check_each, log_name

from virtiodiag.analysis import RuleSettings
from virtiodiag.events import Event, Payload
from virtiodiag.model.driver_ok import DriverOk
from virtiodiag.model.device import Device
from virtiodiag.model.records import StatusChange
from virtiodiag.reports.model_dict import report_dict
from virtiodiag.runner import analyse_path



def _report(path):
    result = analyse_path(str(path), shared_dialects(), RuleSettings())
    return json.loads(json.dumps(report_dict([result])))


def _write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


# A step-logging driver (grammars/rtos_step.lark) that accepts VERSION_1 and then skips
# FEATURES_OK: a modern driver breaking the order, not a legacy one.
_MODERN_SKIPS_FEATURES_OK = [
    "[    0.008] virtio-net0: Step 1: reset, status=0x00",
    "[    0.008] virtio-net0: Step 2: status |= ACKNOWLEDGE -> 0x01",
    "[    0.009] virtio-net0: Step 3: status |= DRIVER -> 0x03",
    "[    0.010] virtio-net0: Step 5: driver features 0x0000000100000020",
    "[    0.011] virtio-net0: Step 9: status |= DRIVER_OK -> 0x07",
]


def test_a_modern_write_sequence_is_not_also_called_legacy(tmp_path):
    report = _report(_write(tmp_path, "modern.log", _MODERN_SKIPS_FEATURES_OK))
    rules = sorted(f["rule"] for f in report["findings"])
    assert rules == ["VD005"], report["findings"]
    (finding,) = report["findings"]
    assert finding["line"] == 5 and "modern interface" in finding["message"]
    (device,) = report["devices"]
    assert device["mode"] == "modern"
    (attempt,) = device["attempts"]
    assert attempt["interface"] == "modern"
    assert [(e["kind"], e["strength"], e["line"]) for e in attempt["interface_evidence"]] == [
        ("version1_accepted", "strong", 4)]


def test_the_same_writes_without_version_1_are_legacy_and_not_out_of_order(tmp_path):
    lines = [line for line in _MODERN_SKIPS_FEATURES_OK if "features" not in line]
    report = _report(_write(tmp_path, "legacy.log", lines))
    assert sorted(f["rule"] for f in report["findings"]) == ["VD001"]
    (device,) = report["devices"]
    assert device["mode"] == "legacy"
    (attempt,) = device["attempts"]
    assert attempt["interface"] == "legacy"
    assert [(e["kind"], e["strength"]) for e in attempt["interface_evidence"]] == [
        ("driver_ok_without_features_ok", "weak")]


_REWRITTEN = [f"1234@1.00000{i}:virtio_set_status vdev 0x55d0a7b3c010 val {v}"
              for i, v in enumerate((0, 1, 3, 11, 11), start=1)]


def test_last_step_line_is_the_write_vd003_names(tmp_path):
    report = _report(_write(tmp_path, "rewrite.log", _REWRITTEN))
    (device,) = report["devices"]
    (finding,) = [f for f in report["findings"] if f["rule"] == "VD003"]
    assert device["last_step"] == "FEATURES_OK"
    assert device["last_step_line"] == finding["line"] == 4
    assert [(s["step"], s["line"]) for s in device["attempts"][-1]["steps"]] == [
        ("ACKNOWLEDGE", 2), ("DRIVER", 3), ("FEATURES_OK", 4)]


@pytest.mark.parametrize("paths", by_folder(sorted(SAMPLES.glob("*/*.log"))))
def test_no_sample_gets_two_verdicts_on_one_fact(paths):
    check_each(((log_name(path), (path,)) for path in paths), _one_verdict_on_each_fact)


def _one_verdict_on_each_fact(path):
    report = analyse_json(path)
    by_device = {}
    for finding in report["findings"]:
        by_device.setdefault(finding["device"], []).append(finding)
    for device in report["devices"]:
        findings = by_device.get(device["id"], [])
        legacy = [f for f in findings if f["rule"] == "VD001"]
        modern_order = [f for f in findings if f["rule"] == "VD005"
                        and "modern interface" in f["message"]]
        assert not (legacy and modern_order), (device["id"], legacy, modern_order)
        if legacy:
            assert device["mode"] in ("legacy", "transitional-used-as-legacy")
        incomplete = [f for f in findings if f["rule"] == "VD003"
                      and "handshake incomplete" in f["message"]]
        if incomplete and device["attempts"] and device["attempts"][-1]["steps"]:
            assert device["last_step_line"] == incomplete[0]["line"]


def _event(line, kind="status_write"):
    return Event(Payload("test", kind, ()), "t.log", line, "text", seq=line)


def test_driver_ok_has_four_states():
    device = Device(1)
    assert device.driver_ok.state is DriverOk.NOT_SHOWN and device.driver_ok.line is None
    device.driver_ok_implied = _event(7, "device_bind")
    assert device.driver_ok.state is DriverOk.IMPLIED and device.driver_ok.line == 7
    device.status.append(StatusChange(3, _event(8)))
    assert device.driver_ok.state is DriverOk.NOT_REACHED  # the status is shown: it decides
    device.status.append(StatusChange(15, _event(9)))
    assert device.driver_ok.state is DriverOk.REACHED and device.driver_ok.line == 9
    assert device.reached_driver_ok
