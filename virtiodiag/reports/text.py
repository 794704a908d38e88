"""``--format text``: a device table, each device's timeline, then the findings."""

from __future__ import annotations

from virtiodiag import spec
from virtiodiag.model.handover import held_by_other_driver
from virtiodiag.model.driver_ok import DriverOk
from virtiodiag.model.boot_stall import boot_stall
from virtiodiag.model.verdicts import driver_ok_summary, format_unread
from virtiodiag.options import ReportOptions
from virtiodiag.reports import view
from virtiodiag.reports.cut import INTERRUPTED
from virtiodiag.reports.escape import safe
from virtiodiag.reports.plain_table import plain_table

SEVERITY_COLOURS = {"error": "RED", "warning": "YELLOW", "info": "CYAN"}


class Palette:
    """ANSI colour for the text report, or none. colorama (the project's colour library)
    rather than click.style: the same bytes, and colorama is the dependency chosen for it."""

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


def format_finding(finding, palette: Palette, evidence: bool = True) -> str:
    colour = SEVERITY_COLOURS.get(finding.severity)
    where = f"{safe(finding.path)}:{finding.line}" if finding.line else safe(finding.path)
    head = (f"{where}: {palette.paint(finding.severity, colour, bright=True)} "
            f"{finding.rule} {finding.name} [{safe(finding.device)}] {safe(finding.message)}")
    lines = [head]
    if finding.evidence and evidence:
        lines.append(f"    | {safe(finding.evidence, 200)}")
    for related in finding.related[:3]:
        lines.append(f"    + line {related['line']}: {safe(related['what'])}")
    if finding.hint:
        lines.append(f"    fix: {safe(finding.hint)}")
    return "\n".join(lines)


def format_withdrawal(item) -> str:
    """A finding shown live that the whole log does not bear out, and why (one line)."""
    finding = item.finding
    where = f"{safe(finding.path)}:{finding.line}" if finding.line else safe(finding.path)
    return (f"withdrawn: {where}: {finding.severity} {finding.rule} {finding.name} "
            f"[{safe(finding.device)}] shown while reading: {safe(item.reason())}")


def format_completion(shown, final) -> str:
    """A finding shown live that the whole log bears out and says more about (a count of
    repeats, what the device turned out to be): its final words (one line)."""
    where = f"{safe(final.path)}:{final.line}" if final.line else safe(final.path)
    return (f"completed: {where}: {final.severity} {final.rule} {final.name} "
            f"[{safe(final.device)}] with the whole log: {safe(final.message)}")


def render(results, stream, options: ReportOptions) -> None:
    """One run: the full report. More runs: a verdict line per run and the stability
    summary (``--verbose`` adds each run's full report first). Findings of runs in
    ``options.live_paths`` were printed as they happened and are not repeated."""
    palette = Palette(options.color)
    threshold = options.fail_on
    many = len(results) > 1
    if not many or options.verbose:
        for result in results:
            render_run(result, stream, options, palette, header=many)
    if many:
        from virtiodiag.runs import render_text, stability, verdict_line

        if options.verbose:
            stream.write("\n")
        for result in results:
            stream.write(verdict_line(result, threshold) + "\n")
        render_text(stability(results, threshold), stream)
    if options.baseline:
        stream.write(f"baseline {safe(options.baseline)}: {options.baseline_suppressed or 0} "
                     "known finding(s) suppressed\n")
    if options.interrupted:
        stream.write(INTERRUPTED + "\n")


