"""The text summary of a large run, rendered in a forked process while this one writes the
report file (``analyze FILE --format json -o FILE``, as a CI job runs it).

After the scan, writing the report file and rendering the text summary are the last work
of a run, one after the other on one CPU: on the benchmark's 200 MB sparse log, about a
fifth of the run's wall time. The two only read the finished results, so a forked child
renders the summary into an unlinked temporary file while this process writes the report
file; once that is committed, the child's bytes are copied to standard output.

The output is the same as rendering here: the child renders with this process's own
``sys.stdout`` (its encoding, its CI-command guard), its file descriptor pointed at the
temporary file, and the bytes reach standard output only after the report file is
committed, as before: a report that cannot be written still means no summary. If the
child fails in any way (an exception, a signal), nothing of it is shown and this process
renders the summary itself, meeting the same exception if there is one.

Used only for runs with enough to render (``runner.SUMMARY_ASIDE_FROM`` findings and
devices: a fork costs a few milliseconds, and a small run does not import this module) on
Linux with two CPUs and a real standard output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

_COPY = 1 << 20


def possible() -> bool:
    """A fork, a second CPU and a real standard output to copy the summary to."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    try:
        if len(os.sched_getaffinity(0)) < 2:
            return False
        sys.stdout.fileno()
        sys.stdout.buffer  # noqa: B018 - the bytes are copied through it
    except (AttributeError, OSError, ValueError):
        return False  # a test's captured stream, a closed stdout: render here
    return True


class Aside:
    """``render()`` (which writes to ``sys.stdout``) run in a forked child; ``deliver``
    copies what it wrote to standard output."""

    def __init__(self, render: Callable[[], None]):
        import tempfile

        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by deliver/cancel
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: render into the file, exit without any exit code of ours
            code = 1
            try:
                os.dup2(self._file.fileno(), sys.stdout.fileno())
                render()
                sys.stdout.flush()
                code = 0
            except BaseException:  # noqa: BLE001 - the parent renders it itself
                pass
            finally:
                os._exit(code)
        self.pid: int | None = pid

    def _wait(self) -> bool:
        pid, self.pid = self.pid, None
        if pid is None:
            return False
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return False
        return os.waitstatus_to_exitcode(status) == 0

    def deliver(self) -> bool:
        """Wait for the child; copy its summary to standard output if it rendered it
        whole (True), else show nothing of it (False: render it here)."""
        try:
            if not self._wait():
                return False
            sys.stdout.flush()
            out = sys.stdout.buffer
            source = self._file
            source.seek(0)
            while chunk := source.read(_COPY):
                out.write(chunk)
            out.flush()
            return True
        finally:
            self._file.close()

    def cancel(self) -> None:
        """Stop the child (the report file failed, or an interrupt): nothing is shown."""
        pid = self.pid
        if pid is not None:
            import signal

            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._wait()
        self._file.close()
