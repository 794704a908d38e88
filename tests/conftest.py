import contextlib
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _bytecode_outside_the_checkout() -> None:
    """PYTHONDONTWRITEBYTECODE (set in many CI containers, and on the machine of this
    suite's timings) makes every process of the suite compile virtiodiag from its source
    (~0.15 s CPU for each ``python -m virtiodiag`` the tests start) and pytest rewrite the
    asserts of every test module afresh in each worker. The checkout still gets no .pyc
    file, as asked: the test session and the processes it starts keep their bytecode in a
    private folder of the user's (0700, theirs; otherwise nothing changes). Bytecode is
    Python's own cache, checked against each source's size and time."""
    import stat
    import tempfile

    if not sys.dont_write_bytecode or sys.pycache_prefix is not None:
        return
    folder = Path(tempfile.gettempdir()) / f"virtiodiag-tests-pycache-{os.geteuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return
    if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid()
            or stat.S_IMODE(info.st_mode) & 0o077):
        return
    sys.pycache_prefix = str(folder)
    sys.dont_write_bytecode = False
    os.environ["PYTHONPYCACHEPREFIX"] = str(folder)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


_bytecode_outside_the_checkout()  # before virtiodiag is imported

from virtiodiag.dialects import registry  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"


def _hypothesis_profiles() -> None:
    """Examples per property test: ``ci`` (.ci/run, or CI set) runs 80, as every run did
    before; ``dev`` (a developer's run, every landing) 25. HYPOTHESIS_PROFILE picks one.
    Loaded by pytest_configure in the processes that run tests: a pytest-xdist controller
    runs none, and importing hypothesis cost it ~0.5 s CPU before it started the workers."""
    # Hypothesis runs the "hypothesis" entry points of every installed package when it is
    # imported: trio's (a dependency of selenium) imports trio, ~0.3 s CPU in each worker,
    # for tests of trio's own scheduler; none of these tests needs one.
    no_plugins = "HYPOTHESIS_NO_PLUGINS" not in os.environ
    if no_plugins:
        os.environ["HYPOTHESIS_NO_PLUGINS"] = "1"
    try:
        from hypothesis import settings
    finally:
        if no_plugins:
            del os.environ["HYPOTHESIS_NO_PLUGINS"]

    settings.register_profile("ci", max_examples=80)
    settings.register_profile("dev", max_examples=25)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                          or ("ci" if os.environ.get("CI") else "dev"))


# Test files whose tests boot QEMU guests (the e2e marker, the fresh captures): the
# scheduler gives each file's tests to one worker, and a lock (pytest_runtest_protocol)
# keeps any two boots from overlapping, in these files or any other.
QEMU_BOOT_FILES = ("test_run_e2e.py", "test_fresh_capture.py", "test_fresh_arch_capture.py")


# Files whose tests share a costly set-up (a module fixture, a per-process cache: sample
# logs analysed, grammars compiled, a browser started): one worker runs each file, so the
# set-up is done once per run, not once per worker (only the time it takes depends on it).
SHARED_SET_UP_FILES = ("test_json_streaming.py", "test_no_dialect_names.py",
                       "test_html_browser.py", "test_hostile_cache.py",
                       "test_module_patterns.py")
# Tests that read the built-in grammars compiled strictly (``strict_parser``: ~9 s of
# Lark's collision checks for all of them, 5 s for linux_console alone), once per
# process: one unit, so one worker compiles each grammar strictly once per run, not each
# worker (test_lexcache reads every grammar, test_dialects each grammar's samples).
STRICT_GRAMMAR_TESTS = ("test_dialects.py::", "test_lexcache.py::",
                        "test_grammar_cli.py::test_check_builtin_grammars_pass")
# Files whose tests mostly wait on child processes (signals, grace periods, live pipes):
# one unit each, so it starts early (larger units first) and its waits overlap the other
# workers' computing instead of ending the run.
WAITING_FILES = ("test_run.py", "test_live.py", "test_parallel.py")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """The whole suite (no test named on the command line: the README's command, .ci/run)
    runs on every core: pytest-xdist (a test extra) as ``-n auto``. Tests named on the
    command line run in one process (a worker costs ~1.5 s to start), and ``-n N`` always
    decides; without xdist installed, one process as before."""
    option = config.option
    if not config.pluginmanager.hasplugin("xdist") or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    whole_suite = getattr(config, "args_source", None) == pytest.Config.ArgsSource.TESTPATHS
    if whole_suite and option.numprocesses is None and not option.distload:
        option.numprocesses = "auto"


