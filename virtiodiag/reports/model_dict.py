"""The versioned JSON view of a run (schema: docs/json-schema.md)."""

from __future__ import annotations

from typing import Any

from virtiodiag import __version__, spec
from virtiodiag.analysis import RunResult
from virtiodiag.model.attempts import Attempt
from virtiodiag.model.handover import held_by_other_driver
from virtiodiag.model.driver_ok import DriverOk
from virtiodiag.model.device import Device
from virtiodiag.model.verdicts import DRIVER_OK_WORDS
from virtiodiag.options import ReportOptions

SCHEMA = "virtiodiag/report/v3"


def attempt_dict(attempt: Attempt, drivers: bool = False) -> dict:
    """One reset-to-reset run of the handshake, as the model decided it (with ``drivers``,
    the drivers whose lines fall in it)."""
    offered, accepted = attempt.features_offered, attempt.features_accepted
    entry = {
        "index": attempt.index,
        "first_line": attempt.changes[0].event.line,
        "interface": attempt.interface,
        "interface_evidence": [{"kind": e.kind, "strength": e.strength,
                                "interface": e.interface, "line": e.line}
                               for e in attempt.evidence],
        "steps": [{"step": name, "line": change.event.line}
                  for name, change in attempt.steps.items()],
        "driver_ok": attempt.driver_ok.state.value,
        "failed_line": attempt.failed.event.line if attempt.failed else None,
        "reset_after": attempt.reset_after,
        "features_offered": _hex(offered.value) if offered else None,
        "features_accepted": _hex(accepted.value) if accepted else None,
        "queues": attempt.queues,
        "irq_setup_lines": [e.line for e in attempt.irq_setups],
    }
    if drivers:
        entry["drivers"] = attempt.drivers
    taken = attempt.taken_by
    if taken is not None:  # only then: every other report stays as it was
        entry["taken_by"] = {"driver": taken.get("driver"), "line": taken.line}
    return entry


def _attempt_dicts(device: Device) -> list[dict]:
    """The device's attempts; each names its drivers when the log shows a driver in more
    than one of them (a rebind or a reload): only then, so every other report stays as it
    was."""
    attempts = device.attempts()
    drivers = sum(1 for a in attempts if a.drivers) >= 2
    return [attempt_dict(a, drivers) for a in attempts]


def device_dict(device: Device) -> dict:
    entry = _device_facts(device)
    held = held_by_other_driver(device)
    if held is not None:  # only then: every other device's report stays as it was
        entry["held_by"] = {"driver": held.get("driver"), "line": held.line}
    declaration = device.declaration
    if declaration is not None:  # only then: every other device's report stays as it was
        entry["declared"] = {"line": declaration.event.line, "option": declaration.option,
                             "driver": declaration.driver, "qemu_id": declaration.qemu_id,
                             "seen_by_guest": not (declaration.missing or declaration.unseen),
                             "placed": declaration.placed}
    return entry


def _device_facts(device: Device) -> dict:
    step, where = device.last_step()
    driver_ok = device.driver_ok
    return {
        "id": device.id,
        "identity": device.identity,
        "transport": device.transport,
        "address": device.address,
        "type": device.device_type or "unknown",
        "virtio_id": device.virtio_id,
        "pci_device_id": f"0x{device.pci_device:04x}" if device.pci_device is not None else None,
        "mode": device.mode,
        "mode_evidence": [{"line": e.event.line, "text": e.text} for e in device.mode_evidence],
        "guest_name": device.guest_name,
        "netdev": device.netdev,
        "sides": sorted(device.sides),
        "dialects": sorted(device.dialects),
        "matched_by": device.matched_by,
        "status_writes": device.status_writes,
        "status_changes": [{"value": s.value, "names": s.names, "read": s.read,
                            "line": s.event.line, "time": s.event.time}
                           for s in device.status],
        "resets": len(device.resets),
        "reached_driver_ok": DRIVER_OK_WORDS[driver_ok.state],
        "driver_ok_line": device.driver_ok_event.line if device.driver_ok_event else None,
        "driver_ok": {"state": driver_ok.state.value, "line": driver_ok.line,
                      "text": driver_ok.event.text if driver_ok.event is not None else None,
                      "why": (device.driver_ok_implied_why
                              if driver_ok.state is DriverOk.IMPLIED else None)},
        "final_status": device.final_status,
        "final_status_names": (spec.status_names(device.final_status)
                               if device.final_status is not None else None),
        "last_step": step,
        "last_step_line": where.line if where else None,
        "attempts": _attempt_dicts(device),
        "features_offered": _hex(device.features_offered),
        "features_accepted": _hex(device.features_accepted),
        "features_accepted_names": (spec.feature_names(device.features_accepted,
                                                       device.device_type)
                                    if device.features_accepted is not None else None),
        "queues": [{"index": q.index, "size": q.size, "desc": _hex(q.desc),
                    "avail": _hex(q.avail), "used": _hex(q.used), "ready": q.ready,
                    "notifies": q.notifies, "interrupts": q.interrupts}
                   for q in sorted(device.queues.values(), key=lambda q: q.index)],
        "notifies": device.notify_count,
        "interrupts": device.interrupt_count,
        "irq_mode": device.irq_mode,
        "irq_lines": sorted(device.irq_lines),
        "first_line": device.first_event.line if device.first_event else None,
        "last_line": max(device.last_event.line if device.last_event else 0,
                         device.flood_line) or None,
    }


