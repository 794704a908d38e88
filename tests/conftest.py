import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"


def run_cli(*args, stdin=None, env=None, timeout=120):
    """Run ``python -m virtiodiag`` as a user would; returns CompletedProcess."""
    full_env = dict(os.environ)
    full_env.pop("GITHUB_ACTIONS", None)
    full_env["NO_COLOR"] = "1"
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "virtiodiag", *map(str, args)],
                          input=stdin, capture_output=True, timeout=timeout, env=full_env,
                          cwd=REPO, preexec_fn=ends_with_pytest)


def ends_with_pytest() -> None:
    """preexec_fn: SIGTERM to the child when pytest dies (killed, not only interrupted),
    so a `virtiodiag run` under test stops its guest then too."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def invoke_cli(*args, env=None):
    """``virtiodiag ...`` in process (click's runner): returncode, stdout, stderr."""
    from click.testing import CliRunner

    from virtiodiag.cli import cli as command

    full = {"NO_COLOR": "1", "GITHUB_ACTIONS": None, "CI": None}
    full.update(env or {})
    outcome = CliRunner().invoke(command, [str(a) for a in args], env=full)
    if outcome.exception and not isinstance(outcome.exception, SystemExit):
        raise outcome.exception
    return subprocess.CompletedProcess(args, outcome.exit_code, outcome.stdout, outcome.stderr)


def analyse_json(path, *extra):
    proc = run_cli("analyze", "--format", "json", *extra, path)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return json.loads(proc.stdout)


@pytest.fixture
def cli():
    return run_cli


# ---- guests booted by the end-to-end tests ------------------------------------------------
# Every guest of a test session carries the session's folder in its command line, so the
# checks below find exactly this session's processes (other QEMUs may run on the machine).
def _e2e_root():
    import tempfile

    tag = os.environ.get("VIRTIODIAG_E2E_TAG") or f"pid{os.getpid()}"
    return Path(tempfile.gettempdir()) / f"virtiodiag-e2e-{tag}"


@pytest.fixture(scope="session")
def e2e_dir():
    import shutil

    root = _e2e_root()
    root.mkdir(parents=True, exist_ok=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def leftover_processes(marker: str) -> list[str]:
    """Processes (other than this one) whose command line contains ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if marker in cmdline and "pytest" not in cmdline:
            found.append(f"{entry}: {cmdline[:200]}")
    return found


def pytest_sessionfinish(session, exitstatus):
    """Even after an interrupted session: no guest of ours may be left; kill and fail."""
    import signal
    import time

    marker = str(_e2e_root())
    left = leftover_processes(marker)
    if not left:
        return
    time.sleep(2)  # a guest being stopped right now gets its grace period
    left = leftover_processes(marker)
    for entry in left:
        try:
            os.kill(int(entry.split(":", 1)[0]), signal.SIGKILL)
        except OSError:
            pass
    if left:
        sys.stderr.write("\nvirtiodiag tests: processes were left behind (now killed):\n  "
                         + "\n  ".join(left) + "\n")
        session.exitstatus = 1
