"""Many runs of one test: a verdict per run and how stable each device's handshake is."""

from __future__ import annotations

import os

from virtiodiag import spec
from virtiodiag.model.driver_ok import DriverOk
from virtiodiag.model.verdicts import driver_ok_yes
from virtiodiag.rules.base import severity_rank

MAX_NAMED_RUNS = 10  # the text report names at most this many runs per finding
_REPORT_SIGNS = (b'"schema":"virtiodiag/', b'"schema": "virtiodiag/',
                 b'<testsuites name="virtiodiag"', b'"name": "virtiodiag"',
                 b'"name":"virtiodiag"', b"virtiodiag/baseline")


def written_by_us(path: str) -> bool:
    """Whether a file is a report or baseline virtiodiag wrote (not a run to analyse):
    its first 4 KiB carry our JSON schema, JUnit suite or SARIF tool name, or it starts
    with the text report's verdict line."""
    import re

    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    if any(sign in head for sign in _REPORT_SIGNS):
        return True
    first = head.split(b"\n", 1)[0]
    return re.match(rb"(?:PASS|FAIL|ERROR) +\S.*: .*\bdevice", first) is not None


def verdict(result, threshold: str = "error") -> str:
    """``error`` (could not analyse), ``fail`` (a finding reaches the threshold) or ``pass``."""
    if result.error:
        return "error"
    limit = severity_rank(threshold)
    if any(severity_rank(f.severity) >= limit for f in result.findings):
        return "fail"
    return "pass"


def handshake_seconds(device) -> float | None:
    """From the reset that began the attempt reaching DRIVER_OK to DRIVER_OK (one clock).

    Falls back to the first status write when that attempt has no reset; None when the
    device never reached DRIVER_OK or the two lines have no timestamps on the same clock.
    """
    changes = device.status
    ok_index = next((i for i, s in enumerate(changes) if s.value & spec.DRIVER_OK), None)
    if ok_index is None:
        return None
    start = next((s for s in changes[:ok_index] if not s.read), changes[ok_index])
    for change in changes[:ok_index]:
        if change.value == 0 and not change.read:
            start = change
    first, last = start.event, changes[ok_index].event
    if first.time is None or last.time is None or first.clock != last.clock:
        return None
    return max(0.0, last.time - first.time)


def _run_name(result) -> str:
    return result.path


def stability(results, threshold: str = "error") -> dict:
    """Per device identity across runs: DRIVER_OK ratio, findings, handshake durations."""
    analysed = [r for r in results if not r.error]
    verdicts = [verdict(r, threshold) for r in results]
    devices: dict[str, dict] = {}
    empty_slots: dict[str, dict] = {}
    run_findings: dict[tuple[str, str], list[str]] = {}
    for result in analysed:
        name = _run_name(result)
        seen_here: set[str] = set()
        empty_here: set[str] = set()
        for device in result.model.live_devices():
            if device.is_empty_slot:  # device id 0: a transport slot, not a device
                slot = empty_slots.setdefault(device.identity, {
                    "identity": device.identity, "ids": [], "present": 0})
                if device.identity not in empty_here:
                    empty_here.add(device.identity)
                    slot["present"] += 1
                if device.id not in slot["ids"]:
                    slot["ids"].append(device.id)
                continue
            entry = devices.setdefault(device.identity, {
                "identity": device.identity, "ids": [], "type": device.device_type,
                "present": 0, "reached_driver_ok": 0, "durations": [], "findings": {},
            })
            if device.identity in seen_here:
                continue  # two devices sharing an identity in one run count once
            seen_here.add(device.identity)
            if device.id not in entry["ids"]:
                entry["ids"].append(device.id)
            entry["type"] = entry["type"] or device.device_type
            entry["present"] += 1
            if driver_ok_yes(device):
                entry["reached_driver_ok"] += 1
            seconds = handshake_seconds(device)
            if seconds is not None:
                entry["durations"].append(seconds)
        counted: set[tuple[str | None, tuple[str, str]]] = set()
        for finding in result.findings:
            key = (finding.rule, finding.name)
            owner = devices.get(finding.device_identity)
            # Once per run, told by the run and not its name: a log given twice (globs
            # that overlap) was 2/2 present but its findings 1/2.
            once = (None if owner is None else owner["identity"], key)
            if once in counted:
                continue
            counted.add(once)
            target = owner["findings"] if owner is not None else run_findings
            target.setdefault(key, []).append(name)
    total = len(analysed)
    out_devices = []
    for identity in sorted(devices):
        entry = devices[identity]
        durations = entry.pop("durations")
        findings = entry.pop("findings")
        entry["runs"] = total
        entry["driver_ok_ratio"] = f"{entry['reached_driver_ok']}/{total}"
        entry["handshake_seconds"] = ({
            "min": min(durations), "median": _median(durations),
            "max": max(durations), "samples": len(durations)} if durations else None)
        entry["findings"] = [{"rule": code, "name": name, "count": len(runs), "runs": runs}
                             for (code, name), runs in sorted(findings.items())]
        out_devices.append(entry)
    return {
        "runs": len(results),
        "analysed": total,
        "passed": verdicts.count("pass"),
        "failed": verdicts.count("fail"),
        "unreadable": verdicts.count("error"),
        "threshold": threshold,
        "devices": out_devices,
        "empty_slots": [dict(empty_slots[identity], runs=total)
                        for identity in sorted(empty_slots)],
        "run_findings": [{"rule": code, "name": name, "count": len(runs), "runs": runs}
                         for (code, name), runs in sorted(run_findings.items())],
    }


