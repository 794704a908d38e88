"""Command line: ``virtiodiag analyze``, ``rules`` and ``explain`` here; ``diff``, ``grammar``,
``parse`` and ``run`` in ``virtiodiag/commands/``, imported when run. Each command builds
its option objects (options.py) once, from the command line and the configuration file."""

from __future__ import annotations

import os
import sys

import click

from virtiodiag import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
DEBUG_ENV = "VIRTIODIAG_DEBUG"  # set by --debug


class Abort(click.ClickException):
    """A usage or input error: one line on stderr, exit status 2."""

    exit_code = EXIT_ERROR

    def show(self, file=None):
        from virtiodiag.reports.escape import safe

        click.echo(f"virtiodiag: error: {safe(self.message)}", err=True)


class LazyGroup(click.Group):
    """Sub-commands that live in ``virtiodiag.commands`` are imported when they are run
    or listed, not on every start (``analyze`` does not pay for ``diff``'s imports)."""

    def list_commands(self, ctx):
        from virtiodiag.commands import command_modules

        return sorted(set(super().list_commands(ctx)) | set(command_modules()))

    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        if name != "analyze":
            from virtiodiag import collector

            collector.give_back()  # held from the start (collector.hold_from_start)
        return name, command, rest

    def invoke(self, ctx):
        # Ctrl-C, or SIGTERM (safeio), that a command leaves to us (diff, parse, grammar
        # check): exit 130 (143: _exit_now), said. It was click's "Aborted!" and exit 1,
        # which is diff's "the runs differ" and parse's "a line not understood".
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("virtiodiag: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)

    def get_command(self, ctx, name):
        if name not in self.commands:
            from virtiodiag.commands import load_command

            command = load_command(name)
            if command is not None:
                self.add_command(command, name)
        return super().get_command(ctx, name)


def _debug(ctx, param, value) -> None:
    if value:
        os.environ[DEBUG_ENV] = "1"  # -j workers inherit it


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="virtiodiag")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_debug,
              help="On an internal error (a bug of ours), print the traceback too.")
def cli():
    """Diagnose virtio device initialisation from boot logs, serial captures and CI logs."""


FORMATS = ["text", "json", "jsonl", "sarif", "junit", "github", "gitlab", "html",
           "chrome-trace"]


class FiniteRange(click.FloatRange):
    """A number option within a range that must also be a finite number: click's ranges
    let nan (every comparison false) and inf through."""

    def convert(self, value, param, ctx):
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class ShortOptionsFirst(click.Command):
    """A command whose one-letter options (``-o FILE``) are read as such at once.

    click tries every option word as a long option first. For ``-o`` that fails by making
    a NoSuchOption, whose message click translates (gettext imports the locale module)
    and whose suggestions are difflib's close matches among the long options (imports
    difflib): 11 M instructions, 5 % of the start-up beyond the import baseline, for an
    error that is caught and dropped. Here a word of one dash and one character that is
    no long option fails that first attempt at once; every other word (a mistyped
    ``--formt`` and its suggestion) goes through click as before."""

    def make_parser(self, ctx):
        parser = super().make_parser(ctx)
        long_options = getattr(parser, "_long_opt", None)
        match_long = getattr(parser, "_match_long_opt", None)
        if isinstance(long_options, dict) and callable(match_long):
            def match_long_first(opt, explicit_value, state):
                if len(opt) == 2 and opt not in long_options:
                    raise click.NoSuchOption(opt, message=opt, ctx=ctx)  # not shown
                match_long(opt, explicit_value, state)

            parser._match_long_opt = match_long_first  # type: ignore[method-assign]
        return parser


@cli.command(cls=ShortOptionsFirst)
@click.argument("paths", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format (default: text; github when GITHUB_ACTIONS=true).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report in --format to this file; the terminal shows text.")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR in the environment).")
@click.option("--verbose", "-v", is_flag=True,
              help="List the virtio lines no grammar understood; with many runs, each "
                   "run's full report too.")
@click.option("--timeline", "show_timeline", is_flag=True,
              help="Text: each device's full timeline after the summary.")
@click.option("--no-timeline", is_flag=True,
              help="JSON and other machine formats: leave the timelines out.")
@click.option("--grammar", "grammars", multiple=True, metavar="FILE.lark",
              help="An extra dialect grammar (repeatable); see 'Teach virtiodiag your log'.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Configuration file (default: virtiodiag.toml, .virtiodiag.toml or "
                   "[tool.virtiodiag] in pyproject.toml, found upwards from here).")
