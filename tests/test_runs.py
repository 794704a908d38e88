"""Many runs: a verdict per run and the stability summary (virtiodiag/runs.py)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from conftest import invoke_cli, shared_dialects

VDEV = "0x5581c3e4a2d0"
FAILING = {7, 23, 41}  # these runs stop at FEATURES_OK (status 11)


cli = invoke_cli


def qemu_trace(values, start: float, step: float, pid: int = 4242) -> str:
    """A QEMU ``-trace virtio_*`` capture with ``pid@seconds:`` stamps (as -msg timestamp)."""
    lines = []
    for i, value in enumerate(values):
        lines.append(f"{pid}@{start + i * step:.6f}:virtio_set_status vdev {VDEV} val {value}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def fifty(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    durations = []
    for n in range(50):
        step = 0.001 * (n + 1)  # run n takes 4 * step from the reset to DRIVER_OK
        values = [0, 1, 3, 11] if n in FAILING else [0, 1, 3, 11, 15]
        if n not in FAILING:
            durations.append(4 * step)
        (folder / f"run{n:02d}.log").write_text(qemu_trace(values, 1700000000 + n, step))
    return folder, durations


def test_stability_of_fifty_runs(fifty):
    from virtiodiag.analysis import RuleSettings
    from virtiodiag.runner import analyse_path, expand_paths
    from virtiodiag.runs import stability

    folder, durations = fifty
    dialects = shared_dialects()
    results = [analyse_path(p, dialects, RuleSettings()) for p in expand_paths([str(folder)])]
    summary = stability(results)
    assert (summary["runs"], summary["passed"], summary["failed"]) == (50, 47, 3)
    [device] = summary["devices"]
    assert device["identity"] == "ordinal:1"
    assert device["driver_ok_ratio"] == "47/50"
    assert device["present"] == 50
    [finding] = device["findings"]
    assert (finding["rule"], finding["name"], finding["count"]) == ("VD003",
                                                                    "handshake-incomplete", 3)
    assert [Path(r).name for r in finding["runs"]] == [f"run{n:02d}.log" for n in sorted(FAILING)]
    seconds = device["handshake_seconds"]
    assert seconds["samples"] == 47
    assert seconds["min"] == pytest.approx(min(durations), abs=1e-6)
    assert seconds["median"] == pytest.approx(statistics.median(durations), abs=1e-6)
    assert seconds["max"] == pytest.approx(max(durations), abs=1e-6)


def test_directory_of_runs_on_the_command_line(fifty):
    folder, _ = fifty
    proc = cli("analyze", folder)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    verdicts = [line for line in lines if line.startswith(("PASS", "FAIL", "ERROR"))]
    assert len(verdicts) == 50  # one line per run, in sorted order
    assert verdicts[0].startswith("PASS") and "run00.log" in verdicts[0]
    assert verdicts[7].startswith("FAIL") and "run07.log" in verdicts[7] and "VD003" in verdicts[7]
    assert sum(v.startswith("FAIL") for v in verdicts) == 3
    assert "stability over 50 run(s): 47 passed, 3 failed" in proc.stdout
    assert "47/50" in proc.stdout
    assert "VD003 handshake-incomplete in 3/50 run(s): run07.log, run23.log, run41.log" \
        in proc.stdout


def test_json_includes_the_stability_summary(fifty):
    folder, _ = fifty
    proc = cli("analyze", "--format", "json", folder)
    doc = json.loads(proc.stdout)
    assert len(doc["runs"]) == 50
    assert doc["stability"]["devices"][0]["driver_ok_ratio"] == "47/50"
    assert [r["verdict"] for r in doc["runs"]].count("fail") == 3
    single = json.loads(cli("analyze", "--format", "json", folder / "run00.log").stdout)
    assert single["stability"] is None and single["verdict"] == "pass"


def test_unreadable_run_among_many(fifty, tmp_path):
    folder, _ = fifty
    proc = cli("analyze", folder / "run00.log", tmp_path / "absent.log")
    assert proc.returncode == 2
    assert "ERROR" in proc.stdout and "absent.log" in proc.stdout
    assert "1 unreadable" in proc.stdout
    # the run's line names the file once ("absent.log: absent.log: no such file")
    assert f"ERROR {tmp_path / 'absent.log'}: no such file\n" in proc.stdout


def test_handshake_seconds_needs_one_clock():
    from virtiodiag.runs import handshake_seconds
    from virtiodiag.analysis import analyse_blocks

    text = qemu_trace([0, 0, 1, 3, 11, 15, 0], 100.0, 0.5)
    result = analyse_blocks("t.log", [text.encode()], shared_dialects())
    [device] = result.model.live_devices()
    assert handshake_seconds(device) == pytest.approx(2.0)  # from the last reset to DRIVER_OK
    plain = "".join(f"virtio_set_status vdev {VDEV} val {v}\n" for v in (0, 1, 3, 11, 15))
    result = analyse_blocks("p.log", [plain.encode()], shared_dialects())
    assert handshake_seconds(result.model.live_devices()[0]) is None


# ---- baseline ------------------------------------------------------------------------------
def test_baseline_suppresses_known_findings(fifty, tmp_path):
    folder, _ = fifty
    base = tmp_path / "baseline.json"
    proc = cli("analyze", "--write-baseline", base, folder / "run07.log")
    assert proc.returncode == 0  # today's findings are accepted
    data = json.loads(base.read_text())
    assert data["schema"] == "virtiodiag/baseline/v1" and len(data["fingerprints"]) == 1
    proc = cli("analyze", "--baseline", base, folder / "run07.log")
    assert proc.returncode == 0
    assert "1 known finding(s) suppressed" in proc.stdout
    assert "VD003" not in proc.stdout
    # A new failure elsewhere is still reported (the fingerprint names the artifact).
    proc = cli("analyze", "--baseline", base, folder / "run07.log", folder / "run23.log")
    assert proc.returncode == 1
    assert "FAIL  " in proc.stdout and "run23.log" in proc.stdout
    proc = cli("analyze", "--format", "sarif", "--baseline", base, folder / "run07.log")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["runs"][0]["results"] == []
    assert "1 known finding(s) suppressed" in proc.stderr
    doc = json.loads(cli("analyze", "--format", "json", "--baseline", base,
                         folder / "run07.log").stdout)
    assert doc["baseline"]["suppressed"] == 1 and doc["findings"] == []


def test_empty_slots_are_counted_apart_from_devices(tmp_path):
    """Device id 0 placeholders (QEMU's empty virtio-mmio slots) are not devices in the
    multi-run summary either: the same counts as the single-run summary gives."""
    sample = Path(__file__).parent.parent / "samples" / "rtos-step" / "good.log"
    folder = tmp_path / "runs"
    folder.mkdir()
    for name in ("a.log", "b.log"):
        (folder / name).write_bytes(sample.read_bytes())
    single = cli("analyze", sample).stdout
    assert "2 devices, 2 reached DRIVER_OK, 2 empty slots" in single

    proc = cli("analyze", folder)
    assert proc.returncode == 0
    verdicts = [line for line in proc.stdout.splitlines() if line.startswith("PASS")]
    assert len(verdicts) == 2
    assert all(v.endswith("no findings; 2/2 device(s) reached DRIVER_OK, 2 empty slots")
               for v in verdicts), verdicts
    assert ("2 empty slots (device id 0, not counted as devices): "
            "mmio:0xa000200 (2/2), mmio:0xa000600 (2/2)") in proc.stdout
    assert "placeholder" not in proc.stdout  # no table row per slot with DRIVER_OK 0/2

    doc = json.loads(cli("analyze", "--format", "json", folder).stdout)
    summary = doc["stability"]
    assert [(d["identity"], d["driver_ok_ratio"]) for d in summary["devices"]] == [
        ("mmio:0xa000000", "2/2"), ("mmio:0xa000400", "2/2")]
    assert [(s["identity"], s["present"], s["runs"]) for s in summary["empty_slots"]] == [
        ("mmio:0xa000200", 2, 2), ("mmio:0xa000600", 2, 2)]


def test_a_log_given_twice_counts_its_findings_in_both_runs():
    """Globs that overlap (``analyze runs/*.log runs/run1*.log``) give a log twice: two
    runs, the device present in 2/2; its findings were counted by the run's name, 1/2."""
    from conftest import REPO

    log = REPO / "samples" / "net-mq-no-ctrl-vq" / "combined.log"
    doc = json.loads(cli("analyze", "--format", "json", log, log).stdout)
    (device,) = doc["stability"]["devices"]
    assert device["present"] == 2 and device["driver_ok_ratio"] == "0/2"
    assert [(f["rule"], f["count"]) for f in device["findings"]] == [
        ("VD003", 2), ("VD006", 2), ("VD015", 2)]
