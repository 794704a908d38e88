"""Rules read typed facts of the model, never a line's text (issue 11 item 1).

What a line means is decided by its grammar (kind, detail, fields) and by the model;
a rule turns the model's facts into words. So no rule module reads ``.text`` (of an event
or of anything), imports ``re``, or goes by a dialect; and no finding's message quotes the
line it points at (the line is the finding's evidence, escaped by each report), except a
device's own error message, which is VD006's substance and is quoted escaped.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from conftest import analyse_json, shared_dialects, source_nodes, source_tree
from each_case import by_folder, check_each, log_name

from virtiodiag.analysis import RuleSettings
from virtiodiag.pipeline import analyse_path
from virtiodiag.reports.model_dict import report_dict

ROOT = Path(__file__).resolve().parent.parent
RULES = sorted((ROOT / "virtiodiag" / "rules").glob("*.py"))
# Lines of a log a rule may not read, and modules that would let it match text.
FORBIDDEN_ATTRIBUTES = {"text", "dialect", "fields", "raw"}
FORBIDDEN_MODULES = {"re", "fnmatch", "difflib"}


def _offences(path: Path) -> list[str]:
    found = []
    for node in source_nodes(path):
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            found.append(f"{path.name}:{node.lineno} .{node.attr}")
        elif isinstance(node, ast.Import):
            found += [f"{path.name}:{node.lineno} import {a.name}" for a in node.names
                      if a.name in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module in FORBIDDEN_MODULES:
            found.append(f"{path.name}:{node.lineno} from {node.module}")
    return found


def _field_reads(tree: ast.AST) -> set[str]:
    """Names bound to a line's field (``x = event.get("driver")``, ``a, b = e.get(..), ..``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            pairs = []
            for target in node.targets:
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    pairs += list(zip(target.elts, node.value.elts, strict=False))
                else:
                    pairs.append((target, node.value))
            names |= {target.id for target, value in pairs
                      if isinstance(target, ast.Name) and _is_field_read(value)}
    return names


def _is_field_read(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get" and bool(node.args)
            and isinstance(node.args[0], ast.Constant))


def _is_words(node: ast.AST) -> bool:
    """A string, or a tuple/list/set of strings: the words of some log."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    return isinstance(node, (ast.Tuple, ast.List, ast.Set)) and any(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)


def _word_comparisons(path: Path) -> list[str]:
    """A line's field (read with .get) compared with words: a decision by what the line
    says, which its grammar (a detail) or the model (a typed fact) must make instead.
    Comparing the model's own values (a detail, a kind, a device type) is fine."""
    fields = _field_reads(source_tree(path))
    found = []
    for node in source_nodes(path):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if any(_is_words(s) for s in sides) and any(
                _is_field_read(s) or (isinstance(s, ast.Name) and s.id in fields)
                for s in sides):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_rule_decides_by_the_words_of_a_lines_field():
    assert [found for path in RULES for found in _word_comparisons(path)] == []


def test_the_check_sees_a_rule_that_compares_a_field_with_words(tmp_path):
    bad = tmp_path / "vd999_bad.py"
    bad.write_text("def check(ctx):\n"
                   "    for e in ctx.model.unattributed_errors:\n"
                   "        param, module = e.get('reason'), e.get('driver')\n"
                   "        if module == 'virtio_mmio' and param in ('device', 'x'):\n"
                   "            yield None\n"
                   "        if e.get('driver') != '9pnet_virtio' or e.payload.detail == 'tag':\n"
                   "            yield None\n")
    assert _word_comparisons(bad) == ["vd999_bad.py:4", "vd999_bad.py:4", "vd999_bad.py:6"]


def test_no_rule_reads_a_lines_text_a_dialect_or_matches_text():
    assert len(RULES) >= 25
    assert [offence for path in RULES for offence in _offences(path)] == []


