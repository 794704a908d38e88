"""A signal that arrives just before a blocking wait still ends the wait.

CPython runs a Python signal handler (KeyboardInterrupt for Ctrl-C, the CLI's SIGTERM
handler) only in the main thread, between two bytecodes; the C-level handler that the
kernel calls only records the signal. A system call that blocks (``poll`` in
``analyze -j``'s wait for its workers, ``read`` on a quiet pipe) returns early (EINTR) when
a signal is delivered *while it waits*. A signal delivered after the last bytecode before
the call and before the call starts to wait (the process preempted in those few
instructions, on a loaded machine) is recorded and then forgotten: the call blocks as if
nothing had happened, until its descriptor has something (never, for ``-j`` workers that
are still starting). The suite's ``-j`` Ctrl-C test hung so about once in 200 runs under
load: the stacks showed the parent in ``poll``, no signal pending or blocked, and the run
ended at once with "interrupted" when any other signal made ``poll`` return.

The cure is the standard one (asyncio's): ``signal.set_wakeup_fd``. The C-level handler
also writes a byte to a pipe, and every wait of ours that may block for long watches that
pipe's read end beside its own descriptors (``wait_readable``): a signal recorded before
the wait begins makes it return at once, and the Python handler then runs.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time

_fds: tuple[int, int] | None = None  # the wake-up pipe's (read end, write end)


def install() -> None:
    """Have every signal with a Python handler write to the wake-up pipe (the CLI's main
    thread, once; elsewhere nothing is installed and waits watch only their own
    descriptors)."""
    global _fds
    if _fds is not None:
        return
    read_end, write_end = os.pipe()  # not inherited by programs we start (close-on-exec)
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    try:
        signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    except ValueError:  # not the main thread
        os.close(read_end)
        os.close(write_end)
        return
    _fds = (read_end, write_end)


def forget() -> None:
    """In a forked child that waits on nothing of ours (a ``-j`` worker, the scanning
    process): no wake-up pipe, and the inherited ends closed."""
    global _fds
    if _fds is None:
        return
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    for fd in _fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    _fds = None


def fd() -> int | None:
    """The wake-up pipe's read end, to watch beside a wait's own descriptors (None when
    none is installed)."""
    return None if _fds is None else _fds[0]


def drain() -> None:
    """Empty the wake-up pipe (its bytes only say that some signal came)."""
    if _fds is None:
        return
    with contextlib.suppress(OSError):  # BlockingIOError: empty
        while os.read(_fds[0], 4096):
            pass


def wait_readable(fileno: int, timeout: float | None = None) -> bool:
    """Wait until ``fileno`` has something to read (True) or ``timeout`` seconds passed
    (False); a signal that came before or during the wait runs its handler meanwhile
    (Ctrl-C raises KeyboardInterrupt out of here)."""
    wake = fd()
    watched = [fileno] if wake is None else [fileno, wake]
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select(watched, [], [], left)
        if fileno in ready:
            return True
        if wake is not None and wake in ready:
            # The handler runs at the next bytecode (the interpreter checks for recorded
            # signals when it takes the GIL back after select); a handler that does not
            # raise (a held signal while a report is written) lets the wait go on.
            drain()
            continue
        return False
