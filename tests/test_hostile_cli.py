"""Faults handled like a trusted CLI (issue 15, case 6)."""

import gzip
import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import REPO, SAMPLES, run_cli, run_cli_process, wait_for_output

LEGACY = (b"virtio_set_status vdev 0x55d0a7b3c010 val 0\n"
          b"virtio_set_status vdev 0x55d0a7b3c010 val 1\n"
          b"virtio_set_status vdev 0x55d0a7b3c010 val 3\n"
          b"virtio_set_status vdev 0x55d0a7b3c010 val 7\n")
MODERN = (SAMPLES / "modern-pci" / "combined.log").read_bytes()


def test_the_report_never_overwrites_an_input(tmp_path):
    log = tmp_path / "v.log"
    log.write_bytes(LEGACY)
    for args in (["-o", log, log], ["--format", "json", "-o", log, log],
                 ["--write-baseline", log, log]):
        proc = run_cli("analyze", *args)
        assert proc.returncode == 2, proc.stderr
        assert b"is an input" in proc.stderr
        assert log.read_bytes() == LEGACY
    link = tmp_path / "other-name.log"
    os.link(log, link)
    assert run_cli("analyze", "-o", link, log).returncode == 2


def test_the_report_file_is_renamed_into_place(tmp_path):
    log = tmp_path / "v.log"
    log.write_bytes(LEGACY)
    out = tmp_path / "report.json"
    out.write_text("previous report\n")
    proc = run_cli("analyze", "--format", "json", "-o", out, log)
    assert proc.returncode == 1
    assert json.loads(out.read_text())["verdict"] == "fail"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "v.log"]


