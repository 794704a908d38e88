"""Line framing with a prefilter: find the few lines worth parsing in large blocks.

Counting newlines and searching for trigger words are done by C code over whole
blocks (``bytes.count``, ``re.search``), so the lines that mention no dialect's trigger
cost almost nothing. Every line is still counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from virtiodiag.sources.reader import MAX_LINE

# Lines that mention virtio but match no grammar are counted as unrecognised.
VIRTIO_WORD = re.compile(rb"virtio", re.I)


class LineScanner:
    """Feeds blocks, yields ``(line_number, raw_line, next_raw_line_or_None)``."""

    def __init__(self, trigger_re: re.Pattern[bytes]):
        self.trigger_re = trigger_re
        self.lines = 0
        self.bytes = 0
        self.cut_lines = 0
        self._carry = b""
        self.truncated_last_line = False

    def feed(self, block: bytes) -> Iterator[tuple[int, bytes, bytes | None]]:
        self.bytes += len(block)
        data = self._carry + block if self._carry else block
        end = data.rfind(b"\n") + 1
        if end == 0:
            if len(data) > MAX_LINE:
                # A giant line with no newline: process what we have, keep memory bounded.
                self.cut_lines += 1
                self._carry = b""
                yield from self._scan(data + b"\n")
            else:
                self._carry = data
            return
        self._carry = data[end:]
        yield from self._scan(data[:end] if end < len(data) else data)

    def close(self) -> Iterator[tuple[int, bytes, bytes | None]]:
        if self._carry:
            self.truncated_last_line = True
            data, self._carry = self._carry + b"\n", b""
            yield from self._scan(data)

    def _scan(self, chunk: bytes) -> Iterator[tuple[int, bytes, bytes | None]]:
        search = self.trigger_re.search
        base = self.lines
        counted_to = 0
        line_no = base
        pos = 0
        size = len(chunk)
        while pos < size:
            match = search(chunk, pos)
            if match is None:
                break
            start = chunk.rfind(b"\n", 0, match.start()) + 1
            stop = chunk.find(b"\n", match.end())
            line_no += chunk.count(b"\n", counted_to, start)
            counted_to = start
            following = None
            nxt = stop + 1
            if nxt < size:
                nstop = chunk.find(b"\n", nxt)
                following = chunk[nxt:nstop]
            yield line_no + 1, chunk[start:stop], following
            pos = stop + 1
        self.lines = base + chunk.count(b"\n")


def iter_candidates(scanner: LineScanner, blocks: Iterable[bytes]):
    for block in blocks:
        yield from scanner.feed(block)
    yield from scanner.close()
