"""``--format html``: one self-contained page (inline SVG and CSS, no script, nothing
fetched) with a swimlane per device.

Per run, one lane group per axis: each clock the log's events carry (QEMU's host clock, the
guest's seconds since boot, a wall clock), since two clocks are related only where the log
says how, and line order for events without a time stamp (said so in the group's title).
A lane shows the device's status phases as coloured segments, queue set-up and IRQ
set-up/enable marks, its kicks and interrupts folded into a density strip, and finding
markers whose tooltip is the message and the evidence line; the span in which any device
of the run is mid-init (from the reset that starts an attempt to DRIVER_OK or FAILED) is
shaded across the group. Below: the device table and the findings, each with the lines
around its evidence; a marker links to its finding.

What is drawn is bounded by the model's own caps (a timeline keeps 100 entries per
device, traffic is drawn as at most ``TRAFFIC_BINS`` bars per lane, at most
``view.LANE_LIMIT`` lanes), so the page stays small however long the log.
"""

from __future__ import annotations

import html
import itertools

from virtiodiag import __version__
from virtiodiag.options import ReportOptions
from virtiodiag.reports import view
from virtiodiag.reports.escape import safe

WIDTH = 1100  # SVG user units; the SVG scales to the page width
LABEL = 170  # left column with the device names
RIGHT = 20
LANE = 34  # height of one lane
BAR = 14  # height of a phase bar
AXIS = 30  # room for the axis labels
TRAFFIC_BINS = 120
PHASE_COLOURS = {
    "RESET": "#b0b7bf", "ACKNOWLEDGE": "#8ec5f0", "DRIVER": "#3d8fd6",
    "FEATURES_OK": "#f2b233", "DRIVER_OK": "#3fae5a", "FAILED": "#d83b3b",
}
SEVERITY_COLOURS = {"error": "#d83b3b", "warning": "#e39b12", "info": "#3d8fd6"}
AXIS_TITLES = {
    "host": "QEMU's host clock",
    "wall": "wall clock",
    "boot": "guest clock (seconds since boot)",
    view.LINE_AXIS: "no time stamps: line order",
}

CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:20px;color:#1d2430}
h1{font-size:20px;margin:0 0 6px} h2{font-size:17px;margin:22px 0 6px} h3{font-size:15px;margin:14px 0 4px}
.verdict{font-weight:600;padding:2px 8px;border-radius:4px;color:#fff}
.pass{background:#2e8b47}.fail{background:#c62828}.error{background:#6d4c41}
.note{color:#5a6270;font-size:13px;margin:2px 0}
svg.lanes{width:100%;height:auto;border:1px solid #d9dde3;background:#fff;margin:4px 0 10px}
svg text{font:12px system-ui,sans-serif;fill:#1d2430}
svg .lane-label{font-weight:600} svg .axis-label{fill:#5a6270;font-size:11px}
svg .phase-label{fill:#fff;font-size:10px;pointer-events:none}
svg .init-window{fill:#f7d154;fill-opacity:.22;stroke:#e0b000;stroke-dasharray:4 3}
svg .tick{stroke:#e3e6ea} svg .axis-cut{fill:#eceff3} svg .lane-sep{stroke:#eef0f3}
svg .mark-queue{fill:#4a5563} svg .mark-irq-setup{fill:#fff;stroke:#7b3fbf;stroke-width:2}
svg .mark-irq-enable{fill:#7b3fbf;stroke:#fff;stroke-width:1}
svg .traffic{fill:#9aa3ad} svg .finding circle{stroke:#fff;stroke-width:1.5}
svg .finding text{fill:#fff;font-weight:700;font-size:11px;pointer-events:none}
svg a:hover circle,svg a:focus circle{stroke:#1d2430}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}
table{border-collapse:collapse;margin:6px 0 12px} td,th{border-bottom:1px solid #e3e6ea;padding:3px 10px;text-align:left;vertical-align:top}
th{background:#f3f5f8} td.ok{color:#2e8b47;font-weight:700} td.bad{color:#c62828;font-weight:700}
.finding-item{margin:8px 0 14px} .sev{font-weight:700;text-transform:uppercase;font-size:12px}
.sev-error{color:#c62828}.sev-warning{color:#b36b00}.sev-info{color:#2d6fb0}
pre{background:#f6f8fa;border:1px solid #e3e6ea;padding:6px 8px;overflow-x:auto;margin:4px 0;font-size:12px}
pre .hit{background:#ffe9a8;font-weight:700}
:target{outline:2px solid #f2b233;outline-offset:3px}
"""


def render(results, stream, options: ReportOptions) -> None:
    threshold = options.fail_on
    stream.write("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                 "style-src 'unsafe-inline'; img-src data:\">"
                 f"<title>virtiodiag: {_e(_title(results))}</title><style>{CSS}</style>"
                 "</head><body>\n")
    stream.write(f"<h1>virtiodiag {__version__}: {_e(_title(results))}</h1>\n")
    stream.write(_legend())
    for number, result in enumerate(results, 1):
        stream.write(_run(result, number, threshold, len(results) > 1))
    stream.write("</body></html>\n")


def _title(results) -> str:
    if len(results) == 1:
        return results[0].path
    return f"{len(results)} runs"


def _e(text) -> str:
    """Log text or a name: control characters made visible, then HTML-escaped."""
    return html.escape(safe(str(text), 400), quote=True)


def _legend() -> str:
    items = "".join(f'<span><i style="background:{c}"></i>{name}</span>'
                    for name, c in PHASE_COLOURS.items())
    items += ('<span><i style="background:#f7d154;opacity:.5"></i>a device mid-init</span>'
              '<span>&#9650; queue set-up</span><span>&#9671; IRQ set-up</span>'
              '<span>&#9670; IRQ enabled</span><span>&#9679; finding (hover: message and '
              'evidence; click: details)</span>')
    return f'<p class="legend">{items}</p>\n'


def _run(result, number: int, threshold: str, many: bool) -> str:
    from virtiodiag.reports.text import Palette, summary_line, verdict_headline
    from virtiodiag.runs import verdict

    state = verdict(result, threshold)
    headline = verdict_headline(result, threshold, Palette(False))
    out = [f'<section class="run" id="run-{number}" data-path="{_e(result.path)}">']
    if many:
        out.append(f"<h2>Run {number}: {_e(result.path)}</h2>")
    rest = headline.split(" ", 1)[1] if " " in headline else ""
    out.append(f'<p><span class="verdict {state}">{state.upper()}</span> {_e(rest)}</p>')
    if result.error:
        out.append(f'<p class="note">error: {_e(result.error)}</p>')
    lanes = view.RunLanes(result)
    anchors = {id(f): f"run-{number}-finding-{i}" for i, f in enumerate(result.findings, 1)}
    axes = lanes.axes()
    if len([a for a in axes if a != view.LINE_AXIS]) > 1:
        out.append('<p class="note">The log\'s clocks are not related to one another: '
                   'each has its own lane group.</p>')
    for axis in axes:
        out.append(_group(lanes, axis, anchors))
    if lanes.hidden:
        out.append(f'<p class="note">{lanes.hidden} more device(s) not drawn; all are in '
                   'the table.</p>')
    out.append(_device_table(result, lanes))
    out.append(_findings(result, lanes, anchors))
    out.append(f'<p class="note">{_e(summary_line(result))}</p>')
    out.append("</section>\n")
    return "\n".join(out)


class Scale:
    """Value (seconds or line) to x, piecewise linear: a stretch in which nothing is drawn,
    longer than a twelfth of the whole and than 8 typical gaps, is cut to a narrow gap
    (drawn as a break), so a handshake 13 s into a boot is not squeezed into a few pixels."""

    CUT = 1 / 12  # a gap longer than this share of the span is cut
    GAP = 0.025  # share of the width a cut takes

    def __init__(self, values: list[float]):
        points = sorted(set(values)) or [0.0]
        low, high = points[0], points[-1]
        if high <= low:
            high = low + 1.0
        span = high - low
        gaps = sorted(b - a for a, b in itertools.pairwise(points))
        typical = gaps[len(gaps) // 2] if gaps else span
        cuts = [(a, b) for a, b in itertools.pairwise(points)
                if b - a > span * self.CUT and b - a > 8 * typical]
        # Padding at both ends, from the span that is drawn (not the stretches cut out).
        pad = (span - sum(b - a for a, b in cuts)) * 0.02 or span * 0.02
        self.low, self.high = low - pad, high + pad
        kept = (self.high - self.low) - sum(b - a for a, b in cuts)
        width = 1.0 - self.GAP * len(cuts)
        # pieces: (value from, value to, share from, share to, is_cut)
        self.pieces: list[tuple[float, float, float, float, bool]] = []
        at, share = self.low, 0.0
        for a, b in cuts:
            step = (a - at) / kept * width
            self.pieces.append((at, a, share, share + step, False))
            share += step
            self.pieces.append((a, b, share, share + self.GAP, True))
            share += self.GAP
            at = b
        self.pieces.append((at, self.high, share, 1.0, False))

    def x(self, value: float) -> float:
        span = WIDTH - LABEL - RIGHT
        for v0, v1, s0, s1, _ in self.pieces:
            if value <= v1 or (v0, v1) == self.pieces[-1][:2]:
                share = s0 + (s1 - s0) * ((value - v0) / (v1 - v0) if v1 > v0 else 0.0)
                return LABEL + max(0.0, min(1.0, share)) * span
        return LABEL + span


def _group(lanes: view.RunLanes, axis: str, anchors: dict) -> str:
    """One lane group: every lane with something on this axis."""
    drawn = []
    values: list[float] = []
    for lane in lanes.lanes + [lanes.run_lane]:
        positions = [lanes.position(e, axis) for e in lanes.lane_events(lane)]
        here = [v for v in positions if v is not None]
        if here:
            drawn.append(lane)
            values += here
    scale = Scale(values)
    height = AXIS + LANE * len(drawn) + 8
    if axis == view.LINE_AXIS:
        title = AXIS_TITLES[axis]
    else:
        title = lanes.clocks.statement(axis)
    parts = [f'<h3>{_e(title)}</h3>',
             f'<svg class="lanes" data-axis="{"line" if axis == view.LINE_AXIS else "time"}" '
             f'data-clock="{_e(axis)}" viewBox="0 0 {WIDTH} {height}" '
             f'xmlns="http://www.w3.org/2000/svg" role="img" '
             f'aria-label="{_e("swimlanes: " + title)}">']
    parts.append(_ticks(scale, axis, height))
    # The mid-init windows of every device, merged, shaded across the whole group.
    for low, high, who in _merged_windows(lanes, axis, scale):
        x0, x1 = scale.x(low), scale.x(high)
        names = ", ".join(sorted(who))
        parts.append(f'<rect class="init-window" x="{x0:.1f}" y="{AXIS - 4}" '
                     f'width="{max(x1 - x0, 2):.1f}" height="{height - AXIS}" '
                     f'data-from="{low:g}" data-to="{high:g}">'
                     f'<title>{_e("mid-init: " + names)} ({_where(low, axis)} to '
                     f'{_where(high, axis)})</title></rect>')
        if x1 - x0 > 50:
            parts.append(f'<text class="axis-label" x="{x0 + 3:.1f}" y="{height - 6}">'
                         'mid-init</text>')
    for row, lane in enumerate(drawn):
        parts.append(_lane(lanes, lane, axis, scale, AXIS + row * LANE, anchors))
    parts.append("</svg>")
    return "\n".join(parts)


def _where(value: float, axis: str) -> str:
    return f"line {int(value)}" if axis == view.LINE_AXIS else f"{value:.6f} s"


def _ticks(scale: Scale, axis: str, height: int) -> str:
    """Ticks per uncut piece of the axis, at round values; each cut drawn as a break."""
    import math

    out = []
    usable = WIDTH - LABEL - RIGHT
    last_label = -1000.0
    for v0, v1, s0, s1, cut in scale.pieces:
        if cut:
            x0, x1 = LABEL + s0 * usable, LABEL + s1 * usable
            what = f"lines {int(v0)}-{int(v1)}" if axis == view.LINE_AXIS else f"{v1 - v0:.3g} s"
            out.append(f'<rect class="axis-cut" x="{x0:.1f}" y="{AXIS - 8}" '
                       f'width="{x1 - x0:.1f}" height="{height - AXIS + 8}">'
                       f'<title>{what} with nothing to draw, cut short</title></rect>')
            continue
        pixels = (s1 - s0) * usable
        count = max(1, int(pixels // 110))
        raw = (v1 - v0) / count
        if raw <= 0:
            continue
        step = 10 ** math.floor(math.log10(raw))
        for factor in (1, 2, 5, 10):
            if raw <= step * factor:
                step *= factor
                break
        if axis == view.LINE_AXIS:
            step = max(1, round(step))
        value = math.ceil(v0 / step) * step
        while value <= v1:
            x = scale.x(value)
            label = f"line {int(value)}" if axis == view.LINE_AXIS else f"{value:.6g} s"
            out.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{AXIS - 8}" '
                       f'y2="{height}"/>')
            if x - last_label >= 7 * len(label) + 8:  # labels never overlap
                out.append(f'<text class="axis-label" x="{x:.1f}" y="{AXIS - 12}" '
                           f'text-anchor="middle">{label}</text>')
                last_label = x
            value += step
    return "".join(out)


def _merged_windows(lanes, axis, scale):
    spans = []
    end_of_axis = scale.high
    for lane in lanes.lanes:
        for start, done in lane.windows:
            low = lanes.position(start, axis)
            if low is None:
                continue
            high = lanes.position(done, axis) if done is not None else end_of_axis
            if high is None:
                continue
            spans.append((low, high, lane.label))
    spans.sort()
    merged: list[list] = []
    for low, high, who in spans:
        if merged and low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
            merged[-1][2].add(who)
        else:
            merged.append([low, high, {who}])
    return merged


def _lane(lanes, lane, axis, scale, top: int, anchors: dict) -> str:
    device = lane.device
    name = lane.label
    what = "" if device is None else f"{device.device_type or '?'} {view.place(device)}"
    middle = top + LANE / 2
    out = [f'<g class="lane" data-device="{_e(name)}" data-top="{top}" '
           f'data-bottom="{top + LANE}">',
           f'<line class="lane-sep" x1="0" x2="{WIDTH}" y1="{top + LANE}" y2="{top + LANE}"/>',
           f'<text class="lane-label" x="6" y="{middle - 1:.1f}">{_e(name)}</text>',
           f'<text class="axis-label" x="6" y="{middle + 12:.1f}">{_e(what[:28])}</text>']
    # Phases: each status write to the next one (the last to the end of the axis).
    for phase in lane.phases:
        start = lanes.position(phase.start, axis)
        if start is None:
            continue
        end = lanes.position(phase.end, axis) if phase.end is not None else None
        if end is None:
            end = scale.high
        x0, x1 = scale.x(start), scale.x(end)
        width = max(x1 - x0, 2.0)
        label = (f"{phase.name} (status 0x{phase.value:02x}), line {phase.start.line}: "
                 f"{safe(phase.start.text, 200)}")
        out.append(f'<rect class="phase phase-{phase.name}" data-phase="{phase.name}" '
                   f'data-line="{phase.start.line}" x="{x0:.1f}" y="{middle - BAR / 2:.1f}" '
                   f'width="{width:.1f}" height="{BAR}" '
                   f'fill="{PHASE_COLOURS[phase.name]}"><title>{_e(label)}</title></rect>')
        short = {"ACKNOWLEDGE": "ACK", "FEATURES_OK": "FEAT_OK"}.get(phase.name, phase.name)
        if width > 7 * len(short) + 6:
            out.append(f'<text class="phase-label" x="{x0 + 3:.1f}" y="{middle + 4:.1f}">'
                       f'{short}</text>')
    out.append(_traffic(lanes, lane, axis, scale, middle))
    flood = view.flood_summary(device) if device is not None else None
    if flood:  # the whole traffic, counted by the model (it keeps only some events)
        out.append(f'<text class="axis-label traffic-total" x="{WIDTH - RIGHT}" '
                   f'y="{top + 9}" text-anchor="end">{_e(flood)}</text>')
    for event in lane.marks:
        where = lanes.position(event, axis)
        if where is None:
            continue
        out.append(_mark(event, scale.x(where), middle))
    for finding, event in lane.findings:
        where = lanes.position(event, axis)
        if where is None:
            continue
        out.append(_finding_marker(finding, event, scale.x(where), top, anchors))
    out.append("</g>")
    return "\n".join(out)


def _mark(event, x: float, middle: float) -> str:
    kind = event.kind
    line = event.line
    text = _e(f"line {line}: {safe(event.text, 200)}")
    if kind in ("queue_config", "queue_ready"):
        queue = event.get("queue")
        y = middle + BAR / 2 + 2
        return (f'<path class="mark mark-queue" data-kind="{kind}" data-line="{line}" '
                f'data-queue="{_e(queue)}" d="M{x:.1f} {y:.1f}l-4 7h8z">'
                f'<title>queue {_e(queue)} {"ready" if kind == "queue_ready" else "set-up"}'
                f' - {text}</title></path>')
    irq = event.get("irq")
    css = "mark-irq-enable" if kind == "irq_enable" else "mark-irq-setup"
    y = middle - BAR / 2 - 7
    verb = "enabled" if kind == "irq_enable" else "set up"
    return (f'<path class="mark {css}" data-kind="{kind}" data-line="{line}" '
            f'data-irq="{_e(irq)}" d="M{x:.1f} {y - 6:.1f}l6 6l-6 6l-6 -6z">'
            f'<title>IRQ {_e(irq)} {verb} - {text}</title></path>')


def _traffic(lanes, lane, axis, scale, middle) -> str:
    """Notifies and interrupts as a density strip under the bar: one bar per bin."""
    bins: dict[int, list] = {}
    span = WIDTH - LABEL - RIGHT
    for event in lane.traffic:
        where = lanes.position(event, axis)
        if where is None:
            continue
        index = int((scale.x(where) - LABEL) / span * (TRAFFIC_BINS - 1))
        entry = bins.setdefault(index, [0, 0, event.line, event.line])
        entry[0 if event.kind == "notify" else 1] += 1
        entry[2] = min(entry[2], event.line)
        entry[3] = max(entry[3], event.line)
    out = []
    width = span / TRAFFIC_BINS
    for index, (notifies, interrupts, first, last) in sorted(bins.items()):
        count = notifies + interrupts
        height = min(8.0, 2.0 + count ** 0.5)
        x = LABEL + index * width
        out.append(f'<rect class="traffic" x="{x:.1f}" y="{middle + BAR / 2 + 10:.1f}" '
                   f'width="{max(width - 1, 1):.1f}" height="{height:.1f}">'
                   f'<title>{notifies} notify, {interrupts} interrupt (lines {first}-{last})'
                   f'</title></rect>')
    return "".join(out)


def _finding_marker(finding, event, x: float, top: int, anchors: dict) -> str:
    colour = SEVERITY_COLOURS.get(finding.severity, "#555")
    evidence = f"line {finding.line}: {safe(event.text if event else finding.evidence, 200)}"
    tip = f"{finding.rule} {finding.name}: {safe(finding.message, 300)}\n{evidence}"
    y = top + 7
    return (f'<a href="#{anchors[id(finding)]}"><g class="finding" data-rule="{finding.rule}" '
            f'data-severity="{finding.severity}" data-line="{finding.line or ""}">'
            f'<circle cx="{x:.1f}" cy="{y}" r="7" fill="{colour}"/>'
            f'<text x="{x:.1f}" y="{y + 4}" text-anchor="middle">!</text>'
            f'<title>{_e(tip)}</title></g></a>')


def _device_table(result, lanes) -> str:
    from virtiodiag.reports.text import Glyphs

    glyphs = Glyphs(None)
    guests = view.Guests(lanes.events, result.model)
    rows = []
    for device in result.model.live_devices():
        tried = view.attempts(device, guests)
        if view.is_placeholder(device):
            handshake = "empty slot (device id 0)"
        elif not tried and view.driver_ok_implied(device):
            handshake = (f"DRIVER_OK implied by line {device.driver_ok.line} "
                         "(the log shows no status)")
        elif not tried:
            handshake = "never driven"
        else:
            handshake = "; ".join((f"{a.actor}: " if a.actor else "") + a.path(glyphs.arrow)
                                  for a in tried[-4:])
            if len(tried) > 4:
                handshake = f"{len(tried)} attempts, the latest: " + handshake
            elif len(tried) > 1:
                handshake = f"{len(tried)} attempts: " + handshake
        ok = view.driver_ok(device)
        mark = "&#10003;" if ok else ("&#10007;" if device.started_handshake else "-")
        css = "ok" if ok else ("bad" if device.started_handshake else "")
        rows.append(f'<tr><td class="{css}">{mark}</td><td>{_e(view.display_name(device))}'
                    f'</td><td>{_e(device.device_type or "?")}</td>'
                    f'<td>{_e(view.place(device))}</td><td>{_e(view.mode_label(device))}</td>'
                    f'<td>{_e(handshake)}</td></tr>')
    if not rows:
        return '<p class="note">No virtio device found in this log.</p>'
    return ('<h3>Devices</h3><table class="devices"><thead><tr><th></th><th>device</th>'
            '<th>type</th><th>transport</th><th>mode</th><th>handshake</th></tr></thead>'
            '<tbody>' + "".join(rows[:1000]) + "</tbody></table>"
            + (f'<p class="note">{len(rows) - 1000} more devices not listed.</p>'
               if len(rows) > 1000 else ""))


def _findings(result, lanes, anchors) -> str:
    if not result.findings:
        return '<h3>Findings</h3><p class="note">None.</p>'
    out = ["<h3>Findings</h3>"]
    for finding in result.findings:
        out.append(f'<div class="finding-item" id="{anchors[id(finding)]}">'
                   f'<span class="sev sev-{finding.severity}">{finding.severity}</span> '
                   f'<b>{finding.rule} {finding.name}</b> [{_e(finding.device)}] '
                   f'line {finding.line or "-"}: {_e(finding.message)}')
        out.append("<pre>" + _excerpt(finding, lanes) + "</pre>")
        for related in finding.related[:3]:
            out.append(f'<div class="note">+ line {related["line"]}: '
                       f'{_e(related["what"])}</div>')
        if finding.hint:
            out.append(f'<div class="note">fix: {_e(finding.hint)}</div>')
        out.append("</div>")
    return "\n".join(out)


def _excerpt(finding, lanes) -> str:
    events = lanes.events
    index = next((i for i, e in enumerate(events) if finding.line and e.line >= finding.line),
                 None)
    if index is None or events[index].line != finding.line:
        return _e(f"{finding.line or '-':>7}  {safe(finding.evidence, 200)}")
    lines = []
    for event in events[max(0, index - 2):index + 3]:
        text = _e(f"{event.line:>7}  {safe(event.text, 200)}")
        lines.append(f'<span class="hit">{text}</span>' if event.line == finding.line
                     else text)
    return "\n".join(lines)
