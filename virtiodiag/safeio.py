"""Faults handled like a trusted CLI (issue 15, case 6): reports, signals, inputs.

* ``AtomicFile``: ``-o`` writes a temporary file beside the target and renames it over
  the target once the report is complete: a reader never sees half a report, and an
  interrupted write leaves the previous file (or none), never a truncated one.
* ``refuse_overwriting_inputs``: ``-o v.log v.log`` once replaced the log being read by
  the report (and turned exit 1 into 0).
* ``install_signal_handlers``: SIGTERM (what ``timeout``, CI cancellation and Kubernetes
  send) stops an analysis like Ctrl-C: summary, partial report, then exit 143 (128 + 15).
* ``fill_standard_descriptors``: started with standard input, output or error closed
  (``<&-``, ``>&-``, ``2>&-``), Python has no stream for it and the first file opened
  would take its descriptor; each is opened on /dev/null instead, and said.
* ``signals_deferred``: while a report is rendered, a first SIGINT/SIGTERM is held until
  the report is complete (well-formed), then the run exits 130/143; a second one stops
  at once.
* ``reader_may_leave``: ``diff``, ``grammar check`` and ``parse`` end with their verdict
  when the reader of their output leaves (``| head``); click's own EPIPE handling made
  each of them exit 1 ("the runs differ", "a sample failed") whatever the verdict.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
from contextlib import contextmanager

EXIT_TERMINATED = 128 + signal.SIGTERM
_state = {"terminated": False}


def terminated() -> bool:
    """Whether a SIGTERM stopped this run (the exit status is then 143, not 130)."""
    return _state["terminated"]


def _on_sigterm(signum, frame):
    _state["terminated"] = True
    raise KeyboardInterrupt


def install_signal_handlers() -> None:
    """SIGINT raises KeyboardInterrupt (also when a shell started us with it ignored);
    SIGTERM does the same and marks the run terminated."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):  # not the main thread: leave it as it is
        pass


def fill_standard_descriptors() -> frozenset[int]:
    """The standard descriptors (0, 1, 2) this process was started without, each now open
    on /dev/null, so that no file opened later lands on one (a log read as standard input,
    a report written over a log)."""
    closed = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.add(fd)
    for fd in sorted(closed):
        null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
    return frozenset(closed)


@contextmanager
def signals_deferred():
    """Hold a first SIGINT/SIGTERM until the block ends; yields the list of those held."""
    held: list[int] = []

    def hold(signum, frame):
        if held:  # asked twice: stop now
            if signum == signal.SIGTERM:
                _state["terminated"] = True
            raise KeyboardInterrupt
        held.append(signum)

    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, hold)
    except (ValueError, OSError):  # not the main thread: nothing to defer
        pass
    try:
        yield held
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if signal.SIGTERM in held:
            _state["terminated"] = True


class _ReaderMayLeave:
    """Standard output whose reader may stop reading: the first write or flush that finds
    the pipe closed (EPIPE) points descriptor 1 at /dev/null, and the command goes on."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            _reader_left(self._stream)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            _reader_left(self._stream)
            self._stream.flush()  # what was buffered goes to /dev/null now

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _reader_left(stream) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, stream.fileno())
    finally:
        os.close(null)


@contextmanager
def reader_may_leave():
    """For a command whose exit status is its verdict (diff, grammar check, parse): a
    reader that leaves (``| head -1``) takes what it read, the command runs to its end
    and exits with the verdict, as if its output had been read in full."""
    stream = sys.stdout
    guarded = _ReaderMayLeave(stream)
    sys.stdout = guarded
    try:
        yield
    finally:
        try:
            guarded.flush()
        except (OSError, ValueError):
            pass  # not a broken pipe (a full disk): left to the exit's flush to tell
        sys.stdout = stream


class AtomicFile:
    """A text file written under a temporary name and renamed into place on commit."""

    def __init__(self, path: str):
        self.path = path
        self.temporary: str | None = None
        try:
            regular = stat.S_ISREG(os.stat(path).st_mode)
        except OSError:
            regular = True  # absent (or unreadable): a new file, written as one
        if not regular:
            # /dev/null, /dev/stdout, a FIFO: nothing to replace, the report is written
            # into it (renamed over, `-o /dev/null` run as root put a regular file in
            # place of /dev/null for every other program on the machine)
            self.handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by commit/abort
            self.done = False
            return
        import tempfile  # here: writing to a terminal, a pipe or /dev/null does not load it

        folder = os.path.dirname(os.path.abspath(path))
        fd, self.temporary = tempfile.mkstemp(
            dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".partial")
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)  # what open(path, "w") would have made
        except OSError:
            pass
        self.handle = open(fd, "w", encoding="utf-8")  # noqa: SIM115 - closed by commit/abort
        self.done = False

    def commit(self) -> None:
        """The report is complete: put it in place."""
        if self.done:
            return
        self.done = True
        self.handle.close()
        if self.temporary is not None:
            os.replace(self.temporary, self.path)

    def abort(self) -> None:
        """Drop what was written: the target keeps its previous content (or stays absent)."""
        if self.done:
            return
        self.done = True
        try:
            self.handle.close()
        except OSError:
            pass
        if self.temporary is None:
            return
        try:
            os.unlink(self.temporary)
        except OSError:
            pass


def refuse_overwriting_inputs(target: str | None, inputs, what: str = "the report"):
    """Raise ValueError when ``target`` is one of the inputs (same file, any name)."""
    if not target:
        return
    try:
        target_stat = os.stat(target)
    except OSError:
        return  # does not exist yet: it cannot be an input
    for name in inputs:
        if not name or name == "-":
            continue
        try:
            same = os.path.samestat(target_stat, os.stat(name))
        except OSError:
            continue
        if same:
            raise ValueError(f"refusing to write {what} to {target}: it is an input "
                             f"({name}); choose another file")
