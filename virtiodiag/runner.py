"""Running ``analyze``: inputs, live output, reports, the baseline and the exit status.

Exit status (every format): 0 no finding reaches ``--fail-on``; 1 one does; 2 usage or
input error (a broken gate never looks green); 130 interrupted (Ctrl-C) after the summary.
"""

from __future__ import annotations

import json
import os
import stat
import sys

from virtiodiag.analysis import RuleSettings, RunResult
from virtiodiag.pipeline import (  # noqa: F401 - re-exported: callers import them from here
    PROGRESS_MIN_BYTES,
    Interrupted,
    Progress,
    analyse_path,
    progress_wanted,
)
from virtiodiag.dialects import DialectError, load_dialects
from virtiodiag.rules.base import severity_rank

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
BASELINE_SCHEMA = "virtiodiag/baseline/v1"


class UsageError(Exception):
    """A usage or input problem found before analysing: exit status 2."""


def _settings(config_path: str | None, select: str | None, ignore: str | None,
              fail_on: str | None, grammars=(), expect_devices: int | None = None,
              ) -> tuple[RuleSettings, str, list[str], list[str]]:
    """Rule settings, the --fail-on threshold, grammar files and grammar folders, from the
    configuration file (virtiodiag.config) with the command line on top."""
    from virtiodiag.config import ConfigError, resolve

    try:
        settings, threshold, config = resolve(config_path, select, ignore, fail_on,
                                              expect_devices=expect_devices)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return settings, threshold, list(grammars) + config.grammars, config.grammar_path


def _is_live(name: str) -> bool:
    if name != "-":
        return False
    try:
        return not stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def default_format(environ=None) -> str:
    """``github`` inside GitHub Actions (yamllint's convention), ``text`` elsewhere."""
    environ = os.environ if environ is None else environ
    return "github" if environ.get("GITHUB_ACTIONS") == "true" else "text"


def expand_paths(paths) -> list[str]:
    """Paths as given; a directory stands for the regular files inside it, sorted."""
    inputs = []
    for name in paths:
        if name != "-" and os.path.isdir(name):
            try:
                entries = sorted(os.listdir(name))
            except OSError as exc:
                raise UsageError(f"{name}: cannot list the directory ({exc.strerror})") from None
            files = [os.path.join(name, e) for e in entries
                     if os.path.isfile(os.path.join(name, e))]
            if not files:
                raise UsageError(f"{name}: the directory holds no regular file")
            inputs.extend(files)
        else:
            inputs.append(name)
    return inputs


