"""Running ``analyze`` (``run_analyze(AnalyzeOptions)``): inputs, live output, reports, the
baseline and the exit status; each input goes through ``pipeline.analyse_path``, or
``parallel.analyse_many`` with ``-j``.

Exit status (every format): 0 no finding reaches ``--fail-on``; 1 one does; 2 usage or
input error (a broken gate never looks green); 130 interrupted (Ctrl-C) after the summary.
"""

from __future__ import annotations

import json
import os
import stat
import sys

from virtiodiag.analysis import RunResult
from virtiodiag.options import AnalyzeOptions, ReadOptions
from virtiodiag.pipeline import Interrupted, analyse_path
from virtiodiag.dialects import DialectError
from virtiodiag.rules.base import severity_rank
from virtiodiag.safeio import AtomicFile, refuse_overwriting_inputs, signals_deferred

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
BASELINE_SCHEMA = "virtiodiag/baseline/v1"


class UsageError(Exception):
    """A usage or input problem found before analysing: exit status 2."""


def _is_live(name: str) -> bool:
    """Standard input that is not a file, or a named pipe or device (QEMU's ``-serial
    pipe:PATH`` and ``-chardev pipe`` write the guest console to a FIFO, a serial port is
    a character device): read as it arrives, each finding shown when its line comes. A
    named FIFO was read as a file, its findings shown only once the writer closed it."""
    try:
        if name != "-":
            mode = os.stat(name).st_mode
            return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)
        return not stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # AttributeError: stdin closed (None)
        return False


# What a directory of runs is made of.
RUN_GLOBS = ("*.log", "*.txt", "*.out", "*.gz", "*.xz", "*.bz2")


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
                named_as_run = any(fnmatch.fnmatch(entry, pattern) for pattern in patterns)
                if not os.path.isfile(path):
                    if os.path.isdir(path) or not named_as_run:
                        continue
                    # Named like a run but a FIFO, socket, device or broken link: said,
                    # never read (a FIFO no one writes would block). It was left out silently.
                    reason = ("not a regular file" if os.path.exists(path)
                              else "a link to nothing")
                elif not named_as_run:
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
        # a live finding the baseline hid was never shown: nothing to withdraw
        result.withdrawn = [w for w in result.withdrawn if w.finding.fingerprint not in known]
        result.completed = [(shown, final) for shown, final in result.completed
                            if final.fingerprint not in known]
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


