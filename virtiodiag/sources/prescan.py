"""Scanning a large log file in a second process while this one parses it.

On a large, mostly irrelevant log (a CI job's output, 2 % virtio lines) the work splits
in two halves of similar size: reading and prefiltering the bytes (RE2 over every block,
counting newlines) and understanding the few candidate lines (framing, grammars, model).
With two CPUs they can run at once: a forked child runs the ``LineScanner`` over the
file and sends each block's candidate lines through a pipe; this process parses them.
The output is the same as scanning here (same scanner, same lines, same numbers); only
the wall time changes.

Given this process's LineDecoder, the child also reads the record texts of the lines it
has not met before with the same grammars (dialects/decoder.Preparser) and sends their
payloads with the block: on a sparse log the first reading of each text was most of this
process's grammar work, while the child, which only scans, waited for it. It also numbers
the bytes after each line's time prefix (it hashes them anyway to know the new ones) and
sends the numbers, so that this process finds a repeated line in its line memo by number
(LineDecoder.decode_lines) instead of matching the prefix and hashing the bytes again.
A line met for the first time that the line memo keeps (a QEMU trace's
virtio_blk_handle_read names a new request and sector on every line) the child decodes as
this process would, and sends the memo entry it made (Preparser.read's ``framed``): this
process answers the line from its memo instead of framing and reading it again.

Used for regular files of at least ``PRESCAN_MIN_BYTES`` on Linux with more than one CPU,
never for pipes, ``--follow`` or live output (those stay in one process, where a line is
handled the moment it arrives). ``VIRTIODIAG_PRESCAN=0`` turns it off.
"""

from __future__ import annotations

import gc
import marshal
import os
import signal
import struct
import sys
from collections.abc import Iterator

from virtiodiag import wakeup
from virtiodiag.sources.reader import InputError, read_blocks

PRESCAN_MIN_BYTES = 16 << 20
_HEADER = struct.Struct("<cQ")  # frame kind, payload length
_BATCH, _END, _ERROR = b"B", b"E", b"X"
# The parent's read buffer: small, so that what it has not yet read stays in the pipe,
# where the child sees how far behind it is (_ParentBehind).
_READ_BUFFER = 64 << 10
# Lines a frame carries at most (a QEMU trace's: about 120 KB marshalled), so that several
# frames fit in the pipe (_widen) and the parent reads one while the next ones wait there.
FRAME_LINES = 1024
# The pipe size FRAME_LINES and _READ_BUFFER are meant for; a smaller pipe gets smaller
# frames and a smaller read buffer in proportion (frame_lines, _read_buffer).
_PIPE_SIZE = 1 << 20


def prescan_wanted(stream) -> bool:
    """Is ``stream`` a large regular file worth scanning in a second process?"""
    if os.environ.get("VIRTIODIAG_PRESCAN", "1") == "0":
        return False
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    if (os.cpu_count() or 1) < 2 or _usable_cpus() < 2:
        return False
    if getattr(stream, "fileobj", None) is not None:
        return False  # a .gz file: decompression, not scanning, is the cost; keep it simple
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    import stat

    return stat.S_ISREG(info.st_mode) and info.st_size >= PRESCAN_MIN_BYTES


def _widen(fd: int) -> int:
    """A 64 KiB pipe lets the child run only a block or two ahead; 1 MiB lets it absorb
    the parent's uneven pace (a burst of new line shapes to parse). Returns the pipe's
    size as it is: the enlarging may be refused (an unprivileged process above
    /proc/sys/fs/pipe-max-size or its user's pipe-user-pages-soft)."""
    try:
        import fcntl
    except ImportError:
        return 64 << 10
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_SIZE)
    except OSError:
        pass
    try:
        return fcntl.fcntl(fd, getattr(fcntl, "F_GETPIPE_SZ", 1032))
    except OSError:
        return 64 << 10  # Linux's default; the size is not known