def render_run(result, stream, options: ReportOptions, palette: Palette,
               header: bool = False) -> None:
    """Verdict first; one line per device; the findings with their evidence in context;
    a closing line of counts. ``--timeline`` adds every device's timeline."""
    live = result.path in options.live_paths
    model = result.model
    glyphs = Glyphs(stream)
    threshold = options.fail_on
    if header:
        stream.write(palette.paint(f"== {safe(result.path)}", bright=True) + "\n")
    if result.error:
        stream.write(f"error: {safe(result.error)}\n")
        if not model.lines:
            return
    stream.write(verdict_headline(result, threshold, palette) + "\n")
    events = view.held_events(model)
    guests = view.Guests(events, model)
    clocks = view.Clocks(events)
    devices = model.live_devices()
    findings_by_device: dict[str, list] = {}
    for finding in result.findings:
        findings_by_device.setdefault(finding.device_identity, []).append(finding)
    _device_table(devices, guests, findings_by_device, stream, palette, glyphs)
    for note in model.matching_notes:
        stream.write(f"note: {safe(note)}\n")
    if model.modules:
        stream.write(f"modules loaded: {safe(', '.join(model.modules.names()), 300)}\n")
    if result.findings and not live:
        stream.write("\n")
        held = view.HeldLines(events)
        for finding in result.findings:
            stream.write(_finding_block(finding, held, clocks, palette))
    if options.text_timeline and not live:
        _timelines(devices, clocks, guests, stream, palette, glyphs)
    if live and (result.withdrawn or result.completed):
        stream.write("\n")
        for item in result.withdrawn:
            stream.write(format_withdrawal(item) + "\n")
        for shown, final in result.completed:
            stream.write(format_completion(shown, final) + "\n")
    stream.write("\n")
    used = clocks.names
    if used and (options.text_timeline or any(f.severity != "info"
                                              for f in result.findings)):
        stream.write("times: " + "; ".join(clocks.statement(c) for c in used) + "\n")
    stream.write(summary_line(result) + "\n")
    if options.verbose and model.unrecognised_samples:
        stream.write("unrecognised virtio lines:\n")
        for line_no, text in model.unrecognised_samples:
            stream.write(f"  {line_no:>7}  {safe(text, 200)}\n")


class Glyphs:
    """Arrows and marks, in ASCII where the output cannot encode them."""

    def __init__(self, stream):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            "\u2192\u2713\u2717".encode(encoding)
            fancy = True
        except (LookupError, UnicodeEncodeError):
            fancy = False
        self.arrow = "\u2192" if fancy else "->"
        self.ok = "\u2713" if fancy else "ok"
        self.bad = "\u2717" if fancy else "X"
        self.warn = "!"
        self.none = "-"


def verdict_headline(result, threshold: str, palette: Palette) -> str:
    """``PASS path: 4 of 4 devices reached DRIVER_OK (modern); no error or warning``."""
    from virtiodiag.runs import verdict

    state = verdict(result, threshold)
    colour = {"pass": "GREEN", "fail": "RED", "error": "RED"}[state]
    counts: dict[str, int] = {}
    names: list[str] = []
    for finding in result.findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
        if finding.severity != "info" and finding.name not in names:
            names.append(finding.name)
    devices = [d for d in result.model.live_devices() if not view.is_placeholder(d)]
    driven = [d for d in devices if d.started_handshake or view.driver_ok_implied(d)]
    ok = [d for d in devices if view.driver_ok(d)]
    implied = sum(1 for d in ok if view.driver_ok_implied(d))
    hidden = sum(1 for d in devices if d.driver_ok.state is DriverOk.NOT_SHOWN)
    modes = sorted({"mode not shown" if view.mode_label(d).startswith("transitional device")
                    else view.mode_label(d).split(" ")[0] for d in ok})
    if not devices:
        what = _no_device(result.model)
    elif driven and len(ok) == len(driven) == len(devices):
        what = (f"{_count(len(ok), 'device')}, all reached DRIVER_OK" if len(ok) > 1
                else "1 device, reached DRIVER_OK")
    else:
        what = f"{len(ok)} of {_count(len(devices), 'device')} reached DRIVER_OK"
    if implied:
        what += f", {implied} of them implied by the driver's probe"
    if hidden:
        what += f", {hidden} not shown"
    if ok and modes:
        what += f" ({' and '.join(modes)})"
    stall = boot_stall(result.model)
    if stall is not None:
        why = (f"before the emulator was killed (line {stall.killed.line})"
               if stall.killed is not None else "in this log (it stalled, or the capture "
               "stopped)")
        what += (f"; the boot never reached init {why}: last step seen "
                 f"{safe(stall.device.id)} {stall.step} (line {stall.event.line})")
    serious = [f"{_count(counts[s], s)}" for s in ("error", "warning") if counts.get(s)]
    found = ", ".join(serious) + f": {', '.join(names[:4])}" if serious else "no error or warning"
    return (palette.paint(f"{state.upper()}", colour, bright=True)
            + f" {safe(result.path)}: {what}; {found}")


