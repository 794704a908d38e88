"""Internal errors are loud: only a grammar's "no match" means a line is not understood.

A fault is injected into the transformer (every grammar's Payload builder) and into a
rule; the run must stop with exit status 2 and one line naming the file and the line,
never become an 'unrecognised line' finding with exit 0.
"""

import subprocess
import sys

import pytest

from virtiodiag.analysis import RuleSettings
from virtiodiag.dialects import load_dialects
from virtiodiag.dialects import transformer
from virtiodiag.errors import InternalError
from virtiodiag.runner import analyse_path

from conftest import REPO, run_cli

VDEV = "0x5581c3e4a2d0"
LOG = "".join(f"virtio_set_status vdev {VDEV} val {v}\n" for v in (0, 1, 3, 11, 15))

# Runs the CLI with the transformer failing on the status value 11 (line 4 of LOG): in a
# process of its own for -j, whose worker processes must fail the same way.
FAULTY_CLI = """
import sys
from virtiodiag.dialects import transformer
real = transformer._collect
def collect(children, fields):
    if any(str(child) == "11" for child in children):
        raise ZeroDivisionError("injected fault")
    return real(children, fields)
transformer._collect = collect
sys.argv[0] = "virtiodiag"
from virtiodiag.cli import main
main()
"""


def _faulty_transformer(monkeypatch):
    real = transformer._collect

    def collect(children, fields):
        if any(str(child) == "11" for child in children):
            raise ZeroDivisionError("injected fault")
        return real(children, fields)

    monkeypatch.setattr(transformer, "_collect", collect)


def test_a_transformer_fault_stops_the_run_naming_file_and_line(tmp_path, monkeypatch):
    log = tmp_path / "boot.log"
    log.write_text(LOG)
    _faulty_transformer(monkeypatch)
    with pytest.raises(InternalError) as caught:
        analyse_path(str(log), load_dialects(), RuleSettings())
    assert caught.value.path == str(log) and caught.value.line == 4
    assert isinstance(caught.value.cause, ZeroDivisionError)
    assert str(caught.value) == f"{log}:4: ZeroDivisionError: injected fault"


def test_a_line_no_grammar_matches_is_still_only_unrecognised(tmp_path):
    log = tmp_path / "boot.log"
    log.write_text(LOG + "virtio_set_status this is not what QEMU prints\n")
    result = analyse_path(str(log), load_dialects(), RuleSettings())
    assert result.model.unrecognised == 1
    assert [f.rule for f in result.findings] == ["VD016"]


def test_a_rule_fault_stops_the_run(tmp_path, monkeypatch):
    from virtiodiag.rules import get_rule

    log = tmp_path / "boot.log"
    log.write_text(LOG)
    rule = get_rule("VD003")

    def broken(ctx):
        raise KeyError("injected")
        yield

    monkeypatch.setattr(rule, "check", broken)
    with pytest.raises(InternalError) as caught:
        analyse_path(str(log), load_dialects(), RuleSettings())
    assert caught.value.where == "rule VD003"
    assert "KeyError" in str(caught.value)


def _run(*args):
    return subprocess.run([sys.executable, "-c", FAULTY_CLI, *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120, check=False)


def test_the_cli_exits_2_with_one_line(tmp_path, monkeypatch):
    log = tmp_path / "boot.log"
    log.write_text(LOG)
    _faulty_transformer(monkeypatch)
    proc = run_cli("analyze", "--no-color", log, internal_error=True)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2, stderr
    assert stderr.splitlines() == [
        f"virtiodiag: internal error: {log}:4: ZeroDivisionError: injected fault (a bug in "
        "virtiodiag, please report it; --debug prints the traceback)"]
    assert "Traceback" not in stderr


def test_debug_prints_the_traceback_and_still_exits_2(tmp_path, monkeypatch):
    log = tmp_path / "boot.log"
    log.write_text(LOG)
    _faulty_transformer(monkeypatch)
    proc = run_cli("--debug", "analyze", "--format", "json", log, internal_error=True)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2
    assert "Traceback (most recent call last)" in stderr
    assert "injected fault" in stderr.splitlines()[-1]


def test_parallel_workers_report_the_fault_too(tmp_path):
    logs = []
    for name in ("a.log", "b.log"):
        log = tmp_path / name
        log.write_text(LOG)
        logs.append(str(log))
    proc = _run("analyze", "-j", "2", "--format", "json", *logs)
    assert proc.returncode == 2
    assert "a.log:4: ZeroDivisionError: injected fault" in proc.stderr