def test_the_check_sees_a_rule_that_reads_text(tmp_path):
    bad = tmp_path / "vd999_bad.py"
    bad.write_text("import re\n\ndef check(ctx):\n"
                   "    for d in ctx.devices:\n"
                   "        if 'lockup' in d.crash.text or d.first_event.dialect:\n"
                   "            yield None\n")
    assert sorted(_offences(bad)) == ["vd999_bad.py:1 import re", "vd999_bad.py:5 .dialect",
                                      "vd999_bad.py:5 .text"]


LOGS = sorted([*ROOT.glob("tests/fixtures/rules/VD*.txt"),
               *ROOT.glob("tests/fixtures/linux-eras/*.log"),
               *ROOT.glob("tests/fixtures/wild/*.log")])


@pytest.mark.parametrize("paths", by_folder(LOGS))
def test_no_message_quotes_the_line_it_points_at(paths):
    check_each(((log_name(path), (path,)) for path in paths), _quotes_no_line)


def _quotes_no_line(path):
    quoting = []
    for finding in analyse_json(path)["findings"]:
        evidence = (finding["evidence"] or "").strip()
        if finding["rule"] != "VD006" and len(evidence) > 12 and evidence in finding["message"]:
            quoting.append((finding["rule"], finding["line"], finding["message"]))
    assert quoting == []


def _findings(tmp_path, lines: list[str]) -> list[dict]:
    path = tmp_path / "log.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = analyse_path(str(path), shared_dialects(), RuleSettings())
    return json.loads(json.dumps(report_dict([result])))["findings"]


def test_a_crash_is_told_by_its_typed_kind_and_source_never_by_its_words(tmp_path):
    # A soft lockup is its own kind (linux_oops.lark oops[lockup]), not a BUG whose text
    # holds "lockup"; "kernel BUG at FILE:LINE" gives the source file as a field.
    found = _findings(tmp_path, [
        "watchdog: BUG: soft lockup - CPU#0 stuck for 23s! [kworker/0:2:61]",
        "RIP: 0010:virtblk_done+0x6f/0x110 [virtio_blk]",
        "---[ end trace 0000000000000000 ]---",
        "kernel BUG at drivers/net/virtio_net.c:1702!",
        "pc : virtnet_send_command+0x148/0x150 [virtio_net]",
    ])
    messages = [f["message"] for f in found if f["rule"] == "VD021"]
    assert messages == [
        "the kernel reported a CPU or task stuck in virtblk_done [virtio_blk] (the virtio "
        "block driver), outside a probe: a soft lockup",
        "the kernel crashed in virtnet_send_command [virtio_net] (the virtio net driver), "
        "outside a probe: a BUG or a bad memory access at drivers/net/virtio_net.c:1702",
    ]


def test_what_a_message_quotes_from_a_line_is_escaped(tmp_path):
    # A right-to-left override in a source file name would reorder the terminal's line.
    found = _findings(tmp_path, [
        "kernel BUG at drivers/net/virtio_n\u202eet.c:12!",
        "pc : virtnet_send_command+0x148/0x150 [virtio_net]",
        "qemu-system-x86_64: vhost_set_vring_call failed: Invalid \u202e argument (22)",
    ])
    messages = {f["rule"]: f["message"] for f in found}
    assert "virtio_n\\u202eet.c:12" in messages["VD021"]
    assert "Invalid \\u202e argument" in messages["VD006"]
    assert all("\u202e" not in f["message"] for f in found)


def test_a_probe_failure_says_its_cause_from_typed_fields(tmp_path):
    found = _findings(tmp_path, [
        "virtio_blk virtio1: virtio_blk: invalid block size: 0x3",  # Linux: detail only
        "vtblk0: cannot allocate interrupts",  # FreeBSD: the reason field, no device prefix
        "Error parsing virtio_mmio parameter: 512@0xfeb00800",  # NetBSD: the param field
    ])
    messages = [f["message"] for f in found if f["rule"] == "VD015"]
    assert messages == [
        "virtio1: probe failed: the device reports a block size the driver rejects",
        "vtblk0: probe failed: cannot allocate interrupts",
        "a device the line does not name: probe failed: a virtio_mmio= device description "
        "could not be parsed: that device is not attached ('512@0xfeb00800')",
    ]
