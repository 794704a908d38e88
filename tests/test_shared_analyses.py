"""The session's shared analyses (conftest.analysed, report_text) are what the command gives.

The repository's logs are analysed once per test session and shared by the tests that read
them (their reports and their models). A share that drifted from ``virtiodiag analyze``
(another default, a result changed by a test, a dialect set warmed by other runs) would let
every one of those tests check something the command never prints."""

import json

from conftest import REPO, SAMPLES, analysed, render_json, report_text, run_cli

LOGS = sorted([*SAMPLES.glob("*/*.log"), *(REPO / "tests" / "fixtures").rglob("*.log")])
# A spread of them (every kind of sample and fixture, the largest sample): the share is
# made by one code path for every log, so a spread shows a path that differs.
SPREAD = sorted({*LOGS[::12], max(SAMPLES.glob("*/*.log"), key=lambda p: p.stat().st_size)})


def test_the_shared_reports_are_the_command_s_bytes():
    assert len(LOGS) >= 200 and len(SPREAD) >= 20
    for path in SPREAD:
        fresh = run_cli("analyze", "--format", "json", path)  # grammars loaded afresh
        assert fresh.returncode in (0, 1), (path, fresh.stderr.decode())
        assert report_text(path) == fresh.stdout.decode(), path


def test_each_caller_gets_a_result_of_its_own():
    path = SAMPLES / "legacy-pci" / "combined.log"  # a legacy fallback: findings
    first = analysed(path)
    assert first.model.live_devices() and first.findings
    text = render_json(first)
    assert text == report_text(path)
    first.findings.clear()  # a test changing its copy changes no other test's
    first.model.devices.clear()
    again = analysed(path)
    assert render_json(again) == text
    assert json.loads(text)["findings"]
