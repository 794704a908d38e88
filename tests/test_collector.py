"""The garbage collector while ``analyze`` starts (virtiodiag/collector.py): the CLI's own
process holds it until its analysis has read a first block, then freezes what exists and
collects again; a process that runs commands in-process (these tests) is left alone."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "multi-device" / "combined.log"

# main() as the console script (and python -m) runs it, from virtiodiag/__main__.py; at
# exit (VIRTIODIAG_SLOW_EXIT: no os._exit), the collector's state.
PROBE = (
    "import atexit, gc, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "f'COLLECTOR {gc.isenabled()} {gc.get_freeze_count() > 0} {gc.get_threshold()[0]}\\n'))\n"
    "sys.argv = ['virtiodiag'] + sys.argv[1:]\n"
    "from virtiodiag.__main__ import main\n"
    "main()\n"
)


def _collector_at_exit(*args: str) -> str:
    env = dict(os.environ, VIRTIODIAG_SLOW_EXIT="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stderr.splitlines() if line.startswith("COLLECTOR"))
    # Young collections are spaced out only where the collector was held and given back.
    state, threshold = line.rsplit(" ", 1)
    assert int(threshold) == (50_000 if state.endswith("True True") else gc.get_threshold()[0])
    return state


def test_a_small_log_is_analysed_with_the_collector_held():
    assert _collector_at_exit("analyze", str(SAMPLE), "--format", "json",
                              "-o", os.devnull) == "COLLECTOR False False"


def test_a_longer_input_gets_the_collector_back_after_its_first_block(tmp_path):
    big = tmp_path / "long.log"
    text = SAMPLE.read_bytes()
    # Two blocks of sources.reader.BLOCK (1 MB), the second short: the collector is back
    # once the first was read (3 MB, four blocks, showed no more and would not show a
    # collector given back after the third).
    big.write_bytes(text * ((1 << 20) // len(text) + 2))
    assert _collector_at_exit("analyze", str(big), "--format", "json",
                              "-o", os.devnull) == "COLLECTOR True True"


def test_a_second_input_gets_the_collector_back(tmp_path):
    # A directory of small logs (or a -j worker's files): one input's garbage at most waits.
    for name in ("a.log", "b.log", "c.log"):
        (tmp_path / name).write_bytes(SAMPLE.read_bytes())
    assert _collector_at_exit("analyze", str(tmp_path), "--format", "json",
                              "-o", os.devnull) == "COLLECTOR True True"


def test_other_commands_leave_the_collector_alone():
    assert _collector_at_exit("rules") == "COLLECTOR True False"


def test_commands_run_in_process_leave_the_collector_alone():
    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
    result = run_cli("analyze", SAMPLE)
    assert result.returncode == 0, result.stderr
    # Nothing frozen by the command: a freeze would add every object it holds (thousands;
    # the analysis' own). The count may fall: the test session froze what it had after
    # collecting (conftest.pytest_collection_finish), and a frozen object that dies
    # leaves the count.
    assert gc.isenabled() and gc.get_freeze_count() <= frozen
    assert gc.get_threshold() == thresholds


def test_the_cli_process_holds_the_collector_before_click_is_imported():
    """``virtiodiag/__main__.py`` (``python -m virtiodiag`` and the console script, see
    pyproject) holds the collector from its first line: click and the command line's
    module are imported without collections (collector.hold_from_start)."""
    probe = ("import gc, sys\n"
             "import virtiodiag.__main__\n"
             "print(gc.isenabled(), 'click' in sys.modules, 'virtiodiag.cli' in sys.modules)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, check=True)
    assert proc.stdout.split() == ["False", "True", "True"]
