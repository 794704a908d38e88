"""Meaning is decided in the model from typed facts and grammar directives: no rule or
report goes by a dialect's name, and renaming every grammar's dialect changes no finding,
no device match and no "who made the attempt" label (issue 11 item 1)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import invoke_cli

from virtiodiag.dialects import registry

ROOT = Path(__file__).resolve().parent.parent
GRAMMARS = ROOT / "grammars"
DIALECT = re.compile(r"^//@ dialect: *(\S+)", re.M)
NAMES = sorted({m.group(1) for p in GRAMMARS.glob("*.lark")
                for m in DIALECT.finditer(p.read_text())})


def _sources(folder: str) -> list[Path]:
    return sorted((ROOT / "virtiodiag" / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", ["rules", "reports"])
def test_no_dialect_name_in_rules_or_reports(folder):
    assert len(NAMES) >= 10
    found = []
    for path in _sources(folder):
        text = path.read_text()
        for name in NAMES:
            if re.search(r"[\"']" + re.escape(name) + r"[\"']", text):
                found.append(f"{path.name}: {name}")
    assert found == []


def test_rules_make_no_decision_on_dialect():
    found = [f"{p.name}: {m.group(0)}" for p in _sources("rules")
             for m in re.finditer(r"\.dialect\b.*", p.read_text())]
    assert found == []


def test_device_failed_reads_the_models_error_groups_not_raw_text():
    text = (ROOT / "virtiodiag" / "rules" / "vd006_device_failed.py").read_text()
    assert ".text" not in text and "import re" not in text
    assert "error_groups(" in text


def _renamed_grammars(tmp_path: Path) -> Path:
    folder = tmp_path / "grammars"
    folder.mkdir()
    for path in GRAMMARS.glob("*.lark"):
        text = DIALECT.sub(lambda m: f"//@ dialect: zz-{m.group(1)}-renamed", path.read_text())
        target = path.name if path.name == "common.lark" else f"zz_{path.stem}_renamed.lark"
        (folder / target).write_text(text)
    return folder


def _analyze(fmt: str, log: Path) -> str:
    proc = invoke_cli("analyze", "--format", fmt, log)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


@pytest.mark.parametrize("sample", ["cloud-microvm-acpi/console.log",
                                    "seabios-virtio-pci/combined.log",
                                    "cloud-net-mq-no-ctrl-vq/combined.log"])
def test_renaming_every_dialect_changes_no_meaning(sample, tmp_path, monkeypatch):
    log = ROOT / "samples" / sample
    before_json = json.loads(_analyze("json", log))
    before_text = _analyze("text", log)
    monkeypatch.setattr(registry, "_PACKAGE_GRAMMARS", _renamed_grammars(tmp_path))
    monkeypatch.setattr(registry, "_SOURCE_GRAMMARS", tmp_path / "none")
    after_json = json.loads(_analyze("json", log))
    after_text = _analyze("text", log)
    assert "zz-" in json.dumps(after_json["stats"]["dialects"])  # the renamed grammars ran

    def meaning(report):
        return ([(d["id"], d["matched_by"], d["mode"]) for d in report["devices"]],
                [(f["rule"], f["fingerprint"], f["message"]) for f in report["findings"]])

    assert meaning(after_json) == meaning(before_json)
    assert re.sub(r"zz-(\S+?)-renamed", r"\1", after_text) == before_text
