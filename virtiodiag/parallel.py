"""Analysing many files at once, one process per file (``analyze -j N``).

Each input is analysed exactly as the sequential path does it (``pipeline.analyse_path``)
in a worker process; results come back pickled and in the order of the inputs, so the
reports are byte-for-byte those of a sequential run. Worth it for many files: a worker
costs a process start-up and the grammars (inherited with ``fork``, loaded from the Lark
cache otherwise). Standard input and followed files are never sent to a worker.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Iterator

from virtiodiag.analysis import RunResult
from virtiodiag.options import AnalysisOptions, ReadOptions, RuleSettings
from virtiodiag.pipeline import analyse_path

# Set in the parent before the pool starts (inherited by ``fork``) or by the initializer.
_DIALECTS = None
_SETTINGS: RuleSettings | None = None
# The workers already fill the CPUs: no second scanning process per file.
_WORKER_READ = ReadOptions(second_process=False)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _init_worker(options: AnalysisOptions) -> None:
    global _DIALECTS, _SETTINGS
    # Ctrl-C reaches the whole process group; the parent stops the pool and reports.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # held by the parent's fork
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the pool's terminate() ends a worker
    # A worker stays in its parent's process group (Ctrl-C reaches it, ignored above) and
    # dies with it: terminate() stops it at once, even blocked on a FIFO that nobody
    # writes.
    _SETTINGS = options.settings
    if _DIALECTS is None:  # spawn / forkserver: nothing inherited
        _DIALECTS = options.load_dialects()


def _analyse_one(name: str) -> RunResult:
    return analyse_path(name, _DIALECTS, _SETTINGS, _WORKER_READ)


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold SIGINT (blocked, so pending, never lost) in the calling thread and the threads
    and processes it starts meanwhile; deliver it on exit."""
    held = {signal.SIGINT}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class PartialResults(KeyboardInterrupt):
    """Ctrl-C during ``analyse_many``: the runs finished so far, in order."""

    def __init__(self, results):
        super().__init__("interrupted")
        self.results = results


def analyse_many(paths, options: AnalysisOptions | None = None, jobs: int | None = None,
                 dialects=None) -> list[RunResult]:
    """Analyse ``paths`` in up to ``jobs`` processes; results in the order of ``paths``.

    ``dialects``: an already loaded DialectSet, handed to ``fork``ed workers (it must have
    been loaded from ``options``' grammars, which ``spawn``ed workers load again).
    ``jobs`` None or 0: one per available CPU.
    """
    global _DIALECTS
    paths = list(paths)
    options = AnalysisOptions() if options is None else options
    jobs = jobs or default_jobs()
    if jobs <= 1 or len(paths) <= 1 or "-" in paths:
        if dialects is None:
            dialects = options.load_dialects()
        return [analyse_path(name, dialects, options.settings) for name in paths]
    previous = _DIALECTS
    _DIALECTS = dialects  # inherited by fork; None makes each worker load the grammars
    pool = results = None
    done: list[RunResult] = []
    try:
        # Creating the pool forks every worker. A Ctrl-C that lands inside a fork's at-fork
        # hooks (logging's lock release) is "ignored" by Python and lost, so SIGINT waits,
        # blocked, until the workers exist and arrives just after.
        with _sigint_held():
            pool = multiprocessing.Pool(min(jobs, len(paths)), _init_worker, (options,))
        # Results in the order of the inputs whatever order the workers finish in; one
        # file per task, so a Ctrl-C leaves no batch of queued files to finish.
        results = pool.imap(_analyse_one, paths, chunksize=1)
        for result in results:
            done.append(result)  # noqa: PERF402 (kept one by one: Ctrl-C keeps them)
        pool.close()
        return done
    except KeyboardInterrupt:
        # Stop now: the files being read and those queued are not analysed (the report
        # covers the finished ones, in order, with those already back), and every worker
        # is gone before we return.
        with contextlib.suppress(multiprocessing.TimeoutError, StopIteration):
            while results is not None:
                done.append(results.next(timeout=0))
        raise PartialResults(done) from None
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        _DIALECTS = previous
