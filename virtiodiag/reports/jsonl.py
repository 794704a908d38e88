"""``--format jsonl``: one JSON object per line, written (and flushed) as things happen.

Lines have a ``type``: ``event`` (a recognised log line), ``finding``, ``withdrawn`` (a
finding streamed while reading that the whole log does not bear out), ``completed`` (one
it bears out and words with more than was known then: the final finding, ``shown`` the
fingerprint of the one streamed), ``error`` (an input
that could not be read), ``run`` (the end of one input: devices and counts) and last
``summary``. The runner streams events and findings through :class:`Streamer`; at the end
``render`` writes the rest.
"""

from __future__ import annotations

import json

from virtiodiag.options import ReportOptions
from virtiodiag.reports.model_dict import SCHEMA


def _write(stream, obj: dict) -> None:
    try:
        text = json.dumps(obj, ensure_ascii=True, allow_nan=False)
    except ValueError:  # a NaN or infinity: JSON has none
        from virtiodiag.reports.escape import finite

        text = json.dumps(finite(obj), ensure_ascii=True, allow_nan=False)
    stream.write(text + "\n")
    stream.flush()


def event_dict(event) -> dict:
    return {"type": "event", "path": event.path, "line": event.line, "time": event.time,
            "clock": event.clock, "kind": event.kind, "dialect": event.dialect,
            "device": event.device_key, "event": event.describe(), "text": event.text}


def finding_dict(finding) -> dict:
    from virtiodiag.reports.model_dict import finding_dict as as_dict

    return dict({"type": "finding"}, **as_dict(finding))


def withdrawal_dict(item) -> dict:
    """A ``finding`` line written live that the final pass does not make at its severity:
    its fingerprint, the device it turned out to be, why, and the finding that stands
    (null if none)."""
    finding = item.finding
    return {"type": "withdrawn", "path": finding.path, "line": finding.line,
            "rule": finding.rule, "severity": finding.severity,
            "fingerprint": finding.fingerprint, "device": item.device,
            "reason": item.reason(),
            "stands": None if item.stands is None else item.stands.fingerprint}


class Streamer:
    """Writes events and findings to ``stream`` the moment the analysis produces them."""

    def __init__(self, stream, keep=lambda finding: True):
        self.stream = stream
        self.keep = keep
        self.streamed: set[str] = set()  # paths whose findings were already written
        _write(stream, {"type": "start", "schema": SCHEMA})

    def on_event(self, event) -> None:
        _write(self.stream, event_dict(event))

    def on_finding(self, finding) -> None:
        self.streamed.add(finding.path)
        if self.keep(finding):
            _write(self.stream, finding_dict(finding))


def render(results, stream, options: ReportOptions) -> None:
    from virtiodiag.reports.model_dict import cut_off_dict, device_dict

    streamer = options.streamer
    if streamer is None:
        _write(stream, {"type": "start", "schema": SCHEMA})
    totals = {"error": 0, "warning": 0, "info": 0}
    for result in results:
        if result.error:
            _write(stream, {"type": "error", "path": result.path, "message": result.error})
        streamed = streamer is not None and result.path in streamer.streamed
        for finding in result.findings:
            totals[finding.severity] = totals.get(finding.severity, 0) + 1
            if not streamed:
                _write(stream, finding_dict(finding))
        if streamed:
            for item in result.withdrawn:  # streamed live, not borne out by the whole log
                _write(stream, withdrawal_dict(item))
            for shown, final in result.completed:  # streamed live, said with less known
                _write(stream, dict(finding_dict(final), type="completed",
                                    shown=shown.fingerprint))
        model = result.model
        _write(stream, {"type": "run", "path": result.path, "error": result.error,
                        "devices": [device_dict(d) for d in model.live_devices()],
                        "findings": len(result.findings),
                        "stats": {"lines": model.lines, "events": model.events},
                        "cut_off": cut_off_dict(model)})
    summary = {"type": "summary", "runs": len(results), "errors": totals["error"],
               "warnings": totals["warning"], "infos": totals["info"],
               "unreadable": sum(1 for r in results if r.error)}
    if options.baseline_suppressed is not None:
        summary["baseline_suppressed"] = options.baseline_suppressed
    if options.interrupted:
        summary["interrupted"] = True
    _write(stream, summary)
