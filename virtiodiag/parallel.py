"""Analysing many files at once, one process per file (``analyze -j N``).

Each input is analysed exactly as the sequential path does it (``pipeline.analyse_path``)
in a worker process; results come back pickled and in the order of the inputs, so the
reports are byte-for-byte those of a sequential run. Worth it for many files: a worker
costs a process start-up and the grammars (inherited with ``fork``, loaded from the Lark
cache otherwise). Standard input and followed files are never sent to a worker.

The workers are ours, not a ``multiprocessing.Pool``: each has its own pipe, one file at a
time goes down it and one result comes back, and the parent has no thread. Stopping the
run (Ctrl-C, SIGTERM, an error) kills every worker with SIGKILL and reaps it, which is
always safe: a killed worker can hold nothing the parent needs. ``Pool.terminate()`` is not:
it kills workers that may hold the lock of the queue its own task-handler thread still
writes to, and then joins that thread forever (CPython issue 96995); the suite's Ctrl-C
tests hung on it, rarely, under load. A worker that dies on its own (killed, out of memory)
stops the run with an error naming its file, where a Pool waited for its result forever.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import traceback
from collections.abc import Iterator
from typing import cast
from multiprocessing.connection import Connection, wait

from virtiodiag import wakeup
from virtiodiag.analysis import RunResult
from virtiodiag.options import AnalysisOptions, ReadOptions, RuleSettings
from virtiodiag.pipeline import analyse_path

# Set in the parent before the workers start (inherited by ``fork``) or by the worker.
_DIALECTS = None
_SETTINGS: RuleSettings | None = None
# The workers already fill the CPUs: no second scanning process per file.
_WORKER_READ = ReadOptions(second_process=False)
# The parent's ends of the workers' pipes started so far: a ``fork``ed worker closes its
# copies, so that each worker sees the end of its pipe when the parent is gone.
_PARENT_ENDS: list[Connection] = []
_HELD = {signal.SIGINT, signal.SIGTERM}


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _init_worker(options: AnalysisOptions) -> None:
    global _DIALECTS, _SETTINGS
    # Both signals are still blocked here (the parent holds them while it starts workers),
    # so the parent's handlers can never run in a worker. Ctrl-C reaches the whole process
    # group: the worker ignores it and the parent stops the run; SIGTERM ends a worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
    wakeup.forget()  # the parent's: a worker waits only on its own pipe
    for end in _PARENT_ENDS:
        end.close()
    _PARENT_ENDS.clear()
    _SETTINGS = options.settings
    if _DIALECTS is None:  # spawn / forkserver: nothing inherited
        _DIALECTS = options.load_dialects()


def _analyse_one(name: str) -> RunResult:
    return analyse_path(name, _DIALECTS, _SETTINGS, _WORKER_READ)


def _serve(pipe: Connection, options: AnalysisOptions) -> None:
    """A worker: a file name in, ``(True, result)`` or ``(False, exception, traceback)``
    out, until the parent closes the pipe or goes away."""
    _init_worker(options)
    while True:
        try:
            name = pipe.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple = (True, _analyse_one(name))
        except Exception as exc:  # noqa: BLE001 - raised again in the parent, in order
            reply = (False, exc, traceback.format_exc())
        try:
            pipe.send(reply)
        except (EOFError, OSError):  # the parent is gone
            return
        except Exception as exc:  # noqa: BLE001 - a result that does not pickle
            pipe.send((False, RuntimeError(f"{name}: the result could not be sent back: "
                                           f"{type(exc).__name__}: {exc}"),
                       traceback.format_exc()))


class _RemoteTraceback(Exception):
    """The worker's traceback, as the cause of the exception raised again in the parent
    (``--debug`` prints it)."""

    def __str__(self) -> str:
        return self.args[0]


class WorkerLost(RuntimeError):
    """A worker process ended without sending back the result of its file."""


class _Worker:
    def __init__(self, context, options: AnalysisOptions):
        self.pipe, child_end = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_end, options), daemon=True,
                                       name="virtiodiag-worker")
        self.index: int | None = None  # the input it is analysing
        _PARENT_ENDS.append(self.pipe)
        try:
            self.process.start()
        except BaseException:
            _PARENT_ENDS.remove(self.pipe)
            self.pipe.close()
            raise
        finally:
            child_end.close()  # the worker's alone: its end of the pipe closes with it

    def give(self, index: int, name: str) -> None:
        self.index = index
        self.pipe.send(name)

    def lost(self, name: str) -> WorkerLost:
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is None:
            how = "closed its pipe"
        elif code < 0:
            how = f"was killed by signal {-code} ({signal.strsignal(-code)})"
        else:
            how = f"exited with status {code}"
        return WorkerLost(f"{name}: the worker process analysing it {how} before it sent "
                          "back a result")


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM (blocked, so pending, never lost) in the calling thread and
    the processes it starts meanwhile; deliver them on exit."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
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
    ``jobs`` None or 0: one per available CPU. An exception raised for a file is raised
    here once every file before it is done, as a sequential run would raise it.
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
    workers: list[_Worker] = []
    done: list[RunResult] = []
    try:
        # Starting a worker forks. A signal that lands inside a fork's at-fork hooks
        # (logging's lock release) is "ignored" by Python and lost, and one that lands in
        # the child before its own handlers are set would run the parent's there: SIGINT
        # and SIGTERM wait, blocked, until the workers exist, and arrive just after.
        with _signals_held():
            context = multiprocessing.get_context()
            for _ in range(min(jobs, len(paths))):
                workers.append(_Worker(context, options))
        _run(workers, paths, done)
        return done
    except KeyboardInterrupt:
        # Stop now: the files being read and those queued are not analysed; the report
        # covers the finished ones, in order.
        raise PartialResults(done) from None
    finally:
        _stop(workers)
        _DIALECTS = previous


def _run(workers: list[_Worker], paths: list[str], done: list[RunResult]) -> None:
    """Give each idle worker the next file, one at a time; append the results to ``done``
    in the order of ``paths`` as they become complete."""
    queued = iter(enumerate(paths))
    back: dict[int, tuple] = {}  # results come back in any order: held until their turn
    busy: dict[Connection, _Worker] = {}
    for worker in workers:
        index, name = next(queued)
        worker.give(index, name)
        busy[worker.pipe] = worker
    # The wake-up pipe (wakeup.py) is watched too: a Ctrl-C that came just before the wait
    # began interrupts nothing, but its byte in that pipe ends the wait, and KeyboardInterrupt
    # is raised from it. Without it the run waited for its workers for ever.
    wake = wakeup.fd()
    watched: list = [] if wake is None else [wake]
    while len(done) < len(paths):
        for ready in wait([*busy, *watched]):
            if ready == wake:
                wakeup.drain()  # a signal whose handler did not stop the run
                continue
            worker = busy.pop(cast(Connection, ready))
            assert worker.index is not None
            try:
                back[worker.index] = worker.pipe.recv()
            except (EOFError, OSError):
                raise worker.lost(paths[worker.index]) from None
            worker.index = None
            following = next(queued, None)
            if following is not None:
                worker.give(*following)
                busy[worker.pipe] = worker
        while len(done) in back:
            reply = back.pop(len(done))
            if not reply[0]:
                raise reply[1] from _RemoteTraceback(reply[2])
            done.append(reply[1])


def _stop(workers: list[_Worker]) -> None:
    """Kill every worker (idle ones wait on their pipe; busy ones may be blocked on a FIFO
    nobody writes) and reap it: SIGKILL cannot be caught, ignored or held, and nothing a
    worker holds is shared with the parent or another worker. A second Ctrl-C waits until
    every worker is gone."""
    with _signals_held():
        _kill_and_reap(workers)


def _kill_and_reap(workers: list[_Worker]) -> None:
    for worker in workers:
        if worker.process.exitcode is None:
            with contextlib.suppress(OSError):
                worker.process.kill()
    for worker in workers:
        worker.process.join()
        worker.pipe.close()
        with contextlib.suppress(ValueError):
            _PARENT_ENDS.remove(worker.pipe)
