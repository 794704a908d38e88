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

from conftest import REPO, ends_with_pytest

CLEAN = REPO / "samples" / "modern-only-force-legacy" / "combined.log"
FAILING = REPO / "samples" / "arm64-virt-mmio-modern-net-fail" / "combined.log"


def _reader_gone(*args: str) -> tuple[int, str]:
    env = dict(os.environ, NO_COLOR="1")
    env.pop("GITHUB_ACTIONS", None)
    proc = subprocess.Popen([sys.executable, "-m", "virtiodiag", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                            env=env, preexec_fn=ends_with_pytest)  # noqa: PLW1509
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
