"""`virtiodiag run` without a guest: the command line it builds, the stream it reads, its
stop conditions, and that no child ever outlives it (killed, interrupted or not).

The commands here are small shell scripts standing in for QEMU: they print what a guest
console and QEMU's trace would, so the analysis is the real one.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from conftest import REPO, analyse_json, leftover_processes, wait_for_output
# `virtiodiag run` in a process of its own, always: it becomes a child subreaper, handles
# signals and reaps process groups, none of which may happen to the test session.
from conftest import run_cli_process as run_cli
from virtiodiag.launch.qemu_args import network_warnings, prepare, serial_on_stdout

# One write of the three lines: with a short --stall-timeout, a loaded machine that paused
# the shell between two echos made a stall at an earlier step.
TRACE = ("printf '%s\\n' '1@100.000001:virtio_set_status vdev 0x55aa val 1' "
         "'1@100.000002:virtio_set_status vdev 0x55aa val 3' "
         "'1@100.000003:virtio_set_status vdev 0x55aa val 11' >&2; ")


def test_qemu_gets_traces_timestamps_and_its_own_monitor():
    command = prepare(["/usr/bin/qemu-system-x86_64", "-M", "pc"], qmp_path="x/qmp.sock")
    assert command.argv[:3] == ["/usr/bin/qemu-system-x86_64", "-M", "pc"]
    assert command.added == ["-trace", "virtio_*", "-msg", "timestamp=on",
                             "-qmp", "unix:x/qmp.sock,server=on,wait=off"]


def test_what_the_command_already_chooses_is_left_alone():
    argv = ["qemu-system-aarch64", "--trace", "events=e", "-msg", "timestamp=off",
            "-qmp", "tcp:localhost:4444", "-nographic"]
    command = prepare(argv, qmp_path="q")
    assert command.argv == argv and command.added == []
    assert "own QMP monitor" in command.qmp_note
    assert prepare(["qemu-system-x86_64", "-d", "trace:virtio_set_status"]).added == \
        ["-msg", "timestamp=on"]
    assert prepare(["qemu-system-x86_64"], trace=False).added == ["-msg", "timestamp=on"]


def test_other_commands_run_as_given():
    command = prepare(["./boot-my-board.sh", "-trace"], qmp_path="q")
    assert command.argv == ["./boot-my-board.sh", "-trace"] and command.added == []


def test_network_backends_are_reported_never_added():
    assert network_warnings(["qemu-system-x86_64", "-netdev", "user,id=n0,restrict=on",
                             "-device", "virtio-net-pci,netdev=n0"]) == []
    [warning] = network_warnings(["qemu-system-x86_64", "-netdev", "tap,id=n0"])
    assert "tap,id=n0" in warning and "restrict=on" in warning
    assert network_warnings(["qemu-system-x86_64", "-nic", "user"])
    command = prepare(["qemu-system-x86_64", "-device", "virtio-net-pci"], qmp_path="q")
    assert not any(a.startswith(("-netdev", "-nic", "-net")) for a in command.added)


def test_console_on_stdout_is_recognised():
    assert serial_on_stdout(["qemu-system-x86_64", "-serial", "stdio"])
    assert serial_on_stdout(["qemu-system-x86_64", "-nographic"])
    assert serial_on_stdout(["qemu-system-x86_64", "-serial", "mon:stdio"])
    assert not serial_on_stdout(["qemu-system-x86_64", "-serial", "file:c"])


def test_stall_stops_the_command_and_names_the_step(tmp_path):
    log = tmp_path / "stall.log"
    # The command never ends by itself; --timeout would stop it too, but says so.
    script = TRACE + "echo 'guest: probing'; exec sleep 3600"
    proc = run_cli("run", "--stall-timeout", "0.3", "--timeout", "60", "--save-log", log,
                   "--", "sh", "-c", script, timeout=180)
    out = proc.stdout.decode()
    assert proc.returncode == 1, proc.stderr.decode()
    assert "VD003" in out and "stalled at FEATURES_OK" in out
    assert "stopped at --stall-timeout" in out
    assert b"guest: probing" in log.read_bytes()


def test_until_stops_the_command_at_the_matching_line():
    # The command never ends by itself: only --until can end the run (a hang fails the
    # test at run_cli's timeout).
    script = TRACE.replace("val 11", "val 15") + "echo 'TEST PASS'; exec sleep 3600"
    proc = run_cli("run", "--until", "^TEST PASS$", "--", "sh", "-c", script, timeout=180)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert "--until matched (console line 4)" in proc.stdout.decode()


def test_timeout_stops_a_command_that_ignores_sigterm():
    # Never ends by itself and ignores SIGTERM: only the SIGKILL that follows it
    # --kill-grace later can end the run (a hang fails the test at run_cli's timeout), and
    # the command's status says that SIGKILL ended it.
    script = "trap '' TERM; echo started; while :; do sleep 0.1; done"
    proc = run_cli("run", "--timeout", "1", "--kill-grace", "0.2", "--format", "json", "--",
                   "sh", "-c", script, timeout=180)
    run = json.loads(proc.stdout)["run"]
    assert (run["stop"], run["why"]) == ("timeout", "stopped at --timeout (1 s)")
    assert run["exit_status"] == -signal.SIGKILL


def test_the_json_report_says_how_the_run_ended():
    proc = run_cli("run", "--stall-timeout", "0.3", "--format", "json", "--",
                   "sh", "-c", TRACE + "exec sleep 3600", timeout=180)
    run = json.loads(proc.stdout)["run"]
    assert run["stop"] == "stall" and run["exit_status"] is not None
    assert run["added_arguments"] == []  # not QEMU: run as given
    assert analyse_json(REPO / "samples/modern-pci/combined.log")["run"] is None


def test_daemonize_is_refused():
    # Refused before anything starts (no process, no signal handler): in process.
    from conftest import run_cli as run_in_process

    proc = run_in_process("run", "--", "qemu-system-x86_64", "-daemonize", "-M", "pc")
    assert proc.returncode == 2 and b"remove -daemonize" in proc.stderr


def test_a_command_that_fails_is_an_error_not_a_pass():
    proc = run_cli("run", "--", "sh", "-c", "echo 'qemu: -device foo: not found' >&2; exit 1")
    assert proc.returncode == 2
    assert "the command exited with status 1" in proc.stderr.decode()
    missing = run_cli("run", "--", "/nonexistent/qemu-system-x86_64")
    assert missing.returncode == 2 and b"cannot run" in missing.stderr
    assert b"Traceback" not in missing.stderr


# ---- no orphan, whatever happens to virtiodiag --------------------------------------------
def _start(script_marker: str, *extra):
    """virtiodiag run over a shell that starts a background child (a wrapper's QEMU) and a
    foreground one, both recognisable by ``script_marker``."""
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.Popen(
        [sys.executable, "-m", "virtiodiag", "run", *extra, "--", "sh", "-c",
         f"sh -c 'sleep 300; : {script_marker}' & sh -c 'sleep 301; : {script_marker}'; wait"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)


def _guests(marker) -> list[str]:
    """The stand-in guest's processes (not virtiodiag, whose command line holds the
    marker too)."""
    return [p for p in leftover_processes(marker) if "virtiodiag" not in p]


def _wait_for(marker, present: bool, seconds: float = 60.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = _guests(marker)
        if bool(left) == present and (not present or len(left) >= 2):
            return left
        time.sleep(0.1)
    return _guests(marker)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_no_child_outlives_virtiodiag(how):
    marker = f"vd-orphan-{uuid.uuid4().hex}"
    proc = _start(marker)
    try:
        assert _wait_for(marker, present=True), "the command did not start"
        os.kill(proc.pid, getattr(signal, how))
        proc.wait(timeout=30)
        assert _wait_for(marker, present=False) == []
        if how != "SIGKILL":
            assert proc.returncode == 130
            assert b"stopped: interrupted" in proc.stdout.read()
    finally:
        for entry in leftover_processes(marker):
            os.kill(int(entry.split(":")[0]), signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _state(pid: int) -> str:
    try:
        return _read(f"/proc/{pid}/stat").decode().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _watches(argv: list[bytes], pgid: int) -> bool:
    """Whether ``argv`` is a watchdog's (``/bin/sh -c ... virtiodiag-watchdog PGID``) of
    group ``pgid``."""
    if b"virtiodiag-watchdog" not in argv:
        return False
    at = argv.index(b"virtiodiag-watchdog")
    return argv[at + 1:at + 2] == [str(pgid).encode()]


def _watchdogs_of(pgid: int) -> list[int]:
    """The watchdogs watching group ``pgid`` whose program runs (see _argv_after_exec)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = _read(f"/proc/{entry}/cmdline").split(b"\0")
            except OSError:
                continue
            if _watches(argv, pgid):
                found.append(int(entry))
    return found