def _no_device(model) -> str:
    """No device: in plain words, whether the log looked like virtio all the same."""
    if format_unread(model):
        verb = "looks" if model.unrecognised == 1 else "look"
        return (f"no virtio device recognised, though {_count(model.unrecognised, 'line')} "
                f"{verb} like virtio (a log format virtiodiag does not read)")
    return "no virtio device found"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


TABLE_CELL_LIMIT = 100_000  # a handshake cell is escaped, not cut (many attempts are long)


def _device_table(devices, guests, findings_by_device, stream, palette, glyphs) -> None:
    rows = []
    placeholders = []
    inferred = set()  # why the model could only infer them empty (device.slot_unbound)
    for device in devices:
        if view.is_placeholder(device):
            placeholders.append(view.place(device))
            inferred.add(device.slot_unbound)
            continue
        tried = view.attempts(device, guests)
        findings = findings_by_device.get(device.identity, [])
        worst = {f.severity for f in findings}
        if view.driver_ok(device) and not worst & {"error", "warning"}:
            mark = palette.paint(glyphs.ok, "GREEN")
        elif view.driver_ok(device):
            mark = palette.paint(glyphs.warn, "YELLOW")
        elif device.started_handshake or worst & {"error", "warning"}:
            mark = palette.paint(glyphs.bad, "RED")
        else:
            mark = glyphs.none
        # Every cell escaped: the handshake's words can quote the log (the interface
        # name a driver registered, a reason a line gave).
        rows.append([mark, safe(view.display_name(device), 40),
                     safe(device.device_type or "?", 40), safe(view.place(device), 40),
                     safe(view.mode_label(device), 200),
                     safe(_handshake(device, tried, glyphs), TABLE_CELL_LIMIT)])
    if rows:
        stream.write("\n" + plain_table(rows, ["", "device", "type", "transport", "mode",
                                                "handshake"]) + "\n")
    else:
        stream.write("\nno virtio device found in this log\n")
    if placeholders:
        [why] = inferred if len(inferred) == 1 and None not in inferred else [
            "device id 0, nothing to drive"]
        stream.write(f"   {_count(len(placeholders), 'empty slot')} ({safe(why)}): "
                     f"{safe(', '.join(placeholders), 200)}\n")


