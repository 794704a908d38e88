"""A large run's text summary is rendered by a forked process while the report file is
written (virtiodiag/reports/aside.py): the same bytes on standard output, the same report
file and exit status as rendering both here; nothing of it when the report file fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, SAMPLES, analysed, ending_with_pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(os, "fork")
    or len(os.sched_getaffinity(0)) < 2,
    reason="the summary is rendered aside on Linux with two CPUs only")

# Runs `analyze LOG --format FMT -o FILE` in process for each log, standard output at the
# file-descriptor level in a file of its own (as a shell gives it), once with the summary
# rendered aside (SUMMARY_ASIDE_FROM 0: every run) and once here (out of reach). MODE
# "fail-child" makes the text reporter raise in the forked child only; "fail-file" makes
# the report file's reporter raise. Prints what each delivery gave, as JSON on stderr.
_DRIVER = r"""
import json, os, pickle, sys
from virtiodiag import runner
from virtiodiag.reports import aside, json_report, text
from virtiodiag.cli import run_command

out_dir, fmt, mode, logs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
parent = os.getpid()
delivered = []
deliver = aside.Aside.deliver
aside.Aside.deliver = lambda self: delivered.append(deliver(self)) or delivered[-1]
if mode == "fail-child":
    render = text.render
    def failing(*args, **kwargs):
        if os.getpid() != parent:
            raise RuntimeError("injected into the child")
        return render(*args, **kwargs)
    text.render = failing
if mode == "fail-file":
    def broken(results, stream, options):
        stream.write("{")
        raise OSError(28, "No space left on device")
    json_report.render = broken
# Each log is read once: the two passes differ only in where the summary is rendered,
# so the second gets a copy of the first's result (nothing is shown while reading a file
# with -o; a run that would show something is read again). A log the test session has
# analysed already (conftest.analysed: `analyze LOG`'s result) is not read here at all.
analyse, analysed = runner.analyse_path, {}
if os.path.isfile(f"{out_dir}/results.pickle"):
    with open(f"{out_dir}/results.pickle", "rb") as handle:
        analysed.update(pickle.load(handle))
def analyse_once(name, *args, on_finding=None, on_event=None):
    if on_finding is not None or on_event is not None:
        return analyse(name, *args, on_finding=on_finding, on_event=on_event)
    if name not in analysed:
        analysed[name] = pickle.dumps(analyse(name, *args))
    return pickle.loads(analysed[name])
runner.analyse_path = analyse_once
stdout, stderr = sys.stdout, sys.stderr
codes = {}
for how, first in (("aside", 0), ("here", 10 ** 9)):
    runner.SUMMARY_ASIDE_FROM = first
    for index, log in enumerate(logs):
        name = f"{out_dir}/{how}-{index}"
        sys.stdout, sys.stderr = stdout, stderr
        sys.stdout.flush()
        saved = os.dup(1)
        target = os.open(name + ".txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, 1)
        os.close(target)
        try:
            codes[name] = run_command(["analyze", log, "--format", fmt, "-o", name + ".out"])
            sys.stdout.flush()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
sys.stdout, sys.stderr = stdout, stderr
try:
    os.waitpid(-1, os.WNOHANG)
    children_left = True
except ChildProcessError:
    children_left = False
sys.stderr.write(json.dumps({"delivered": delivered, "codes": codes,
                             "children_left": children_left}) + "\n")
"""


def _drive(tmp_path, logs, fmt="json", mode="plain") -> dict:
    import pickle

    # The session's results of these logs (shared by the tests that read them), for the
    # driver to render instead of reading each log once more.
    results = {str(log): pickle.dumps(analysed(log)) for log in logs}
    (tmp_path / "results.pickle").write_bytes(pickle.dumps(results))
    env = dict(os.environ, NO_COLOR="1", PYTHONPATH=str(REPO))
    env.pop("GITHUB_ACTIONS", None)
    argv, preexec = ending_with_pytest([sys.executable, "-c", _DRIVER, str(tmp_path), fmt,
                                        mode, *map(str, logs)])
    proc = subprocess.run(argv, capture_output=True, env=env, cwd=REPO, timeout=600,
                          preexec_fn=preexec)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    return json.loads(proc.stderr.decode().strip().splitlines()[-1])


def _same(tmp_path, count: int, codes: dict, suffixes=(".txt", ".out")) -> None:
    for index in range(count):
        aside, here = tmp_path / f"aside-{index}", tmp_path / f"here-{index}"
        assert codes[str(aside)] == codes[str(here)]
        for suffix in suffixes:
            assert (aside.parent / (aside.name + suffix)).read_bytes() == \
                (here.parent / (here.name + suffix)).read_bytes(), (index, suffix)


def test_samples_give_the_same_summary_and_report_file_rendered_aside(tmp_path):
    # Every fourth sample (a dozen logs of every kind: the path only copies bytes, so a
    # spread of reports shows it as well as all of them, at a quarter of the time)
    logs = sorted(SAMPLES.glob("*/combined.log"))[::4]
    assert len(logs) >= 10
    got = _drive(tmp_path, logs)
    # Every run of the first pass went through a child that rendered the whole summary
    # (a silent fallback would compare the ordinary path with itself).
    assert got["delivered"] == [True] * len(logs)
    assert not got["children_left"]
    _same(tmp_path, len(logs), got["codes"])
    summary = (tmp_path / "aside-0.txt").read_bytes()
    assert summary.count(b"\n") > 3  # a real summary, not an empty file


def test_other_report_formats_too(tmp_path):
    logs = [SAMPLES / "multi-device" / "combined.log"]
    for fmt in ("sarif", "github"):
        got = _drive(tmp_path, logs, fmt=fmt)
        assert got["delivered"] == [True]
        _same(tmp_path, 1, got["codes"])


def test_a_child_that_fails_shows_nothing_and_the_summary_is_rendered_here(tmp_path):
    logs = [SAMPLES / "multi-device" / "combined.log"]
    got = _drive(tmp_path, logs, mode="fail-child")
    assert got["delivered"] == [False]
    assert not got["children_left"]
    _same(tmp_path, 1, got["codes"])
    assert (tmp_path / "aside-0.txt").read_bytes().startswith((b"PASS", b"FAIL", b"WARN"))


def test_a_report_file_that_fails_stops_the_child_and_shows_no_summary(tmp_path):
    logs = [SAMPLES / "multi-device" / "combined.log"]
    got = _drive(tmp_path, logs, mode="fail-file")
    assert got["delivered"] == []  # cancelled, never delivered
    assert not got["children_left"]  # killed and reaped
    assert got["codes"][str(tmp_path / "aside-0")] == 2
    _same(tmp_path, 1, got["codes"], suffixes=(".txt",))
    assert (tmp_path / "aside-0.txt").read_bytes() == b""
    assert not (tmp_path / "aside-0.out").exists()  # the atomic file was not committed