@click.option("--select", help="Only these rules (comma-separated codes or names).")
@click.option("--ignore", help="Skip these rules (comma-separated codes or names).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Lowest severity that makes the exit status 1 (default: error).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings reach --fail-on.")
@click.option("--follow", "-f", "follow", metavar="FILE", type=click.Path(dir_okay=False),
              help="Tail a growing file (survives truncation and rotation) until Ctrl-C.")
@click.option("--glob", "globs", multiple=True, metavar="PATTERN",
              help="In a directory of runs, the files that are runs (repeatable; default: "
                   "*.log *.txt *.out *.gz *.xz *.bz2). Others are named and skipped.")
@click.option("--follow-exit-after", type=FiniteRange(min=0, min_open=True),
              metavar="SECONDS", hidden=True,
              help="With --follow: stop after this many seconds without new data.")
@click.option("--stall-timeout", type=FiniteRange(min=0, min_open=True),
              metavar="SECONDS",
              help="Live (pipe or --follow): report a device whose handshake made no "
                   "progress for this long while the stream is still open.")
@click.option("--baseline", "baseline", type=click.Path(dir_okay=False), metavar="FILE",
              help="Report only findings whose fingerprint is not in this baseline.")
@click.option("--write-baseline", type=click.Path(dir_okay=False, writable=True),
              metavar="FILE",
              help="Record today's findings (by fingerprint) in FILE; exits 0 unless an "
                   "input cannot be read.")
@click.option("--expect-devices", type=click.IntRange(min=0), default=None, metavar="N",
              help="Fail (exit 1) unless at least N virtio devices come up: reach DRIVER_OK, "
                   "or, where the log shows no status, get a driver with no failure "
                   "(rule VD020; config key expect-devices).")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True,
              metavar="N", help="Analyse several files in N processes (0: one per CPU); "
                                "the output is the same as with one.")
def analyze(paths, fmt, output, no_color, verbose, show_timeline, no_timeline, grammars,
            config_path, select, ignore, fail_on, exit_zero, globs, follow, follow_exit_after,
            stall_timeout, baseline, write_baseline, jobs, expect_devices):
    """Analyse logs (PATH, - for standard input, or a directory of runs) and report
    per-device handshakes.

    \b
    Exit status: 0 no finding reaches --fail-on, 1 one does, 2 usage or input error,
    130 interrupted (the summary is printed first).
    """
    from virtiodiag import collector

    collector.hold()  # until the analysis has read a first block (collector.py)
    from virtiodiag.options import AnalyzeOptions, ReportOptions, colour_wanted
    from virtiodiag.runner import run_analyze

    analysis = analysis_options(config_path, select, ignore, fail_on, grammars, expect_devices)
    report = ReportOptions(color=colour_wanted(no_color), timeline=not no_timeline,
                           text_timeline=show_timeline, verbose=verbose,
                           fail_on=analysis.fail_on, rules=analysis.rules(),
                           baseline=baseline)
    sys.exit(run_analyze(AnalyzeOptions(
        paths, analysis, report, fmt=fmt, output=output, follow=follow, globs=globs,
        stall_timeout=stall_timeout, follow_exit_after=follow_exit_after, baseline=baseline,
        write_baseline=write_baseline, jobs=jobs, exit_zero=exit_zero)))


def analysis_options(config_path, select=None, ignore=None, fail_on=None, grammars=(),
                     expect_devices=None):
    """The AnalysisOptions of a command (the configuration file with the command line on
    top); a configuration error is a usage error (exit 2)."""
    from virtiodiag.config import ConfigError, analysis_options as resolve

    try:
        return resolve(config_path, select, ignore, fail_on, grammars, expect_devices)
    except ConfigError as exc:
        raise Abort(str(exc)) from None


@cli.command(name="rules")
def list_rules():
    """List every rule with its code, severity and summary."""
    from tabulate import tabulate

    from virtiodiag.rules import all_rules

    rows = [[r.CODE, r.NAME, r.SEVERITY, r.SPEC or "-", r.SUMMARY] for r in all_rules()]
    click.echo(tabulate(rows, headers=["code", "name", "severity", "spec", "summary"]))


