"""CI report formats: SARIF (schema-validated), JUnit, GitHub annotations, GitLab, jsonl."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from virtiodiag.analysis import RunResult
from virtiodiag.model.device import Model
from virtiodiag.reports import REPORTERS, get_reporter
from virtiodiag.reports.github import escape_data, escape_property
from virtiodiag.rules import all_rules
from virtiodiag.rules.base import Finding
from virtiodiag.options import ReportOptions

from conftest import invoke_cli

ROOT = Path(__file__).resolve().parents[1]
# Vendored copy of the OASIS schema (source and checksum in tests/schemas/README.md).
SARIF_SCHEMA = ROOT / "tests/schemas/sarif-schema-2.1.0.json"
SAMPLES = ROOT / "samples"
VDEV = "0x5581c3e4a2d0"


def trace(*values: int, vdev: str = VDEV) -> str:
    return "".join(f"virtio_set_status vdev {vdev} val {v}\n" for v in values)


cli = invoke_cli


@pytest.fixture
def logs(tmp_path):
    good = tmp_path / "good.log"
    good.write_text(trace(0, 1, 3, 11, 15))
    bad = tmp_path / "bad.log"
    bad.write_text(trace(0, 1, 3, 11))  # stops before DRIVER_OK
    legacy = tmp_path / "legacy.log"
    legacy.write_text(trace(0, 1, 3, 7))
    return {"good": good, "bad": bad, "legacy": legacy, "missing": tmp_path / "absent.log"}


def finding(**changes) -> Finding:
    base = {"rule": "VD003", "name": "handshake-incomplete", "severity": "error",
            "device": "dev0", "path": "logs/boot.log", "line": 12, "message": "stuck",
            "hint": "look", "fingerprint": "f" * 32,
            "related": [{"line": 3, "what": "first event", "text": "x"}], "evidence": "ev",
            "device_identity": "pci:0000:00:02.0"}
    base.update(changes)
    return Finding(**base)


def result(*findings, path="logs/boot.log", error=None) -> RunResult:
    return RunResult(path, Model(path), list(findings), error=error)


# ---- SARIF ---------------------------------------------------------------------------------
def test_sarif_validates_against_the_official_schema(logs):
    assert SARIF_SCHEMA.is_file(), f"the SARIF schema must be at {SARIF_SCHEMA}"
    schema = json.loads(SARIF_SCHEMA.read_text())
    proc = cli("analyze", "--format", "sarif", logs["bad"], logs["legacy"],
               SAMPLES / "multi-device" / "combined.log", logs["missing"])
    assert proc.returncode == 2  # one input is missing: the gate is broken, not green
    doc = json.loads(proc.stdout)
    jsonschema.validate(doc, schema, cls=jsonschema.Draft4Validator)
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert set(rules) == {m.CODE for m in all_rules()}
    vd003 = rules["VD003"]
    assert vd003["name"] == "handshake-incomplete"
    assert vd003["defaultConfiguration"]["level"] == "error"
    assert "DRIVER_OK" in vd003["fullDescription"]["text"]
    results = run["results"]
    assert {r["ruleId"] for r in results} >= {"VD001", "VD003"}
    for item in results:
        assert item["partialFingerprints"]["virtiodiag/v1"]
        assert item["level"] in ("error", "warning", "note")
        assert run["tool"]["driver"]["rules"][item["ruleIndex"]]["id"] == item["ruleId"]
    incomplete = next(r for r in results if r["ruleId"] == "VD003"
                      and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                      == str(logs["bad"]))
    assert incomplete["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    assert incomplete["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 1
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "absent.log" in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_sarif_of_a_finding_without_a_line_still_validates():
    schema = json.loads(SARIF_SCHEMA.read_text())
    out = io.StringIO()
    get_reporter("sarif").render([result(finding(line=None, related=[]))], out,
                                 ReportOptions())
    doc = json.loads(out.getvalue())
    jsonschema.validate(doc, schema, cls=jsonschema.Draft4Validator)
    assert "region" not in doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]


# ---- JUnit ---------------------------------------------------------------------------------
def test_junit_has_a_suite_per_run_and_failures_for_findings(logs):
    proc = cli("analyze", "--format", "junit", logs["good"], logs["bad"], logs["legacy"],
               logs["missing"])
    assert proc.returncode == 2
    root = ET.fromstring(proc.stdout)
    assert root.tag == "testsuites"
    suites = {Path(s.get("name")).name: s for s in root.findall("testsuite")}
    assert list(suites) == ["good.log", "bad.log", "legacy.log", "absent.log"]
    rules = len(all_rules())
    assert suites["good.log"].get("failures") == "0"
    assert int(suites["good.log"].get("tests")) == rules  # one device x every rule
    failed = [(c.get("classname"), c.get("name")) for c in suites["bad.log"].iter("testcase")
              if c.find("failure") is not None]
    assert failed == [("bad.log.qemu-dev1", "VD003 handshake-incomplete")]
    legacy_failed = {c.get("name") for c in suites["legacy.log"].iter("testcase")
                     if c.find("failure") is not None}
    assert "VD001 legacy-fallback" in legacy_failed
    error = suites["absent.log"].find("testcase/error")
    assert error is not None and "no such file" in error.get("message")
    assert root.get("errors") == "1"
    assert int(root.get("failures")) == sum(int(s.get("failures")) for s in suites.values())


def test_junit_findings_below_the_threshold_are_not_failures():
    out = io.StringIO()
    get_reporter("junit").render([result(finding(severity="warning"))], out,
                                 ReportOptions(fail_on="error"))
    root = ET.fromstring(out.getvalue())
    assert root.get("failures") == "0"
    assert "stuck" in root.find(".//system-out").text
    out = io.StringIO()
    get_reporter("junit").render([result(finding(severity="warning"))], out,
                                 ReportOptions(fail_on="warning"))
    assert ET.fromstring(out.getvalue()).get("failures") == "1"


def test_junit_survives_control_characters():
    out = io.StringIO()
    get_reporter("junit").render([result(finding(message="bad \x1b[31m\x00 byte"))], out,
                                 ReportOptions())
    root = ET.fromstring(out.getvalue())  # would raise on a raw control character
    assert "\\x1b" in root.find(".//failure").get("message")


# ---- GitHub --------------------------------------------------------------------------------
def _unescape(text: str) -> str:
    return (text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":")
            .replace("%2C", ",").replace("%25", "%"))


def parse_command(line: str) -> tuple[str, dict, str]:
    assert line.startswith("::")
    head, message = line[2:].split("::", 1)
    kind, _, props = head.partition(" ")
    fields = dict(p.split("=", 1) for p in props.split(",")) if props else {}
    return kind, {k: _unescape(v) for k, v in fields.items()}, _unescape(message)


def test_github_annotations_survive_percent_comma_colon_and_newlines():
    message = "100% stuck: a, b, c\nsecond line\r\nthird: done"
    item = finding(message=message, path="logs/a,b:c%.log", device="dev:1,x", hint="",
                   evidence="")
    out = io.StringIO()
    get_reporter("github").render([result(item, path=item.path)], out, ReportOptions())
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # one annotation (one line, whatever the message) + the summary
    kind, props, text = parse_command(lines[0])
    assert kind == "error"
    assert props["file"] == "logs/a,b:c%.log"
    assert props["line"] == "12"
    assert props["title"] == "VD003 handshake-incomplete [dev:1,x]"
    assert text == message.replace("\r", "\\x0d")  # CR from a log is shown, never raw
    assert lines[1].startswith("virtiodiag: 1 run(s): 1 error(s)")


def test_github_escaping_follows_the_toolkit():
    assert escape_data("a%b\r\nc:d,e") == "a%25b%0D%0Ac:d,e"
    assert escape_property("a%b\r\nc:d,e") == "a%25b%0D%0Ac%3Ad%2Ce"


def test_github_is_chosen_inside_github_actions(logs):
    proc = cli("analyze", logs["bad"], env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("::error file=")
    assert lines[-1].startswith("virtiodiag: 1 run(s)")
    proc = cli("analyze", "--format", "text", logs["bad"], env={"GITHUB_ACTIONS": "true"})
    assert not proc.stdout.startswith("::")


def test_github_many_findings_say_so_in_the_summary():
    items = [finding(fingerprint=str(i) * 4, line=i + 1) for i in range(12)]
    out = io.StringIO()
    get_reporter("github").render([result(*items)], out, ReportOptions())
    assert "upload --format sarif" in out.getvalue().splitlines()[-1]


# ---- GitLab --------------------------------------------------------------------------------
def test_gitlab_code_quality_fingerprints_are_unique(tmp_path):
    for run in ("run1", "run2"):
        (tmp_path / run).mkdir()
        (tmp_path / run / "trace.log").write_text(trace(0, 1, 3, 11))
    proc = cli("analyze", "--format", "gitlab", tmp_path / "run1" / "trace.log",
               tmp_path / "run2" / "trace.log")
    assert proc.returncode == 1
    issues = json.loads(proc.stdout)
    assert len(issues) == 2
    assert len({i["fingerprint"] for i in issues}) == 2  # same file name, different runs
    for issue in issues:
        assert issue["check_name"] == "VD003"
        assert issue["severity"] == "critical"
        assert issue["location"]["lines"]["begin"] == 4
        assert issue["location"]["path"].endswith("trace.log")
        assert issue["description"]


def test_gitlab_severity_mapping():
    from virtiodiag.reports.gitlab import issues

    found = issues([result(finding(severity="warning"), finding(severity="info",
                                                                fingerprint="e" * 32))])
    assert [i["severity"] for i in found] == ["minor", "info"]


# ---- jsonl ---------------------------------------------------------------------------------
def test_jsonl_every_line_is_json(logs):
    proc = cli("analyze", "--format", "jsonl", logs["legacy"], logs["missing"])
    assert proc.returncode == 2
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    kinds = [r["type"] for r in records]
    assert kinds[0] == "start" and kinds[-1] == "summary"
    assert kinds.count("event") == 4
    assert kinds.count("finding") == 1 and kinds.count("error") == 1
    assert kinds.index("finding") < kinds.index("run")  # as they happen, before the run ends


# ---- exit status in every format -------------------------------------------------------
@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_exit_status_is_0_1_2_in_every_format(fmt, logs, tmp_path):
    assert cli("analyze", "--format", fmt, logs["good"]).returncode == 0
    assert cli("analyze", "--format", fmt, logs["bad"]).returncode == 1
    assert cli("analyze", "--format", fmt, logs["missing"]).returncode == 2
    assert cli("analyze", "--format", fmt, logs["good"], logs["missing"]).returncode == 2
    assert cli("analyze", "--format", fmt, "--exit-zero", logs["bad"]).returncode == 0
    assert cli("analyze", "--format", fmt, "--exit-zero", logs["missing"]).returncode == 2
    out = tmp_path / f"report.{fmt}"
    proc = cli("analyze", "--format", fmt, "--output", out, logs["bad"])
    assert proc.returncode == 1 and out.stat().st_size > 0
    assert "VD003" in proc.stdout  # the terminal shows text


def test_usage_errors_exit_2(logs, tmp_path):
    assert cli("analyze", "--format", "nope", logs["good"]).returncode == 2
    assert cli("analyze").returncode == 2
    assert cli("analyze", "--follow", logs["good"], logs["bad"]).returncode == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("analyze", empty).returncode == 2
    assert cli("analyze", "--baseline", tmp_path / "none.json", logs["bad"]).returncode == 2
    notjson = tmp_path / "base.json"
    notjson.write_text("{")
    assert cli("analyze", "--baseline", notjson, logs["bad"]).returncode == 2


def test_fail_on_threshold(tmp_path):
    from virtiodiag.runner import gate

    warn = result(finding(severity="warning"))
    assert gate([warn], "error") == 0
    assert gate([warn], "warning") == 1
    assert gate([warn], "info") == 1
    assert gate([warn], "info", exit_zero=True) == 0
    assert gate([warn, result(error="x: no such file")], "error", exit_zero=True) == 2