def _handshake(device, tried, glyphs) -> str:
    """``ACK → DRIVER → FEATURES_OK → DRIVER_OK``; with more attempts, each one and who
    made it: ``2 attempts: firmware ACK+DRIVER → ...; Linux ACK → ...``."""
    if not tried:
        fact = device.driver_ok
        if view.driver_ok_implied(device):
            return (f"DRIVER_OK implied by line {fact.line}: {device.driver_ok_implied_why} "
                    "(the log shows no status)")
        if device.reached_driver_ok:
            return f"DRIVER_OK read back, line {fact.line} (no status write in the log)"
        held = held_by_other_driver(device)
        if held is not None:
            return (f"{held.get('driver')} holds the function, line {held.line}: "
                    "not driven through virtio")
        if fact.state is DriverOk.NOT_REACHED:
            if fact.event is not None and fact.event is device.features_refused:
                return f"FEATURES_OK refused, line {fact.line}"
            if fact.line is not None:
                return f"probe failed, line {fact.line}"
            # A status read back (sysfs) that is not DRIVER_OK: the driver got that far
            # (0x83: ACKNOWLEDGE|DRIVER|FAILED after a failed probe), it was driven.
            read = next((s for s in reversed(device.status) if s.read and s.value), None)
            if read is not None:
                return (f"{read.names} (0x{read.value:02x}) read back, line {read.event.line} "
                        "(no status write in the log)")
            return "never driven"
        if device.unclaimed is not None:
            return f"never driven: no driver matched it, line {device.unclaimed.line}"
        if device.bound:
            # A driver took it (OpenBSD's "viornd0 at virtio1", which prints nothing more on
            # success), but no line shows its attach finished.
            return "driver bound; not shown whether its attach finished (no status value)"
        if device.declaration is not None and device.declaration.missing:
            return (f"declared on the VMM's command line, line {device.declaration.event.line}; "
                    "never found by the guest")
        if device.declaration is not None and device.declaration.guest_silent:
            return (f"declared on line {device.declaration.event.line} (the VMM's command line "
                    "or configuration); not shown (the log has no line of the guest)")
        if device.declaration is not None and device.declaration.unseen:
            return (f"declared on the VMM's command line, line {device.declaration.event.line}; "
                    "configured, never seen by the guest (its lines show nothing of it)")
        return "not shown (no status value and no driver line in the log)"

    modes = {a.interface for a in tried if a.interface}

    def one(attempt):
        text = attempt.path(glyphs.arrow)
        if len(modes) > 1:  # an attempt in another interface than the others: say which
            text += f" ({attempt.interface})"
        taken = attempt.fact.taken_by
        if attempt.failed:
            text += " (FAILED)"
        elif taken is not None and not attempt.reached_driver_ok:
            # the device changed hands (model/handover.py): no virtio driver stopped
            text += f", then {taken.get('driver')} took the function (line {taken.line})"
        elif not attempt.reached_driver_ok:
            text += f" {glyphs.bad} stops here"
        return (f"{attempt.actor}: " if attempt.actor else "") + text

    if len(tried) == 1:
        return one(tried[0])
    shown = [one(a) for a in tried[:3]]
    if len(tried) > 4:
        shown.append(f"... {len(tried) - 4} more")
    if len(tried) > 3:
        shown.append(one(tried[-1]))
    return f"{len(tried)} attempts: " + "; ".join(shown)


CONTEXT_BEFORE, CONTEXT_AFTER = 2, 2


def _finding_block(finding, held, clocks, palette) -> str:
    """The finding's line, then its evidence among a few lines around it (errors and
    warnings), the related lines, the fix."""
    colour = SEVERITY_COLOURS.get(finding.severity)
    where = f"{safe(finding.path)}:{finding.line}" if finding.line else safe(finding.path)
    out = [f"{where}: {palette.paint(finding.severity, colour, bright=True)} "
           f"{finding.rule} {finding.name} [{safe(finding.device)}] {safe(finding.message)}"]
    context = _context(finding, held, clocks) if finding.severity != "info" else []
    if context:
        out.extend(context)
    elif finding.evidence:
        out.append(f"    | {safe(finding.evidence, 200)}")
    for related in finding.related[:3]:
        out.append(f"    + line {related['line']}: {safe(related['what'])}")
    if finding.hint:
        out.append(f"    fix: {safe(finding.hint)}")
    return "\n".join(out) + "\n"


def _context(finding, held, clocks) -> list[str]:
    """A few lines around the finding's evidence, from the events the model holds, with
    a time column per clock they use; the evidence line is marked with ``>``."""
    if not finding.line:
        return []
    events = held.events
    index = held.first_from(finding.line)
    if index >= len(events) or events[index].line != finding.line:
        return []
    shown = events[max(0, index - CONTEXT_BEFORE):index + 1 + CONTEXT_AFTER]
    columns = [c for c in clocks.names if any(e.clock == c and e.time is not None
                                              for e in shown)]
    out = [("        line " + "".join(f"{clocks.header(c):>11} " for c in columns)).rstrip()]
    for event in shown:
        mark = ">" if event.line == finding.line else " "
        cells = ""
        for clock in columns:
            value = clocks.relative(event) if event.clock == clock else None
            cells += f"{value:>11.6f} " if value is not None else " " * 12
        out.append(f"    {mark}{event.line:>7} {cells} {safe(event.text, 160)}".rstrip())
    return out


