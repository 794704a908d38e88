"""One run of a guest under virtiodiag: the merged stream through the live analysis.

The command's stdout (the guest console, with -serial stdio or -nographic) and stderr
(QEMU's traces and messages) share one pipe, so the stream is the one ``qemu ... 2>&1 |
virtiodiag analyze -`` reads, byte for byte, and --save-log keeps exactly that. The run
ends when the command ends, or virtiodiag stops it (SIGTERM to its process group, SIGKILL
--kill-grace seconds later) at --timeout, at --stall-timeout (a handshake that made no
progress for that long: the live handshake-incomplete finding), when --until matches a
console line, or when asked to (Ctrl-C, SIGTERM). Before stopping QEMU, and when the guest
powers off, QEMU's own view of each virtio device is asked for over QMP (launch/qmp.py).
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import tempfile
from time import monotonic, sleep

from virtiodiag.analysis import Analysis, RunResult
from virtiodiag.launch.child import KILL_GRACE, Child, StartError
from virtiodiag.launch.qemu_args import QemuCommand, prepare
from virtiodiag.launch.qmp import Monitor, Snapshot
from virtiodiag.model.run_facts import RunFacts
from virtiodiag.plain import Plain

READ_SIZE = 65536
TICK = 0.25  # seconds between checks (stall, deadline, QMP events) while output is quiet
STALL_CHECK_EVERY = 0.5
UNTIL_LINE_MAX = 65536  # a console line longer than this is matched in pieces
QMP_LATE_CONNECT = 3.0  # seconds to wait for QEMU's socket when a stop comes first

STOP_WHY = {
    "end": "the guest powered off",
    "exit": "the command ended",
    "timeout": "stopped at --timeout",
    "stall": "stopped at --stall-timeout: a handshake made no progress",
    "until": "stopped: --until matched",
    "interrupt": "stopped: interrupted",
}


def describe_stop(stop: str, detail: str) -> str:
    """``stopped at --timeout (60 s)``: why a run ended, for people."""
    text = STOP_WHY.get(stop, stop)
    return f"{text} ({detail})" if detail else text


class RunOptions(Plain):
    """How one run is bounded and what it adds to the command."""

    FIELDS = ("timeout", "stall_timeout", "until", "trace", "qmp", "grace")

    def __init__(self, timeout: float | None = None, stall_timeout: float | None = None,
                 until: re.Pattern | None = None, trace: bool = True, qmp: bool = True,
                 grace: float = KILL_GRACE):
        self.timeout = timeout
        self.stall_timeout = stall_timeout
        self.until = until
        self.trace = trace
        self.qmp = qmp
        self.grace = grace


class RunOutcome(Plain):
    """What one run gave: the analysis result, why it ended, QEMU's view."""

    FIELDS = ("result", "stop", "detail", "exit_status", "snapshot", "command", "seconds")

    def __init__(self, result: RunResult, stop: str, detail: str, exit_status: int | None,
                 snapshot: Snapshot | None, command: QemuCommand, seconds: float):
        self.result = result
        self.stop = stop  # a key of STOP_WHY
        self.detail = detail
        self.exit_status = exit_status
        self.snapshot = snapshot
        self.command = command
        self.seconds = seconds

    @property
    def why(self) -> str:
        return describe_stop(self.stop, self.detail)

    @property
    def failed_to_run(self) -> str | None:
        """The command ended by itself with a failure status: the guest did not run."""
        if self.stop == "exit" and self.exit_status not in (0, None):
            return f"the command exited with status {self.exit_status}"
        return None


class StopFlag:
    """Set from a signal handler: stop the running guests now."""

    def __init__(self):
        self.now = False


