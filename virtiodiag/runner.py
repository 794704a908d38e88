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
from virtiodiag.safeio import AtomicFile, refuse_overwriting_inputs, signals_deferred

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


RUN_GLOBS = ("*.log", "*.txt", "*.out", "*.gz")  # what a directory of runs is made of


def expand_paths(paths, globs=None, skipped: list[str] | None = None) -> list[str]:
    """Paths as given; a directory stands for its log files (``globs``, default
    RUN_GLOBS), sorted. Other files, and reports virtiodiag wrote, are not runs: they go
    to ``skipped`` (named to the user), never counted as passing runs."""
    import fnmatch

    from virtiodiag.runs import written_by_us

    patterns = tuple(globs) if globs else RUN_GLOBS
    inputs = []
    for name in paths:
        if name != "-" and os.path.isdir(name):
            try:
                entries = sorted(os.listdir(name))
            except OSError as exc:
                raise UsageError(f"{name}: cannot list the directory ({exc.strerror})") from None
            files = []
            for entry in entries:
                path = os.path.join(name, entry)
                if not os.path.isfile(path):
                    continue
                if not any(fnmatch.fnmatch(entry, pattern) for pattern in patterns):
                    reason = "not a log file name"
                elif written_by_us(path):
                    reason = "a report virtiodiag wrote"
                else:
                    files.append(path)
                    continue
                if skipped is not None:
                    skipped.append(f"{path} ({reason})")
            if not files:
                raise UsageError(f"{name}: the directory holds no log file (looked for "
                                 f"{', '.join(patterns)}; --glob chooses others)")
            inputs.extend(files)
        else:
            inputs.append(name)
    return inputs


# ---- baseline ----------------------------------------------------------------------------
BASELINE_MAX_BYTES = 16 << 20  # a baseline is a list of fingerprints, never this large


def load_baseline(path: str) -> set[str]:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(BASELINE_MAX_BYTES + 1)  # /dev/zero: read without bound before
        if len(raw) > BASELINE_MAX_BYTES:
            raise UsageError(f"baseline {path}: larger than {BASELINE_MAX_BYTES >> 20} MB; "
                             "not a virtiodiag baseline")
        data = json.loads(raw.decode("utf-8"))
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
                expect_devices=None, globs=None) -> int:
    from virtiodiag.reports import REPORTERS, get_reporter
    from virtiodiag.reports.escape import GuardedStream, safe
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
        skipped: list[str] = []
        inputs = [follow] if follow else expand_paths(paths, globs, skipped)
        if skipped:
            sys.stderr.write(f"virtiodiag: skipped {len(skipped)} file(s) that are not runs: "
                             + "; ".join(safe(name) for name in skipped[:10])
                             + (f"; and {len(skipped) - 10} more" if len(skipped) > 10 else "")
                             + " (--glob chooses the run files)\n")
        try:
            refuse_overwriting_inputs(output, inputs)
            refuse_overwriting_inputs(write_baseline, inputs, "the baseline")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        known = load_baseline(baseline) if baseline else None
        settings, threshold, grammar_files, grammar_dirs = _settings(
            config_path, select, ignore, fail_on, grammars, expect_devices)
        dialects = load_dialects(extra=grammar_files, search_dirs=grammar_dirs)
    except (UsageError, DialectError) as exc:
        _error(safe(str(exc)))
        return EXIT_ERROR
    colour = _colour(no_color)
    try:
        # Written under a temporary name, renamed into place when complete (safeio).
        atomic = AtomicFile(output) if output else None
    except OSError as exc:
        _error(safe(f"cannot write {output}: {exc.strerror}"))
        return EXIT_ERROR
    handle = None
    if atomic is not None:
        # A report file is read back in CI logs too: no line of it starts a CI command
        # (reports/escape.GuardedStream); github's lines are its commands by design.
        handle = atomic.handle if fmt == "github" else GuardedStream(atomic.handle)
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
        _runs_without_devices(results, settings)
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
            # A first Ctrl-C or SIGTERM now waits for the report to be complete (then the
            # run exits 130/143): a report is well-formed, or (a second signal) absent.
            with signals_deferred() as held:
                if handle is not None and atomic is not None:
                    get_reporter(fmt).render(results, handle, dict(options, color=False))
                    handle.flush()
                    atomic.commit()
                    get_reporter("text").render(results, sys.stdout, options)
                else:
                    get_reporter(fmt).render(results, sys.stdout, options)
                sys.stdout.flush()
            if held:
                interrupted = True
        except KeyboardInterrupt:
            # A second signal while rendering: stop now; an -o file is not left behind
            # half written (the temporary file is removed, the target is untouched).
            return EXIT_INTERRUPTED
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
        if atomic is not None:
            atomic.abort()  # not committed: an error or an interrupt while writing
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


def _runs_without_devices(results, settings) -> None:
    """VD023: among several runs, one with no virtio device while others have devices."""
    if len(results) < 2:
        return
    readable = [r for r in results if not r.error]
    if not any(r.model.live_devices() for r in readable):
        return
    from virtiodiag.analysis import add_run_findings
    from virtiodiag.rules import get_rule

    rule = get_rule("VD023")
    for result in readable:
        if not result.model.live_devices():
            add_run_findings(result, rule, {"other_runs_have_devices": True}, settings)


def _colour(no_color: bool) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _error(message: str) -> None:
    sys.stderr.write(f"virtiodiag: error: {message}\n")
