#!/usr/bin/env python3
"""console-drive.py - type commands into a firmware console (U-Boot) under QEMU.

Usage: console-drive.py [--stderr-too] [--abort PATTERN] OUT -- CMD ARG...

Runs CMD (a QEMU command line whose guest serial is on stdio, itself bounded by
timeout(1)), copies everything it prints to OUT, and talks to it by prompts read from
the commands file on stdin, one step per line:

    expect TEXT     wait (at most 30 s) until TEXT has been printed
    send TEXT       type TEXT and Enter
    key TEXT        type TEXT without Enter (to stop an autoboot count-down)
    sleep SECONDS

When the steps are done it closes QEMU's stdin and ends it (SIGTERM). --stderr-too
sends QEMU's stderr (a -trace log) into OUT as well, interleaved as it was read.
--abort PATTERN (several allowed) kills QEMU at once if PATTERN is ever printed: the
capture scripts use it so that a firmware autoboot that was not stopped never reaches a
network boot (BOOTP/DHCP/TFTP/PXE).
"""

import os
import re
import select
import signal
import subprocess
import sys
import time


def main(argv):
    stderr_too = False
    aborts = []
    while argv and argv[0].startswith("--"):
        if argv[0] == "--stderr-too":
            stderr_too, argv = True, argv[1:]
        elif argv[0] == "--abort":
            aborts.append(re.compile(argv[1]))
            argv = argv[2:]
        else:
            break
    out_path, sep, cmd = argv[0], argv[1], argv[2:]
    if sep != "--" or not cmd:
        sys.exit(__doc__)
    steps = [line.rstrip("\n").split(" ", 1) for line in sys.stdin if line.strip()]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if stderr_too else None,
                            start_new_session=True)
    assert proc.stdin is not None and proc.stdout is not None  # both are pipes
    guest_out = proc.stdout

    def signal_all(sig):
        try:
            os.killpg(proc.pid, sig)  # timeout(1) and the QEMU it runs
        except ProcessLookupError:
            pass
    seen = bytearray()
    out = open(out_path, "wb")  # noqa: SIM115 - pump() writes to it until the end

    def pump(timeout):
        ready, _, _ = select.select([guest_out], [], [], timeout)
        if not ready:
            return True
        data = os.read(guest_out.fileno(), 65536)
        if not data:
            return False
        out.write(data)
        out.flush()
        seen.extend(data)
        text = seen.decode("latin-1")
        for pattern in aborts:
            if pattern.search(text):
                signal_all(signal.SIGKILL)
                sys.exit(f"console-drive: abort pattern {pattern.pattern!r} printed; QEMU killed")
        return True

    mark = 0
    status = 0
    for step in steps:
        op, arg = step[0], (step[1] if len(step) > 1 else "")
        if op == "expect":
            deadline = time.monotonic() + 30
            while arg.encode() not in seen[mark:]:
                if time.monotonic() > deadline or not pump(0.2) or proc.poll() is not None:
                    print(f"console-drive: never saw {arg!r}", file=sys.stderr)
                    status = 1
                    break
            if status:
                break
            mark = seen.index(arg.encode(), mark) + len(arg)
        elif op in ("send", "key"):
            proc.stdin.write(arg.encode() + (b"\r" if op == "send" else b""))
            proc.stdin.flush()
        elif op == "sleep":
            end = time.monotonic() + float(arg)
            while time.monotonic() < end and pump(max(0.0, end - time.monotonic())):
                pass
        else:
            sys.exit(f"console-drive: unknown step {op!r}")
    if proc.poll() is None:
        signal_all(signal.SIGTERM)
    end = time.monotonic() + 10
    while time.monotonic() < end and pump(0.2):
        if proc.poll() is not None and not select.select([proc.stdout], [], [], 0)[0]:
            break
    if proc.poll() is None:
        signal_all(signal.SIGKILL)
    proc.wait()
    out.close()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