def _children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = _read(f"/proc/{entry}/stat").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _argv_after_exec(pid: int, timeout: float = 60.0) -> list[bytes]:
    """The arguments of process ``pid``'s program ([] if it ended). Popen returns once the
    child's exec has begun (its close-on-exec pipe is closed then), but the kernel gives
    the new program its arguments a moment later: until then /proc/PID/cmdline is empty
    (right after Popen, most times on this machine). Waits for them: a readiness signal."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            argv = _read(f"/proc/{pid}/cmdline")
        except OSError:
            return []
        if argv:
            return argv.split(b"\0")
        if _state(pid) in ("gone", "Z"):
            return []
        assert time.monotonic() < deadline, f"process {pid} never got its arguments"
        time.sleep(0.01)


def test_the_watchdog_watches_the_group_before_the_command_starts(monkeypatch):
    """Killed (SIGKILL) just after the command forked, virtiodiag used to leave the forked
    processes behind: the watchdog was started after the command, and PDEATHSIG takes only
    the first process. Now the group and its watchdog exist before the command runs: at the
    moment the command's process exists, a watchdog already watches its group."""
    from virtiodiag.launch import child as child_module

    real_popen = subprocess.Popen
    seen: dict[str, object] = {}

    def popen(argv, *args, **kwargs):
        proc = real_popen(argv, *args, **kwargs)
        if argv[:2] == ["sleep", "303"]:
            seen["group"] = os.getpgid(proc.pid)
            # The processes that exist now; a watchdog may still be in its exec (its
            # arguments not yet readable): which of them watch the group is asked below.
            seen["children"] = _children_of(os.getpid())
        return proc

    monkeypatch.setattr(child_module.subprocess, "Popen", popen)
    started = child_module.Child(["sleep", "303"])
    try:
        assert seen["group"] == started.pgid != os.getpgrp()
        watching = [pid for pid in seen["children"]
                    if _watches(_argv_after_exec(pid), started.pgid)]
        assert watching, "the command ran before a watchdog watched its group"
        assert watching == _watchdogs_of(started.pgid) == [started.watchdog.pid]
    finally:
        started.stop(grace=0)
        started.reap()
        started.close()
    assert _state(started.pid) == "gone" and not _watchdogs_of(started.pgid)