def finding_dict(finding) -> dict:
    return dict(finding.as_dict(), device_identity=finding.device_identity, time=finding.time)


def _hex(value):
    return None if value is None else f"0x{value:x}"


class Streamed(dict):
    """A dict that holds a LazyItems somewhere below it (a writer must walk into it)."""


class LazyItems:
    """A JSON array whose items are made while it is written, one at a time.

    A report's timelines are most of its size (up to 200 entries per device): building
    them all as dicts, then one JSON string, was the peak of memory on a long log and
    grew as the timelines filled. ``reports.json_report`` writes them item by item.

    ``plain``: every item is plain JSON data (no Streamed or LazyItems inside it), so the
    writer hands them to the encoder in batches without looking into each (a timeline's
    entries, a run's findings)."""

    def __init__(self, make_items, plain: bool = False):
        self.make_items = make_items
        self.plain = plain

    def __iter__(self):
        return iter(self.make_items())


# Event.describe() depends on the payload alone, and the dialects hand out one Payload
# per distinct line text: a long log's timelines repeat a few hundred of them thousands of
# times. id(payload) -> (payload, its description); holding the payload keeps its id from
# being reused. Bounded: cleared when full.
_DESCRIBED: dict[int, tuple[Any, str]] = {}
DESCRIBED_LIMIT = 4096


def describe(e) -> str:
    """``e.describe()``, remembered per payload."""
    payload = e.payload
    known = _DESCRIBED.get(id(payload))
    if known is not None and known[0] is payload:
        return known[1]
    text = e.describe()
    if len(_DESCRIBED) >= DESCRIBED_LIMIT:
        _DESCRIBED.clear()
    _DESCRIBED[id(payload)] = (payload, text)
    return text


def timeline_entry(e) -> dict:
    payload = e.payload
    return {"line": e.line, "time": e.time, "clock": e.clock, "dialect": payload.dialect,
            "event": describe(e), "text": e.text}


def timeline(device: Device) -> list[dict]:
    return [timeline_entry(e) for e in device.timeline]


def materialise(value):
    """The same document with every LazyItems made into a list (plain JSON data)."""
    if isinstance(value, dict):
        return {key: materialise(item) for key, item in value.items()}
    if isinstance(value, (list, LazyItems)):
        return [materialise(item) for item in value]
    return value


def _device_entry(device: Device, with_timeline: bool, lazy: bool) -> dict:
    entry = device_dict(device)
    if with_timeline:
        if lazy:
            entry = Streamed(entry)
            entry["timeline"] = LazyItems(
                lambda events=device.timeline: map(timeline_entry, events), plain=True)
        else:
            entry["timeline"] = timeline(device)
        entry["timeline_dropped"] = device.timeline_dropped
        if device.timeline_dropped:
            entry["timeline_gap_after"] = device.timeline_gap_after
    return entry