def verdict_line(result, threshold: str = "error") -> str:
    """One line per run: ``FAIL path: 1 error(s) (VD003); 1/1 device(s) reached DRIVER_OK``."""
    from virtiodiag.reports.escape import safe

    state = verdict(result, threshold)
    if state == "error":
        # The message names the file itself ("x.log: no such file"): not twice.
        error = result.error or ""
        if error.startswith(f"{result.path}: "):
            error = error[len(result.path) + 2:]
        return f"ERROR {safe(result.path)}: {safe(error)}"
    counts: dict[str, int] = {}
    codes: list[str] = []
    for finding in result.findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
        if finding.rule not in codes:
            codes.append(finding.rule)
    every = result.model.live_devices()
    devices = [d for d in every if not d.is_empty_slot]
    parts = [f"{counts[s]} {s}(s)" for s in ("error", "warning", "info") if counts.get(s)]
    found = (", ".join(parts) + f" ({', '.join(codes)})") if parts else "no findings"
    slots = len(every) - len(devices)
    empty = f", {slots} empty slot{'' if slots == 1 else 's'}" if slots else ""
    ok = sum(1 for d in devices if driver_ok_yes(d))
    implied = sum(1 for d in devices if d.driver_ok.state is DriverOk.IMPLIED)
    hidden = sum(1 for d in devices if d.driver_ok.state is DriverOk.NOT_SHOWN)
    more = (f" ({implied} implied by the driver's probe)" if implied else "") + (
        f", {hidden} not shown" if hidden else "")
    # as the one-run summary says it: a run read whole and one cut mid-line look alike else
    cut = "; last line had no newline (truncated log?)" if result.model.truncated_last_line else ""
    return (f"{state.upper():5} {safe(result.path)}: {found}; "
            f"{ok}/{len(devices)} device(s) reached DRIVER_OK{more}{empty}{cut}")


def _names(runs: list[str]) -> str:
    shown = [os.path.basename(r) or r for r in runs[:MAX_NAMED_RUNS]]
    more = len(runs) - len(shown)
    return ", ".join(shown) + (f", ... (+{more})" if more > 0 else "")


def render_text(summary: dict, stream) -> None:
    """The stability summary as text (used by the text report for more than one run)."""
    from tabulate import tabulate

    from virtiodiag.reports.escape import safe

    total = summary["analysed"]
    stream.write(f"\nstability over {summary['runs']} run(s): {summary['passed']} passed, "
                 f"{summary['failed']} failed, {summary['unreadable']} unreadable "
                 f"(fail on {summary['threshold']})\n")
    rows = []
    for device in summary["devices"]:
        seconds = device["handshake_seconds"]
        timing = ("-" if seconds is None else
                  f"{seconds['min']:.6f} / {seconds['median']:.6f} / {seconds['max']:.6f} "
                  f"({seconds['samples']})")
        rows.append([safe(device["identity"]), safe(", ".join(device["ids"][:3])),
                     device["type"] or "?", f"{device['present']}/{total}",
                     device["driver_ok_ratio"], timing])
    if rows:
        stream.write(tabulate(rows, headers=["identity", "device", "type", "present",
                                             "DRIVER_OK", "handshake s min/median/max (n)"])
                     + "\n")
    slots = summary.get("empty_slots") or []
    if slots:
        listed = ", ".join(f"{safe(slot['identity'])} ({slot['present']}/{total})"
                           for slot in slots[:MAX_NAMED_RUNS])
        more = f", ... (+{len(slots) - MAX_NAMED_RUNS})" if len(slots) > MAX_NAMED_RUNS else ""
        stream.write(f"{len(slots)} empty slot{'' if len(slots) == 1 else 's'} (device id 0, "
                     f"not counted as devices): {listed}{more}\n")
    lines = []
    for device in summary["devices"]:
        for finding in device["findings"]:
            lines.append(f"  {safe(device['identity'])}: {finding['rule']} {finding['name']} "
                         f"in {finding['count']}/{total} run(s): {safe(_names(finding['runs']))}")
    for finding in summary["run_findings"]:
        lines.append(f"  (run): {finding['rule']} {finding['name']} in "
                     f"{finding['count']}/{total} run(s): {safe(_names(finding['runs']))}")
    if lines:
        stream.write("findings across runs:\n" + "\n".join(lines) + "\n")


def _median(values: list[float]) -> float:
    import statistics  # here: only a set of runs needs it (a single run starts faster)

    return statistics.median(values)
