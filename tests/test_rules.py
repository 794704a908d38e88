"""Rule behaviour from data: one fixture file per rule, tests/fixtures/rules/VDnnn.txt.

Fixture format (plain text, no YAML):

* Lines before the first case header are comments.
* A case starts with a header ``### fail|pass [key=value ...]: title``. Keys:
  ``line=N`` the line (1 = the first line after the header) a ``fail`` case must point at;
  ``sev=LEVEL`` the severity the finding must have; ``count=N`` how many findings of the
  rule the case must give; ``known-bug=WORDS`` marks a case that fails because of a known
  bug outside the rule (a grammar), as a non-strict xfail that turns green when it is
  fixed; any other key is one of the rule's OPTIONS for this case, its value read as TOML
  (``alignment=0``, ``allow_legacy=true``).
* The lines after it, up to the next header, are a log excerpt in a dialect the tool reads
  (qemu-trace, linux-console, linux-sysfs, rtos-step). Trailing blank lines are dropped.
* ``qmp=NAME``: QEMU's own view of the devices (what ``virtiodiag run`` asks over QMP),
  from the recorded replies in ``tests/fixtures/rules/qmp/NAME.json``.
* A line ``@ kind[detail] field=value ...`` is not log text: it stands for an event no
  grammar produces yet (values: ``0x..`` hex, decimal, or a string; quote strings with
  spaces). Cases holding such lines run in ``test_event_case`` by feeding constructed
  events into ``Analysis.feed_event``; the others run as text in ``test_text_case``.

Every case runs only its own rule. A ``fail`` case asserts the rule fires (at ``line``);
a ``pass`` case asserts it does not.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from each_case import check_each, grouped

from virtiodiag.analysis import Analysis, RuleSettings
from virtiodiag.events import Event, Payload
from virtiodiag.rules import all_rules, get_rule

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
_HEADER = re.compile(r"^###\s+(fail|pass)((?:\s+[\w-]+=\S+)*)\s*:\s*(.+?)\s*$")
_EVENT = re.compile(r"^@\s+(\w+)(?:\[([\w-]+)\])?(.*)$")
_EXPECT_KEYS = {"line", "sev", "count"}
QMP_FIXTURES = FIXTURES / "qmp"  # recorded QMP replies (see launch.qmp.snapshot_from_replies)


@dataclass
class Case:
    code: str
    verdict: str
    title: str
    lines: list[str]
    header_line: int
    line: int | None = None
    sev: str | None = None
    count: int | None = None
    known_bug: str | None = None
    qmp: str | None = None  # qmp=NAME: QEMU's view from tests/fixtures/rules/qmp/NAME.json
    options: dict = field(default_factory=dict)

    @property
    def uses_events(self) -> bool:
        return any(_EVENT.match(text) for text in self.lines)

    @property
    def id(self) -> str:
        return f"{self.code}-{self.verdict}-{self.title}"


def load_cases(path: Path) -> list[Case]:
    code = path.stem
    cases: list[Case] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = _HEADER.match(text)
        if match:
            case = Case(code, match.group(1), match.group(3), [], number)
            for pair in match.group(2).split():
                key, _, value = pair.partition("=")
                if key == "line":
                    case.line = int(value)
                elif key == "count":
                    case.count = int(value)
                elif key == "sev":
                    case.sev = value
                elif key == "qmp":
                    case.qmp = value
                elif key == "known-bug":
                    case.known_bug = value.replace("-", " ")
                else:
                    case.options[key] = tomllib.loads(f"v = {value}")["v"]
            cases.append(case)
        elif text.startswith("###"):
            raise ValueError(f"{path}:{number}: malformed case header: {text}")
        elif cases:
            cases[-1].lines.append(text)
    for case in cases:
        while case.lines and not case.lines[-1].strip():
            case.lines.pop()
    return cases


ALL_CASES = [case for path in sorted(FIXTURES.glob("VD*.txt")) for case in load_cases(path)]


def _params(cases):
    """One test a rule's cases, each failing case named (each_case.check_each: a case is
    a few ms, less than a test of its own costs); a known bug's case a test alone, marked
    xfail."""
    known = [pytest.param([c], id=c.id, marks=[pytest.mark.xfail(reason=c.known_bug,
                                                                 strict=False)])
             for c in cases if c.known_bug]
    return grouped([c for c in cases if not c.known_bug], key=lambda c: c.code) + known


TEXT_CASES = _params([c for c in ALL_CASES if not c.uses_events])
EVENT_CASES = _params([c for c in ALL_CASES if c.uses_events])


def _value(text: str):
    if re.fullmatch(r"-?0x[0-9a-fA-F]+", text):
        return int(text, 16)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def _event(text: str, line: int, seq: int, path: str) -> Event:
    kind, detail, rest = _EVENT.match(text).groups()
    fields = []
    for token in shlex.split(rest):
        key, _, value = token.partition("=")
        fields.append((key, _value(value)))
    payload = Payload("test-events", kind, tuple(fields), detail)
    return Event(payload, path, line, text[2:], seq=seq)


def run_case(case: Case, dialects):
    rule = get_rule(case.code)
    assert rule is not None, f"no rule {case.code}"
    unknown = set(case.options) - set(rule.OPTIONS)
    assert not unknown, f"{case.id}: unknown option(s) {unknown}"
    settings = RuleSettings(select={case.code}, options={case.code: case.options})
    path = f"{case.code}.txt"
    analysis = Analysis(path, dialects, settings)
    for number, text in enumerate(case.lines, 1):
        if _EVENT.match(text):
            analysis.feed_block(b"\n")  # keeps the line count
            analysis.decoder.seq += 1  # events are numbered in the order they are read
            analysis.feed_event(_event(text, number, analysis.decoder.seq, path))
        else:
            analysis.feed_block(text.encode() + b"\n")
    analysis.close_input()
    if case.qmp:
        import json

        from virtiodiag.launch.qmp import snapshot_from_replies
        from virtiodiag.model.run_facts import RunFacts

        data = json.loads((QMP_FIXTURES / f"{case.qmp}.json").read_text(encoding="utf-8"))
        analysis.builder.model.run = RunFacts.recorded(snapshot_from_replies(data))
    result = analysis.finish()
    return [f for f in result.findings if f.rule == case.code]


def _check(case: Case, findings) -> None:
    shown = "\n".join(f"  line {f.line}: {f.severity} {f.message}" for f in findings) or "  none"
    if case.verdict == "pass":
        assert not findings, f"{case.id}: expected no finding, got:\n{shown}"
        return
    assert findings, f"{case.id}: expected {case.code} to fire; it did not"
    if case.line is not None:
        assert case.line in [f.line for f in findings], \
            f"{case.id}: expected a finding at line {case.line}, got:\n{shown}"
    if case.sev is not None:
        target = [f for f in findings if case.line is None or f.line == case.line]
        assert case.sev in [f.severity for f in target], \
            f"{case.id}: expected severity {case.sev}, got:\n{shown}"
    if case.count is not None:
        assert len(findings) == case.count, f"{case.id}: expected {case.count}, got:\n{shown}"
    for finding in findings:
        assert finding.hint, f"{case.id}: a finding without a fix hint"
        assert finding.message


def _run_and_check(case, dialects) -> None:
    _check(case, run_case(case, dialects))


@pytest.mark.parametrize("cases", TEXT_CASES)
def test_text_case(cases, dialects):
    check_each(((case.id, (case, dialects)) for case in cases), _run_and_check)


@pytest.mark.parametrize("cases", EVENT_CASES)
def test_event_case(cases, dialects):
    check_each(((case.id, (case, dialects)) for case in cases), _run_and_check)


def test_every_rule_has_fixture_cases():
    codes = {case.code for case in ALL_CASES}
    for rule in all_rules():
        assert rule.CODE in codes, f"{rule.CODE} has no tests/fixtures/rules/{rule.CODE}.txt"
        verdicts = {c.verdict for c in ALL_CASES if c.code == rule.CODE}
        assert verdicts == {"fail", "pass"}, f"{rule.CODE} needs fail and pass cases"


def test_fail_cases_name_a_line():
    for case in ALL_CASES:
        if case.verdict == "fail":
            assert case.line is not None, f"{case.id}: a fail case must give line=N"