def run_analyze(options: AnalyzeOptions) -> int:
    """Analyse ``options.paths`` (or follow ``options.follow``), print the findings of a
    live input as they come, write the report, and return the exit status."""
    from virtiodiag.reports import REPORTERS, get_reporter
    from virtiodiag.reports.escape import GuardedStream, safe
    from virtiodiag.reports.text import Palette, format_finding

    fmt, output, follow = options.fmt, options.output, options.follow
    analysis = options.analysis
    try:
        if fmt not in REPORTERS:
            raise UsageError(f"unknown format {fmt!r} (choose from {', '.join(REPORTERS)})")
        if follow and options.paths:
            raise UsageError("give either --follow FILE or PATHs, not both")
        if not follow and not options.paths:
            raise UsageError("nothing to analyse: give a PATH, - for standard input, "
                             "or --follow FILE")
        if options.stall_timeout is not None and options.stall_timeout <= 0:
            raise UsageError("--stall-timeout must be more than 0 seconds")
        skipped: list[str] = []
        inputs = [follow] if follow else expand_paths(options.paths, options.globs, skipped)
        if skipped:
            sys.stderr.write(f"virtiodiag: skipped {len(skipped)} file(s) that are not runs: "
                             + "; ".join(safe(name) for name in skipped[:10])
                             + (f"; and {len(skipped) - 10} more" if len(skipped) > 10 else "")
                             + " (--glob chooses the run files)\n")
        try:
            refuse_overwriting_inputs(output, inputs)
            refuse_overwriting_inputs(options.write_baseline, inputs, "the baseline")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        known = load_baseline(options.baseline) if options.baseline else None
        dialects = analysis.load_dialects()
    except (UsageError, DialectError) as exc:
        _error(safe(str(exc)))
        return EXIT_ERROR
    report = options.report
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
    palette = Palette(report.color)

    def print_live(finding) -> None:
        if keep(finding):
            sys.stdout.write(format_finding(finding, palette) + "\n")
            sys.stdout.flush()

    results: list[RunResult] = []
    live_paths: set[str] = set()
    interrupted = False
    analysed = False
    suppressed: int | None = None
    # -j N: several files in worker processes (virtiodiag.parallel), same order, same
    # results; never for stdin, --follow or jsonl (they stream as they read).
    parallel = (options.jobs != 1 and len(inputs) > 1 and not follow and fmt != "jsonl"
                and "-" not in inputs)
    try:
        if fmt == "jsonl":
            from virtiodiag.reports.jsonl import Streamer

            # In the try: a reader gone before the first record is one gone before
            # every input was analysed (click's own EPIPE handling made that exit 1).
            streamer = Streamer(report_stream, keep)
        if parallel:
            from virtiodiag import collector
            from virtiodiag.parallel import PartialResults, analyse_many

            collector.release()  # many inputs: this process and its workers collect

            try:
                results = analyse_many(inputs, analysis, options.jobs, dialects=dialects)
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

            read = ReadOptions(live=live, follow=bool(follow),
                               stall_timeout=options.stall_timeout,
                               follow_exit_after=options.follow_exit_after, progress=True)
            try:
                result = analyse_path(
                    name, dialects, analysis.settings, read,
                    on_finding=on_finding if callbacks else None,
                    on_event=streamer.on_event if streamer is not None else None)
            except Interrupted as exc:
                results.append(exc.result)
                interrupted = True
                break
            results.append(result)
        _runs_without_devices(results, analysis.settings)
        if options.write_baseline:
            try:
                write_baseline_file(options.write_baseline, results)
            except OSError as exc:
                _error(safe(f"cannot write the baseline {options.write_baseline}: "
                            f"{exc.strerror}"))
                return EXIT_ERROR
        suppressed = apply_baseline(results, known) if known is not None else None
        report = report.replace(live_paths=frozenset(live_paths), interrupted=interrupted,
                                baseline_suppressed=suppressed, streamer=streamer)
        analysed = True  # every input read: the gate is known, whoever reads the report
        try:
            # A first Ctrl-C or SIGTERM now waits for the report to be complete (then the
            # run exits 130/143): a report is well-formed, or (a second signal) absent.
            with signals_deferred() as held:
                if handle is not None and atomic is not None:
                    # A large run's summary is rendered by a second process meanwhile
                    # (reports/aside.py): the same bytes, shown once the file is committed.
                    aside = _summary_aside(results, report)
                    try:
                        get_reporter(fmt).render(results, handle, report.replace(color=False))
                        handle.flush()
                        atomic.commit()
                    except BaseException:
                        if aside is not None:
                            aside.cancel()
                        raise
                    if aside is None or not aside.deliver():
                        get_reporter("text").render(results, sys.stdout, report)
                else:
                    get_reporter(fmt).render(results, sys.stdout, report)
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
        # The reader went away (``| head``): stop writing, quietly. Before every input was
        # analysed that is an error (never green on a part); after, the status is the
        # gate's, as if the report had been read to its end: whether the reader left
        # before the last write or after it is a race, and a loaded machine lost it now
        # and then (``analyze clean.log | head -1`` exited 2 or 0 by turns).
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        if not analysed:
            # Said, as every exit 2 is: a streamed report (jsonl) read by `| head -1`
            # exited 2 without a word.
            try:
                _error("the report's reader stopped reading before every input was "
                       "analysed: the gate's status is not known (exit 2)")
            except OSError:  # standard error went with it (2>&1 | head)
                pass
            return EXIT_ERROR
    finally:
        if atomic is not None:
            atomic.abort()  # not committed: an error or an interrupt while writing
    if suppressed and not terminal_text:
        sys.stderr.write(f"virtiodiag: {suppressed} known finding(s) suppressed by the "
                         f"baseline {safe(options.baseline)}\n")
    for result in results:
        if result.error:
            _error(safe(result.error))
    if interrupted:
        return EXIT_INTERRUPTED
    if options.write_baseline and not any(r.error for r in results):
        return EXIT_CLEAN  # the findings were just accepted into the baseline
    return gate(results, analysis.fail_on, options.exit_zero)


# Findings + devices of all runs from which the text summary is rendered aside: below, a
# fork costs more than the rendering it overlaps.
SUMMARY_ASIDE_FROM = 256


def _summary_aside(results, report):
    """The text summary rendering in a forked process (reports/aside.py), or None: a
    small run, one CPU, or no fork or temporary file to be had."""
    if sum(len(r.findings) + len(r.model.devices) for r in results) < SUMMARY_ASIDE_FROM:
        return None
    from virtiodiag.reports import aside

    if not aside.possible():
        return None

    def render() -> None:
        from virtiodiag.reports import get_reporter

        get_reporter("text").render(results, sys.stdout, report)

    try:
        return aside.Aside(render)
    except OSError:
        return None


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


def _error(message: str) -> None:
    sys.stderr.write(f"virtiodiag: error: {message}\n")