def _unit_of(nodeid: str) -> str | None:
    """The unit of several tests that test ``nodeid`` belongs to (None: it is one alone)."""
    path, _, test = nodeid.partition("::")
    if path.endswith(QEMU_BOOT_FILES):
        return "qemu-boots"
    if f"{path.rpartition('/')[2]}::{test}".startswith(STRICT_GRAMMAR_TESTS):
        return "strict-grammars"
    if path.endswith(SHARED_SET_UP_FILES + WAITING_FILES):
        return path
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's ``load`` (its default: each test a unit of work) but for units of several
    tests: the QEMU boots, one unit, so one worker boots them in turn, as a single process
    does (two TCG guests at once on a small machine each run at half speed against their
    time limits); each file of SHARED_SET_UP_FILES; the STRICT_GRAMMAR_TESTS.
    Larger units go first. xdist's own ``loadgroup`` reads groups from node ids that
    pytest 9 no longer lets it rename."""
    if config.option.dist != "load":
        return None
    import itertools

    from xdist.scheduler import LoadScopeScheduling

    class LoadWithQemuInTurn(LoadScopeScheduling):
        def __init__(self, config, log=None):
            super().__init__(config, log)
            self._open_units: dict[int, tuple[dict, list[int], list[dict]]] = {}
            self._places: dict[object, dict[str, int]] = {}

        def _split_scope(self, nodeid: str) -> str:
            return _unit_of(nodeid) or nodeid

        def _assign_work_unit(self, node) -> None:
            """xdist's, but a test's place in the worker's collection is looked up in a
            dict made once per worker: xdist's ``list.index`` goes through the ~7,000
            node ids for each unit handed out (most units are one test here), quadratic
            in the tests. The same unit, the same indexes sent."""
            scope, work_unit = self.workqueue.popitem(last=False)
            self.assigned_work.setdefault(node, {})[scope] = work_unit
            places = self._places.get(node)
            if places is None:
                collection = self.registered_collections[node]
                places = self._places[node] = {}
                for index, nodeid in enumerate(collection):
                    places.setdefault(nodeid, index)  # list.index: the first
            node.send_runtest_some([places[nodeid] for nodeid, completed in work_unit.items()
                                    if not completed])

        def _pending_of(self, workload: dict[str, dict[str, bool]]) -> int:
            """xdist's count of a worker's pending tests, without going again through
            the units found complete (a complete unit never has a pending test again):
            xdist's own goes through every unit the worker was ever given at the end of
            each test, quadratic in the units (~3000 single tests here: seconds of the
            controller's CPU). The workload is held, so its id names no other."""
            kept = self._open_units.get(id(workload))
            if kept is None or kept[0] is not workload:
                kept = self._open_units[id(workload)] = (workload, [0], [])
            _, seen, open_units = kept
            if len(workload) > seen[0]:  # units given since (a dict keeps their order)
                open_units.extend(itertools.islice(workload.values(), seen[0], None))
                seen[0] = len(workload)
            open_units[:] = [unit for unit in open_units if False in unit.values()]
            return sum(list(unit.values()).count(False) for unit in open_units)

    return LoadWithQemuInTurn(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session):
    """Under pytest-xdist, each worker imports every test module to collect it, in the same
    order. On a fresh checkout nothing is compiled yet: each of them compiled every test
    module with its asserts rewritten, and the package's modules, the same work twice at
    the same moment (~5 s CPU each on this project's 2-core machine: collecting took 7.9 s
    CPU cold against 2.6 s warm, one process). Worker k of n first imports the test modules
    from the k/n-th one on: the workers start at different places, each compiles what it
    reaches first, and reads what another has compiled (pytest keeps rewritten modules'
    bytecode beside Python's, checked against each source's size and time). Only the order
    of the imports changes; what pytest collects, and how, does not. A module that fails
    to import is left for pytest's own collection to import and report."""
    _import_from_this_workers_place(session.config)


def _import_from_this_workers_place(config) -> None:
    import importlib

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    if (not worker.startswith("gw") or count < 2
            or getattr(config, "args_source", None) != pytest.Config.ArgsSource.TESTPATHS):
        return
    files = sorted(Path(__file__).resolve().parent.glob("test_*.py"))
    start = len(files) * (int(worker[2:]) % count) // count
    if start == 0:
        return  # pytest's own order
    for path in files[start:]:
        if path.stem in sys.modules:
            continue
        try:
            importlib.import_module(path.stem)  # as pytest's "prepend" import mode does
        except (Exception, pytest.skip.Exception):  # noqa: BLE001 - pytest reports it
            sys.modules.pop(path.stem, None)


FEW_CASES = 3  # a function with more cases is taken for one parametrised over many inputs


def _few_cases_first(items) -> None:
    """Of the tests the scheduler hands out one by one (in no unit: _unit_of), those of
    functions with at most FEW_CASES cases first, the others after them, each part in
    collection order; the tests of a unit keep theirs (its module fixtures, a fresh
    capture's boots, are set up once).

    The scheduler hands out single tests in collection order, and whichever long test it
    hands out last ends the run on one worker alone (test_shapes' every-sample test, then
    test_wanting's two cases, collected late, each left one worker running 10-20 s after
    the other in a loaded run). A function that reads every sample in one test is a long
    test; one parametrised over the samples is many short ones. Starting with the
    functions of few cases starts the long ones early and ends the run on short ones,
    with no list of names or timings to keep: replayed on the per-test timings of two
    loaded runs, the two workers end within 0.1 s, as with the tests ordered by their
    measured durations. A module is cut in two at most (its module fixtures set up once
    more on a worker: the files of cheap ones). Only the order changes."""
    from collections import Counter

    def function(item) -> tuple:
        return item.path, getattr(item, "originalname", item.name)

    cases = Counter(map(function, items))
    items.sort(key=lambda item: _unit_of(item.nodeid) is None
               and cases[function(item)] > FEW_CASES)


def _boots_guests(item) -> bool:
    return item.get_closest_marker("e2e") is not None or item.path.name in QEMU_BOOT_FILES


# Seconds before pytest-timeout takes a test that boots guests for hung (pyproject's
# ``timeout`` for the others): a fresh capture runs its script for up to 2400 s.
BOOT_TEST_TIMEOUT = 3000


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config, items):
    """Every test that boots guests carries the e2e marker (the files of QEMU_BOOT_FILES
    too, whatever their own marks), so ``-m "not e2e"`` is the whole suite with the QEMU
    boots aside; and gets BOOT_TEST_TIMEOUT. Under pytest-xdist, the tests of functions
    with few cases first (_few_cases_first)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        _few_cases_first(items)
    for item in items:
        if not _boots_guests(item):
            continue
        if item.get_closest_marker("e2e") is None:
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(BOOT_TEST_TIMEOUT))


# Young collections between two full passes of the collector in a process that runs tests
# (Python's 10): see pytest_collection_finish.
FULL_COLLECTION_EVERY = 100


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """What exists once the tests are collected (every module imported, the ~2,000 test
    items) lives until the process ends: collected once more, then frozen (``gc.freeze``,
    as the CLI does after start-up: virtiodiag/collector.py), so that the collector's
    full passes during the run, and pytest's own at its end, go through only what the
    tests made since. The collection first: no garbage is frozen, so every finaliser
    runs as before.

    What the tests keep for the session (the compiled grammars, the shared dialects and
    analyses: hundreds of thousands of objects) was gone through again by each full pass,
    one every 10 middle-generation passes: ~10 % of the CPU of the tests in one process.
    A full pass now comes after FULL_COLLECTION_EVERY of them; the young generations are
    collected as before (their thresholds unchanged), so garbage that dies young goes as
    soon as before, and a cycle that reached the old generation goes at the next full
    pass, later. What the tests see of the collector: enabled, the young thresholds as
    Python sets them; tests compare the freeze count and the thresholds before and after
    a command, never their values."""
    gc.collect()
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """A test that boots guests (its fixtures' set-up and tear-down included) holds the
    session's boot lock: under pytest-xdist, two workers never boot at once. After a test
    in which the collector made a full pass, what survived it is frozen
    (_freeze_after_a_full_pass)."""
    full_passes = gc.get_stats()[2]["collections"]
    if not _boots_guests(item) or not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
    else:
        import fcntl

        with open(f"{_e2e_root(worker=False)}.boot-lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
    _freeze_after_a_full_pass(full_passes)


def _freeze_after_a_full_pass(before: int) -> None:
    """What the tests keep for the session is made by the tests that first need it (the
    shared analyses of every sample and fixture, their reports, the compiled and strict
    grammars, the shared dialects), after the collection's freeze: each full pass went
    through all of it again, ~0.23 s each, 10 passes in each worker of a run (4.7 s of the
    workers' CPU, a gc.callbacks count). A full pass has just gone through everything: what
    it left is what lives, and once the test that saw the pass has ended (its own objects
    gone with it) it is frozen, as at the collection's end, so the next full passes go
    through what the tests made since. Between tests only: no test sees the freeze count
    change while it runs (test_collector compares it before and after a command). A cycle
    frozen here that dies later is freed when the process ends, not before: at most what
    a test left between a full pass and its end, ten times a run."""
    if gc.get_stats()[2]["collections"] != before:
        gc.collect(1)  # the test's young garbage first: only what lives is frozen
        gc.freeze()


# ``python -c`` source that runs the CLI with SIGINT and SIGTERM blocked in its main thread
# and open in a helper thread that only sleeps. The kernel then hands a signal sent to the
# process to the helper: Python's C-level handler records it while the main thread stays
# blocked in a system call, which that signal does not interrupt. This is what a signal
# does when it lands, on a loaded machine, just before the main thread's call starts to
# wait (virtiodiag/wakeup.py): made certain instead of rare. ``{before}``: more set-up.
SIGNAL_BESIDE_THE_WAIT_CLI = """
import os, signal, sys, threading, time
{before}
held = {{signal.SIGINT, signal.SIGTERM}}
signal.pthread_sigmask(signal.SIG_BLOCK, held)


def receive():
    signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
    while True:
        time.sleep(3600)


threading.Thread(target=receive, daemon=True).start()
sys.argv[0] = "virtiodiag"
from virtiodiag.cli import main
main()
"""


def main_thread_waits(pid) -> bool:
    """Whether the main thread of process ``pid`` sleeps in the kernel, in a call that
    waits (``poll``, ``select``, ``read`` of a pipe)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/stat") as handle:
            state = handle.read().rpartition(")")[2].split()[0]
        with open(f"/proc/{pid}/task/{pid}/wchan") as handle:
            where = handle.read()
    except (OSError, IndexError):
        return False
    return state == "S" and any(word in where for word in ("poll", "select", "pipe"))


def run_cli_process(*args, stdin=None, env=None, timeout=120):
    """Run ``python -m virtiodiag`` in a child process, as a user would; for what only a
    process shows (the real entry point's exit, signals, pipes read live, ``run``'s
    guests); everything else runs in process (``run_cli``). Returns CompletedProcess."""
    full_env = dict(os.environ)
    full_env.pop("GITHUB_ACTIONS", None)
    full_env["NO_COLOR"] = "1"
    if env:
        full_env.update(env)
    argv, preexec = ending_with_pytest([sys.executable, "-m", "virtiodiag", *map(str, args)])
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout,
                          env=full_env, cwd=REPO, preexec_fn=preexec)


def wait_for_output(stream, needle: bytes, timeout: float = 60.0) -> bytes:
    """Read a child's output pipe until ``needle`` appears (a readiness signal, never a
    pause); returns what was read. Fails after ``timeout`` seconds or at the end of output."""
    import select
    import time

    seen = b""
    deadline = time.monotonic() + timeout
    fd = stream.fileno()
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} never came; output so far: {seen!r}"
        if select.select([fd], [], [], left)[0]:
            block = os.read(fd, 65536)
            assert block, f"the output ended without {needle!r}: {seen!r}"
            seen += block
    return seen


