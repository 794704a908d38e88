"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

Chosen automatically when ``GITHUB_ACTIONS=true`` and no ``--format`` is given. GitHub
shows only a few annotations per step, so a plain summary line ends the output.
"""

from __future__ import annotations

from virtiodiag.options import ReportOptions
from virtiodiag.reports.cut import all_notes
from virtiodiag.reports.escape import safe

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    """A message (actions/toolkit ``escapeData``): %, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value (``escapeProperty``): also ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}"
                     for key, value in properties.items() if value not in (None, ""))
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


def annotation(finding) -> str:
    message = safe(finding.message, 2000, keep_newlines=True)  # sent as %0A
    if finding.evidence:
        message += f"\n| {safe(finding.evidence, 300)}"
    if finding.hint:
        message += f"\nfix: {safe(finding.hint)}"
    return command(COMMANDS.get(finding.severity, "warning"), message,
                   file=safe(finding.path), line=finding.line,
                   title=f"{finding.rule} {finding.name} [{safe(finding.device)}]")


def render(results, stream, options: ReportOptions) -> None:
    stream = getattr(stream, "unguarded", stream)  # these lines are workflow commands
    counts = {"error": 0, "warning": 0, "info": 0}
    for result in results:
        if result.error:
            stream.write(command("error", f"cannot analyse: {safe(result.error)}",
                                 file=safe(result.path), title="virtiodiag input error") + "\n")
        for finding in result.findings:
            counts[finding.severity] = counts.get(finding.severity, 0) + 1
            stream.write(annotation(finding) + "\n")
    for result, note in all_notes(results, options):  # an input that ended short
        stream.write(command("warning", safe(note), file=safe(result.path),
                             title="virtiodiag input cut short") + "\n")
    unreadable = sum(1 for r in results if r.error)
    line = (f"virtiodiag: {len(results)} run(s): {counts['error']} error(s), "
            f"{counts['warning']} warning(s), {counts['info']} info")
    if unreadable:
        line += f", {unreadable} unreadable"
    suppressed = options.baseline_suppressed
    if suppressed:
        line += f"; {suppressed} finding(s) suppressed by the baseline"
    if sum(counts.values()) > 10:
        line += " (GitHub shows only the first 10 annotations of each kind per step: "
        line += "upload --format sarif for all of them)"
    stream.write(line + "\n")
