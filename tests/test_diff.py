"""``virtiodiag diff A B``: the first point where two runs' handshakes diverge."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
VDEV = "0x5581c3e4a2d0"


def cli(*args):
    from click.testing import CliRunner

    from virtiodiag.cli import cli as command

    outcome = CliRunner().invoke(command, [str(a) for a in args],
                                 env={"NO_COLOR": "1", "GITHUB_ACTIONS": None})
    if outcome.exception and not isinstance(outcome.exception, SystemExit):
        raise outcome.exception
    return subprocess.CompletedProcess(args, outcome.exit_code, outcome.stdout, outcome.stderr)


def write(path: Path, *values: int) -> Path:
    path.write_text("".join(f"virtio_set_status vdev {VDEV} val {v}\n" for v in values))
    return path


def test_good_and_bad_run_name_the_first_divergence(tmp_path):
    good = write(tmp_path / "good.log", 0, 1, 3, 11, 15)
    bad = write(tmp_path / "bad.log", 0, 1, 3, 11)
    proc = cli("diff", good, bad)
    assert proc.returncode == 1
    first = next(line for line in proc.stdout.splitlines()
                 if line.startswith("first divergence"))
    assert "status step 5" in first
    assert "DRIVER_OK (line 5)" in first and "B has nothing more" in first
    assert "VD003 handshake-incomplete only in run B" in proc.stdout
    assert "<-- first divergence" in proc.stdout  # the side-by-side steps


def test_identical_runs_exit_0(tmp_path):
    a = write(tmp_path / "a.log", 0, 0, 0, 1, 3, 11, 15)
    b = write(tmp_path / "b.log", 0, 1, 3, 11, 15)  # repeated resets are not a divergence
    proc = cli("diff", a, b)
    assert proc.returncode == 0, proc.stdout
    assert "identical" in proc.stdout


def test_errors_exit_2(tmp_path):
    a = write(tmp_path / "a.log", 0, 1)
    assert cli("diff", a, tmp_path / "absent.log").returncode == 2
    assert cli("diff", a).returncode == 2


def test_real_modern_and_legacy_captures(tmp_path):
    proc = cli("diff", "--format", "json", SAMPLES / "modern-pci" / "combined.log",
               SAMPLES / "legacy-pci" / "combined.log")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    first = doc["first_divergence"]
    assert first["device"] == "pci:0000:00:02.0"
    assert first["aspect"] == "status"
    assert "0x0b" in first["message"] and "0x07" in first["message"]  # FEATURES_OK vs legacy
    device = doc["devices"][0]
    assert device["in_a"] and device["in_b"]
    assert any(d["aspect"] == "findings" and "VD001" in d["message"]
               for d in device["divergences"])


def test_same_capture_is_identical():
    log = SAMPLES / "multi-device" / "combined.log"
    assert cli("diff", log, log).returncode == 0


def test_device_only_in_one_run(tmp_path):
    a = write(tmp_path / "a.log", 0, 1, 3, 11, 15)
    b = tmp_path / "b.log"
    b.write_text(a.read_text() + "virtio_set_status vdev 0x55aa00000000 val 1\n")
    proc = cli("diff", a, b)
    assert proc.returncode == 1
    assert "ordinal:2: only in run B" in proc.stdout


def test_irq_timing_divergence():
    from virtiodiag.diff import diff_runs
    from virtiodiag.analysis import analyse_blocks
    from virtiodiag.dialects import load_dialects

    dialects = load_dialects()
    src = (SAMPLES / "modern-pci" / "combined.log").read_bytes()
    a = analyse_blocks("a.log", [src], dialects)
    b = analyse_blocks("b.log", [src], dialects)
    [device_b] = [d for d in b.model.live_devices() if d.irq_events]
    # Pretend B set up its IRQs before DRIVER_OK.
    device_b.irq_events[0].seq = device_b.driver_ok_event.seq - 1
    outcome = diff_runs(a, b)
    assert any(d.aspect == "irq-timing" for d in outcome.divergences)
