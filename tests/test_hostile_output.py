"""Output that cannot be turned against its reader (issue 15, case 4).

No output line starts with a CI runner's command taken from a log or a file name; every
control character (newline and tab too) in names and log text is escaped in text, stderr
and JUnit; XML holds only characters XML 1.0 allows; JSON never holds NaN or Infinity.
"""

import io
import json
import xml.etree.ElementTree as ET

import pytest

from conftest import run_cli
from virtiodiag.reports import escape

LEGACY = (b"virtio_set_status vdev 0x55d0a7b3c010 val 0\n"
          b"virtio_set_status vdev 0x55d0a7b3c010 val 1\n"
          b"virtio_set_status vdev 0x55d0a7b3c010 val 3\n"
          b"virtio_set_status vdev 0x55d0a7b3c010 val 7\n")
COMMANDS = ("::", "##[", "##vso[")


def _run(cwd, *args, stdin=None):
    return run_cli(*args, stdin=stdin, cwd=cwd)


def _no_command_lines(data: bytes):
    for line in data.decode("utf-8", "replace").split("\n"):
        assert not line.lstrip(" \t").startswith(COMMANDS), line


@pytest.mark.parametrize("name", ["::error::x.log", "::stop-commands::tok.log",
                                  "##[error]x.log", "  ::add-mask::x.log"])
@pytest.mark.parametrize("fmt", ["text", "junit", "sarif", "json", "jsonl", "gitlab"])
def test_a_file_name_never_starts_an_output_line_with_a_ci_command(tmp_path, name, fmt):
    (tmp_path / name).write_bytes(LEGACY)
    proc = _run(tmp_path, "analyze", "--format", fmt, name)
    assert proc.returncode in (0, 1), proc.stderr
    _no_command_lines(proc.stdout)
    _no_command_lines(proc.stderr)


@pytest.mark.parametrize("fmt", ["text", "junit", "html"])
def test_a_report_file_holds_no_ci_command_line_either(tmp_path, fmt):
    name = "::error::x.log"
    (tmp_path / name).write_bytes(LEGACY)
    proc = _run(tmp_path, "analyze", "--format", fmt, "-o", "report.out", name)
    assert proc.returncode in (0, 1), proc.stderr
    _no_command_lines((tmp_path / "report.out").read_bytes())


def test_the_github_format_still_writes_its_commands(tmp_path):
    (tmp_path / "::x.log").write_bytes(LEGACY)
    proc = _run(tmp_path, "analyze", "--format", "github", "::x.log")
    lines = proc.stdout.decode().splitlines()
    assert any(line.startswith("::error file=") for line in lines)
    assert all(line.startswith(("::", "virtiodiag:")) for line in lines)


def test_log_text_never_starts_a_line(tmp_path):
    log = LEGACY + b"::error::x virtio_set_status vdev 0x55d0a7b3c010 val 9\n"
    proc = _run(tmp_path, "analyze", "--verbose", "-", stdin=log)
    _no_command_lines(proc.stdout)


def test_newlines_and_tabs_in_a_file_name_are_escaped_everywhere(tmp_path):
    name = "run\n::error::injected\tx.log"
    (tmp_path / name).write_bytes(LEGACY)
    text = _run(tmp_path, "analyze", name)
    assert b"run\\x0a::error::injected\\x09x.log" in text.stdout
    _no_command_lines(text.stdout)
    junit = _run(tmp_path, "analyze", "--format", "junit", name)
    root = ET.fromstring(junit.stdout)
    names = [suite.get("name") for suite in root.iter("testsuite")]
    assert names == ["run\\x0a::error::injected\\x09x.log"]
    missing = _run(tmp_path, "analyze", "gone\n::error::y.log")
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1
    assert b"gone\\x0a::error::y.log" in missing.stderr


def test_junit_holds_only_xml_characters(tmp_path):
    log = LEGACY + "virtio_foo \ufffe\uffff \x01\x1b[31m\x0c odd\n".encode()
    proc = _run(tmp_path, "analyze", "--format", "junit", "--fail-on", "info", "-", stdin=log)
    assert proc.returncode in (0, 1), proc.stderr
    ET.fromstring(proc.stdout)  # U+FFFE / U+FFFF made the file unparseable
    assert "\ufffe".encode() not in proc.stdout