def wait_until_drained(pipe, timeout: float = 60.0) -> None:
    """Until a child has read everything written to its input pipe (a readiness signal:
    what comes next arrives in a later read)."""
    import fcntl
    import termios
    import time

    deadline = time.monotonic() + timeout
    waiting = bytearray(4)
    while True:
        fcntl.ioctl(pipe.fileno(), termios.FIONREAD, waiting)
        if not int.from_bytes(waiting, sys.byteorder):
            return
        assert time.monotonic() < deadline, "the child never read its input"
        time.sleep(0.01)


def ending_with_pytest(argv: list[str]) -> tuple[list[str], object]:
    """``argv`` and a preexec_fn for subprocess, so that the child gets SIGTERM when pytest
    dies (ends_with_pytest). Through util-linux's ``setpriv --pdeathsig``, which sets the
    signal and executes ``argv`` in its place (the same process, the same id), when there
    is one: a preexec_fn makes subprocess fork the whole test process instead of vfork-ing
    it and run Python in the child before its exec (~12 ms of CPU more per child, parent
    and child, for a worker of 70 MB; more for a larger one). Else ``argv`` as it is and
    ends_with_pytest as the preexec_fn."""
    setpriv = _setpriv()
    if setpriv is None:
        return argv, ends_with_pytest
    return [setpriv, "--pdeathsig", "TERM", "--", *argv], None


