"""Opening inputs and reading them in blocks, without ever holding a whole log."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Callable, Iterator

from virtiodiag import wakeup
from virtiodiag.limits import SEARCHED_LINE_BYTES
from virtiodiag.reports.escape import os_text

BLOCK = 1 << 20
# A line longer than this is cut (counted) so memory stays bounded.
MAX_LINE = SEARCHED_LINE_BYTES


class InputError(Exception):
    """An input cannot be read; the message is one plain line for the user."""


GZIP_MAGIC = b"\x1f\x8b"


HEAD_BYTES = 64 << 10  # what a file's first bytes are looked at for (sources/encodings)


def open_binary(name: str):
    """A binary stream for a path or ``-``, or InputError. Gzip is recognised by its
    magic bytes (RFC 1952), on files and on standard input, whatever the name; so are
    xz, bzip2, UTF-16/32 with a byte order mark and CR line ends (sources/encodings)."""
    if name == "-":
        if sys.stdin is None:  # started with descriptor 0 closed (`<&-`)
            raise InputError("standard input is closed")
        try:
            stdin = _Prefixed(sys.stdin.buffer.fileno())
        except (OSError, ValueError, AttributeError):  # no descriptor (an embedding caller)
            return sys.stdin.buffer
        if stdin.head(2) == GZIP_MAGIC:
            import gzip

            return gzip.GzipFile(fileobj=stdin)  # type: ignore[call-overload]  # has read()
        stdin.head(6)  # xz's magic is 6 bytes; beyond it, only what has arrived is looked at
        return _recognised(stdin.prefix, stdin, "standard input")
    shown = os_text(name)
    try:
        info = os.stat(name)
    except FileNotFoundError:
        raise InputError(f"{shown}: no such file") from None
    except PermissionError:
        raise InputError(f"{shown}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{shown}: is a directory (give the log files inside it, or use "
                         "'virtiodiag analyze DIR' only for a folder of runs)")
    try:
        handle = open(name, "rb", buffering=0)  # noqa: SIM115 - the caller reads and closes it
    except OSError as exc:
        raise InputError(f"{shown}: cannot open ({exc.strerror})") from None
    if stat.S_ISREG(info.st_mode):
        try:
            head = os.pread(handle.fileno(), HEAD_BYTES, 0)
        except OSError:
            head = b""
        if head[:2] == GZIP_MAGIC:
            import gzip  # here: plain logs do not pay for zlib

            return gzip.GzipFile(fileobj=handle)
        return _recognised(head, handle, shown)
    elif name.endswith(".gz"):
        import gzip

        return gzip.GzipFile(fileobj=handle)
    return handle


def _recognised(head: bytes, raw, shown: str):
    """``raw``, or the stream that reads what it holds (sources/encodings)."""
    from virtiodiag.sources import encodings

    try:
        return encodings.recognise(head, raw)
    except encodings.Unsupported as exc:
        raw.close()
        raise InputError(f"{shown}: {exc}") from None


class _Prefixed:
    """Standard input read by descriptor, whose first bytes were read to look at them
    (gzip's magic) and are handed out first: nothing is read twice or lost."""

    def __init__(self, fd: int):
        self.fd = fd
        self.prefix = b""

    def fileno(self) -> int:
        return self.fd

    def head(self, size: int) -> bytes:
        """The first ``size`` bytes (fewer at the end of the input), kept for reading."""
        while len(self.prefix) < size:
            try:
                wakeup.wait_readable(self.fd)
                more = os.read(self.fd, BLOCK)
            except OSError as exc:
                raise InputError(f"read error: {exc.strerror}") from None
            if not more:
                break
            self.prefix += more
        return self.prefix[:size]

    def take_prefix(self) -> bytes:
        prefix, self.prefix = self.prefix, b""
        return prefix

    def read(self, size: int = -1) -> bytes:
        if self.prefix:
            if size is None or size < 0 or size >= len(self.prefix):
                return self.take_prefix()
            part, self.prefix = self.prefix[:size], self.prefix[size:]
            return part
        wakeup.wait_readable(self.fd)  # a Ctrl-C that comes meanwhile is never missed
        return os.read(self.fd, BLOCK if size is None or size < 0 else size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        pass


def _is_decompressing(stream) -> bool:
    """A decompressing stream (gzip, xz, bzip2): read as a file, never by descriptor."""
    gzip, lzma, bz2 = (sys.modules.get(name) for name in ("gzip", "lzma", "bz2"))
    return ((gzip is not None and isinstance(stream, gzip.GzipFile))
            or (lzma is not None and isinstance(stream, lzma.LZMAFile))
            or (bz2 is not None and isinstance(stream, bz2.BZ2File)))


def read_blocks(stream, idle: Callable[[], None] | None = None, idle_every: float = 0.5,
                ) -> Iterator[bytes]:
    """Blocks as they arrive. On a pipe, yields whatever is there (low latency)."""
    fileno = None
    try:
        fileno = stream.fileno()
        is_pipe = not stat.S_ISREG(os.fstat(fileno).st_mode)
    except (OSError, ValueError, AttributeError):
        is_pipe = False
    if _is_decompressing(stream):
        yield from _decompressed_blocks(stream)
        return
    take_prefix = getattr(stream, "take_prefix", None)
    if take_prefix is not None:
        first = take_prefix()  # standard input's first bytes, read to look for gzip
        if first:
            yield first
    while True:
        if is_pipe and fileno is not None:
            # A wait that watches the wake-up pipe too (wakeup.py): a Ctrl-C or SIGTERM
            # that comes just before it begins still stops a quiet pipe's run at once.
            if not wakeup.wait_readable(fileno, idle_every if idle is not None else None):
                if idle is not None:
                    idle()
                continue
            try:
                block = os.read(fileno, BLOCK)
            except OSError as exc:
                raise InputError(f"read error: {exc.strerror}") from None
        else:
            try:
                block = stream.read(BLOCK)
            except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
                raise InputError(f"read error: {exc}") from None
            except Exception as exc:
                lzma = sys.modules.get("lzma")
                if lzma is not None and isinstance(exc, lzma.LZMAError):  # corrupt xz
                    raise InputError(f"read error: {exc}") from None
                raise
        if not block:
            return
        yield block


def _decompressed_blocks(stream) -> Iterator[bytes]:
    """A gzip, xz or bzip2 stream's blocks of BLOCK bytes (the last one shorter). One that
    ends before its end-of-stream marker (a download or a CI artifact cut short) is
    analysed as far as it was decompressed, then an InputError says it was truncated:
    ``read(BLOCK)`` dropped the bytes it had decompressed when the truncation came in the
    same call (a 10 KB truncated .gz gave no line at all), so each block is gathered from
    ``read1`` calls, each of which keeps what it decompressed."""
    done = 0
    while True:
        parts: list[bytes] = []
        size = 0
        try:
            while size < BLOCK:
                part = stream.read1(BLOCK - size)
                if not part:
                    break
                parts.append(part)
                size += len(part)
        except EOFError:  # the compressed data stops before its end-of-stream marker
            if parts:
                yield b"".join(parts)
            done += size
            covered = (f"the report covers the {done:,} bytes decompressed before that"
                       if done else "nothing of it could be decompressed")
            raise InputError("truncated: the compressed input ends before its end-of-stream "
                             f"marker; {covered}") from None
        except OSError as exc:  # gzip.BadGzipFile is an OSError
            raise InputError(f"read error: {exc}") from None
        except Exception as exc:
            lzma = sys.modules.get("lzma")
            if lzma is not None and isinstance(exc, lzma.LZMAError):  # corrupt xz
                raise InputError(f"read error: {exc}") from None
            raise
        if not parts:
            return
        done += size
        yield parts[0] if len(parts) == 1 else b"".join(parts)


def follow_blocks(name: str, idle: Callable[[], None] | None = None, poll: float = 0.25,
                  stop: Callable[[], bool] | None = None) -> Iterator[bytes]:
    """Like ``tail -F``: read a growing file, reopen it when truncated or rotated."""
    handle = None
    inode = None
    position = 0
    while True:
        if handle is None:
            try:
                handle = open(name, "rb", buffering=0)  # noqa: SIM115 - kept open while following
                inode = os.fstat(handle.fileno()).st_ino
                position = 0
            except OSError:
                if idle:
                    idle()
                time.sleep(poll)
                continue
        block = handle.read(BLOCK)
        if block:
            position += len(block)
            yield block
            continue
        if stop is not None and stop():
            return
        try:
            info = os.stat(name)
        except OSError:
            info = None
        if info is None or info.st_ino != inode:
            handle.close()
            handle = None  # rotated: reopen the new file from its start
        elif info.st_size < position:
            handle.seek(0)  # truncated in place: start again
            position = 0
        if idle:
            idle()
        time.sleep(poll)


def follow_recognised(blocks: Iterator[bytes],
                      on_encoding: Callable[[str | None], None] | None = None,
                      ) -> Iterator[bytes]:
    """A followed file's blocks (``follow_blocks``) read as ``open_binary`` reads a file:
    UTF-16/32, carriage returns alone as line ends and the other forms of
    sources/encodings, told by the first bytes that arrive (as on standard input); what
    the input was decoded from goes to ``on_encoding``. A compressed file is an input
    error: it cannot be tailed as it grows. --follow read every file as plain UTF-8 with
    LF line ends: a UTF-16 log found no device, a CR-only log was one line."""
    from virtiodiag.sources import encodings

    first = b""
    for first in blocks:
        if first:
            break
    if not first:
        return
    source = _Blocks(first, blocks)
    try:
        stream = (None if first[:2] == GZIP_MAGIC
                  else encodings.recognise(first, source))
    except encodings.Unsupported as exc:
        raise InputError(f"{exc}") from None
    if stream is None or _is_decompressing(stream):
        kind = ("gzip" if stream is None
                else {"LZMAFile": "xz", "BZ2File": "bzip2"}.get(type(stream).__name__, "a"))
        raise InputError(f"{kind}-compressed: --follow tails a growing plain-text log; "
                         "analyse a compressed log without --follow")
    if stream is source:
        yield from source
        return
    if on_encoding is not None:
        on_encoding(getattr(stream, "encoding", None))
    while True:
        data = stream.read(BLOCK)
        if not data:
            return
        yield data


class _Blocks:
    """An iterator of blocks read as a binary stream (``read`` returns the next block)."""

    def __init__(self, first: bytes, blocks: Iterator[bytes]):
        self._first = first
        self._blocks = blocks

    def __iter__(self) -> Iterator[bytes]:
        if self._first:
            yield self.read()
        yield from self._blocks

    def read(self, size: int = -1) -> bytes:
        if self._first:
            data, self._first = self._first, b""
            return data
        return next(self._blocks, b"")

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        pass
