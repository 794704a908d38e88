"""A grammar says which side of the machine prints its lines (``//@ side:``); the model
attributes by that declaration, never by a dialect's name."""

import json

import pytest
from conftest import REPO, SAMPLES, analysed, dialects_with

from virtiodiag.analysis import RuleSettings
from virtiodiag.dialects.registry import DialectError, load_dialect
from virtiodiag.reports.model_dict import report_dict
from virtiodiag.runner import analyse_path

GRAMMARS = REPO / "grammars"


def _report(path, extra=None):
    """The report of ``path`` read by the built-in grammars and those of ``extra``; a
    repository log's without ``extra`` is the session's shared analysis (``analysed``)."""
    if not extra and path.resolve().is_relative_to(REPO):
        return json.loads(json.dumps(report_dict([analysed(path)])))
    result = analyse_path(str(path), dialects_with(extra or []), RuleSettings())
    return json.loads(json.dumps(report_dict([result])))


def _meaning(report):
    """Everything the model and the rules decided, without the dialects' names."""
    devices = [(d["identity"], d["sides"], d["mode"], d["status_writes"], d["driver_ok"],
                d["last_step_line"], d["notifies"], d["interrupts"], d["matched_by"])
               for d in report["devices"]]
    findings = [(f["rule"], f["device"], f["line"], f["message"]) for f in report["findings"]]
    return devices, findings


def test_the_builtin_grammars_declare_their_side():
    sides = {path.stem: load_dialect(path, lazy=True).facts.side
             for path in GRAMMARS.glob("*.lark") if path.name != "common.lark"}
    assert sides["qemu_trace"] == sides["qemu_stderr"] == "host"
    assert sides["seabios"] == sides["uboot"] == "firmware"
    assert sides["linux_console"] == sides["rtos_step"] == "guest"


@pytest.mark.parametrize("sample", ["multi-device/combined.log", "legacy-pci/combined.log",
                                    "seabios-virtio-pci/combined.log"])
def test_a_renamed_grammar_means_the_same(tmp_path, sample):
    """QEMU's trace grammar under another name (given with --grammar, so it reads the
    trace lines before the built-in one) gives the same devices, sides and findings."""
    text = (GRAMMARS / "qemu_trace.lark").read_text()
    assert "//@ dialect: qemu-trace" in text
    renamed = tmp_path / "vmm_trace.lark"
    renamed.write_text(text.replace("//@ dialect: qemu-trace", "//@ dialect: my-vmm-trace"))
    (tmp_path / "common.lark").write_text((GRAMMARS / "common.lark").read_text())
    plain = _report(SAMPLES / sample)
    other = _report(SAMPLES / sample, [str(renamed)])
    assert "my-vmm-trace" in other["stats"]["dialects"]
    assert "qemu-trace" not in other["stats"]["dialects"]
    assert _meaning(other) == _meaning(plain)


def test_without_the_side_directive_the_trace_is_not_the_hosts(tmp_path):
    text = (GRAMMARS / "qemu_trace.lark").read_text().replace("//@ side: host\n", "")
    guest = tmp_path / "trace_as_guest.lark"
    guest.write_text(text.replace("//@ dialect: qemu-trace", "//@ dialect: guest-trace"))
    (tmp_path / "common.lark").write_text((GRAMMARS / "common.lark").read_text())
    report = _report(SAMPLES / "multi-device" / "trace.log", [str(guest)])
    assert report["devices"] and all(d["sides"] == ["guest"] for d in report["devices"])


def test_firmware_lines_are_the_firmwares_side():
    report = _report(SAMPLES / "seabios-virtio-pci" / "combined.log")
    sides = {side for d in report["devices"] for side in d["sides"]}
    assert {"firmware", "host"} <= sides


def test_an_unknown_side_is_a_clear_error(tmp_path):
    text = (GRAMMARS / "rtos_step.lark").read_text()
    bad = tmp_path / "bad.lark"
    bad.write_text(text.replace("//@ dialect: rtos-step", "//@ dialect: bad\n//@ side: hypervisor"))
    with pytest.raises(DialectError, match="side"):
        load_dialect(bad, lazy=True)


def test_no_rule_goes_by_a_dialects_name():
    import ast

    from conftest import source_nodes

    rules = REPO / "virtiodiag" / "rules"
    for path in sorted(rules.glob("*.py")):
        for node in source_nodes(path):
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("dialect", "dialects", "dialects_seen"), \
                    f"{path.name}:{node.lineno} reads .{node.attr}"


def test_silent_traffic_is_told_by_the_lost_field_not_by_the_lines_words(tmp_path):
    lines = ["[    0.010] virtio-net0: attach slot 0 base=0x0a000000 irq=48",
             "[    0.020] net_ping_run: dst=10.0.2.2 seq=1 rtt=2 ms irq_delta=0",
             "[    0.030] net_ping_run: dst=10.0.2.2 seq=2 timeout irq_delta=0"]
    path = tmp_path / "pings.log"
    path.write_text("\n".join(lines) + "\n")
    report = _report(path)
    (finding,) = [f for f in report["findings"] if f["rule"] == "VD014"]
    assert finding["line"] == 2 and "(2 times)" not in finding["message"]
