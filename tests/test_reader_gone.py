"""A reader that leaves before the report is written (``analyze LOG | head -1``): the
exit status is the analysis's gate, not 2. Whether ``head`` left before the last write or
after it is a race; under load a clean sample exited 2 or 0 by turns (samples/modern-
only-force-legacy/combined.log piped to ``head -1``: 2 in 5 of 8 runs at load ~20).
Here the reader closes its end before the command writes anything, so every write fails
(EPIPE), as when the race is lost."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO, ending_with_pytest

CLEAN = REPO / "samples" / "modern-only-force-legacy" / "combined.log"
FAILING = REPO / "samples" / "arm64-virt-mmio-modern-net-fail" / "combined.log"


def _reader_gone(*args: str) -> tuple[int, str]:
    env = dict(os.environ, NO_COLOR="1")
    env.pop("GITHUB_ACTIONS", None)
    argv, preexec = ending_with_pytest([sys.executable, "-m", "virtiodiag", *args])
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                            env=env, preexec_fn=preexec)  # noqa: PLW1509
    proc.stdout.close()  # the reader is gone before the first write
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc.returncode, err.decode("utf-8", "replace")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_clean_log_exits_0_when_the_reader_left(fmt):
    code, err = _reader_gone("analyze", "--format", fmt, str(CLEAN))
    assert (code, err) == (0, "")


def test_a_failing_log_still_exits_1_when_the_reader_left():
    code, err = _reader_gone("analyze", str(FAILING))
    assert (code, err) == (1, "")


def test_a_streamed_report_says_why_it_exits_2_when_the_reader_left():
    """jsonl streams while the logs are read: a reader gone before the end leaves the
    gate unknown (exit 2, never green on a part), now said on stderr (it said nothing)."""
    code, err = _reader_gone("analyze", "--format", "jsonl", str(CLEAN))
    assert code == 2
    assert err == ("virtiodiag: error: the report's reader stopped reading before every "
                   "input was analysed: the gate's status is not known (exit 2)\n")


# The other commands whose exit status is a verdict: diff (0 the handshakes match, 1 they
# differ), grammar check and parse (0 every line understood, 1 a line was not). Click's
# own EPIPE handling made each of them exit 1 when the reader left (`virtiodiag diff
# a.log a.log | head -1` said the runs differ); the status is now the verdict's.
SAME = str(CLEAN)
VNET = REPO / "docs" / "examples" / "vnet.lark"


def test_diff_of_identical_runs_exits_0_when_the_reader_left():
    assert _reader_gone("diff", SAME, SAME) == (0, "")
    assert _reader_gone("diff", "--format", "json", SAME, SAME) == (0, "")


def test_diff_of_different_runs_still_exits_1_when_the_reader_left():
    assert _reader_gone("diff", SAME, str(FAILING)) == (1, "")


def test_grammar_check_exits_0_when_the_reader_left():
    assert _reader_gone("grammar", "check", str(VNET)) == (0, "")


def test_grammar_check_still_exits_1_on_a_failing_sample_when_the_reader_left():
    # vnet-boot.log's first line is not a vnet line: a sample that fails
    assert _reader_gone("grammar", "check", str(VNET), "--samples",
                        str(REPO / "docs" / "examples" / "vnet-boot.log")) == (1, "")


def test_parse_exits_0_when_the_reader_left():
    assert _reader_gone("parse", "--explain",
                        "virtio_set_status vdev 0x55d0c0a0 val 15") == (0, "")
    assert _reader_gone("parse", "no virtio here") == (1, "")