_SETPRIV: list = []


def _setpriv() -> str | None:
    """setpriv's path if it takes --pdeathsig (util-linux 2.33 on), once per process."""
    if not _SETPRIV:
        import shutil

        found = shutil.which("setpriv")
        if found is not None and subprocess.run(
                [found, "--pdeathsig", "TERM", "--", "true"], capture_output=True,
                timeout=60).returncode != 0:
            found = None
        _SETPRIV.append(found)
    return _SETPRIV[0]


def ends_with_pytest() -> None:
    """preexec_fn: SIGTERM to the child when pytest dies (killed, not only interrupted),
    so a `virtiodiag run` under test stops its guest then too."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_cli(*args, stdin=None, env=None, cwd=REPO, internal_error=False):
    """``virtiodiag ARGS`` in this process: all that ``python -m virtiodiag`` does but its
    signal handlers and its exit (``cli.run_command``: the guarded output streams, exit
    statuses, internal errors as one line). Standard input is a real pipe, as a shell
    gives it (read live, gzip told by its magic bytes); the working directory is the
    repository's (``cwd``: another; None: the current one). Returns a CompletedProcess with bytes, like ``run_cli_process``.
    An internal error (a bug of ours: exit 2 like a usage error) fails the test unless
    ``internal_error`` says the test provokes one."""
    import contextlib
    import io
    import threading

    from click.testing import CliRunner

    from virtiodiag.cli import DEBUG_ENV, run_command

    args = [str(a) for a in args]
    # None removes a variable for the run; CliRunner puts every one back afterwards
    # (``--debug`` sets VIRTIODIAG_DEBUG for -j workers: it must not outlive the run).
    full = {"NO_COLOR": "1", "GITHUB_ACTIONS": None, DEBUG_ENV: None}
    full.update(env or {})
    read_end, write_end = os.pipe()

    def feed():
        try:
            view = memoryview(stdin or b"")
            while view:
                view = view[os.write(write_end, view):]
        except OSError:  # BrokenPipeError: the command stopped reading
            pass
        finally:
            os.close(write_end)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    where = contextlib.nullcontext() if cwd is None else contextlib.chdir(cwd)
    with where, CliRunner().isolation(env=full) as (out, err, _mixed), \
            pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(registry, "compile_grammar", _compiled_once)
        monkeypatch.setattr(registry, "load_dialect", _dialect_once)
        sys.stdin = io.TextIOWrapper(open(read_end, "rb"), encoding="utf-8")  # noqa: SIM115
        try:
            code = run_command(args, prog_name="python -m virtiodiag")
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            sys.stdin.close()  # the feeder, if still writing, stops (EPIPE)
            feeder.join()
    if not internal_error:
        assert b"virtiodiag: internal error:" not in err.getvalue(), err.getvalue().decode()
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


# Grammars compiled by the commands run in process, once per file and text (a new process
# compiles each grammar it needs or loads it from its cache). The cache itself is tested
# by test_lexcache.py and test_hostile_cache.py, through the registry or in a process.
_COMPILED: dict[tuple, object] = {}


def _compiled_once(path, strict=False, cache=True):
    """``registry.compile_grammar`` while ``run_cli`` runs a command."""
    import hashlib

    path = Path(path).resolve()
    if strict and not registry.is_user_grammar(path):
        return strict_parser(path)
    try:
        key = (path, hashlib.sha256(path.read_bytes()).digest(), strict, cache)
    except OSError:
        return _COMPILE_GRAMMAR(path, strict=strict, cache=cache)
    if key not in _COMPILED:
        _COMPILED[key] = _COMPILE_GRAMMAR(path, strict=strict, cache=cache)
    return _COMPILED[key]


# The built-in dialects read by the commands run in process, once per file and text (a new
# process reads each grammar's directives: ~8 ms of every command, most of a command's
# time on a short log). A Dialect holds its grammar's directives and what it compiles from
# them on first use (its parser, its match pattern), the same whoever asks first; a
# DialectSet of them keeps no parse result (its LineDecoder does, one per Analysis), so
# the commands stay independent as those of ``-j 1`` sharing one set (test_parallel.py).
_DIALECTS: dict[tuple, object] = {}


def _dialect_once(path, strict=False, cache=True, lazy=False, index=None):
    """``registry.load_dialect`` while ``run_cli`` runs a command or ``analysed`` analyses
    a log: a built-in grammar's Dialect once per file as it is (its place, the built-in
    folder, and the file's identity, size and time of change, as Python checks its own
    bytecode)."""
    if strict or not cache or not lazy:
        return _LOAD_DIALECT(path, strict=strict, cache=cache, lazy=lazy, index=index)
    try:
        info = os.stat(path)
    except OSError:
        return _LOAD_DIALECT(path, strict=strict, cache=cache, lazy=lazy, index=index)
    key = (str(path), registry.builtin_grammar_dir(), info.st_dev, info.st_ino, info.st_size,
           info.st_mtime_ns)
    dialect = _DIALECTS.get(key)
    if dialect is None:
        dialect = _LOAD_DIALECT(path, strict=strict, cache=cache, lazy=lazy, index=index)
        if not registry.is_user_grammar(Path(path)):
            _DIALECTS[key] = dialect
    return dialect


def invoke_cli(*args, stdin: str | None = None, cwd=None, **options):
    """``run_cli`` with text in and out (str stdin, stdout and stderr), in the current
    directory unless ``cwd`` says another."""
    proc = run_cli(*args, stdin=None if stdin is None else stdin.encode(), cwd=cwd, **options)
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       proc.stdout.decode("utf-8", "replace"),
                                       proc.stderr.decode("utf-8", "replace"))


# Reports of the repository's own logs (samples/, tests/fixtures/), analysed once per
# session for each set of options and shared by every test that reads them: in each
# process here, and between pytest-xdist's workers through SHARED_REPORTS_ENV's folder.
_REPORTS: dict[tuple[str, tuple[str, ...]], str] = {}
_RESULTS: dict[str, bytes] = {}
SHARED_REPORTS_ENV = "VIRTIODIAG_TEST_REPORTS"


def report_text(path, *extra) -> str:
    """What ``virtiodiag analyze --format json EXTRA PATH`` prints (run in process, with
    the grammars loaded afresh as in a new process). A file of the repository (none
    changes during a session) is analysed once per session and set of options; any other
    file on each call. With no EXTRA, a repository file's report is ``analysed``'s result
    rendered as the command renders it (test_shared_analyses.py: the command's bytes)."""
    path = Path(path)
    key = (str(path.resolve()), tuple(map(str, extra)))
    text = _REPORTS.get(key)
    if text is None:
        def analyse() -> str:
            proc = run_cli("analyze", "--format", "json", *extra, path)
            assert proc.returncode in (0, 1), proc.stderr.decode()
            return proc.stdout.decode()

        if not path.resolve().is_relative_to(REPO):
            return analyse()
        def rendered() -> str:  # the command's own rendering of its result, in process
            return render_json(analysed(path))

        text = _REPORTS[key] = _made_once_by_the_workers(key, analyse if extra else rendered)
    return text


def render_json(result) -> str:
    """A RunResult's JSON report, as ``analyze --format json`` writes it."""
    import io

    from virtiodiag.options import ReportOptions
    from virtiodiag.reports import get_reporter

    out = io.StringIO()
    get_reporter("json").render([result], out, ReportOptions())
    return out.getvalue()


def analysed(path):
    """The RunResult of ``virtiodiag analyze PATH`` for a file of the repository (a sample
    log, a fixture): analysed in process once per session, as the command does it (its
    defaults, the built-in grammars loaded afresh, compiled once per session like
    ``run_cli``'s), and shared by every test that reads it, between pytest-xdist's workers
    too (pickled). Each call returns a copy of its own: a test may change it."""
    import pickle

    path = Path(path)
    key = str(path.resolve())
    assert path.resolve().is_relative_to(REPO), path  # none changes during a session
    made = _RESULTS.get(key)
    if made is None:
        def analyse() -> bytes:
            from virtiodiag.dialects import load_dialects
            from virtiodiag.options import ReadOptions, RuleSettings
            from virtiodiag.pipeline import analyse_path

            with pytest.MonkeyPatch.context() as monkeypatch, contextlib.chdir(REPO):
                monkeypatch.setattr(registry, "compile_grammar", _compiled_once)
                monkeypatch.setattr(registry, "load_dialect", _dialect_once)
                # `analyze PATH`: a regular file, not live, a progress bar only on a
                # terminal (runner.run_analyze); one input, so no run-level findings.
                result = analyse_path(str(path), load_dialects(), RuleSettings(),
                                      ReadOptions(progress=True))
            assert result.error is None, result.error
            return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)

        made = _RESULTS[key] = _made_once_by_the_workers((key, ("result",)), analyse,
                                                         binary=True)
    return pickle.loads(made)


