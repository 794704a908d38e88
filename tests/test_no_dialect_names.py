"""Meaning is decided in the model from typed facts and grammar directives: no model
module, rule or report goes by a dialect's name, and renaming every grammar's dialect
changes no byte of any sample's report, no finding, no device match and no "who made the
attempt" label (issue 11 item 1)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from conftest import analyse_json, invoke_cli, render_json, report_text

from virtiodiag.dialects import registry

ROOT = Path(__file__).resolve().parent.parent
GRAMMARS = ROOT / "grammars"
DIALECT = re.compile(r"^//@ dialect: *(\S+)", re.M)
NAMES = sorted({m.group(1) for p in GRAMMARS.glob("*.lark")
                for m in DIALECT.finditer(p.read_text())})


def _sources(folder: str) -> list[Path]:
    return sorted((ROOT / "virtiodiag" / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", ["model", "rules", "reports"])
def test_no_dialect_name_in_the_model_rules_or_reports(folder):
    assert len(NAMES) >= 10
    # Every name quoted, in one search of each file (one search per name and file took
    # 30 times as long): the closing quote is looked ahead at, not taken, so a quote
    # between two names opens the second, as in a search for each name alone.
    names = "|".join(map(re.escape, NAMES))
    quoted = re.compile(r"[\"'](" + names + r")(?=[\"'])")
    found = []
    for path in _sources(folder):
        names = set(quoted.findall(path.read_text()))
        found += [f"{path.name}: {name}" for name in NAMES if name in names]
    assert found == []


def test_rules_make_no_decision_on_dialect():
    found = [f"{p.name}: {m.group(0)}" for p in _sources("rules")
             for m in re.finditer(r"\.dialect\b.*", p.read_text())]
    assert found == []


def test_the_model_compares_no_dialect():
    """The model uses a dialect's name only as a key (its grammar's directives, a count,
    a scope), never to decide by it: no comparison has a dialect on either side."""
    def is_dialect(node: ast.expr) -> bool:
        return ((isinstance(node, ast.Attribute) and node.attr == "dialect")
                or (isinstance(node, ast.Name) and node.id == "dialect"))

    def compares_dialect(node: ast.AST) -> bool:
        if isinstance(node, ast.Compare):
            return any(is_dialect(side) for side in [node.left, *node.comparators])
        return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("startswith", "endswith") and is_dialect(node.func.value))

    from conftest import source_nodes  # the trees the other tests of the code read

    found = [f"{path.name}:{node.lineno}" for path in _sources("model")
             for node in source_nodes(path) if compares_dialect(node)]
    assert found == []


def test_device_failed_reads_the_models_error_groups_not_raw_text():
    text = (ROOT / "virtiodiag" / "rules" / "vd006_device_failed.py").read_text()
    assert ".text" not in text and "import re" not in text
    assert "error_groups(" in text


@pytest.mark.parametrize("rule", ["vd008_num_buffers_missing", "vd010_queue_setup_order"])
def test_rejections_are_read_from_the_models_typed_facts(rule):
    text = (ROOT / "virtiodiag" / "rules" / f"{rule}.py").read_text()
    assert ".text" not in text and "payload" not in text and ".detail" not in text
    assert "rejections(" in text


@pytest.mark.parametrize(("line", "rule", "says"), [
    ("qemu-system-x86_64: wrong value for queue_enable 0", "VD010",
     "rejected the value 0x0 written to queue_enable"),
    ("qemu-system-x86_64: virtio-net unexpected empty queue: i 1 mergeable 1 offset 0, "
     "size 1514, guest hdr len 10, host hdr len 12 guest features 0x100000020", "VD008",
     "rejected the virtio-net header of 10 bytes"),
    ("qemu-system-x86_64: virtio-net header incorrect", "VD008",
     "rejected the virtio-net header the driver sent")])
def test_a_rejection_is_one_finding_of_the_rule_about_the_act(tmp_path, line, rule, says):
    """The model types a device's rejection of a driver's act once (records.Rejection);
    the rule about the act reports it with the number the line gives, and device-failed
    (VD006) does not report the same line again."""
    log = tmp_path / "qemu.log"
    log.write_text(line + "\n")
    report = json.loads(_analyze("json", log))
    findings = [(f["rule"], f["message"]) for f in report["findings"] if f["line"] == 1]
    assert [r for r, _ in findings] == [rule]
    assert says in findings[0][1]


@pytest.fixture(scope="module")
def renamed_grammars(tmp_path_factory) -> Path:
    """The built-in grammars, every dialect renamed (one copy for the module's tests)."""
    folder = tmp_path_factory.mktemp("renamed") / "grammars"
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
def test_renaming_every_dialect_changes_no_meaning(sample, renamed_grammars, tmp_path,
                                                  monkeypatch):
    log = ROOT / "samples" / sample
    before_json = analyse_json(log)
    before_text = _analyze("text", log)
    monkeypatch.setattr(registry, "_PACKAGE_GRAMMARS", renamed_grammars)
    monkeypatch.setattr(registry, "_SOURCE_GRAMMARS", tmp_path / "none")
    after_json = json.loads(_analyze("json", log))
    after_text = _analyze("text", log)
    assert "zz-" in json.dumps(after_json["stats"]["dialects"])  # the renamed grammars ran

    def meaning(report):
        return ([(d["id"], d["matched_by"], d["mode"]) for d in report["devices"]],
                [(f["rule"], f["fingerprint"], f["message"]) for f in report["findings"]])

    assert meaning(after_json) == meaning(before_json)
    assert re.sub(r"zz-(\S+?)-renamed", r"\1", after_text) == before_text


def _every_sample() -> list[Path]:
    """Each sample's log (the combined console and trace where there is one), and the
    fixtures read by grammars that declare a driver tree or a bind that implies
    DRIVER_OK."""
    logs = [p for p in sorted((ROOT / "samples").rglob("*.log"))
            if p.name not in ("console.log", "trace.log")
            or not (p.parent / "combined.log").is_file()]
    return logs + [ROOT / "tests" / "fixtures" / "wild" / "freebsd.log",
                   ROOT / "tests" / "fixtures" / "linux-eras" / "uboot-dm-tree-mmio.log"]


def test_renaming_every_dialect_changes_no_byte_of_any_report(renamed_grammars, tmp_path,
                                                             monkeypatch):
    from virtiodiag.dialects import load_dialects
    from virtiodiag.options import ReadOptions, RuleSettings
    from virtiodiag.pipeline import analyse_path

    logs = _every_sample()
    assert len(logs) >= 40
    before = {log: report_text(log) for log in logs}  # `analyze --format json`, shared
    monkeypatch.setattr(registry, "_PACKAGE_GRAMMARS", renamed_grammars)
    monkeypatch.setattr(registry, "_SOURCE_GRAMMARS", tmp_path / "none")
    # The renamed grammars loaded once and each log analysed and rendered as report_text
    # does it (`analyze --format json`'s bytes: test_shared_analyses.py; one loaded set
    # serves every run alike: test_parallel.py), not one command run per log.
    renamed = load_dialects()
    changed = []
    for log in logs:
        after = render_json(analyse_path(str(log), renamed, RuleSettings(),
                                         ReadOptions(progress=True)))
        assert "zz-" in after
        if re.sub(r"zz-(\S+?)-renamed", r"\1", after) != before[log]:
            changed.append(str(log.relative_to(ROOT)))
    assert changed == []


TREE_GRAMMAR = """\
//@ dialect: mytree
//@ triggers: mytree
//@ side: firmware
//@ bind_implies_driver_ok: the driver's probe returned (mytree prints the bind after it)
//@ child_slot: ^drv(\\d+)$
start: device_found | device_bind
device_found: "mytree" "transport" SLOT "mmio" ADDRESS -> device_found__mmio
device_bind: "mytree" "bind" DEVICE DRIVER
SLOT: /[0-9]+/
ADDRESS: /0x[0-9a-f]+/
DEVICE: /drv[0-9]+/
DRIVER: /[a-z_]+/
%import .common.SPACES
%ignore SPACES
"""


@pytest.mark.parametrize("directives", [True, False])
def test_a_new_grammar_declares_its_driver_tree_and_binds(tmp_path, directives):
    """What U-Boot's grammar declares, any grammar can: a driver named after its
    transport's slot is that transport's device (`//@ child_slot:`), a transport with no
    driver below it is an empty slot, and a bind line implies DRIVER_OK
    (`//@ bind_implies_driver_ok:`). Without the directives, none of it."""
    text = TREE_GRAMMAR if directives else "\n".join(
        line for line in TREE_GRAMMAR.splitlines()
        if not line.startswith(("//@ child_slot", "//@ bind_implies")))
    (tmp_path / "mytree.lark").write_text(text)
    (tmp_path / "common.lark").write_text((GRAMMARS / "common.lark").read_text())
    log = tmp_path / "tree.log"
    log.write_text("mytree transport 0 mmio 0x0a000000\nmytree transport 1 mmio 0x0a000200\n"
                   "mytree bind drv0 virtio_net\n")
    proc = invoke_cli("analyze", "--format", "json", "--grammar", tmp_path / "mytree.lark", log)
    report = json.loads(proc.stdout)
    devices = {d["id"]: d for d in report["devices"]}
    if directives:
        assert sorted(devices) == ["drv0", "mmio-0xa000200"]
        assert devices["drv0"]["address"] == "0xa000000"
        assert devices["drv0"]["driver_ok"]["state"] == "implied"
        assert devices["drv0"]["driver_ok"]["why"].startswith("the driver's probe returned")
        assert devices["mmio-0xa000200"]["virtio_id"] == 0  # an empty slot
        assert devices["mmio-0xa000200"]["type"] == "placeholder"
    else:
        assert sorted(devices) == ["drv0", "mmio-0xa000000", "mmio-0xa000200"]
        assert devices["drv0"]["driver_ok"]["state"] == "not-shown"
        assert all(d["virtio_id"] is None for d in devices.values())
