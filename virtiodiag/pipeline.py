"""One input through the pipeline: open it, read it in blocks (or tail it, or let a second
process scan a large file), feed the Analysis, and return its RunResult.

``analyze`` (runner.py), its ``-j`` workers (parallel.py) and ``diff`` analyse an input
through ``analyse_path``, this module importing none of them; ``run`` feeds an Analysis
from the guest's pipe itself (launch/session.py).
"""

from __future__ import annotations

import os
import sys
from time import monotonic
from typing import TYPE_CHECKING

from virtiodiag.analysis import Analysis, RunResult
from virtiodiag.model.device import Model
from virtiodiag.options import ReadOptions, RuleSettings
from virtiodiag.reports.escape import os_text
from virtiodiag.sources.reader import (
    InputError,
    follow_blocks,
    follow_recognised,
    open_binary,
    read_blocks,
)

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

PROGRESS_MIN_BYTES = 50 * 1000 * 1000  # a progress bar only for files larger than this
STALL_CHECK_EVERY = 0.5  # seconds between stall checks while data keeps arriving


class Interrupted(Exception):
    """Ctrl-C while reading: carries the result of what was read so far."""

    def __init__(self, result: RunResult):
        super().__init__("interrupted")
        self.result = result


# ---- progress ----------------------------------------------------------------------------
def progress_wanted(size: int | None, stream=None, environ=None) -> bool:
    """A bar only for a large file, on a terminal, outside CI."""
    stream = sys.stderr if stream is None else stream
    environ = os.environ if environ is None else environ
    if size is None or size <= PROGRESS_MIN_BYTES or environ.get("CI"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """click's progress bar on stderr for one large file, fed the bytes read so far:
    ``big.log  [###############---------------]   50%  100/200 MB``."""

    WIDTH = 30

    def __init__(self, name: str, total: int, stream=None):
        import click

        from virtiodiag.reports.escape import safe

        self.total = max(total, 1)
        self._done = 0
        self._bar: ProgressBar[int] = click.progressbar(
            length=self.total, label=safe(os.path.basename(name), 40), width=self.WIDTH,
            file=sys.stderr if stream is None else stream,
            item_show_func=lambda _: f"{self._done / 1e6:.0f}/{self.total / 1e6:.0f} MB")
        self._bar.__enter__()  # draws the empty bar (hides the cursor until close)

    def update(self, done: int) -> None:
        step = min(done, self.total) - self._bar.pos
        if step > 0:
            self._done = done
            self._bar.update(step)  # redrawn when its text changes

    def close(self) -> None:
        self._bar.__exit__(None, None, None)  # the cursor back, the bar left on its line


def _position(stream, done: int) -> int:
    raw = getattr(stream, "fileobj", None)  # a .gz file: progress through the compressed file
    try:
        return raw.tell() if raw is not None else done
    except (OSError, ValueError):
        return done


# ---- one input ---------------------------------------------------------------------------
def analyse_path(name: str, dialects, settings: RuleSettings | None = None,
                 read: ReadOptions | None = None, on_finding=None, on_event=None) -> RunResult:
    """Analyse one input, read as ``read`` says (options.ReadOptions); ``on_finding`` and
    ``on_event`` see each finding and event as it is made. Ctrl-C raises Interrupted
    carrying the result so far."""
    read = ReadOptions() if read is None else read
    live, follow, stall_timeout = read.live, read.follow, read.stall_timeout
    follow_exit_after = read.follow_exit_after
    # The name reports show: a file name's bytes that are not UTF-8 as \xNN (os_text).
    path = os_text(name) if name != "-" else "<stdin>"
    stream = None
    size = None
    if follow:
        if name == "-":  # it said "<stdin>: no such file"
            return RunResult(path, Model(path), [], error=(
                "--follow tails a growing file; standard input is read as it arrives "
                "without it (virtiodiag analyze -)"))
        if not os.path.exists(name):
            return RunResult(path, Model(path), [], error=f"{path}: no such file")
        if not os.path.isfile(name):
            return RunResult(path, Model(path), [], error=(
                f"{path}: not a regular file: --follow tails a growing file; a pipe or a "
                f"device is read as it arrives without it (virtiodiag analyze {path})"))
    else:
        try:
            stream = open_binary(name)
        except InputError as exc:
            return RunResult(path, Model(path), [], error=str(exc))
        if read.progress and name != "-":
            try:
                size = os.path.getsize(name)
            except OSError:
                size = None
    analysis = Analysis(path, dialects, settings, live=live, on_finding=on_finding,
                        on_event=on_event)
    # A log decoded from another encoding (UTF-16 ...) says so in the report.
    analysis.builder.model.encoding = getattr(stream, "encoding", None)
    clock = {"data": monotonic(), "check": monotonic()}
    stalls = live and stall_timeout is not None

    def check_stalls(now: float) -> None:
        clock["check"] = now
        if stall_timeout is not None:
            analysis.check_stalls(now, stall_timeout)

    idle = (lambda: check_stalls(monotonic())) if stalls else None
    if follow:
        stop = None
        if follow_exit_after is not None:
            def stop():
                return monotonic() - clock["data"] >= follow_exit_after
        model = analysis.builder.model
        blocks = follow_recognised(follow_blocks(name, idle=idle, stop=stop),
                                   on_encoding=lambda shown: setattr(model, "encoding", shown))
    else:
        blocks = read_blocks(stream, idle=idle)
    bar = Progress(name, size) if size is not None and progress_wanted(size) else None
    done = 0
    prescan = None
    try:
        try:
            if not live and read.second_process and stream is not None:
                prescan = _prescan(stream, analysis)
            if prescan is not None:
                # A large file: a second process scans, this one parses (same result).
                for block_size, lines, codes in prescan:
                    analysis.feed_lines(lines, codes)
                    if bar is not None:
                        done += block_size
                        bar.update(done)
                prescan.finish()
                blocks = iter(())
            for block in blocks:
                now = monotonic()
                clock["data"] = now
                analysis.feed_block(block)
                if stalls and now - clock["check"] >= STALL_CHECK_EVERY:
                    check_stalls(now)  # data keeps coming, but maybe not for this device
                if bar is not None:
                    done += len(block)
                    bar.update(_position(stream, done))
        finally:
            if prescan is not None:
                prescan.close()
            if bar is not None:
                bar.close()
            if stream is not None and name != "-":
                stream.close()
    except InputError as exc:
        analysis.close_input()
        result = analysis.finish()
        result.error = f"{path}: {exc}"
        return result
    except KeyboardInterrupt:
        analysis.close_input()
        raise Interrupted(analysis.finish()) from None
    analysis.close_input()
    return analysis.finish()


def _prescan(stream, analysis):
    """A Prescan for a large regular file (see sources/prescan.py), else None."""
    try:
        size = os.fstat(stream.fileno()).st_size
    except (OSError, ValueError, AttributeError):
        return None
    from virtiodiag.sources.prescan import PRESCAN_MIN_BYTES  # a few KB: only when large

    if size < PRESCAN_MIN_BYTES:
        return None
    from virtiodiag.sources.prescan import Prescan, prescan_wanted

    return (Prescan(stream, analysis.scanner, analysis.decoder) if prescan_wanted(stream)
            else None)