def caches_report(path, caches) -> str:
    """The JSON report (what ``analyze --format json`` prints) of a repository log analysed
    in process with the decoder caches ``caches`` (decoder.Caches; the shared grammars),
    once per session and set of caches: test_caches.py compares the same runs with
    ``report_text``'s (every cache on)."""
    path = Path(path)
    key = (str(path.resolve()), ("caches",) + tuple(getattr(caches, name) for name in
                                                     caches.FIELDS))
    assert path.resolve().is_relative_to(REPO), path  # none changes during a session
    text = _REPORTS.get(key)
    if text is None:
        text = _REPORTS[key] = _made_once_by_the_workers(
            key, lambda: report_with_caches(path, caches, shared_dialects()))
    return text


def report_with_caches(path, caches, dialects) -> str:
    """The JSON report of ``path`` analysed now, in process, by ``dialects`` (a loaded
    DialectSet) with the decoder caches ``caches``: ``caches_report`` without its share."""
    import io

    from virtiodiag.analysis import Analysis, RuleSettings
    from virtiodiag.options import ReportOptions
    from virtiodiag.reports import get_reporter

    analysis = Analysis(str(path), dialects, RuleSettings(), caches=caches)
    with open(path, "rb") as handle:
        analysis.feed_all(iter(lambda: handle.read(1 << 16), b""))
    out = io.StringIO()
    get_reporter("json").render([analysis.finish()], out, ReportOptions())
    return out.getvalue()