def run_once(argv: list[str], options: RunOptions, dialects, settings, path: str,
             on_finding=None, save_log: str | None = None, env: dict | None = None,
             stop_flag: StopFlag | None = None, on_start=None, on_line=None) -> RunOutcome:
    """Run the command once and analyse its merged output as it arrives; ``on_start``
    is called with the QemuCommand (what was added) before it starts; ``on_line`` with
    each line of the stream (bytes, without its newline) as it arrives."""
    workdir = tempfile.mkdtemp(prefix="virtiodiag-run-")
    try:
        qmp_path = os.path.join(workdir, "qmp.sock") if options.qmp else None
        command = prepare(argv, trace=options.trace, qmp_path=qmp_path)
        if on_start is not None:
            on_start(command)
        if not save_log:
            return _run(command, options, dialects, settings, path, on_finding, None, env,
                        stop_flag or StopFlag(), on_line)
        with open(save_log, "wb") as log:
            return _run(command, options, dialects, settings, path, on_finding, log, env,
                        stop_flag or StopFlag(), on_line)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(command: QemuCommand, options: RunOptions, dialects, settings, path, on_finding,
         log, env, stop_flag: StopFlag, on_line=None) -> RunOutcome:
    stalled: list = []

    def finding_seen(finding) -> None:
        if finding.rule == "VD003" and not finished[0]:
            stalled.append(finding)  # live VD003 comes only from the stall check
        if on_finding is not None:
            on_finding(finding)

    finished = [False]
    analysis = Analysis(path, dialects, settings, live=True, on_finding=finding_seen)
    monitor = Monitor(command.qmp_path) if command.qmp_path else None
    started = monotonic()
    child = Child(command.argv, env)  # StartError goes to the caller
    selector = selectors.DefaultSelector()
    selector.register(child.fd, selectors.EVENT_READ)
    deadline = started + options.timeout if options.timeout else None
    stop, detail, snapshot = None, "", None
    kill_at = None
    give_up_at = None
    ended_alone = False
    last_stall_check = started
    line_buffer = bytearray()
    line_no = 0
    echo = _LineSplitter(on_line) if on_line is not None else None
    try:
        while True:
            now = monotonic()
            wait = TICK if kill_at is None else min(TICK, max(0.0, kill_at - now))
            if deadline is not None and stop is None:
                wait = min(wait, max(0.0, deadline - now))
            for _key, _mask in selector.select(wait):
                data = os.read(child.fd, READ_SIZE)
                if not data:
                    selector.unregister(child.fd)
                    break
                if log is not None:
                    log.write(data)
                analysis.feed_block(data)
                if echo is not None:
                    echo.feed(data)
                if options.until is not None and stop is None:
                    line_buffer += data
                    matched, line_no = _until(options.until, line_buffer, line_no)
                    if matched is not None:
                        stop, detail = "until", f"console line {matched}"
            if not selector.get_map():
                break  # end of the stream: the command (and its group) closed its output
            now = monotonic()
            if monitor is not None and stop is None:
                if monitor.client is None:
                    monitor.try_connect()
                else:
                    monitor.poll()
                    if monitor.shutdown:
                        stop = "end"
            if (stop is None and options.stall_timeout
                    and now - last_stall_check >= STALL_CHECK_EVERY):
                last_stall_check = now
                analysis.check_stalls(now, options.stall_timeout)
                if stalled:
                    stop, detail = "stall", stalled[0].device
            if stop is None and deadline is not None and now >= deadline:
                stop, detail = "timeout", f"{options.timeout:g} s"
            if stop is None and stop_flag.now:
                stop = "interrupt"
            if stop is not None and kill_at is None:
                if monitor is not None:
                    # A stop can come before the first connection attempt (an early
                    # --until): give QEMU a moment to open its socket.
                    wait_until = monotonic() + QMP_LATE_CONNECT
                    while (not monitor.try_connect() and monitor.note is None
                           and child.running() and monotonic() < wait_until):
                        sleep(0.05)
                    snapshot = monitor.snapshot(stop)
                    if stop == "end":
                        monitor.quit()
                if child.running():
                    child.signal_group(15)
                kill_at = monotonic() + options.grace
            elif kill_at is not None and give_up_at is None and monotonic() >= kill_at:
                child.signal_group(9)
                give_up_at = monotonic() + options.grace
            elif give_up_at is not None and monotonic() >= give_up_at:
                break  # something outside the group (a daemon) holds the pipe open
            if stop is None and not ended_alone and not child.running():
                ended_alone = True
                # The command ended; what is left in the pipe is read on the next turns,
                # and a helper it left in its group must not keep the pipe open.
                child.signal_group(9)
    finally:
        if echo is not None:
            echo.close()
        selector.close()
        exit_status = child.reap(options.grace)
        child.close()
        if monitor is not None:
            if snapshot is None:
                snapshot = Snapshot("end", note=monitor.note or
                                    "QEMU ended before its devices could be asked for")
            monitor.close()
    if stop is None:
        stop = "exit"
        detail = f"status {exit_status}"
    finished[0] = True
    analysis.close_input()
    seconds = monotonic() - started
    analysis.builder.model.run = RunFacts(stop, describe_stop(stop, detail), exit_status,
                                          seconds, command.added, snapshot)
    return RunOutcome(analysis.finish(), stop, detail, exit_status, snapshot, command, seconds)


class _LineSplitter:
    """Calls ``on_line`` with each complete line; a line longer than UNTIL_LINE_MAX is
    passed in pieces (flat memory)."""

    def __init__(self, on_line):
        self.on_line = on_line
        self.pending = bytearray()

    def feed(self, data: bytes) -> None:
        self.pending += data
        start = 0
        while (end := self.pending.find(b"\n", start)) >= 0:
            self.on_line(bytes(self.pending[start:end]))
            start = end + 1
        del self.pending[:start]
        if len(self.pending) > UNTIL_LINE_MAX:
            self.on_line(bytes(self.pending))
            self.pending.clear()

    def close(self) -> None:
        if self.pending:
            self.on_line(bytes(self.pending))
            self.pending.clear()


def _until(pattern: re.Pattern, buffer: bytearray, line_no: int) -> tuple[int | None, int]:
    """The number of the first complete line in ``buffer`` matching ``pattern`` (None:
    none); the buffer keeps only the unfinished last line (at most UNTIL_LINE_MAX)."""
    from virtiodiag.sources.framing import clean

    start = 0
    while True:
        end = buffer.find(b"\n", start)
        if end < 0:
            break
        line_no += 1
        if pattern.search(clean(bytes(buffer[start:end]))):
            del buffer[:end + 1]
            return line_no, line_no
        start = end + 1
    del buffer[:start]
    if len(buffer) > UNTIL_LINE_MAX:
        if pattern.search(clean(bytes(buffer))):
            buffer.clear()
            return line_no + 1, line_no
        del buffer[:-1024]
    return None, line_no


__all__ = ["STOP_WHY", "RunOptions", "RunOutcome", "StartError", "StopFlag", "run_once"]
