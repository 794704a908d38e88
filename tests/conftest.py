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
                          cwd=REPO)


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