def _made_once_by_the_workers(key: tuple, make, binary: bool = False):
    """``make()``, or what another worker of the session made for ``key``: the first to
    need it makes it under a lock and keeps it in the session's folder of reports (text,
    or bytes when ``binary``)."""
    folder = os.environ.get(SHARED_REPORTS_ENV)
    if not folder or not os.environ.get("PYTEST_XDIST_WORKER"):
        return make()
    import fcntl
    import hashlib

    name = hashlib.sha256(repr(key).encode()).hexdigest()
    made = Path(folder) / f"{name}.{'bin' if binary else 'json'}"
    with open(Path(folder) / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if made.is_file():
            data = made.read_bytes()
            return data if binary else data.decode()
        value = make()
        part = made.with_suffix(".part")
        part.write_bytes(value if binary else value.encode())
        part.replace(made)
        return value


@pytest.hookimpl(hookwrapper=True)
def pytest_terminal_summary(terminalreporter):
    """Hypothesis' summary imports hypothesis in a pytest-xdist controller, which runs no
    test and never imported it: at the very end of the run, ~0.5 s CPU, half of it the
    "hypothesis" entry points of installed packages (trio's), which the workers skip
    too (_hypothesis_profiles); only this summary's import skips them here."""
    if "hypothesis" in sys.modules or "HYPOTHESIS_NO_PLUGINS" in os.environ:
        yield
        return
    os.environ["HYPOTHESIS_NO_PLUGINS"] = "1"
    try:
        yield
    finally:
        del os.environ["HYPOTHESIS_NO_PLUGINS"]


def pytest_configure(config):
    """The controller of a pytest-xdist run makes the session's folder of reports
    (private: mkdtemp) before it starts the workers, which find it in their environment.
    Every other process (a worker, a run in one process) loads the hypothesis profile."""
    import tempfile

    if os.environ.get("PYTEST_XDIST_WORKER") or not getattr(config.option, "numprocesses",
                                                             None):
        _hypothesis_profiles()
        return
    os.environ[SHARED_REPORTS_ENV] = tempfile.mkdtemp(prefix="virtiodiag-test-reports-",
                                                      dir=_memory_folder())


def _memory_folder() -> str | None:
    """/dev/shm when it is a folder this user may write (a tmpfs on Linux), else None (the
    temporary folder). The session's ~1,500 shared reports (~20 MB) are removed at its
    end: on a disk mounted with online discard, removing them, written back minutes
    before, took 4-12 s of the run's wall time after its last test (measured on this
    project's 2-core machine); a tmpfs never writes them to a disk."""
    folder = "/dev/shm"
    return folder if os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK) else None


