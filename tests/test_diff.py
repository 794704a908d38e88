"""``virtiodiag diff A B``: the first point where two runs' handshakes diverge."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import invoke_cli, shared_dialects

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
VDEV = "0x5581c3e4a2d0"


def cli(*args):
    """``virtiodiag ARGS`` in process, in the current directory (text out)."""
    return invoke_cli(*args)


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

    dialects = shared_dialects()
    src = (SAMPLES / "modern-pci" / "combined.log").read_bytes()
    a = analyse_blocks("a.log", [src], dialects)
    b = analyse_blocks("b.log", [src], dialects)
    [device_b] = [d for d in b.model.live_devices() if d.irq_events]
    # Pretend B set up its IRQs before DRIVER_OK.
    device_b.irq_events[0].seq = device_b.driver_ok_event.seq - 1
    outcome = diff_runs(a, b)
    assert any(d.aspect == "irq-timing" for d in outcome.divergences)


# ---- the divergence that matters --------------------------------------------------------
RTOS = SAMPLES / "rtos-step"
MOVED_IRQ = ("irq-order: B line 23: IRQ 48 set up before virtio-net1 attached; in A after "
             "all devices reached DRIVER_OK, line 37")


def test_init_path_and_ping_path_runs_name_the_moved_irq_set_up():
    """The RTOS driver's init test and ping test ran different init paths: the ping path
    sets IRQ 48 up before the second NIC is attached. That is the divergence, with its line
    in each log; that the runs ran different tests is context."""
    proc = cli("diff", RTOS / "init-path.log", RTOS / "ping-path.log")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[2] == "first divergence: " + MOVED_IRQ
    assert lines[3].split() == ["A", "37", "BSP_IntVectSet(irq=48,", "handler=BSP_OS_VirtioNetHandler)"]
    assert lines[4].split() == ["B", "23", "BSP_IntVectSet(irq=48,", "handler=BSP_OS_VirtioNetHandler)"]
    assert ("irq-order  B line 24: IRQ 48 enabled before virtio-net1 attached; in A after all "
            "devices reached DRIVER_OK, line 39") in proc.stdout
    context = proc.stdout.split("context (what the runs are, not a divergence):")[1]
    assert ("the runs ran different tests: A test-init: PASS; B test-ping-wan: PASS, "
            "test-ping-lan: FAIL") in context
    assert "virtio-net0: handshake 6.000 ms in A, 7.000 ms in B (within" in context


def test_irq_enabled_mid_init_against_the_good_run_json():
    proc = cli("diff", "--format", "json", RTOS / "good.log", RTOS / "irq-mid-init.log")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "virtiodiag/diff/v2"
    first = doc["first_divergence"]
    assert (first["aspect"], first["line_a"], first["line_b"]) == ("irq-order", 36, 28)
    assert first["message"] == ("B line 28: IRQ 48 set up while virtio-blk0 was at DRIVER; "
                                "in A after all devices reached DRIVER_OK, line 36")
    assert doc["divergences"][0] == first
    assert all(d["aspect"] != "tests" for d in doc["divergences"])
    # the blk task's steps also moved against the net task's: divergences, ranked lower
    assert any(d["aspect"] == "order" and d["line_b"] == 21 for d in doc["divergences"])


def test_other_tests_and_timings_within_tolerance_are_context_exit_0(tmp_path):
    text = (RTOS / "init-path.log").read_text()
    b = tmp_path / "other-test.log"
    # Another test, every time stamp 30 % later: the same handshake.
    b.write_text(re.sub(r"^\[\s*(\d+\.\d+)\]", lambda m: f"[{float(m.group(1)) * 1.3:9.3f}]",
                        text.replace("TEST test-init: PASS", "TEST test-soak: FAIL"),
                        flags=re.M))
    proc = cli("diff", RTOS / "init-path.log", b)
    assert proc.returncode == 0, proc.stdout
    assert "the handshakes match" in proc.stdout
    assert "the runs ran different tests: A test-init: PASS; B test-soak: FAIL" in proc.stdout
    proc = cli("diff", "--tolerance", "0.1", RTOS / "init-path.log", b)
    assert proc.returncode == 1
    assert "first divergence: timing: virtio-net0: handshake 6.000 ms in A, 8.000 ms in B " \
           "(beyond the tolerance of 10% or 1 ms)" in proc.stdout


def test_a_run_cut_mid_line_is_context(tmp_path):
    """B ends in the middle of a line: what it has no more of may be where the capture was
    cut, not where the device stopped; the diff says so (it said only 'B has nothing
    more'), as context, never a divergence."""
    good = write(tmp_path / "good.log", 0, 1, 3, 11, 15)
    cut = write(tmp_path / "cut.log", 0, 1, 3, 11)
    cut.write_text(cut.read_text() + f"virtio_set_status vdev {VDEV} va")
    proc = cli("diff", good, cut)
    assert proc.returncode == 1
    context = proc.stdout.split("context (what the runs are, not a divergence):\n")[1]
    assert context.startswith("  input      B's last line had no newline (truncated log?)")
    report = json.loads(cli("diff", "--format", "json", good, cut).stdout)
    assert [c["aspect"] for c in report["context"]] == ["input"]
    assert "input" not in [d["aspect"] for d in report["divergences"]]
