"""``virtiodiag run [OPTIONS] -- COMMAND...``: boot a guest, capture both sides, diagnose live.

One run: the command's merged output goes through the same live analysis as
``analyze -`` (findings as their evidence arrives), then the report, QEMU's own view of
the devices (QMP) and the gate's exit status. ``--repeat N``: N runs (``-j`` at a time),
each log (and its verdict) kept under ``--save-logs DIR``, then the stability summary of
``analyze DIR``. See README, "Run your guest under virtiodiag".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import tempfile

from typing import TYPE_CHECKING

import click

from virtiodiag.cli import FORMATS, Abort, FiniteRange
from virtiodiag.launch.child import KILL_GRACE

if TYPE_CHECKING:
    from virtiodiag.launch.session import RunOptions, RunOutcome
    from virtiodiag.options import AnalysisOptions, ReportOptions

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_TIMEOUT = 600.0
RUN_PLACEHOLDER = "{run}"
_TRACE_LINE = re.compile(rb"\d+@\d+\.\d+:(virtio|vhost|virtqueue)")  # QEMU's -trace log lines


@click.command(context_settings={"ignore_unknown_options": True,
                                 "help_option_names": ["-h", "--help"]})
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--timeout", type=FiniteRange(min=0), default=DEFAULT_TIMEOUT,
              show_default=True, metavar="SECONDS",
              help="Stop the guest after this long (0: never).")
@click.option("--stall-timeout", type=FiniteRange(min=0, min_open=True),
              metavar="SECONDS",
              help="Stop the guest when a device's handshake made no progress for this long.")
@click.option("--kill-grace", type=FiniteRange(min=0), default=KILL_GRACE, show_default=True,
              metavar="SECONDS",
              help="When stopping the guest: seconds between SIGTERM (QEMU flushes and "
                   "exits) and SIGKILL.")
@click.option("--until", "until", metavar="REGEX",
              help="Stop the guest when a console line matches (e.g. the test's PASS line).")
@click.option("--no-trace", is_flag=True,
              help="Do not add QEMU's virtio trace events (-trace virtio_*).")
@click.option("--no-qmp", is_flag=True,
              help="Do not open a QMP socket to ask QEMU for its view of the devices.")
@click.option("--console", "show_console", is_flag=True,
              help="Show the guest console and QEMU's messages on stderr as they come "
                   "(control characters escaped; trace lines left out).")
@click.option("--save-log", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Keep the merged stream (what 'analyze' reads) in FILE.")
@click.option("--repeat", type=click.IntRange(min=1), default=1, metavar="N",
              help="Run N times and summarise how stable each device's handshake is.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, metavar="N",
              help="With --repeat: N runs at a time.")
@click.option("--save-logs", type=click.Path(file_okay=False, writable=True), metavar="DIR",
              help="With --repeat: keep each run's log in DIR (run-001.log...) and its "
                   "verdict in DIR/verdicts/.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Report format (default: text; github when GITHUB_ACTIONS=true).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report in --format to this file; the terminal shows text.")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR).")
@click.option("--verbose", "-v", is_flag=True,
              help="With --repeat: each run's findings as they happen.")
@click.option("--timeline", "show_timeline", is_flag=True,
              help="Text: each device's full timeline after the summary.")
@click.option("--no-timeline", is_flag=True,
              help="JSON and other machine formats: leave the timelines out.")
@click.option("--grammar", "grammars", multiple=True, metavar="FILE.lark",
              help="An extra dialect grammar (repeatable).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Configuration file (as for 'analyze').")
@click.option("--select", help="Only these rules (comma-separated codes or names).")
@click.option("--ignore", help="Skip these rules (comma-separated codes or names).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Lowest severity that makes the exit status 1 (default: error).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings reach --fail-on.")
def run(command, timeout, stall_timeout, kill_grace, until, no_trace, no_qmp, show_console,
        save_log, repeat, jobs, save_logs, fmt, output, no_color, verbose, show_timeline,
        no_timeline, grammars, config_path, select, ignore, fail_on, exit_zero):
    """Run COMMAND (typically qemu-system-*) and diagnose its virtio handshakes live.

    \b
    For QEMU, adds -trace 'virtio_*' (unless the command sets trace options or --no-trace),
    -msg timestamp=on, and its own QMP socket (unless the command has -qmp); never a
    network back-end. The guest console must reach stdout (-serial stdio or -nographic).
    With --repeat, {run} in COMMAND becomes the run number (also $VIRTIODIAG_RUN).

    \b
    Exit status: 0 no finding reaches --fail-on, 1 one does, 2 usage error or the command
    failed, 130 interrupted (the report of what ran is printed first).
    """
    argv = list(command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise Abort("no command to run: virtiodiag run [OPTIONS] -- COMMAND...")
    pattern = None
    if until is not None:
        try:
            pattern = re.compile(until)
        except re.error as exc:
            raise Abort(f"--until {until!r}: not a regular expression ({exc})") from None
    if repeat == 1 and save_logs:
        raise Abort("--save-logs is for --repeat N; one run's log: --save-log FILE")
    if repeat > 1 and save_log:
        raise Abort("--save-log keeps one run's log; with --repeat use --save-logs DIR")
    from virtiodiag.cli import analysis_options
    from virtiodiag.launch.session import RunOptions
    from virtiodiag.options import ReportOptions, colour_wanted, default_format

    analysis = analysis_options(config_path, select, ignore, fail_on, grammars)
    report = ReportOptions(color=colour_wanted(no_color), timeline=not no_timeline,
                           text_timeline=show_timeline, fail_on=analysis.fail_on,
                           rules=analysis.rules())
    bounds = RunOptions(timeout=timeout or None, stall_timeout=stall_timeout, until=pattern,
                        trace=not no_trace, qmp=not no_qmp, grace=kill_grace)
    runner = Runner(argv, bounds, analysis, report, fmt or default_format(), output,
                    exit_zero=exit_zero, print_each_run=verbose, show_console=show_console)
    sys.exit(runner.main(repeat, jobs, save_log, save_logs))


class Runner:
    """The ``run`` command's state: settings, dialects, report options, signals."""

    def __init__(self, argv: list[str], options: RunOptions, analysis: AnalysisOptions,
                 report: ReportOptions, fmt: str, output: str | None, exit_zero: bool = False,
                 print_each_run: bool = False, show_console: bool = False):
        from virtiodiag.launch.session import StopFlag

        self.argv = argv
        self.options = options
        self.analysis, self.report = analysis, report
        self.fmt, self.output, self.exit_zero = fmt, output, exit_zero
        self.print_each_run = print_each_run  # --verbose with --repeat
        self.show_console = show_console
        self.stop_flag = StopFlag()
        self.no_more_runs = False
        self.interrupts = 0
        self.repeating = False

    # ---- signals -------------------------------------------------------------------------
    def _install_signals(self, repeat: int):
        def on_interrupt(signum, frame):
            self.interrupts += 1
            self.no_more_runs = True
            if repeat == 1 or self.interrupts > 1:
                self.stop_flag.now = True
            else:
                sys.stderr.write("\nvirtiodiag: stopping after the current run(s); "
                                 "Ctrl-C again stops them now\n")

        def on_terminate(signum, frame):
            self.no_more_runs = True
            self.stop_flag.now = True

        previous = {signal.SIGINT: signal.signal(signal.SIGINT, on_interrupt),
                    signal.SIGTERM: signal.signal(signal.SIGTERM, on_terminate),
                    signal.SIGHUP: signal.signal(signal.SIGHUP, on_terminate)}
        return previous

    # ---- main ----------------------------------------------------------------------------
    def main(self, repeat: int, jobs: int, save_log: str | None, save_logs: str | None) -> int:
        from virtiodiag.dialects import DialectError
        from virtiodiag.reports import REPORTERS
        from virtiodiag.reports.escape import safe

        if self.fmt not in REPORTERS:
            raise Abort(f"unknown format {self.fmt!r}")
        try:
            self.dialects = self.analysis.load_dialects()
        except DialectError as exc:
            raise Abort(str(exc)) from None
        from virtiodiag.launch.qemu_args import is_qemu, network_warnings, serial_on_stdout

        if is_qemu(self.argv):
            if any(a.lstrip("-") == "daemonize" for a in self.argv[1:]):
                raise Abort("virtiodiag run keeps QEMU in the foreground to read its output "
                            "and stop it: remove -daemonize")
            for warning in network_warnings(self.argv):
                sys.stderr.write(f"virtiodiag: warning: {safe(warning)}\n")
            if not serial_on_stdout(self.argv):
                sys.stderr.write("virtiodiag: note: the command sends no guest console to "
                                 "stdout (-serial stdio or -nographic): only QEMU's side is "
                                 "analysed\n")
        from virtiodiag.launch.child import become_subreaper

        become_subreaper()
        previous = self._install_signals(repeat)
        try:
            if repeat == 1:
                return self.single(save_log)
            return self.many(repeat, jobs, save_logs)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _report(self, results, outcomes, live_paths, interrupted: bool) -> int:
        from virtiodiag.reports import get_reporter
        from virtiodiag.reports.escape import safe
        from virtiodiag.runner import gate

        options = self.report.replace(live_paths=frozenset(live_paths), interrupted=interrupted)
        if self.output:
            try:
                with open(self.output, "w", encoding="utf-8") as handle:
                    get_reporter(self.fmt).render(results, handle, options.replace(color=False))
            except OSError as exc:
                raise Abort(f"cannot write {self.output}: {exc.strerror}") from None
        terminal = "text" if self.output else self.fmt
        get_reporter(terminal).render(results, sys.stdout, options)
        if terminal == "text" and len(outcomes) == 1 and self.repeating:
            # One run of several (interrupted): still the summary of the runs.
            from virtiodiag.runs import render_text as render_summary, stability

            render_summary(stability(results, self.analysis.fail_on), sys.stdout)
        elif terminal == "text" and len(outcomes) == 1:
            from virtiodiag.launch.view import render_text

            outcome = outcomes[0]
            render_text(outcome.snapshot, outcome.result.model, sys.stdout)
            sys.stdout.write(f"\nrun: {safe(outcome.why)} after {outcome.seconds:.1f} s\n")
        sys.stdout.flush()
        failures = [o.failed_to_run for o in outcomes if o.failed_to_run]
        for failure in failures:
            sys.stderr.write(f"virtiodiag: error: {safe(failure)}\n")
        if interrupted:
            return EXIT_INTERRUPTED
        if failures:
            return EXIT_ERROR
        return gate(results, self.analysis.fail_on, self.exit_zero)

    def _live_printer(self):
        from virtiodiag.reports.text import Palette, format_finding

        palette = Palette(self.report.color)

        def show(finding) -> None:
            sys.stdout.write(format_finding(finding, palette) + "\n")
            sys.stdout.flush()

        return show

    def _run(self, argv, path, save_log, on_finding, env=None, on_start=None):
        from virtiodiag.launch.child import StartError
        from virtiodiag.launch.session import run_once

        try:
            return run_once(argv, self.options, self.dialects, self.analysis.settings, path,
                            on_finding=on_finding, save_log=save_log, env=env,
                            stop_flag=self.stop_flag, on_start=on_start,
                            on_line=self._console_line if self.show_console else None)
        except StartError as exc:
            raise Abort(str(exc)) from None
        except OSError as exc:
            raise Abort(f"cannot keep the log: {exc}") from None

    @staticmethod
    def _console_line(line: bytes) -> None:
        """--console: the guest's and QEMU's own lines, escaped; not the trace records."""
        from virtiodiag.reports.escape import safe
        from virtiodiag.sources.framing import clean

        if _TRACE_LINE.match(line):
            return
        sys.stderr.write(safe(clean(line), 2000) + "\n")
        sys.stderr.flush()

    def _announce(self, outcome_command) -> None:
        from virtiodiag.reports.escape import safe

        if outcome_command.added:
            sys.stderr.write("virtiodiag: added to the command: "
                             f"{safe(' '.join(outcome_command.added))}\n")

    def single(self, save_log: str | None) -> int:
        path = save_log or "<run>"
        live = self.fmt == "text" or self.output is not None
        outcome = self._run(self.argv, path, save_log,
                            self._live_printer() if live else None, on_start=self._announce)
        interrupted = outcome.stop == "interrupt"
        return self._report([outcome.result], [outcome], {path} if live else set(),
                            interrupted)

    def many(self, repeat: int, jobs: int, save_logs: str | None) -> int:
        from virtiodiag.reports.escape import safe
        from virtiodiag.runs import verdict_line

        self.repeating = True
        folder = save_logs or tempfile.mkdtemp(prefix="virtiodiag-runs-")
        try:
            os.makedirs(os.path.join(folder, "verdicts"), exist_ok=True)
        except OSError as exc:
            raise Abort(f"cannot make {folder}: {exc.strerror}") from None
        width = max(3, len(str(repeat)))
        outcomes: dict[int, RunOutcome] = {}
        printer = self._live_printer() if self.print_each_run else None

        def one(number: int):
            name = f"run-{number:0{width}d}.log"
            log = os.path.join(folder, name)
            argv = [a.replace(RUN_PLACEHOLDER, str(number)) for a in self.argv]
            env = dict(os.environ, VIRTIODIAG_RUN=str(number), VIRTIODIAG_RUNS=str(repeat))
            outcome = self._run(argv, log if save_logs else name, log, printer, env)
            if printer is not None and outcome.result.withdrawn:
                from virtiodiag.reports.text import format_withdrawal

                # shown as they came: what the whole log does not bear out is said here
                sys.stdout.write("".join(format_withdrawal(item) + "\n"
                                         for item in outcome.result.withdrawn))
                sys.stdout.flush()
            self._write_verdict(folder, name, number, outcome)
            sys.stderr.write(f"virtiodiag: run {number}/{repeat}: "
                             f"{verdict_line(outcome.result, self.analysis.fail_on)} "
                             f"[{safe(outcome.why)}, {outcome.seconds:.1f} s]\n")
            sys.stderr.flush()
            return outcome

        try:
            if jobs <= 1:
                for number in range(1, repeat + 1):
                    if self.no_more_runs:
                        break
                    outcomes[number] = one(number)
            else:
                self._parallel(one, repeat, jobs, outcomes)
            done = [outcomes[n] for n in sorted(outcomes)]
            results = [o.result for o in done]
            interrupted = len(done) < repeat or any(o.stop == "interrupt" for o in done)
            if not done:
                sys.stderr.write("virtiodiag: interrupted before the first run ended\n")
                return EXIT_INTERRUPTED
            return self._report(results, done, set(), interrupted)
        finally:
            if not save_logs:
                shutil.rmtree(folder, ignore_errors=True)

    def _parallel(self, one, repeat: int, jobs: int, outcomes: dict) -> None:
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        # Threads: each run mostly waits for its guest; the analysis is light next to QEMU.
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            pending: dict[Future, int] = {}
            number = 1
            while number <= repeat or pending:
                while number <= repeat and len(pending) < jobs and not self.no_more_runs:
                    pending[pool.submit(one, number)] = number
                    number += 1
                if not pending:
                    break
                finished, _ = wait(list(pending), timeout=0.25, return_when=FIRST_COMPLETED)
                for future in finished:
                    outcomes[pending.pop(future)] = future.result()
                if self.no_more_runs and number <= repeat:
                    number = repeat + 1

    def _write_verdict(self, folder: str, name: str, number: int, outcome) -> None:
        from virtiodiag.launch.view import to_dict
        from virtiodiag.runs import verdict

        result = outcome.result
        devices = result.model.live_devices()
        data = {
            "run": number, "log": name, "verdict": verdict(result, self.analysis.fail_on),
            "stop": outcome.stop, "why": outcome.why, "exit_status": outcome.exit_status,
            "seconds": round(outcome.seconds, 3),
            "driver_ok": f"{sum(1 for d in devices if d.reached_driver_ok)}/{len(devices)}",
            "findings": [{"rule": f.rule, "name": f.name, "severity": f.severity,
                          "device": f.device, "line": f.line, "message": f.message}
                         for f in result.findings],
            "qemu_view": to_dict(outcome.snapshot, result.model),
            "command": outcome.command.argv,
        }
        with open(os.path.join(folder, "verdicts", name[:-4] + ".json"), "w",
                  encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
