"""``analyze`` options owned by the runner: inputs, progress, formats, output files."""

from __future__ import annotations

import io

from conftest import invoke_cli
from virtiodiag.options import default_format
from virtiodiag.pipeline import PROGRESS_MIN_BYTES, Progress, progress_wanted
from virtiodiag.runner import expand_paths

VDEV = "0x5581c3e4a2d0"


cli = invoke_cli


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_only_for_large_files_on_a_terminal_outside_ci():
    big = PROGRESS_MIN_BYTES + 1
    assert progress_wanted(big, Tty(), {})
    assert not progress_wanted(PROGRESS_MIN_BYTES, Tty(), {})
    assert not progress_wanted(big, io.StringIO(), {})  # a pipe or a file
    assert not progress_wanted(big, Tty(), {"CI": "true"})
    assert not progress_wanted(None, Tty(), {})  # standard input: size unknown


def test_progress_bar_draws_and_shows_the_cursor_again():
    out = Tty()
    bar = Progress("/var/log/big.log", 200_000_000, out)
    bar.update(100_000_000)
    assert "big.log  [###############---------------]   50%  100/200 MB" in out.getvalue()
    bar.close()
    assert out.getvalue().endswith("\x1b[?25h\n")  # click hid the cursor while drawing


def test_default_format_follows_github_actions():
    assert default_format({}) == "text"
    assert default_format({"GITHUB_ACTIONS": "true"}) == "github"
    assert default_format({"GITHUB_ACTIONS": "false"}) == "text"


def test_a_directory_stands_for_its_regular_files_sorted(tmp_path):
    (tmp_path / "b.log").write_text("x\n")
    (tmp_path / "a.log").write_text("x\n")
    (tmp_path / "sub").mkdir()
    assert expand_paths([str(tmp_path), "-"]) == [str(tmp_path / "a.log"),
                                                   str(tmp_path / "b.log"), "-"]


def test_output_file_gets_the_format_while_the_terminal_shows_text(tmp_path):
    log = tmp_path / "bad.log"
    log.write_text("".join(f"virtio_set_status vdev {VDEV} val {v}\n" for v in (0, 1, 3, 11)))
    report = tmp_path / "out.xml"
    proc = cli("analyze", "--format", "junit", "--output", report, log)
    assert proc.returncode == 1
    assert report.read_text().startswith("<?xml")
    assert "handshake-incomplete" in proc.stdout and "<testsuite" not in proc.stdout


def test_help_lists_the_new_options():
    out = cli("analyze", "--help").stdout
    for option in ("--follow", "--stall-timeout", "--baseline", "--write-baseline",
                   "--fail-on", "--exit-zero", "sarif", "gitlab", "jsonl"):
        assert option in out
    assert "--follow-exit-after" not in out  # for tests only
    assert "Exit status" in cli("diff", "--help").stdout


def test_log_text_is_not_echoed_raw_in_the_verdict_lines(tmp_path):
    odd = tmp_path / "run\x1b[2J.log"
    odd.write_text(f"virtio_set_status vdev {VDEV} val 1\n")
    plain = tmp_path / "plain.log"
    plain.write_text(f"virtio_set_status vdev {VDEV} val 1\n")
    proc = cli("analyze", odd, plain)
    assert "\x1b" not in proc.stdout
    assert "\\x1b[2J" in proc.stdout