def test_the_first_child_dies_with_virtiodiag_even_without_the_watchdog():
    """PR_SET_PDEATHSIG alone: the watchdog is killed first, then virtiodiag."""
    marker = f"vd-orphan-{uuid.uuid4().hex}"
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "virtiodiag", "run", "--", "sleep", "302"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        watchdog = child = None
        while time.monotonic() < deadline and not (watchdog and child):
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    stat = _read(f"/proc/{entry}/stat").decode()
                    cmdline = _read(f"/proc/{entry}/cmdline")
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid == proc.pid and b"virtiodiag-watchdog" in cmdline:
                    watchdog = int(entry)
                elif ppid == proc.pid and cmdline.startswith(b"sleep\x00302"):
                    child = int(entry)
            time.sleep(0.05)
        assert watchdog and child, (marker, watchdog, child)
        os.kill(watchdog, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _state(watchdog) not in ("gone", "Z"):
            time.sleep(0.01)  # until the watchdog is dead: then only PDEATHSIG is left
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _state(child) not in ("gone", "Z"):
            time.sleep(0.05)
        assert _state(child) in ("gone", "Z")  # dead (a zombie waits for init to reap it)
    finally:
        if proc.poll() is None:
            proc.kill()


# ---- QEMU's view when QMP cannot give it --------------------------------------------------
FAKE_QEMU = REPO / "tests" / "fakes" / "qemu-system-x86_64"


@pytest.mark.parametrize("mode, note", [
    ("old", "this QEMU has no x-query-virtio (QEMU 7.2 or later answers it)"),
    ("refuse", "QMP refused"),
])
def test_an_older_qemu_or_a_refused_monitor_is_named_and_the_run_goes_on(mode, note):
    proc = run_cli("run", "--until", "TEST PASS", "--format", "json", "--", FAKE_QEMU,
                   "-serial", "stdio", env={"FAKE_QMP": mode}, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["qemu_view"]["note"].startswith(note)
    assert report["qemu_view"]["devices"] == []
    assert [d["reached_driver_ok"] for d in report["devices"]] == ["yes"]


def test_ctrl_c_during_repeat_ends_the_current_run_then_summarises(tmp_path):
    """The first Ctrl-C lets the running run finish and starts no other; the summary
    covers the runs that ended, and the exit status says it was interrupted."""
    runs = tmp_path / "runs"
    # Each run ends once the test lets it (the file `go` exists), never before the Ctrl-C
    # has been taken: however slow the machine, the first run is still running then.
    go = tmp_path / "go"
    script = (TRACE.replace("val 11", "val 15")
              + f"while [ ! -e '{go}' ]; do sleep 0.05; done")
    proc = subprocess.Popen(
        [sys.executable, "-m", "virtiodiag", "run", "--repeat", "5", "--save-logs", runs,
         "--", "sh", "-c", script], cwd=REPO, env=dict(os.environ, NO_COLOR="1"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (runs / "run-001.log").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGINT)
        taken = wait_for_output(proc.stderr, b"stopping after the current run")
        go.touch()
        out, err = proc.communicate(timeout=120)
    finally:
        go.touch()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, (taken + err).decode()
    assert sorted(p.name for p in runs.glob("*.log")) == ["run-001.log"]
    text = out.decode()
    assert "stability over 1 run(s)" in text and "interrupted" in text


def test_console_shows_the_guest_lines_escaped_without_the_trace():
    script = TRACE + "printf 'guest: hello \\033[31mred\\033[0m\\n'; echo 'qemu: warning: x' >&2"
    proc = run_cli("run", "--console", "--", "sh", "-c", script)
    err = proc.stderr.decode()
    assert "guest: hello red" in err and "qemu: warning: x" in err
    assert "\x1b" not in err and "virtio_set_status" not in err


def test_a_daemon_that_left_the_group_is_stopped_too():
    """A process that left the command's group (setsid) keeps the pipe open: run still
    ends after the grace periods, and, orphaned to virtiodiag (a child subreaper), it is
    killed when its run ends."""
    marker = f"vd-daemon-{uuid.uuid4().hex}"
    grandchild = f"sleep 7{uuid.uuid4().int % 10**6:06d}"  # a number of seconds: unique
    try:
        # The daemon says when it has left the group and started its own child; only
        # --until, on that line, can end the run before the daemon's 3600 s (or the
        # test's 180).
        proc = run_cli("run", "--until", "^daemon ready$", "--kill-grace", "0.2", "--",
                       "sh", "-c",
                       f"setsid sh -c '{grandchild} & echo daemon ready; sleep 3600; "
                       f": {marker}' & exec sleep 3600", timeout=180)
        assert "stopped: --until matched" in proc.stdout.decode()
        # The daemon's group was sent SIGKILL as the run ended; each of its processes
        # leaves /proc only once the kernel has run its exit, which a loaded machine may
        # do after virtiodiag has ended, and for the grandchild after the daemon: both
        # are waited for (a readiness signal, never a pause; checked at once, the
        # grandchild could still be there). Left alive (no stop_adopted), they sleep
        # for hours and the wait fails.
        assert _wait_for(marker, present=False, seconds=60) == []
        # and the daemon's own child (its group goes with it)
        assert _wait_for(grandchild, present=False, seconds=60) == []
    finally:
        for entry in leftover_processes(marker) + leftover_processes(grandchild):
            os.kill(int(entry.split(":")[0]), signal.SIGKILL)