def run_dict(result: RunResult, with_timeline: bool = True, lazy: bool = False) -> dict:
    """One run's part of the report. ``lazy``: its devices and findings as LazyItems, each
    made while it is written (a long log's hundred devices with full histories were 4-8 MB
    of dicts at once, the peak of memory), inside a Streamed dict."""
    model = result.model
    devices: list[dict] | LazyItems
    findings: list[dict] | LazyItems
    if lazy:
        live = model.live_devices()
        devices = LazyItems(lambda: (_device_entry(d, with_timeline, True) for d in live))
        findings = LazyItems(lambda: map(finding_dict, result.findings), plain=True)
    else:
        devices = [_device_entry(d, with_timeline, False) for d in model.live_devices()]
        findings = [finding_dict(f) for f in result.findings]
    return (Streamed if lazy else dict)({
        "path": result.path,
        "error": result.error,
        "devices": devices,
        "findings": findings,
        "stats": {
            "lines": model.lines, "bytes": model.bytes, "records": model.records,
            "events": model.events, "unrecognised_virtio_lines": model.unrecognised,
            "unrecognised_virtio_messages": model.unrecognised_messages,
            "invalid_utf8_lines": model.invalid_utf8_lines,
            "truncated_last_line": model.truncated_last_line,
            "dialects": model.dialects_seen,
            # only for an input that was not UTF-8 (sources/encodings.py): what it was
            **({"encoding": model.encoding} if model.encoding else {}),
        },
        "matching_notes": model.matching_notes,
        # only when the log lists loaded kernel modules (lsmod, /proc/modules): model/modules.py
        **({"modules_loaded": model.modules.to_list()} if model.modules else {}),
        "tests": [{"line": e.line, "test": e.get("test"), "verdict": e.get("verdict")}
                  for e in model.tests],
        "qemu_view": _qemu_view(model),
        "run": model.run.to_dict() if model.run is not None else None,
        "cut_off": cut_off_dict(model),
    })


def cut_off_dict(model) -> dict | None:
    """Whether the log was cut off, as model/ending.py decides it, and (only when it did)
    that the boot never reached init, as model/boot_stall.py decides it."""
    from virtiodiag.model.boot_stall import boot_stall
    from virtiodiag.model.ending import STOPS, log_cut_off

    cut = log_cut_off(model)
    stall = boot_stall(model)
    if cut is None and stall is None:
        return None
    found = ({"how": cut.how, "line": cut.line, "devices": [d.id for d in cut.devices]}
             if cut is not None else {"how": STOPS, "line": model.lines, "devices": []})
    if stall is not None:
        found["before_init"] = {"device": stall.device.id, "step": stall.step,
                                "line": stall.event.line}  # the last step seen
    return found


def _qemu_view(model) -> dict | None:
    """`virtiodiag run`: QEMU's own view of the devices (QMP), paired with the log's."""
    if model.run is None or model.run.qemu_view is None:
        return None
    from virtiodiag.launch.view import to_dict

    return to_dict(model.run.qemu_view, model)


def report_dict(results: list[RunResult], options: ReportOptions | None = None,
                lazy: bool = False) -> dict:
    """The whole report. ``options`` (default ReportOptions()): ``fail_on`` (verdicts,
    stability), ``timeline``, ``baseline`` / ``baseline_suppressed`` and ``interrupted``
    (see docs/json-schema.md).
    ``lazy``: timelines as LazyItems inside Streamed dicts, for json_report's writer."""
    from virtiodiag.runs import stability, verdict

    if options is None:
        options = ReportOptions()
    threshold = options.fail_on
    with_timeline = options.timeline
    single = results[0] if len(results) == 1 else None
    doc: dict[str, Any] = (Streamed if lazy else dict)(
        {"schema": SCHEMA, "tool": {"name": "virtiodiag", "version": __version__}})
    if single is not None:
        doc.update(run_dict(single, with_timeline, lazy))
        doc["verdict"] = verdict(single, threshold)
        doc["runs"] = None
        doc["stability"] = None
    else:
        doc["devices"] = [d for r in results for d in run_dict(r, False)["devices"]]
        doc["findings"] = [finding_dict(f) for r in results for f in r.findings]
        doc["runs"] = [_with(run_dict(r, with_timeline, lazy), verdict=verdict(r, threshold))
                       for r in results]
        doc["stability"] = stability(results, threshold)
    doc["fail_on"] = threshold
    doc["baseline"] = ({"path": options.baseline,
                        "suppressed": options.baseline_suppressed or 0}
                       if options.baseline else None)
    doc["interrupted"] = options.interrupted
    return doc


def _with(entry: dict, **more) -> dict:
    entry.update(more)  # keeps the dict's class (Streamed)
    return entry
