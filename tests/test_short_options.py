"""``analyze``'s one-letter options are read as such at once (cli.ShortOptionsFirst):
click no longer builds and drops a "no such option" error, with difflib's suggestions,
for each ``-o``; what a user sees for a mistyped option is unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "multi-device" / "combined.log"


def test_dash_o_writes_the_report_without_importing_difflib(tmp_path):
    report = tmp_path / "r.json"
    probe = ("import sys\n"
             "from virtiodiag.cli import run_command\n"
             f"code = run_command(['analyze', {str(SAMPLE)!r}, '--format', 'json', "
             f"'-o', {str(report)!r}])\n"
             "sys.stderr.write(f'CODE {code} DIFFLIB {\"difflib\" in sys.modules}\\n')\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), VIRTIODIAG_SLOW_EXIT="1")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)
    assert "CODE 0 DIFFLIB False" in proc.stderr, proc.stderr
    assert report.read_text().startswith('{"schema":')


def test_mistyped_options_are_told_as_before():
    result = run_cli("analyze", SAMPLE, "--formt", "json")
    assert result.returncode == 2
    assert b"No such option '--formt'. Did you mean '--format'?" in result.stderr
    result = run_cli("analyze", SAMPLE, "-z")
    assert result.returncode == 2 and b"No such option '-z'." in result.stderr
    result = run_cli("analyze", SAMPLE, "-o")
    assert result.returncode == 2 and b"Option '-o' requires an argument." in result.stderr
