"""Running ``analyze``: inputs, live output, reports and the exit status."""

from __future__ import annotations

import os
import stat
import sys

from virtiodiag.analysis import Analysis, RuleSettings, RunResult
from virtiodiag.dialects import DialectError, load_dialects
from virtiodiag.model.device import Model
from virtiodiag.rules.base import severity_rank
from virtiodiag.sources.reader import InputError, open_binary, read_blocks

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _settings(select: str | None, ignore: str | None) -> RuleSettings:
    settings = RuleSettings()
    if select:
        settings.select = {s.strip() for s in select.split(",") if s.strip()}
    if ignore:
        settings.ignore = {s.strip() for s in ignore.split(",") if s.strip()}
    return settings


def _is_live(name: str) -> bool:
    if name != "-":
        return False
    try:
        return not stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def analyse_path(name: str, dialects, settings, live=False, on_finding=None) -> RunResult:
    path = name if name != "-" else "<stdin>"
    try:
        stream = open_binary(name)
    except InputError as exc:
        return RunResult(path, Model(path), [], error=str(exc))
    analysis = Analysis(path, dialects, settings, live=live, on_finding=on_finding)
    try:
        analysis.feed_all(read_blocks(stream))
    except InputError as exc:
        result = analysis.finish()
        result.error = f"{path}: {exc}"
        return result
    finally:
        if name != "-":
            stream.close()
    return analysis.finish()


def run_analyze(paths, fmt="text", output=None, no_color=False, verbose=False, timeline=True,
                grammars=(), config_path=None, select=None, ignore=None, fail_on=None,
                exit_zero=False) -> int:
    from virtiodiag.reports import REPORTERS, get_reporter
    from virtiodiag.reports.escape import safe
    from virtiodiag.reports.text import Palette, format_finding

    if fmt not in REPORTERS:
        _error(f"unknown format {fmt!r} (choose from {', '.join(REPORTERS)})")
        return EXIT_ERROR
    try:
        dialects = load_dialects(extra=list(grammars))
    except DialectError as exc:
        _error(str(exc))
        return EXIT_ERROR
    settings = _settings(select, ignore)
    threshold = fail_on or "error"
    colour = _colour(no_color)
    results = []
    for name in paths:
        live = _is_live(name) and fmt == "text" and output is None
        printer = None
        if live:
            palette = Palette(colour)

            def printer(finding, palette=palette):
                sys.stdout.write(format_finding(finding, palette) + "\n")
                sys.stdout.flush()
        results.append(analyse_path(name, dialects, settings, live=live, on_finding=printer))
    options = {"color": colour, "timeline": timeline, "verbose": verbose}
    try:
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                get_reporter(fmt).render(results, handle, dict(options, color=False))
            get_reporter("text").render(results, sys.stdout, options)
        else:
            get_reporter(fmt).render(results, sys.stdout, options)
    except OSError as exc:
        _error(f"cannot write the report: {exc}")
        return EXIT_ERROR
    errors = [r.error for r in results if r.error]
    for message in errors:
        _error(safe(message))
    if errors:
        return EXIT_ERROR
    if exit_zero:
        return EXIT_CLEAN
    limit = severity_rank(threshold)
    if any(severity_rank(f.severity) >= limit for r in results for f in r.findings):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _colour(no_color: bool) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _error(message: str) -> None:
    sys.stderr.write(f"virtiodiag: error: {message}\n")
