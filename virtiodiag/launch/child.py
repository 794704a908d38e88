"""The guest process: started in its own process group, always reaped.

Three layers keep a guest from outliving virtiodiag:

1. the command runs in a process group of its own, and every stop signals the group,
   so a wrapper script's QEMU goes with it. The group is made before the command starts
   (its leader is a small anchor process), so that the watchdog (4.) already watches it
   when the command's first instruction runs: a command that forks at once, with
   virtiodiag killed at that moment, leaves nothing behind;
2. the command's first process gets PR_SET_PDEATHSIG(SIGKILL): the kernel kills it the
   moment virtiodiag dies, even by SIGKILL;
3. virtiodiag is a child subreaper (PR_SET_CHILD_SUBREAPER): a process that leaves the
   group (setsid) and is orphaned comes to it, and is stopped once its run ends;
4. a watchdog (a shell in a session of its own, so a CI runner that kills our process
   group does not kill it) holds the read end of a pipe only virtiodiag can write to; when
   virtiodiag ends without saying ``done`` on it, the watchdog sends SIGTERM and then
   SIGKILL to the guest's process group.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import threading
import time
from time import monotonic

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
KILL_GRACE = 3.0  # seconds between SIGTERM and SIGKILL (run --kill-grace)

_WATCHDOG = (
    # $1: the guest's process group. EOF without "done" (virtiodiag died): stop the group.
    'read -r word; [ "$word" = done ] && exit 0; '
    # (dash's kill takes "-s SIG -- -PGID" and "-0 -PGID", not "-TERM -- -PGID")
    'kill -s TERM -- -"$1" 2>/dev/null || exit 0; '
    'i=0; while [ $i -lt 30 ]; do kill -0 -"$1" 2>/dev/null || exit 0; '
    'sleep 0.1; i=$((i+1)); done; kill -s KILL -- -"$1" 2>/dev/null; exit 0'
)


_GROUPS: set[int] = set()  # process groups of the commands running now (several with -j)
# Held while a run starts its processes (with -j, runs start and end in threads): a process
# just started is in _GROUPS or _OWN before stop_adopted can take it for an orphan.
_STARTING = threading.Lock()


class StartError(Exception):
    """The command could not be started (not found, not executable)."""


def _prctl():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()


def _die_with(parent: int):
    def preexec() -> None:  # runs in the child between fork and exec: keep it tiny
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(125)
    return preexec


class Child:
    """A started command: its merged output on ``fd`` (stdout and stderr share one pipe,
    so the interleaving is exactly the order the guest and QEMU wrote in)."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None):
        # The group first, then its watchdog, then the command in the group: started the
        # other way round, a command that forked before the watchdog existed left its
        # children behind when virtiodiag was killed in between (PDEATHSIG takes only the
        # first process).
        with _STARTING:
            self.anchor = _start_anchor()
            self.pgid = self.anchor.pid if self.anchor is not None else 0
            if self.pgid:
                _GROUPS.add(self.pgid)
            self.watchdog = _start_watchdog(self.pgid) if self.pgid else None
        read_end, write_end = os.pipe()
        try:
            # preexec_fn with --repeat -j's threads alive: it only calls prctl and getppid
            # (no lock, no allocation of note), which is safe between fork and exec.
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=write_end, stderr=write_end,
                env=env, process_group=self.pgid,
                preexec_fn=_die_with(os.getpid()))  # noqa: PLW1509
        except OSError as exc:
            os.close(read_end)
            self._end_group()
            raise StartError(f"cannot run {argv[0]!r}: {exc.strerror or exc}") from None
        finally:
            os.close(write_end)
        self.fd = read_end
        self.pid = self.proc.pid
        if not self.pgid:  # no anchor: the command leads its own group, watched from now
            with _STARTING:
                self.pgid = self.pid
                _GROUPS.add(self.pgid)
                self.watchdog = _start_watchdog(self.pgid)
        self.started = monotonic()

    def running(self) -> bool:
        return self.proc.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.pgid <= 0:
            return  # no group yet (killpg(0) would be our own group)
        try:
            os.killpg(self.pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, grace: float = KILL_GRACE) -> None:
        """SIGTERM to the group, SIGKILL to what is left after ``grace`` seconds."""
        self.signal_group(signal.SIGTERM)
        deadline = monotonic() + grace
        while self.running() and monotonic() < deadline:
            time.sleep(0.02)
        self.signal_group(signal.SIGKILL)

    def reap(self, grace: float = KILL_GRACE) -> int:
        """Wait for the command (SIGKILL after ``grace`` seconds) and clear up its group;
        its exit status."""
        try:
            code = self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            code = self.proc.wait()
        # Whatever the command left behind in its group (a wrapper's QEMU) goes too, and
        # what left the group and was orphaned to us (see become_subreaper).
        self._end_group()
        stop_adopted()
        return code

    def _end_group(self) -> None:
        """Kill what is left of the group, the anchor with it, and release the watchdog."""
        self.signal_group(signal.SIGKILL)
        anchor, self.anchor = self.anchor, None
        if anchor is not None:
            anchor.kill()  # already dead if the group was signalled
            anchor.wait()
            anchor.stdin.close()
        _GROUPS.discard(self.pgid)
        self.release_watchdog()

    def release_watchdog(self) -> None:
        watchdog, self.watchdog = self.watchdog, None
        if watchdog is None:
            return
        try:
            watchdog.stdin.write(b"done\n")
            watchdog.stdin.close()
        except OSError:
            pass
        try:
            watchdog.wait(timeout=5)
        except subprocess.TimeoutExpired:
            watchdog.kill()
            watchdog.wait()  # reaped: no zombie, and gone from /proc when this returns
        _OWN.discard(watchdog.pid)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def become_subreaper() -> None:
    """Orphans of the commands we start come to us instead of init (stop_adopted)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def stop_adopted() -> None:
    """Kill the processes orphaned to us that belong to no running command's group (a
    daemon that did setsid). Our own children (commands, watchdogs) are not orphans."""
    with _STARTING:
        _stop_adopted()


def _stop_adopted() -> None:
    me = os.getpid()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid, ppid, pgid = int(entry), int(fields[1]), int(fields[2])
        if ppid != me or pgid in _GROUPS or pid in _GROUPS or pid in _OWN:
            continue
        try:
            if pgid != os.getpgrp():
                os.killpg(pgid, signal.SIGKILL)  # the daemon's own group: its children too
            else:
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, os.WNOHANG)
        except (ProcessLookupError, ChildProcessError, PermissionError):
            pass


_OWN: set[int] = set()  # watchdogs: our children, not orphans


def _start_anchor():
    """A process that only leads the command's group until the run ends. It dies with
    virtiodiag (PDEATHSIG; and its input, our pipe, ends then too)."""
    try:
        return subprocess.Popen(
            ["/bin/sh", "-c", "read -r _", "virtiodiag-group"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            process_group=0, preexec_fn=_die_with(os.getpid()))  # noqa: PLW1509
    except OSError:
        return None  # no /bin/sh: the command leads its own group (and the watchdog
        # needs /bin/sh too: PR_SET_PDEATHSIG still covers the command's first process)


def _start_watchdog(pgid: int):
    try:
        watchdog = subprocess.Popen(
            ["/bin/sh", "-c", _WATCHDOG, "virtiodiag-watchdog", str(pgid)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        _OWN.add(watchdog.pid)
        return watchdog
    except OSError:
        return None  # PR_SET_PDEATHSIG still covers the command's first process