def frame_lines(pipe_size: int) -> int:
    """Lines a frame carries at most through a pipe of ``pipe_size`` bytes: FRAME_LINES
    for the 1 MiB pipe, in proportion for a smaller one (64 for 64 KiB, about 7.5 KB of
    trace), so that several frames still fit in it and _ParentBehind keeps its meaning."""
    return max(16, min(FRAME_LINES, FRAME_LINES * pipe_size // _PIPE_SIZE))


def _read_buffer(pipe_size: int) -> int:
    """The parent's read buffer: at most a quarter of the pipe, so that a refill does not
    empty it (a 64 KiB buffer would take the whole of a 64 KiB pipe)."""
    return max(4 << 10, min(_READ_BUFFER, pipe_size // 4))


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class Prescan:
    """Candidate lines of ``stream``, scanned by ``scanner`` in a forked child.

    Iterating yields ``(bytes_read, [(line_no, raw, following), ...], codes)`` per block,
    in order (``codes``: None, or one number a line for ``decoder``, see
    ``Preparser.read``); afterwards ``finish()`` copies the child's counters (lines, bytes, cut and
    truncated lines) into this process's scanner, as if it had done the scan itself.
    With ``decoder`` (a LineDecoder whose caches allow it), each block's new record texts
    are read in the child too and handed to ``decoder.take_parsed`` before its lines.
    """

    def __init__(self, stream, scanner, decoder=None):
        self.scanner = scanner
        self.decoder = decoder if decoder is not None and decoder.caches.preparse else None
        self._counters: tuple | None = None
        read_end, write_end = os.pipe()
        self.pipe_size = _widen(write_end)
        self.frame_lines = frame_lines(self.pipe_size)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: scan, send, exit without running any of our exit code
            os.close(read_end)
            _child(stream, scanner, write_end, self.decoder, self.frame_lines,
                   behind_from(self.pipe_size))
        self.pid = pid
        os.close(write_end)
        self._pipe = os.fdopen(read_end, "rb", buffering=_read_buffer(self.pipe_size))
        if self.decoder is not None:
            # This process reads the texts of the blocks the child leaves to it (about
            # 1,800 on the benchmark's sparse file); with RE2 imported, the grammars that
            # want each text are found by one RE2 set search from the first text on
            # (dialects/registry._TriggerIndex), instead of asking each grammar for the
            # first 1,024. Imported here, while the child scans the first block.
            try:
                import re2  # noqa: F401
            except ImportError:
                pass

    def __iter__(self) -> Iterator[tuple[int, list, list[int] | None]]:
        read = self._pipe.read
        while True:
            header = read(_HEADER.size)
            if len(header) < _HEADER.size:
                raise InputError("the scanning process ended unexpectedly")
            kind, length = _HEADER.unpack(header)
            payload = read(length)
            if len(payload) < length:
                raise InputError("the scanning process ended unexpectedly")
            if kind == _BATCH:
                size, lines, parsed, codes, framed, left_out = marshal.loads(payload)
                if self.decoder is not None:
                    take_frame(self.decoder, parsed, framed, left_out)
                yield size, lines, codes
            elif kind == _END:
                self._counters = marshal.loads(payload)
                return
            else:
                raise InputError(payload.decode("utf-8", "replace"))

    def finish(self) -> None:
        """The scan is complete: this process's scanner takes the child's counts."""
        if self._counters is None:
            raise InputError("the scanning process ended unexpectedly")
        scanner = self.scanner
        (scanner.lines, scanner.bytes, scanner.cut_lines, truncated, scanner.nul_bytes,
         scanner.quoted.soft_breaks, scanner.quoted.escapes) = self._counters
        scanner.truncated_last_line = bool(truncated)
        scanner._carry = b""

    def close(self) -> None:
        """Stop the child (if still running) and reap it."""
        try:
            self._pipe.close()
        except OSError:
            pass
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def take_frame(decoder, parsed: list, framed: list, left_out: int) -> None:
    """What a frame brings ``decoder`` (this process's LineDecoder) besides its lines,
    before they are decoded: the child's readings of new texts and memo entries of new
    lines, and the count of the lines it left out, each known there to be one record
    and nothing else (Preparser.read): counted, not sent."""
    if parsed:
        decoder.take_parsed(parsed)
    if framed:
        decoder.take_framed(framed)
    decoder.records += left_out


def behind_from(pipe_size: int) -> int:
    """Bytes unread in the pipe above which the parent counts as behind (_ParentBehind):
    an eighth of it (128 KiB of the 1 MiB pipe, about a frame and a half of a sparse log).
    With any unread byte counting, the child, now the slower process of a sparse log,
    read a new text whenever the parent had not yet taken the last frame, which it then
    waited for (the bar's file on a quiet machine, interleaved rounds: CPU of the child
    1.34-1.63 s, wall 1.54-1.81 s, median 1.58; with 128 KiB 1.28-1.41 s, 1.48-1.65 s,
    median 1.51; the parent's CPU the same)."""
    return pipe_size // 8


def _child(stream, scanner, fd: int, decoder=None, most: int = FRAME_LINES,
           unread: int = 0) -> None:
    code = 0
    try:
        # Ctrl-C reaches the whole process group: the parent prints the summary, the
        # child just stops. SIGPIPE (the parent stopped reading) ends it quietly too.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # close() ends the child with it
        wakeup.forget()  # the parent's (virtiodiag/wakeup.py)
        preparser = None
        if decoder is not None:
            from virtiodiag.dialects.decoder import Preparser

            preparser = Preparser(decoder.dialects, decoder.caches)
            # Most lines go without their next line (Preparser.read): it is cut out of
            # the block only for those that keep it.
            scanner.lazy_following = True
            # Parsing makes reference cycles (a refused line's exception): collected here
            # whatever the parent's collector was doing when it forked this process.
            gc.freeze()
            gc.enable()
        out = os.fdopen(fd, "wb", buffering=1 << 20)
        behind = _ParentBehind(fd, unread)

        def reader(lines) -> tuple[list, list[int] | None, list, list, int]:
            # Texts are read here only while the parent has not yet taken what was sent:
            # it is the slower process then; otherwise it waits for this one and reads
            # them itself (and they are not read here later). Same payloads either way
            # (decoder.Preparser). The lines' codes go with them either way, and the
            # lines known to give nothing but their record are counted, not sent.
            if preparser is None:
                return lines, None, [], [], 0
            return preparser.read(lines, behind(), scanner.following_chunk)

        def send(size: int, lines: list) -> None:
            # In frames of at most `most` lines (FRAME_LINES in a 1 MiB pipe; fewer in a
            # smaller one: frame_lines), each flushed: what is unread lies in
            # the pipe, where _ParentBehind sees it. A dense block's lines in one frame
            # (1.6 MB for 1 MiB of QEMU trace) outgrew the pipe: the parent read each
            # frame whole before parsing it, so the pipe was empty whenever the child
            # asked, and the parent, the slower process, read every text itself.
            for start in range(0, len(lines), most):
                part = lines[start:start + most] if len(lines) > most else lines
                _send_batch(out, size if start == 0 else 0, *reader(part))
                out.flush()
            if not lines:
                _send_batch(out, size, *reader(lines))
                out.flush()

        try:
            for block in read_blocks(stream):
                send(len(block), scanner.feed(block))
            tail = scanner.close()
            if tail:
                send(0, tail)
            _send(out, _END, (scanner.lines, scanner.bytes, scanner.cut_lines,
                              int(scanner.truncated_last_line), scanner.nul_bytes,
                              scanner.quoted.soft_breaks, scanner.quoted.escapes))
        except InputError as exc:
            _send_raw(out, _ERROR, str(exc).encode("utf-8", "replace"))
        out.flush()
        if preparser is not None:
            from virtiodiag.cachefiles import save_patterns

            save_patterns()  # lexer patterns compiled here (the exit below skips atexit)
    except BaseException:  # noqa: BLE001 - the parent reports a missing end frame
        code = 1
    finally:
        os._exit(code)


class _ParentBehind:
    """Whether more than ``unread`` bytes sent through the pipe (``fd``, its write end)
    are still unread: the parent, which reads it through a small buffer
    (``_READ_BUFFER``), is behind (behind_from)."""

    def __init__(self, fd: int, unread: int = 0):
        import fcntl
        import termios

        self._ioctl, self._request, self._fd = fcntl.ioctl, termios.FIONREAD, fd
        self._buffer = bytearray(4)
        self._unread = unread

    def __call__(self) -> bool:
        try:
            self._ioctl(self._fd, self._request, self._buffer)
        except OSError:
            return True  # cannot tell: share the work as before
        return int.from_bytes(self._buffer, sys.byteorder) > self._unread


def _send_batch(out, size: int, lines: list, codes: list[int] | None, parsed: list,
                framed: list | tuple = (), left_out: int = 0) -> None:
    try:
        payload = marshal.dumps((size, lines, parsed, codes, framed, left_out))
    except ValueError:  # a field value marshal cannot carry: that text (line) is read there
        parsed = [item for item in parsed if _carried(item)]
        framed = [item for item in framed if _carried(item)]
        payload = marshal.dumps((size, lines, parsed, codes, framed, left_out))
    _send_raw(out, _BATCH, payload)


def _carried(item) -> bool:
    try:
        marshal.dumps(item)
    except ValueError:
        return False
    return True


def _send(out, kind: bytes, value) -> None:
    _send_raw(out, kind, marshal.dumps(value))


def _send_raw(out, kind: bytes, payload: bytes) -> None:
    out.write(_HEADER.pack(kind, len(payload)))
    out.write(payload)
