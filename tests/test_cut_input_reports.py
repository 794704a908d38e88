"""A machine report of an input that ended short says so, as the text report does, and
exits as it does: a log cut mid-line (its last line has no newline), a compressed log cut
before its end (an input error, exit 2)."""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET

import pytest

from conftest import run_cli

LOG = (b"virtio_set_status vdev 0x55d0a7b3c010 val 0\n"
       b"virtio_set_status vdev 0x55d0a7b3c010 val 1\n"
       b"virtio_set_status vdev 0x55d0a7b3c010 val 3\n"
       b"virtio_set_status vdev 0x55d0a7b3c010 val 11\n"
       b"virtio_set_status vdev 0x55d0a7b3c010 val 15\n"
       b"virtio_set_status vdev 0x55d0a7b3c010 va")


def says(fmt: str, text: str) -> str:
    """The document parsed (it must be valid), the text it gives a reader about the input."""
    if fmt == "junit":
        root = ET.fromstring(text)
        return "\n".join((e.text or "") + " ".join(e.attrib.values()) for e in root.iter())
    if fmt == "sarif":
        invocation = json.loads(text)["runs"][0]["invocations"][0]
        return json.dumps(invocation.get("toolExecutionNotifications", []))
    if fmt == "gitlab":
        return json.dumps([i for i in json.loads(text) if i["check_name"].startswith("input")])
    return text  # github: workflow commands, one a line


@pytest.mark.parametrize("fmt", ["junit", "sarif", "github", "gitlab"])
def test_a_log_cut_mid_line_is_said_in_every_format(tmp_path, fmt):
    path = tmp_path / "cut.log"
    path.write_bytes(LOG)
    text = run_cli("analyze", path)
    assert text.returncode == 0 and b"last line had no newline" in text.stdout
    out = tmp_path / f"report.{fmt}"
    proc = run_cli("analyze", "--format", fmt, "-o", out, path)
    assert proc.returncode == text.returncode
    assert "cut mid-line" in says(fmt, out.read_text())


@pytest.mark.parametrize("fmt", ["junit", "sarif", "github", "gitlab"])
def test_a_truncated_gzip_is_an_input_error_in_every_format(tmp_path, fmt):
    path = tmp_path / "cut.log.gz"
    path.write_bytes(gzip.compress(LOG * 200)[:-40])
    assert run_cli("analyze", path).returncode == 2
    out = tmp_path / f"report.{fmt}"
    proc = run_cli("analyze", "--format", fmt, "-o", out, path)
    assert proc.returncode == 2
    assert "truncated" in says(fmt, out.read_text())


@pytest.mark.parametrize("fmt", ["junit", "sarif", "github", "gitlab"])
def test_an_interrupted_run_says_so_in_every_format(tmp_path, fmt):
    """Ctrl-C while reading: the report covers what was read and says so (it did not)."""
    from virtiodiag.options import AnalysisOptions, ReportOptions
    from virtiodiag.pipeline import analyse_path
    from virtiodiag.reports import get_reporter

    path = tmp_path / "boot.log"
    path.write_bytes(LOG + b"\n")
    result = analyse_path(str(path), AnalysisOptions().load_dialects())
    out = tmp_path / f"report.{fmt}"
    with open(out, "w") as stream:
        get_reporter(fmt).render([result], stream, ReportOptions(interrupted=True))
    assert "interrupted" in says(fmt, out.read_text())
    if fmt == "sarif":
        assert not json.loads(out.read_text())["runs"][0]["invocations"][0][
            "executionSuccessful"]


@pytest.mark.parametrize("fmt", ["junit", "sarif", "github", "gitlab"])
def test_every_format_says_the_interruption_of_the_run_cut_decides(tmp_path, fmt,
                                                                   monkeypatch):
    """reports/cut.py alone decides which run an interruption stopped (interrupted_run):
    every format says it of that run. JUnit decided it beside it (the last suite), so a
    change of the decision moved the other formats' note and not JUnit's."""
    from virtiodiag.options import AnalysisOptions, ReportOptions
    from virtiodiag.pipeline import analyse_path
    from virtiodiag.reports import cut, get_reporter

    dialects = AnalysisOptions().load_dialects()
    results = []
    for name in ("first.log", "second.log"):
        path = tmp_path / name
        path.write_bytes(LOG + b"\n")
        results.append(analyse_path(str(path), dialects))
    monkeypatch.setattr(cut, "interrupted_run", lambda runs, options: runs[0])
    out = tmp_path / f"report.{fmt}"
    with open(out, "w") as stream:
        get_reporter(fmt).render(results, stream, ReportOptions(interrupted=True))
    text = out.read_text()
    if fmt == "junit":
        suites = {s.get("name"): (s.findtext("system-err") or "")
                  for s in ET.fromstring(text).iter("testsuite")}
        said = {name for name, err in suites.items() if "interrupted" in err}
    elif fmt == "sarif":
        notes = json.loads(text)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        said = {n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                for n in notes if "interrupted" in n["message"]["text"]}
    elif fmt == "gitlab":
        said = {i["location"]["path"] for i in json.loads(text)
                if "interrupted" in i["description"]}
    else:
        said = {line.split("file=", 1)[1].split(",", 1)[0] for line in text.splitlines()
                if "interrupted" in line}
    assert len(said) == 1 and next(iter(said)).endswith("first.log"), said