# ---- baseline ----------------------------------------------------------------------------
def load_baseline(path: str) -> set[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise UsageError(f"baseline {path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"baseline {path}: cannot read ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"baseline {path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA:
        raise UsageError(f"baseline {path}: not a virtiodiag baseline "
                         f"(expected schema {BASELINE_SCHEMA})")
    fingerprints = data.get("fingerprints")
    if not isinstance(fingerprints, (dict, list)):
        raise UsageError(f"baseline {path}: no 'fingerprints'")
    return {str(f) for f in fingerprints}


def baseline_dict(results) -> dict:
    from virtiodiag import __version__

    entries = {}
    for result in results:
        for f in result.findings:
            entries[f.fingerprint] = {"rule": f.rule, "name": f.name, "severity": f.severity,
                                      "device": f.device_identity, "path": f.path,
                                      "line": f.line, "message": f.message}
    return {"schema": BASELINE_SCHEMA, "tool": {"name": "virtiodiag", "version": __version__},
            "fingerprints": dict(sorted(entries.items()))}


def write_baseline_file(path: str, results) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(baseline_dict(results), handle, indent=2)
        handle.write("\n")


def apply_baseline(results, known: set[str]) -> int:
    """Drop findings whose fingerprint is known; how many were dropped."""
    suppressed = 0
    for result in results:
        kept = [f for f in result.findings if f.fingerprint not in known]
        suppressed += len(result.findings) - len(kept)
        result.findings = kept
    return suppressed


# ---- analyze -----------------------------------------------------------------------------
def gate(results, threshold: str = "error", exit_zero: bool = False) -> int:
    if any(r.error for r in results):
        return EXIT_ERROR
    if exit_zero:
        return EXIT_CLEAN
    limit = severity_rank(threshold)
    if any(severity_rank(f.severity) >= limit for r in results for f in r.findings):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def run_analyze(paths, fmt=None, output=None, no_color=False, verbose=False, timeline=True,
                show_timeline=False, grammars=(), config_path=None, select=None, ignore=None,
                fail_on=None, exit_zero=False, follow=None, follow_exit_after=None,
                stall_timeout=None, baseline=None, write_baseline=None, jobs=1,
                expect_devices=None) -> int:
    from virtiodiag.reports import REPORTERS, get_reporter
    from virtiodiag.reports.escape import safe
    from virtiodiag.reports.text import Palette, format_finding
    from virtiodiag.rules import all_rules

    fmt = fmt or default_format()
    try:
        if fmt not in REPORTERS:
            raise UsageError(f"unknown format {fmt!r} (choose from {', '.join(REPORTERS)})")
        if follow and paths:
            raise UsageError("give either --follow FILE or PATHs, not both")
        if not follow and not paths:
            raise UsageError("nothing to analyse: give a PATH, - for standard input, "
                             "or --follow FILE")
        if stall_timeout is not None and stall_timeout <= 0:
            raise UsageError("--stall-timeout must be more than 0 seconds")
        inputs = [follow] if follow else expand_paths(paths)
        known = load_baseline(baseline) if baseline else None
        settings, threshold, grammar_files, grammar_dirs = _settings(
            config_path, select, ignore, fail_on, grammars, expect_devices)
        dialects = load_dialects(extra=grammar_files, search_dirs=grammar_dirs)
    except (UsageError, DialectError) as exc:
        _error(safe(str(exc)))
        return EXIT_ERROR
    colour = _colour(no_color)
    try:
        handle = open(output, "w", encoding="utf-8") if output else None  # noqa: SIM115 - closed after the run
    except OSError as exc:
        _error(safe(f"cannot write {output}: {exc.strerror}"))
        return EXIT_ERROR
    report_stream = handle if handle is not None else sys.stdout
    terminal_text = fmt == "text" or handle is not None

    def keep(finding) -> bool:
        return known is None or finding.fingerprint not in known

    streamer = None
    if fmt == "jsonl":
        from virtiodiag.reports.jsonl import Streamer

        streamer = Streamer(report_stream, keep)
    palette = Palette(colour)

    def print_live(finding) -> None:
        if keep(finding):
            sys.stdout.write(format_finding(finding, palette) + "\n")
            sys.stdout.flush()

    results: list[RunResult] = []
    live_paths: set[str] = set()
    interrupted = False
    # -j N: several files in worker processes (virtiodiag.parallel), same order, same
    # results; never for stdin, --follow or jsonl (they stream as they read).
    parallel = (jobs != 1 and len(inputs) > 1 and not follow and streamer is None
                and "-" not in inputs)
    try:
        if parallel:
            from virtiodiag.parallel import PartialResults, analyse_many

            try:
                results = analyse_many(inputs, jobs, grammars=grammar_files,
                                       search_dirs=grammar_dirs, settings=settings,
                                       dialects=dialects)
            except PartialResults as exc:
                results, interrupted = exc.results, True
        for name in ([] if parallel else inputs):
            live = bool(follow) or _is_live(name)
            callbacks = []
            if live and terminal_text:
                live_paths.add("<stdin>" if name == "-" else name)
                callbacks.append(print_live)
            if streamer is not None:
                callbacks.append(streamer.on_finding)

            def on_finding(finding, callbacks=callbacks):
                for callback in callbacks:
                    callback(finding)

            try:
                result = analyse_path(
                    name, dialects, settings, live=live,
                    on_finding=on_finding if callbacks else None,
                    on_event=streamer.on_event if streamer is not None else None,
                    stall_timeout=stall_timeout, follow=bool(follow),
                    follow_exit_after=follow_exit_after, progress=True)
            except Interrupted as exc:
                results.append(exc.result)
                interrupted = True
                break
            results.append(result)
        if write_baseline:
            try:
                write_baseline_file(write_baseline, results)
            except OSError as exc:
                _error(safe(f"cannot write the baseline {write_baseline}: {exc.strerror}"))
                return EXIT_ERROR
        suppressed = apply_baseline(results, known) if known is not None else None
        options = {"color": colour, "timeline": timeline, "verbose": verbose,
                   "text_timeline": show_timeline,
                   "fail_on": threshold, "rules": [r for r in all_rules()
                                                   if settings.enabled(r)],
                   "live_paths": live_paths, "interrupted": interrupted,
                   "baseline": baseline, "baseline_suppressed": suppressed,
                   "jsonl_streamer": streamer}
        try:
            if handle is not None:
                get_reporter(fmt).render(results, handle, dict(options, color=False))
                get_reporter("text").render(results, sys.stdout, options)
            else:
                get_reporter(fmt).render(results, sys.stdout, options)
            sys.stdout.flush()
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):
                raise
            _error(f"cannot write the report: {safe(str(exc))}")
            return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, but never look green.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return EXIT_ERROR
    finally:
        if handle is not None:
            handle.close()
    if suppressed and not terminal_text:
        sys.stderr.write(f"virtiodiag: {suppressed} known finding(s) suppressed by the "
                         f"baseline {safe(baseline)}\n")
    for result in results:
        if result.error:
            _error(safe(result.error))
    if interrupted:
        return EXIT_INTERRUPTED
    if write_baseline and not any(r.error for r in results):
        return EXIT_CLEAN  # the findings were just accepted into the baseline
    return gate(results, threshold, exit_zero)


def _colour(no_color: bool) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _error(message: str) -> None:
    sys.stderr.write(f"virtiodiag: error: {message}\n")