@cli.command()
@click.argument("rule")
def explain(rule):
    """Show a rule's documentation (by code, e.g. VD001, or name)."""
    import inspect

    from virtiodiag.rules import get_rule

    module = get_rule(rule)
    if module is None:
        raise Abort(f"no rule named {rule!r}; 'virtiodiag rules' lists them")
    click.echo(f"{module.CODE} {module.NAME} ({module.SEVERITY})")
    if module.SPEC:
        click.echo(f"virtio spec: {module.SPEC}")
    options = getattr(module, "OPTIONS", {})
    if options:
        click.echo("options: " + ", ".join(f"{k} = {v!r}" for k, v in options.items()))
    click.echo("")
    click.echo(inspect.getdoc(module) or module.SUMMARY)


def main():
    # A shell starts background jobs with SIGINT ignored, and Python then keeps it
    # ignored; Ctrl-C (or a CI runner's interrupt) must still stop us with a summary.
    from virtiodiag import collector
    from virtiodiag.safeio import fill_standard_descriptors, install_signal_handlers

    install_signal_handlers()  # SIGTERM stops like Ctrl-C (exit 143)
    collector.own()  # start-up may hold the garbage collector (collector.py)
    closed = fill_standard_descriptors()
    # Once descriptors 0-2 are taken (its pipe must not land on a closed one): a signal that
    # comes just before a blocking wait (-j's workers, a quiet pipe) still ends the wait.
    from virtiodiag import wakeup

    wakeup.install()
    # Python gives a descriptor closed at start no stream (None): standard input stays
    # None ('-' then says it is closed); output and error go to /dev/null, said on stderr.
    if 2 in closed:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - the process's
    if 1 in closed:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - the process's
        sys.stderr.write("virtiodiag: standard output is closed: the report is not shown "
                         "(-o FILE writes it to a file); the exit status still tells\n")
    _exit_now(run_command())


def run_command(args: list[str] | None = None, prog_name: str | None = None) -> int:
    """Everything ``virtiodiag`` does but what belongs to the process (its signal
    handlers and its exit); returns the exit status. The tests run commands in process
    through it (tests/conftest.py)."""
    from virtiodiag.reports.escape import GuardedStream

    # No line we print can start a CI runner's command ("::error::", "##[") with text
    # from a log or a file name, whichever report or message writes it (reports/escape).
    sys.stdout = GuardedStream(sys.stdout)
    sys.stderr = GuardedStream(sys.stderr)
    try:
        cli.main(args, prog_name=prog_name, standalone_mode=True)  # ends in SystemExit
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or EXIT_CLEAN
        sys.stderr.write(f"{done.code}\n")  # sys.exit("message"): the message, status 1
        return 1
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `virtiodiag analyze log | head`: the reader left; not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CLEAN
    except Exception as exc:  # noqa: BLE001 - a bug of ours (errors.py): one line, exit 2
        _internal_error(exc)
        return EXIT_ERROR


def _internal_error(exc: Exception) -> None:
    """One line naming the file and line (InternalError) and the exception; with --debug
    (or VIRTIODIAG_DEBUG=1) the traceback first."""
    from virtiodiag.errors import InternalError
    from virtiodiag.reports.escape import safe

    if os.environ.get(DEBUG_ENV):
        import traceback

        traceback.print_exception(exc)
    what = str(exc) if isinstance(exc, InternalError) else f"{type(exc).__name__}: {exc}"
    sys.stderr.write(f"virtiodiag: internal error: {safe(what, limit=300)} (a bug in "
                     "virtiodiag, please report it; --debug prints the traceback)\n")


def _exit_now(code: int) -> None:
    """Exit without tearing the interpreter down.

    Python's shutdown frees every object one by one (the compiled grammars, the model):
    about 60 ms, a quarter of analysing a boot log, for memory the kernel reclaims at once.
    Everything that must happen at exit is done here first: the output is flushed and the
    compiled-pattern caches (cachefiles.save_patterns, the only atexit work of ours) are
    saved.
    """
    from virtiodiag.safeio import EXIT_TERMINATED, terminated

    if code == 130 and terminated():
        code = EXIT_TERMINATED  # SIGTERM: 128 + 15, as a shell reports it
    cachefiles = sys.modules.get("virtiodiag.cachefiles")
    if cachefiles is not None:
        cachefiles.save_patterns()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            if code == EXIT_CLEAN and stream is sys.stdout:
                code = EXIT_ERROR  # the report could not be written in full
    threading = sys.modules.get("threading")
    if (os.environ.get("VIRTIODIAG_SLOW_EXIT")  # for debugging tools that need atexit
            or "multiprocessing" in sys.modules  # -j: multiprocessing's exit handler reaps workers
            or (threading is not None and threading.active_count() > 1)):
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":
    main()