def test_escape_functions():
    assert escape.safe("a\tb\nc\r\x1b") == "a\\x09b\\x0ac\\x0d\\x1b"
    assert escape.neutralise_line("::error::x") == "\\x3a:error::x"
    assert escape.neutralise_line("  ##[error]x") == "  \\x23#[error]x"
    assert escape.neutralise_line("path/::x") == "path/::x"
    assert escape.xml_text("a\ufffeb\uffff\ud800") == "a\\ufffeb\\uffff\\ud800"
    assert escape.finite({"t": [float("inf"), 1.5, float("nan")]}) == {"t": [None, 1.5, None]}


def test_guarded_stream_checks_every_line_start_across_writes():
    out = io.StringIO()
    guarded = escape.GuardedStream(out)
    for piece in ["ok line\n", ":", ":error::a\n", "  #", "#[x]\n", "mid :: fine\n", "::"]:
        guarded.write(piece)
    guarded.flush()
    assert out.getvalue() == ("ok line\n\\x3a:error::a\n  \\x23#[x]\nmid :: fine\n\\x3a:")
    with pytest.raises(TypeError):
        guarded.write(b"bytes")


def test_json_never_writes_infinity():
    from virtiodiag.reports.json_report import write_json

    out = io.StringIO()
    write_json(out, {"time": float("inf"), "items": [float("nan"), 2.0]})

    def refuse(constant):
        raise AssertionError(constant)
    assert json.loads(out.getvalue(), parse_constant=refuse) == {"time": None,
                                                                 "items": [None, 2.0]}


# C1 controls written as UTF-8 (U+009B is CSI and U+009D OSC on a terminal that reads
# 8-bit controls, U+0085 a line break), an ESC sequence, a bidirectional override: in the
# evidence of findings, a line no grammar understood and a line a grammar check fails.
C1_LOG = ("virtio_blk virtio2: [vdb] 4194304 512-byte logical blocks (2.15 GB/2.00 GiB)\n"
          "blk_update_request: I/O error, dev vdb, sector 1 op 0x1:(WRITE) \u009b31m\u0085"
          "\u009d0;title\u009c \x1b[2J\x1b]0;t\x07 \u202e flags 0x0 phys_seg 1 prio class 0\n"
          "virtio_net virtio0 \u009b31m: a virtio line no grammar reads \u0085\x1b[2J\n"
          "virtio_set_status vdev 0x55d0a7b3c010 val 1\n"
          "virtio_set_status vdev 0x55d0a7b3c010 val 3\n"
          "virtio_set_status vdev 0x55d0a7b3c010 val 1 \u009b31m\n").encode()
_SHOWN_RAW = ("\x1b", "\x07", "\u0085", "\u009b", "\u009c", "\u009d", "\u202e")


@pytest.mark.parametrize("args", [
    ("analyze", "{log}"), ("analyze", "--verbose", "--timeline", "{log}"),
    ("analyze", "--verbose", "-"), ("analyze", "--verbose", "{log}", "{log}"),
    ("diff", "--verbose", "{log}", "{other}"), ("parse", "-"),
    ("grammar", "check", "{grammar}", "--samples", "{log}")])
def test_c1_and_escape_sequences_from_a_log_never_reach_the_terminal(tmp_path, args):
    """Every terminal output of a log's text: findings, live lines, --verbose's lines no
    grammar understood, diff, parse, a grammar check's messages."""
    from pathlib import Path

    log, other = tmp_path / "c1.log", tmp_path / "other.log"
    log.write_bytes(C1_LOG)
    other.write_bytes(LEGACY)
    grammar = Path(__file__).resolve().parents[1] / "grammars" / "rtos_step.lark"
    argv = [a.format(log=log, other=other, grammar=grammar) for a in args]
    proc = _run(tmp_path, *argv, stdin=C1_LOG if "-" in argv else None)
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    assert "\\x1b" in out or "\\u009b" in out or "\\x9b" in out  # the text is shown, escaped
    for char in _SHOWN_RAW:
        assert char not in out, (char, args)
