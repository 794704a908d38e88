"""The JSON report is written piece by piece (timelines one entry at a time) and is
byte-for-byte what json.dumps of the whole document gives."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from conftest import shared_dialects
from virtiodiag.reports.json_report import render, write_json
from virtiodiag.reports.model_dict import LazyItems, materialise, report_dict
from virtiodiag.runner import analyse_path
from virtiodiag.analysis import RuleSettings
from virtiodiag.options import ReportOptions

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(scope="module")
def results():
    dialects = shared_dialects()
    return [analyse_path(str(p), dialects, RuleSettings())
            for p in sorted(SAMPLES.glob("*/combined.log"))]


@pytest.mark.parametrize("how", ["one", "many", "no-timeline"])
def test_streamed_report_equals_the_whole_document_dumped(results, how):
    chosen = results[:1] if how == "one" else results
    options = ReportOptions(timeline=how != "no-timeline", fail_on="error")
    out = io.StringIO()
    render(chosen, out, options)
    whole = json.dumps(report_dict(chosen, options), separators=(",", ":")) + "\n"
    assert out.getvalue() == whole
    lazy = report_dict(chosen, options, lazy=True)
    assert materialise(lazy) == json.loads(whole)
    if how != "no-timeline":
        assert "timeline" in whole and '"timeline":[{' in whole


def test_lazy_items_are_made_only_while_written():
    made = []

    def items():
        for n in range(3):
            made.append(n)
            yield {"n": n}

    out = io.StringIO()
    lazy = LazyItems(items)
    assert made == []
    write_json(out, {"a": [1, 2]} | {"b": "x"})  # plain data: one dumps
    write_json(out, lazy)
    assert out.getvalue() == '{"a":[1,2],"b":"x"}[{"n":0},{"n":1},{"n":2}]' and made == [0, 1, 2]