def test_a_report_into_a_fifo_or_device_keeps_it_what_it_is(tmp_path):
    # Renamed over, `-o /dev/null` run as root left a regular file where /dev/null was
    # (for every program on the machine); a FIFO is the same case without root, and
    # without putting the machine's /dev/null at stake.
    import stat
    import threading

    log = tmp_path / "v.log"
    log.write_bytes(LEGACY)
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    proc = run_cli("analyze", "--format", "json", "-o", fifo, log)
    reader.join(timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(got[0])["verdict"] == "fail"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.fifo", "v.log"]


def _runs_dir(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "run-1.log").write_bytes(MODERN)
    (runs / "run-2.log").write_bytes(MODERN)
    (runs / "README.md").write_text("notes about these runs\n")
    (runs / "NOTES").write_text("PASS and FAIL of last week were flaky\n")
    return runs


def test_a_directory_of_runs_skips_what_is_not_a_run(tmp_path):
    runs = _runs_dir(tmp_path)
    first = run_cli("analyze", "--format", "json", "-o", runs / "report.json", runs)
    assert first.returncode == 0, first.stderr
    (runs / "copy-of-report.log").write_bytes((runs / "report.json").read_bytes())
    text = run_cli("analyze", "-o", runs / "summary.txt", runs)  # a text report in the folder
    assert text.returncode == 0
    proc = run_cli("analyze", "--format", "json", runs)
    report = json.loads(proc.stdout)
    names = sorted(os.path.basename(run["path"]) for run in report["runs"])
    assert names == ["run-1.log", "run-2.log"]  # 2/2, not 2/6 with notes and reports passing
    for skipped in (b"README.md (not a log file name)", b"NOTES (not a log file name)",
                    b"report.json (not a log file name)",
                    b"summary.txt (a report virtiodiag wrote)",
                    b"copy-of-report.log (a report virtiodiag wrote)"):
        assert skipped in proc.stderr
    only_logs = run_cli("analyze", "--format", "json", "--glob", "*.log", runs)
    assert len(json.loads(only_logs.stdout)["runs"]) == 2


def test_a_directory_of_runs_names_what_it_cannot_read(tmp_path):
    """A FIFO and a dangling link named like runs are named on stderr, not read (a FIFO
    no one writes would block); a subfolder is not a run and is passed over. They were
    left out without a word."""
    runs = _runs_dir(tmp_path)
    os.mkfifo(runs / "console.log")
    (runs / "old.log").symlink_to(tmp_path / "deleted.log")
    (runs / "archive.log").mkdir()
    proc = run_cli("analyze", "--format", "json", runs)
    assert proc.returncode == 0, proc.stderr
    names = sorted(os.path.basename(run["path"]) for run in json.loads(proc.stdout)["runs"])
    assert names == ["run-1.log", "run-2.log"]
    assert b"console.log (not a regular file)" in proc.stderr
    assert b"old.log (a link to nothing)" in proc.stderr
    assert b"archive.log" not in proc.stderr


def test_a_run_without_devices_next_to_runs_with_devices_fails(tmp_path):
    runs = _runs_dir(tmp_path)
    (runs / "run-3.log").write_text("[    0.512000] Kernel panic - not syncing: VFS\n")
    proc = run_cli("analyze", "--format", "json", runs)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    by_run = {os.path.basename(run["path"]): run for run in report["runs"]}
    assert [f["rule"] for f in by_run["run-3.log"]["findings"]] == ["VD023"]
    assert by_run["run-3.log"]["verdict"] == "fail"
    alone = run_cli("analyze", runs / "run-3.log")
    assert alone.returncode == 0  # on its own, a log without virtio is no failure


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_gzip_is_recognised_by_its_magic_bytes(tmp_path, how):
    packed = gzip.compress(LEGACY)
    log = tmp_path / "capture.log"  # no .gz
    log.write_bytes(packed)
    proc = (run_cli("analyze", "--format", "json", log) if how == "file"
            else run_cli("analyze", "--format", "json", "-", stdin=packed))
    assert proc.returncode == 1, proc.stderr
    assert len(json.loads(proc.stdout)["devices"]) == 1


def test_binary_input_is_reported(tmp_path):
    path = tmp_path / "firmware.bin"
    path.write_bytes(bytes(range(256)) * 200)
    proc = run_cli("analyze", "--format", "json", path)
    findings = json.loads(proc.stdout)["findings"]
    assert [f["rule"] for f in findings] == ["VD022"]
    assert "binary data" in findings[0]["message"]
    assert run_cli("analyze", "--format", "json", SAMPLES / "modern-pci" / "combined.log"
                   ).stdout.count(b"VD022") == 0


def test_a_broken_grammar_on_the_search_path_fails_loudly(tmp_path):
    folder = tmp_path / "grammars"
    folder.mkdir()
    (folder / "broken.lark").write_text("//@ triggers: virtio\nstart: NOPE\n")
    log = tmp_path / "v.log"
    log.write_bytes(LEGACY)
    proc = run_cli("analyze", log, env={"VIRTIODIAG_GRAMMAR_PATH": str(folder)})
    assert proc.returncode == 2
    assert b"broken.lark" in proc.stderr


def test_a_fifo_on_the_search_path_is_not_opened(tmp_path):
    folder = tmp_path / "grammars"
    folder.mkdir()
    os.mkfifo(folder / "pipe.lark")
    log = tmp_path / "v.log"
    log.write_bytes(LEGACY)
    # In a process of its own, bounded: opening the FIFO would block for ever.
    proc = run_cli_process("analyze", log, env={"VIRTIODIAG_GRAMMAR_PATH": str(folder)},
                           timeout=60)
    assert proc.returncode == 1


def test_a_baseline_is_read_up_to_a_cap(tmp_path):
    log = tmp_path / "v.log"
    log.write_bytes(LEGACY)
    # In a process of its own, bounded: without the cap it reads until memory runs out.
    proc = run_cli_process("analyze", "--baseline", "/dev/zero", log, timeout=60)
    assert proc.returncode == 2
    assert b"larger than" in proc.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
@pytest.mark.parametrize("option", ["--stall-timeout", "--follow-exit-after"])
def test_number_options_are_finite_and_positive(tmp_path, option, value):
    log = tmp_path / "v.log"
    log.write_bytes(LEGACY)
    proc = run_cli("analyze", option, value, log)
    assert proc.returncode == 2
    assert option.encode() in proc.stderr


def test_sigterm_stops_like_ctrl_c_with_a_summary_and_a_report(tmp_path):
    out = tmp_path / "partial.json"
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "virtiodiag", "analyze", "--format", "json",
                             "-o", str(out), "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=env)
    proc.stdin.write(LEGACY)
    proc.stdin.flush()
    seen = wait_for_output(proc.stdout, b"VD001")  # it read the log (the live finding)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    stdout = seen + stdout
    assert proc.returncode == 143, stderr
    report = json.loads(out.read_text())
    assert report["interrupted"] is True and len(report["devices"]) == 1
    assert b"FAIL" in stdout or b"device" in stdout  # the text summary on the terminal


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_diff_has_no_verdict(tmp_path, signum, status):
    """diff stopped while reading a run (a FIFO whose writer is still at it): 130 for
    Ctrl-C, 143 for SIGTERM, as analyze. It exited 1, diff's "the runs differ", after
    click's "Aborted!", or 2 as an internal error ("Interrupted: interrupted")."""
    fifo = tmp_path / "run-b.log"
    os.mkfifo(fifo)
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "virtiodiag", "diff",
                             str(SAMPLES / "modern-pci" / "combined.log"), str(fifo)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=env)
    with open(fifo, "wb") as writer:  # returns once diff opened the FIFO to read it
        writer.write(MODERN[:4096])
        writer.flush()
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == status, stderr
    assert stderr == b"virtiodiag: interrupted\n"
    assert stdout == b""


def test_an_interrupt_while_rendering_finishes_the_report(tmp_path, monkeypatch):
    from virtiodiag import runner
    from virtiodiag.options import AnalyzeOptions
    from virtiodiag.reports import json_report

    log = tmp_path / "v.log"
    log.write_bytes(LEGACY)
    out = tmp_path / "report.json"
    render = json_report.render

    def interrupted_render(results, stream, options):
        stream.write("")
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives while the report is written
        render(results, stream, options)

    monkeypatch.setattr(json_report, "render", interrupted_render)
    code = runner.run_analyze(AnalyzeOptions([str(log)], fmt="json", output=str(out)))
    assert code == 130
    assert json.loads(out.read_text())["verdict"] == "fail"
