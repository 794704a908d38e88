"""Every rule is documented: module constants, the five-part docstring, explain, docs/rules.md."""

import re
from click.testing import CliRunner
from each_case import check_each

from virtiodiag.cli import cli
from virtiodiag.rules import all_rules, get_rule
from virtiodiag.rules import _docs
from virtiodiag.rules.base import SEVERITIES

RULES = all_rules()
PARTS = ("**What it detects.**", "**Bad**::", "**Good**::", "**Why it matters.**",
         "**How to fix.**")


def test_codes_are_unique_and_complete():
    codes = [r.CODE for r in RULES]
    assert codes == sorted(set(codes))
    assert codes == [f"VD{n:03d}" for n in range(1, 26)]
    names = [r.NAME for r in RULES]
    assert len(set(names)) == len(names)


def _each_rule(check) -> None:
    """``check(rule)`` for every rule, each failing rule named (each_case): one test a
    check, not one a rule (each a check of a few microseconds)."""
    check_each(((rule.CODE, (rule,)) for rule in RULES), check)


def test_rule_contract():
    _each_rule(_contract)


def _contract(rule):
    assert re.fullmatch(r"VD\d{3}", rule.CODE)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.NAME)
    assert rule.SEVERITY in SEVERITIES
    assert rule.SUMMARY and len(rule.SUMMARY) < 110
    assert isinstance(rule.SPEC, str)
    assert isinstance(rule.OPTIONS, dict)
    assert isinstance(rule.LIVE_EVENTS, set)
    assert callable(rule.check)
    module_file = rule.__name__.rsplit(".", 1)[1]
    assert module_file.startswith(rule.CODE.lower() + "_")
    assert module_file[6:] == rule.NAME.replace("-", "_")
    assert get_rule(rule.CODE) is rule and get_rule(rule.NAME) is rule


def test_docstring_has_five_parts():
    _each_rule(_five_parts)


def _five_parts(rule):
    doc = rule.__doc__ or ""
    assert doc.startswith(f"{rule.NAME}: "), "first line: 'name: one-line description'"
    positions = [doc.find(part) for part in PARTS]
    assert all(p >= 0 for p in positions), f"missing: {[p for p, i in zip(PARTS, positions, strict=True) if i < 0]}"
    assert positions == sorted(positions), "parts out of order"
    for option in rule.OPTIONS:
        assert option in doc, f"option {option} is not documented"


def test_explain():
    _each_rule(_explained)


def _explained(rule):
    for name in (rule.CODE, rule.NAME, rule.CODE.lower()):
        result = CliRunner().invoke(cli, ["explain", name])
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"{rule.CODE} {rule.NAME} ({rule.SEVERITY})")
        for part in PARTS:
            assert part in result.output


def test_explain_unknown_rule():
    result = CliRunner().invoke(cli, ["explain", "VD999"])
    assert result.exit_code == 2


def test_docs_table_matches_registry():
    assert _docs.DOC.read_text(encoding="utf-8") == _docs.render(), \
        "docs/rules.md is stale: run python -m virtiodiag.rules._docs"
    text = _docs.DOC.read_text(encoding="utf-8")
    for rule in RULES:
        assert f"| {rule.CODE} | {rule.NAME} | {rule.SEVERITY} |" in text
