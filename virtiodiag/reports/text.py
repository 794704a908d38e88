"""``--format text``: a device table, each device's timeline, then the findings."""

from __future__ import annotations

from virtiodiag import spec
from virtiodiag.reports.escape import safe

SEVERITY_COLOURS = {"error": "RED", "warning": "YELLOW", "info": "CYAN"}


class Palette:
    def __init__(self, enabled: bool):
        self.enabled = enabled
        if enabled:
            import colorama

            self._fore = colorama.Fore
            self._style = colorama.Style

    def paint(self, text: str, colour: str | None = None, bright: bool = False) -> str:
        if not self.enabled or (colour is None and not bright):
            return text
        prefix = getattr(self._fore, colour) if colour else ""
        if bright:
            prefix += self._style.BRIGHT
        return f"{prefix}{text}{self._style.RESET_ALL}"


def format_finding(finding, palette: Palette) -> str:
    colour = SEVERITY_COLOURS.get(finding.severity)
    where = f"{safe(finding.path)}:{finding.line}" if finding.line else safe(finding.path)
    head = (f"{where}: {palette.paint(finding.severity, colour, bright=True)} "
            f"{finding.rule} {finding.name} [{safe(finding.device)}] {safe(finding.message)}")
    lines = [head]
    if finding.evidence:
        lines.append(f"    | {safe(finding.evidence, 200)}")
    for related in finding.related[:3]:
        lines.append(f"    + line {related['line']}: {safe(related['what'])}")
    if finding.hint:
        lines.append(f"    fix: {safe(finding.hint)}")
    return "\n".join(lines)


def render(results, stream, options) -> None:
    """One run: the full report. More runs: a verdict line per run and the stability
    summary (``--verbose`` adds each run's full report first). Findings of runs in
    ``options["live_paths"]`` were printed as they happened and are not repeated."""
    palette = Palette(options.get("color", False))
    threshold = options.get("fail_on") or "error"
    many = len(results) > 1
    if not many or options.get("verbose"):
        for result in results:
            render_run(result, stream, options, palette, header=many or options.get("show_path"))
    if many:
        from virtiodiag.runs import render_text, stability, verdict_line

        if options.get("verbose"):
            stream.write("\n")
        for result in results:
            stream.write(verdict_line(result, threshold) + "\n")
        render_text(stability(results, threshold), stream)
    suppressed = options.get("baseline_suppressed")
    if options.get("baseline"):
        stream.write(f"baseline {safe(options['baseline'])}: {suppressed or 0} known "
                     "finding(s) suppressed\n")
    if options.get("interrupted"):
        stream.write("interrupted: the report covers the input read so far\n")


def render_run(result, stream, options, palette: Palette, header: bool = False) -> None:
    from tabulate import tabulate

    live = result.path in options.get("live_paths", ())
    show_timeline = options.get("timeline", True) and not live
    verbose = options.get("verbose", False)
    model = result.model
    if header:
        stream.write(palette.paint(f"== {safe(result.path)}", bright=True) + "\n")
    if result.error:
        stream.write(f"error: {safe(result.error)}\n")
        if not model.lines:
            return
    devices = model.live_devices()
    rows = []
    for device in devices:
        writes = device.status_writes
        rows.append([
            safe(device.id), device.transport, safe(device.address or "-"),
            device.device_type or "?", device.mode,
            _sequence(writes),
            palette.paint("yes", "GREEN") if device.reached_driver_ok
            else palette.paint("no", "RED") if device.started_handshake else "no",
            "-" if device.final_status is None else f"0x{device.final_status:02x}",
            f"{device.notify_count}/{device.interrupt_count}",
        ])
    if live:
        stream.write("\n")
    if rows:
        stream.write(tabulate(rows, headers=["device", "transport", "address", "type",
                                             "mode", "status writes", "DRIVER_OK",
                                             "final", "notify/irq"]) + "\n")
    else:
        stream.write("no virtio device found in this log\n")
    for note in model.matching_notes:
        stream.write(f"note: {safe(note)}\n")
    if show_timeline:
        for device in devices:
            stream.write("\n" + palette.paint(f"{safe(device.id)}", bright=True)
                         + f"  mode {device.mode}: {safe(device.mode_reason)}\n")
            if device.matched_by:
                stream.write(f"  matched: {safe(device.matched_by)}\n")
            if device.features_accepted is not None:
                names = ", ".join(spec.feature_names(device.features_accepted,
                                                     device.device_type))
                stream.write(f"  features accepted 0x{device.features_accepted:x}: "
                             f"{names}\n")
            gap = device.timeline_gap_after
            for index, event in enumerate(device.timeline):
                if index == gap:
                    stream.write(f"  ... {device.timeline_dropped} events left out here "
                                 "(the first and the latest are shown)\n")
                time = f"{event.time:>12.6f}" if event.time is not None else " " * 12
                stream.write(f"  {time} {event.line:>7}  {safe(_describe(event), 160)}\n")
    if result.findings and not live:
        stream.write("\n")
        for finding in result.findings:
            stream.write(format_finding(finding, palette) + "\n")
    stream.write("\n" + summary_line(result) + "\n")
    if verbose and model.unrecognised_samples:
        stream.write("unrecognised virtio lines:\n")
        for line_no, text in model.unrecognised_samples:
            stream.write(f"  {line_no:>7}  {safe(text, 200)}\n")


def _sequence(values: list[int]) -> str:
    if not values:
        return "-"
    text = ",".join(f"{v:x}" for v in values[:12])
    return text + (",..." if len(values) > 12 else "")


def _describe(event) -> str:
    kind = event.kind
    if kind in ("status_write", "status_read", "reset"):
        value = event.get("status")
        if isinstance(value, int):
            verb = "read" if kind == "status_read" else "write"
            return f"status {verb} 0x{value:02x} {spec.status_names(value)}"
    return event.describe()


def summary_line(result) -> str:
    model = result.model
    counts = {"error": 0, "warning": 0, "info": 0}
    for finding in result.findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    devices = model.live_devices()
    ok = sum(1 for d in devices if d.reached_driver_ok)
    parts = [f"{len(devices)} device(s), {ok} reached DRIVER_OK",
             f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info",
             f"{model.lines} lines, {model.events} events"]
    if model.unrecognised:
        parts.append(f"{model.unrecognised} virtio line(s) not understood (--verbose lists them)")
    if model.invalid_utf8_lines:
        parts.append(f"{model.invalid_utf8_lines} line(s) with invalid UTF-8")
    if model.truncated_last_line:
        parts.append("last line had no newline (truncated log?)")
    return "; ".join(parts)
