"""The JSON report is written piece by piece (timelines one entry at a time) and is
byte-for-byte what json.dumps of the whole document gives."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from conftest import analysed
from virtiodiag.reports import model_dict
from virtiodiag.reports.escape import finite
from virtiodiag.reports.json_report import BATCH, render, write_json
from virtiodiag.reports.model_dict import LazyItems, Streamed, materialise, report_dict
from virtiodiag.options import ReportOptions

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(scope="module")
def results():
    # `analyze`'s results of the samples, analysed once per session (conftest.analysed)
    return [analysed(p) for p in sorted(SAMPLES.glob("*/combined.log"))]


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


def test_batched_writing_equals_dumps_across_batch_boundaries():
    # More plain items than one batch holds, walked ones among them, a NaN (null), a
    # Streamed dict of more keys than a batch, with walked values between plain ones.
    items: list = [{"n": n} for n in range(2 * BATCH + 3)]
    items[BATCH - 1] = Streamed({"t": LazyItems(lambda: iter([{"x": 1}, 2.5])), "u": 1})
    items[BATCH] = Streamed({"v": LazyItems(lambda: iter([]))})
    items[5] = float("nan")
    doc = Streamed({f"k{n}": n for n in range(BATCH + 5)})
    doc["lazy"] = LazyItems(lambda: iter(items))
    doc["after"] = [1, {"y": None}]
    doc["nested"] = [Streamed({"w": LazyItems(lambda: iter(range(BATCH + 1)))})]
    doc["last"] = "x"
    out = io.StringIO()
    write_json(out, doc)
    expected = json.dumps(finite(materialise(doc)), separators=(",", ":"), allow_nan=False)
    assert out.getvalue() == expected


@pytest.mark.parametrize("count", [0, 1, BATCH, BATCH + 1, 2 * BATCH + 3])
def test_plain_lazy_items_are_written_as_dumps_writes_them(count):
    # A timeline's entries go to the encoder in batches without being looked into: the
    # same document across batch boundaries, empty or not, a NaN (null) among them.
    items: list = [{"n": n, "t": n / 3} for n in range(count)]
    if count > 2:
        items[2]["t"] = float("nan")
    doc = Streamed({"a": 1, "timeline": LazyItems(lambda: iter(items), plain=True), "b": [2]})
    out = io.StringIO()
    write_json(out, doc)
    expected = json.dumps(finite(materialise(doc)), separators=(",", ":"), allow_nan=False)
    assert out.getvalue() == expected


def test_timeline_descriptions_are_the_events_own(results):
    # model_dict remembers a description per payload: the same as describing each event
    model_dict._DESCRIBED.clear()
    events = [e for r in results for d in r.model.live_devices() for e in d.timeline]
    assert len({id(e.payload) for e in events}) < len(events)  # payloads are shared
    for _ in range(2):  # filling the memo, then from it
        assert [model_dict.describe(e) for e in events] == [e.describe() for e in events]