def analyse_json(path, *extra) -> dict:
    """``report_text`` read into a new dict (the test may change it)."""
    return json.loads(report_text(path, *extra))


def shared_dialects():
    """The built-in grammars, loaded once per session for the tests that analyse whole
    logs. An Analysis keeps every cache of parse results in its own LineDecoder, so runs
    that share the set stay independent (``-j 1`` shares it the same way;
    tests/test_parallel.py checks each sample gives alone what it gives after the others)."""
    global _SHARED_DIALECTS
    if _SHARED_DIALECTS is None:
        from virtiodiag.dialects import load_dialects

        _SHARED_DIALECTS = load_dialects()
    return _SHARED_DIALECTS


def dialects_with(extra):
    """``load_dialects(extra)``: the user grammars ``extra`` (paths) read now, first, then
    the built-in ones, their Dialects shared as ``run_cli``'s are (``_dialect_once``)."""
    from virtiodiag.dialects import load_dialects

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(registry, "load_dialect", _dialect_once)
        return load_dialects(list(map(str, extra)))


_SHARED_DIALECTS = None
_STRICT: dict[Path, object] = {}
_COMPILE_GRAMMAR = registry.compile_grammar  # the real one, whatever a test patches
_LOAD_DIALECT = registry.load_dialect


def strict_parser(path: Path):
    """A built-in grammar compiled strictly (Lark's collision checks: seconds for some
    grammars), once per session: tests/test_dialects.py, test_lexcache.py and
    ``grammar check`` of the built-in grammars read the same grammar files."""
    path = Path(path).resolve()
    if path not in _STRICT:
        try:
            _STRICT[path] = _COMPILE_GRAMMAR(path, strict=True)
        except Exception as exc:  # noqa: BLE001 - raised again to every test of the grammar
            _STRICT[path] = exc
    if isinstance(_STRICT[path], Exception):
        raise _STRICT[path]
    return _STRICT[path]


def _share_strict(monkeypatch) -> None:
    def compile_grammar(path, strict=False, cache=True):
        if strict and not registry.is_user_grammar(Path(path)):
            return strict_parser(path)
        return _COMPILE_GRAMMAR(path, strict=strict, cache=cache)

    monkeypatch.setattr(registry, "compile_grammar", compile_grammar)


def strict_dialect(path: Path):
    """``load_dialect(path, strict=True)`` of a built-in grammar, its parser shared."""
    from virtiodiag.dialects.registry import load_dialect

    with pytest.MonkeyPatch.context() as monkeypatch:
        _share_strict(monkeypatch)
        return load_dialect(path, strict=True)


