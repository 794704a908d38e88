"""docs/json-schema.md lists every field the JSON report produces."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from virtiodiag.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
FREE_FORM = {"dialects"}  # maps whose keys are data (dialect names), not fields


def keys(value, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(key)
            if key not in FREE_FORM:
                keys(item, found)
    elif isinstance(value, list):
        for item in value:
            keys(item, found)
    return found


def report(*paths) -> dict:
    outcome = CliRunner().invoke(cli, ["analyze", "--format", "json", *map(str, paths)],
                                 env={"GITHUB_ACTIONS": None})
    assert outcome.exit_code in (0, 1), outcome.output
    return json.loads(outcome.stdout)


def test_every_field_is_documented():
    doc = (ROOT / "docs" / "json-schema.md").read_text()
    documented = set()
    for span in re.findall(r"`([^`]+)`", doc):  # `field`, `devices[].field`, `{"a", "b"}`
        documented |= set(re.findall(r'"([a-z0-9_]+)"', span))
        documented |= set(re.findall(r"^(?:[a-z_]+\[\]\.)?([a-z0-9_]+)$", span))
    single = report(SAMPLES / "multi-device" / "combined.log")
    many = report(SAMPLES / "modern-pci" / "combined.log", SAMPLES / "legacy-pci" / "trace.log")
    # fields present only when so: per-attempt drivers (a rebind), a declared device
    fixtures = ROOT / "tests" / "fixtures"
    rare = report(fixtures / "attempts" / "rebind.log", fixtures / "declared" / "q35-root-ports.log")
    assert {"drivers", "declared", "placed"} <= keys(rare, set())
    assert single["schema"] == "virtiodiag/report/v3"
    missing = (keys(single, set()) | keys(many, set()) | keys(rare, set())) - documented
    assert not missing, f"fields missing from docs/json-schema.md: {sorted(missing)}"
