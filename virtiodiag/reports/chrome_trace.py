"""``--format chrome-trace``: Trace Event Format JSON for Perfetto and chrome://tracing.

One process per run and axis (the trace viewer has one time line, and two clocks of a log
are related only where the log says how: each clock gets its own process; events without a
time stamp go to a "line order" process where one line is one millisecond), one thread
(track) per device, a complete event ("X") per status phase, instant events ("i") for
queue set-up, IRQ set-up and enable, kicks and interrupts the model kept, and findings.
Times are microseconds from the clock's stated origin (see ``view.Clocks``).
"""

from __future__ import annotations

import json
import math

from virtiodiag import __version__
from virtiodiag.options import ReportOptions
from virtiodiag.reports import view
from virtiodiag.reports.escape import safe

LINE_US = 1000.0  # on the line-order axis, one log line is drawn as one millisecond


def render(results, stream, options: ReportOptions) -> None:
    json.dump(trace(results), stream, separators=(",", ":"), allow_nan=False)
    stream.write("\n")


def trace(results) -> dict:
    events: list[dict] = []
    pid = 0
    for number, result in enumerate(results, 1):
        lanes = view.RunLanes(result)
        for axis in lanes.axes():
            pid += 1
            events.extend(_process(lanes, axis, pid, number, len(results) > 1))
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"tool": f"virtiodiag {__version__}",
                          "runs": [safe(r.path) for r in results]}}


def _process(lanes: view.RunLanes, axis: str, pid: int, number: int, many: bool) -> list:
    result = lanes.result
    if axis == view.LINE_AXIS:
        what = "line order (no time stamps; 1 line = 1 ms)"
    else:
        what = lanes.clocks.statement(axis)
    name = (f"run {number}: " if many else "") + f"{safe(result.path)} - {what}"
    out = [{"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}},
           {"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0,
            "args": {"sort_index": pid}}]
    positions = []

    def at(event) -> float | None:
        where = lanes.position(event, axis)
        if where is None or not math.isfinite(where):
            return None
        return round(where * (LINE_US if axis == view.LINE_AXIS else 1e6), 3)

    rows = []
    for tid, lane in enumerate(lanes.lanes + [lanes.run_lane], 1):
        here = [at(e) for e in lanes.lane_events(lane)]
        if all(h is None for h in here):
            continue
        positions += [h for h in here if h is not None]
        rows.append((tid, lane))
    end = max(positions) if positions else 0.0
    for tid, lane in rows:
        device = lane.device
        label = safe(lane.label) + ("" if device is None else
                                     f" ({device.device_type or '?'} {safe(view.place(device))})")
        out.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                    "args": {"name": label}})
        out.append({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid,
                    "args": {"sort_index": tid}})
        for phase in lane.phases:
            start = at(phase.start)
            if start is None:
                continue
            stop = at(phase.end) if phase.end is not None else None
            stop = end if stop is None else stop
            out.append({"ph": "X", "name": phase.name, "cat": "status", "pid": pid,
                        "tid": tid, "ts": start, "dur": max(0.0, round(stop - start, 3)),
                        "args": {"status": f"0x{phase.value:02x}", "line": phase.start.line,
                                 "text": safe(phase.start.text, 300)}})
        for event in lane.marks + lane.traffic:
            ts = at(event)
            if ts is None:
                continue
            out.append(_instant(event, pid, tid, ts))
        for finding, event in lane.findings:
            ts = at(event)
            if ts is None:
                continue
            out.append({"ph": "i", "s": "t", "name": f"{finding.rule} {finding.name}",
                        "cat": f"finding,{finding.severity}", "pid": pid, "tid": tid,
                        "ts": ts, "args": {"message": safe(finding.message, 500),
                                           "line": finding.line,
                                           "evidence": safe(event.text, 300)}})
    return out


def _instant(event, pid: int, tid: int, ts: float) -> dict:
    kind = event.kind
    if kind in ("queue_config", "queue_ready"):
        name = f"queue {event.get('queue', '?')} " + ("ready" if kind == "queue_ready"
                                                      else "set-up")
        category = "queue"
    elif kind in ("irq_setup", "irq_enable"):
        name = f"IRQ {event.get('irq', '?')} " + ("enabled" if kind == "irq_enable"
                                                  else "set up")
        category = "irq"
    else:
        name = kind if event.get("queue") is None else f"{kind} queue {event.get('queue')}"
        category = "irq" if kind == "interrupt" else "queue"
    return {"ph": "i", "s": "t", "name": name, "cat": category, "pid": pid, "tid": tid,
            "ts": ts, "args": {"line": event.line, "text": safe(event.text, 300)}}