# The syntax trees of the package's source files, once per process and version of each file
# (its size and time of change, as Python checks its bytecode): the tests that read the
# code itself (the import graph, the model's layout, what the rules may read) parse the
# same modules, each several times. A tree and its nodes are only read, never changed.
_SOURCE_TREES: dict[tuple, tuple] = {}


def _source(path) -> tuple:
    import ast

    path = Path(path).resolve()
    info = path.stat()
    key = (path, info.st_size, info.st_mtime_ns)
    made = _SOURCE_TREES.get(key)
    if made is None:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        made = _SOURCE_TREES[key] = (tree, tuple(ast.walk(tree)))
    return made


def source_tree(path):
    """``ast.parse`` of the source file ``path``, shared (see _SOURCE_TREES)."""
    return _source(path)[0]


def source_nodes(path) -> tuple:
    """Every node of ``source_tree(path)`` in ``ast.walk``'s order, shared."""
    return _source(path)[1]


@pytest.fixture
def cli():
    return run_cli


# ---- guests booted by the end-to-end tests ------------------------------------------------
# Every guest of a test session carries the session's folder in its command line, so the
# checks below find exactly this session's processes (other QEMUs may run on the machine).
def _e2e_root(worker: bool = True):
    """The session's folder. Under pytest-xdist each worker has its own (the session's
    name, then the worker's), so one worker's end never removes a folder another uses; the
    controller's name is a prefix of its workers' (its final check covers theirs).
    ``worker=False``: the session's name alone, the same in every worker."""
    import tempfile

    name = os.environ.get("PYTEST_XDIST_WORKER")
    session = os.getppid() if name else os.getpid()  # a worker is the controller's child
    tag = os.environ.get("VIRTIODIAG_E2E_TAG") or f"pid{session}"
    parts = ("virtiodiag-e2e", tag, name if worker else None)
    return Path(tempfile.gettempdir()) / "-".join(filter(None, parts))


@pytest.fixture(scope="session")
def dialects():
    """The built-in dialects, loaded once per test process (``shared_dialects``): nothing
    a test does changes them, and every cache they hold gives the result a fresh load
    gives (test_caches)."""
    return shared_dialects()


@pytest.fixture(scope="session")
def e2e_dir():
    import shutil

    root = _e2e_root()
    root.mkdir(parents=True, exist_ok=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def leftover_processes(marker: str) -> list[str]:
    """Processes (other than this one) whose command line contains ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if marker in cmdline and "pytest" not in cmdline:
            found.append(f"{entry}: {cmdline[:200]}")
    return found


def pytest_sessionstart(session):
    """No configuration file of a user's may apply to the tests: a virtiodiag.toml (or a
    pyproject.toml with [tool.virtiodiag]) in a folder above the checkout or the temporary
    folders (one left in /tmp) would change what many tests see. Said once, at the start,
    instead of failures that look random."""
    import tempfile

    from virtiodiag.config import find_config

    for where in (REPO, Path(tempfile.gettempdir())):
        found = find_config(where)
        if found is not None:
            raise pytest.UsageError(
                f"{found} applies to {where}: the tests need no virtiodiag configuration "
                "file around the checkout or the temporary folder; move it away")


def pytest_sessionfinish(session, exitstatus):
    """Even after an interrupted session: no guest of ours may be left; kill and fail."""
    import signal
    import time

    if not os.environ.get("PYTEST_XDIST_WORKER"):  # the workers have ended
        Path(f"{_e2e_root(worker=False)}.boot-lock").unlink(missing_ok=True)
        reports = os.environ.pop(SHARED_REPORTS_ENV, None)
        if reports and getattr(session.config.option, "numprocesses", None):
            import shutil

            shutil.rmtree(reports, ignore_errors=True)
    marker = str(_e2e_root())
    left = leftover_processes(marker)
    if not left:
        return
    # A guest being stopped right now gets a moment to go: until its processes are gone,
    # for 2 s at most (a readiness wait, not a pause).
    deadline = time.monotonic() + 2
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = leftover_processes(marker)
    for entry in left:
        try:
            os.kill(int(entry.split(":", 1)[0]), signal.SIGKILL)
        except OSError:
            pass
    if left:
        sys.stderr.write("\nvirtiodiag tests: processes were left behind (now killed):\n  "
                         + "\n  ".join(left) + "\n")
        session.exitstatus = 1


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """A pytest-xdist worker has sent its last report: what it still holds (the grammars,
    the session's shared analyses, every module) is freed as the interpreter ends, and
    the garbage collector went through all of it again on the way (~1 s CPU over the two
    workers of a run of 182 tests; the controller waits for them before it ends). Frozen,
    the collector leaves those objects alone: they go with the process."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        gc.freeze()
