"""The options a command hands down the pipeline, made once from the command line and the
configuration file and never changed after:

- ``RuleSettings``: which rules run, at which severity, with which options;
- ``AnalysisOptions``: the rule settings, the gate (``--fail-on``) and the grammars
  (``config.resolve`` makes it, for analyze, diff, parse and run alike);
- ``ReadOptions``: how one input is read (``pipeline.analyse_path``);
- ``ReportOptions``: what a reporter is told (``reports/*.render``);
- ``AnalyzeOptions``: the ``analyze`` command as a whole (``runner.run_analyze``).

Frozen value classes written out, not ``@dataclass(frozen=True)``: they are made on every
start, and the dataclasses module costs its import and a few milliseconds a class
(plain.py). ``replace`` makes a changed copy, as ``dataclasses.replace`` does.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from virtiodiag.plain import Frozen, Plain


class RuleSettings(Plain):
    """Which rules run, at which severity, with which options (from configuration)."""

    FIELDS = ("select", "ignore", "severities", "options")

    def __init__(self, select: set[str] | None = None, ignore: set[str] | None = None,
                 severities: dict[str, str] | None = None, options: dict[str, dict] | None = None):
        self.select = select  # codes; None = all
        self.ignore = set() if ignore is None else ignore
        self.severities = {} if severities is None else severities  # code -> severity
        self.options = {} if options is None else options  # code -> {option: value}

    def enabled(self, module) -> bool:
        names = {module.CODE, module.NAME}
        if self.select is not None and not names & self.select:
            return False
        return not names & self.ignore

    def options_for(self, module) -> dict:
        merged = dict(getattr(module, "OPTIONS", {}))
        merged.update(self.options.get(module.CODE, {}))
        return merged


class AnalysisOptions(Frozen):
    """What an analysis uses: the rule settings, the lowest severity that fails the gate,
    and the grammars (files, then folders) beside the built-in ones."""

    FIELDS = ("settings", "fail_on", "grammars", "grammar_dirs")
    settings: RuleSettings
    fail_on: str
    grammars: tuple[str, ...]
    grammar_dirs: tuple[str, ...]

    def __init__(self, settings: RuleSettings | None = None, fail_on: str = "error",
                 grammars=(), grammar_dirs=()):
        self._set(settings=RuleSettings() if settings is None else settings, fail_on=fail_on,
                  grammars=tuple(grammars), grammar_dirs=tuple(grammar_dirs))

    def rules(self) -> tuple:
        """The rule modules these settings run, in code order."""
        from virtiodiag.rules import all_rules

        return tuple(rule for rule in all_rules() if self.settings.enabled(rule))

    def load_dialects(self):
        """The built-in dialects with these grammars; raises dialects.DialectError."""
        from virtiodiag.dialects import load_dialects

        return load_dialects(extra=list(self.grammars), search_dirs=list(self.grammar_dirs))


class ReadOptions(Frozen):
    """How one input is read. ``live``: findings as their evidence arrives (and stall
    checks when ``stall_timeout`` is set); ``follow``: tail a growing file, until
    ``follow_exit_after`` seconds pass without data when set; ``progress``: a progress
    bar for a large file on a terminal; ``second_process``: a large regular file may be
    scanned by a second process (sources/prescan.py)."""

    FIELDS = ("live", "follow", "stall_timeout", "follow_exit_after", "progress",
              "second_process")
    live: bool
    follow: bool
    stall_timeout: float | None
    follow_exit_after: float | None
    progress: bool
    second_process: bool

    def __init__(self, live: bool = False, follow: bool = False,
                 stall_timeout: float | None = None, follow_exit_after: float | None = None,
                 progress: bool = False, second_process: bool = True):
        self._set(live=live or follow, follow=follow, stall_timeout=stall_timeout,
                  follow_exit_after=follow_exit_after, progress=progress,
                  second_process=second_process)


class ReportOptions(Frozen):
    """What a reporter is told besides the results.

    ``color``: ANSI colour (text); ``timeline``: machine formats carry the timelines;
    ``text_timeline``: the text report prints them (``--timeline``); ``verbose``: every
    run's full text report and the unrecognised lines; ``fail_on``: the gate's threshold
    (verdicts); ``rules``: the rules that ran (SARIF, JUnit; empty: every rule);
    ``live_paths``: runs whose findings were printed as they came (not repeated);
    ``interrupted``: the run was stopped early; ``baseline`` and ``baseline_suppressed``:
    the baseline file and how many findings it hid; ``streamer``: the jsonl streamer that
    already wrote the events and findings.
    """

    FIELDS = ("color", "timeline", "text_timeline", "verbose", "fail_on", "rules",
              "live_paths", "interrupted", "baseline", "baseline_suppressed", "streamer")
    color: bool
    timeline: bool
    text_timeline: bool
    verbose: bool
    fail_on: str
    rules: tuple
    live_paths: frozenset[str]
    interrupted: bool
    baseline: str | None
    baseline_suppressed: int | None
    streamer: Any

    def __init__(self, color: bool = False, timeline: bool = True, text_timeline: bool = False,
                 verbose: bool = False, fail_on: str = "error", rules=(),
                 live_paths=frozenset(), interrupted: bool = False, baseline: str | None = None,
                 baseline_suppressed: int | None = None, streamer: Any = None):
        self._set(color=color, timeline=timeline, text_timeline=text_timeline,
                  verbose=verbose, fail_on=fail_on, rules=tuple(rules),
                  live_paths=frozenset(live_paths), interrupted=interrupted,
                  baseline=baseline, baseline_suppressed=baseline_suppressed,
                  streamer=streamer)


class AnalyzeOptions(Frozen):
    """The ``analyze`` command: its inputs (``paths`` or ``follow``, ``globs`` for a
    directory of runs), the report (``fmt``, ``output``, ``report``), the analysis, how a
    live input is read (``stall_timeout``, ``follow_exit_after``), ``jobs``, the baseline
    (``baseline``, ``write_baseline``) and ``exit_zero``."""

    FIELDS = ("paths", "analysis", "report", "fmt", "output", "follow", "globs",
              "stall_timeout", "follow_exit_after", "baseline", "write_baseline", "jobs",
              "exit_zero")
    paths: tuple[str, ...]
    analysis: AnalysisOptions
    report: ReportOptions
    fmt: str
    output: str | None
    follow: str | None
    globs: tuple[str, ...]
    stall_timeout: float | None
    follow_exit_after: float | None
    baseline: str | None
    write_baseline: str | None
    jobs: int
    exit_zero: bool

    def __init__(self, paths=(), analysis: AnalysisOptions | None = None,
                 report: ReportOptions | None = None, fmt: str | None = None,
                 output: str | None = None, follow: str | None = None, globs=(),
                 stall_timeout: float | None = None, follow_exit_after: float | None = None,
                 baseline: str | None = None, write_baseline: str | None = None, jobs: int = 1,
                 exit_zero: bool = False):
        analysis = AnalysisOptions() if analysis is None else analysis
        if report is None:
            report = ReportOptions(fail_on=analysis.fail_on, rules=analysis.rules(),
                                   baseline=baseline)
        self._set(paths=tuple(paths), analysis=analysis, report=report,
                  fmt=fmt or default_format(), output=output, follow=follow,
                  globs=tuple(globs), stall_timeout=stall_timeout,
                  follow_exit_after=follow_exit_after, baseline=baseline,
                  write_baseline=write_baseline, jobs=jobs, exit_zero=exit_zero)


def default_format(environ=None) -> str:
    """``github`` inside GitHub Actions (yamllint's convention), ``text`` elsewhere."""
    environ = os.environ if environ is None else environ
    return "github" if environ.get("GITHUB_ACTIONS") == "true" else "text"


def colour_wanted(no_color: bool, stream=None) -> bool:
    """Colour only on a terminal, and never with --no-color or NO_COLOR set (click's own
    ANSI stripping knows no NO_COLOR, and the reports write to any stream, not via echo)."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    try:
        return (sys.stdout if stream is None else stream).isatty()
    except (AttributeError, ValueError):
        return False