def _timelines(devices, clocks, guests, stream, palette, glyphs) -> None:
    columns = clocks.names
    for device in devices:
        if view.is_placeholder(device):
            continue
        stream.write("\n" + palette.paint(safe(view.display_name(device)), bright=True)
                     + f"  {device.device_type or '?'} {safe(view.place(device))}, "
                     f"mode {device.mode}: {safe(device.mode_reason)}\n")
        if device.matched_by:
            stream.write(f"  matched: {safe(device.matched_by)}\n")
        for attempt in view.attempts(device, guests):
            stream.write(f"  attempt {attempt.index}"
                         + (f" by {safe(attempt.actor)}" if attempt.actor else "")
                         + f", lines {attempt.first_line}-{attempt.last_line}: "
                         + attempt.path(glyphs.arrow) + "\n")
        if device.features_accepted is not None:
            names = ", ".join(spec.feature_names(device.features_accepted,
                                                 device.device_type))
            stream.write(f"  features accepted 0x{device.features_accepted:x}: {names}\n")
        flood = view.flood_summary(device)
        if flood:
            stream.write(f"  traffic: {flood}\n")
        head = "  " + "".join(f"{clocks.header(c):>11} " for c in columns) + "   line  event"
        stream.write(head + "\n")
        gap = device.timeline_gap_after
        timeline = device.timeline
        pieces = [timeline[:gap], timeline[gap:]] if gap is not None else [timeline]
        for number, piece in enumerate(pieces):
            if number:
                stream.write(f"  ... {device.timeline_dropped} events left out here "
                             "(the first and the latest are shown)\n")
            for entry in view.fold_floods(piece):
                first = entry.first if isinstance(entry, view.Fold) else entry
                cells = ""
                for clock in columns:
                    value = clocks.relative(first) if first.clock == clock else None
                    cells += f"{value:>11.6f} " if value is not None else " " * 12
                what = entry.describe() if isinstance(entry, view.Fold) else view.describe(entry)
                stream.write(f"  {cells}{first.line:>7}  {safe(what, 160)}\n")


def summary_line(result) -> str:
    """The closing line: devices, findings by severity, what was read and not understood."""
    model = result.model
    counts = {"error": 0, "warning": 0, "info": 0}
    for finding in result.findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    every = model.live_devices()
    devices = [d for d in every if not view.is_placeholder(d)]
    found = driver_ok_summary(devices)
    if len(every) > len(devices):
        found += f", {_count(len(every) - len(devices), 'empty slot')}"
    parts = [found,
             f"{_count(counts['error'], 'error')}, {_count(counts['warning'], 'warning')}, "
             f"{counts['info']} info",
             f"{model.lines:,} lines read, {model.events:,} events"]
    if model.unrecognised:
        parts.append(f"{model.unrecognised:,} line(s) mention virtio but no grammar "
                     "understood them (--verbose lists them)")
    if model.invalid_utf8_lines:
        parts.append(f"{model.invalid_utf8_lines} line(s) with invalid UTF-8")
    if model.soft_breaks_joined or model.escapes_decoded:
        parts.append(f"quoted-printable undone: {model.soft_breaks_joined} soft line "
                     f"break(s) joined, {model.escapes_decoded} escape(s) decoded")
    if model.encoding:
        parts.append(f"the input is {model.encoding}")
    if model.truncated_last_line:
        parts.append("last line had no newline (truncated log?)")
    return "; ".join(parts)
