"""The large-block trigger scan: Hyperscan, RE2 and bytes.find find the same lines.

A large input's blocks are searched for the dialects' triggers by one automaton: Hyperscan
(one scan a block gives the end of every trigger, sources/multiliteral.py and
scanner._scan_ends) when the
``hyperscan`` package is installed, else RE2 (a call a candidate line), else a ``find``
per trigger. LineScanner.feed and close must hand out the same lines (numbers, bytes,
next lines, held lines) whichever searches, however the input is cut into blocks.
"""

from __future__ import annotations

import random

import pytest

from conftest import REPO
from virtiodiag.dialects import load_dialects
from virtiodiag.sources import looking, multiliteral
from virtiodiag.sources import scanner as scanner_module
from virtiodiag.sources.scanner import LineScanner, minimal_triggers

TRIGGERS = minimal_triggers([*load_dialects().trigger_bytes, *looking.TRIGGERS])  # Analysis's
SAMPLES = sorted((REPO / "samples").glob("**/*.log"))


@pytest.fixture
def way(monkeypatch):
    """Sets how the scanner searches, from the first byte (RE2_FROM_BLOCK_SIZE 0): each
    way's module-level switch as a user has it (VIRTIODIAG_NO_HYPERSCAN, VIRTIODIAG_NO_RE2);
    the compiled database is per process (lru_cache): cleared around each switch."""
    monkeypatch.setattr(scanner_module, "RE2_FROM_BLOCK_SIZE", 0)

    def use(name: str) -> None:
        monkeypatch.delenv("VIRTIODIAG_NO_HYPERSCAN", raising=False)
        monkeypatch.delenv("VIRTIODIAG_NO_RE2", raising=False)
        if name in ("re2", "find"):
            monkeypatch.setenv("VIRTIODIAG_NO_HYPERSCAN", "1")
        if name == "find":
            monkeypatch.setenv("VIRTIODIAG_NO_RE2", "1")
        multiliteral._database.cache_clear()
    yield use
    multiliteral._database.cache_clear()


def _scan(data: bytes, cuts, triggers=TRIGGERS, lazy=False, wants=None):
    """(every line feed and close hand out, with the next line cut out where lazy),
    the scanner's counters, and which search it used."""
    scanner = LineScanner(triggers=triggers)
    scanner.needs_following = wants
    scanner.lazy_following = lazy
    out = []
    for start, stop in zip([0, *cuts], [*cuts, len(data)], strict=True):
        lines = scanner.feed(data[start:stop])
        chunk = scanner.following_chunk
        for line_no, raw, following in lines:
            if isinstance(following, int):  # decoder.following_of's reading
                out.append((line_no, raw, chunk[following:chunk.find(b"\n", following)]))
            else:
                out.append((line_no, raw, following))
    out += scanner.close()
    used = ("hyperscan" if scanner._block_ends is not None
            else "re2" if scanner._block_re is not None else "find")
    return out, (scanner.lines, scanner.truncated_last_line, scanner.nul_bytes), used


def _expected(data: bytes, triggers=TRIGGERS):
    """What a plain per-line test finds: (number, line, next line or None at the end)."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [(n, line, lines[n] if n < len(lines) else None)
            for n, line in enumerate(lines, 1) if any(t in line for t in triggers)]


def test_the_three_searches_find_the_same_lines_in_every_sample(way):
    pytest.importorskip("hyperscan")
    pytest.importorskip("re2")
    assert len(SAMPLES) > 20
    data = b"".join(path.read_bytes() for path in SAMPLES)  # 7 MB, 106 K lines
    rng = random.Random(17)
    for step, ways in ((4096, ("hyperscan", "re2")), (65536, ("hyperscan", "re2", "find")),
                       (1 << 20, ("hyperscan", "re2"))):
        cuts = list(range(step, len(data), step))
        cuts = sorted({max(1, c + rng.randint(-99, 99)) for c in cuts})  # not on a line
        found = {}
        for name in ways:
            way(name)
            found[name] = _scan(data, cuts)
            assert found[name][2] == name
            assert found[name][0], name
            if name != "find":
                lazy = _scan(data, cuts, lazy=True)
                assert lazy[:2] == found[name][:2], (name, step)
        assert len({repr(found[name][:2]) for name in ways}) == 1, step
        # (the find path's lines are a substring test's: tests/test_framing.py)
        assert len(found["hyperscan"][0]) > 10000


def _edge_block() -> tuple[bytes, list[int]]:
    """Lines where a block's search can go wrong, and the cuts that make them so: a
    trigger at a block's first and last byte, a line shared by two blocks with the cut
    inside its trigger, several triggers (and the same one twice) in a line, trigger
    lines next to each other, CRLF, NUL bytes, and a trigger ending at the input's very
    last byte (no newline after it)."""
    rng = random.Random(5)
    noise = [b"noise line %d of the CI job" % i for i in range(30)] + [b"", b"\r", b"x" * 300]
    special = [b"virtio_net virtio0: x", b"vtnet0: <VirtIO Networking Adapter> virtio",
               b"virtio virtio virtio_blk vda: [vda] virtio", b"1af4:1000\r",
               b"a\0b virtio_blk\0 vdb\0", b"\0\0\0", b"pci 0000:00:03.0: [1af4:1000] type 00",
               b"irtio", b"virtio_pci 0000:00:04.0: virtio_pci: leaving for legacy driver"]
    assert all(any(t in line for t in TRIGGERS) for line in special if b"irtio" in line)
    lines = []
    for _ in range(6000):
        lines.append(rng.choice(special) if rng.random() < 0.2 else rng.choice(noise))
    data = b"\n".join(lines) + b"\nvirtio"  # the very last byte ends a trigger
    cuts = set(rng.sample(range(1, len(data)), 120))
    at = 0
    for _ in range(40):  # cuts at a trigger's first byte, inside it and after its end
        at = data.find(b"virtio", at + 5000)
        if at < 0:
            break
        cuts |= {at, at + 3, at + 6, data.find(b"\n", at), data.find(b"\n", at) + 1}
    first = data.find(b"\n") + 1  # a block of one line, and one ending at a trigger
    cuts |= {first, first + 1, len(data) - 6, len(data) - 1}
    return data, sorted(c for c in cuts if 0 < c < len(data))


def test_hyperscan_finds_the_lines_the_other_searches_find_at_every_edge(way):
    pytest.importorskip("hyperscan")
    data, cuts = _edge_block()
    expected = _expected(data)
    assert expected[-1] == (data.count(b"\n") + 1, b"virtio", None)
    assert any(b"\0" in raw for _, raw, _ in expected)
    assert any(raw.endswith(b"\r") for _, raw, _ in expected)
    wants = lambda raw: raw.startswith(b"vtnet0")  # noqa: E731 - held for its next line
    results = {}
    for name in ("hyperscan", "re2", "find"):
        way(name)
        for lazy in (False, True):
            out, counters, used = _scan(data, cuts, lazy=lazy)
            assert used == name or (name == "re2" and used == "find")  # re2 missing
            # Whole, the next line too (None for a block's last line, sent at once)
            assert [(n, raw) for n, raw, _ in out] == [(n, raw) for n, raw, _ in expected]
            for (n, _raw, following), (_, _, whole) in zip(out, expected, strict=True):
                assert following in (None, whole), n
            assert counters == (data.count(b"\n") + 1, True, data.count(b"\0"))
            results[name, lazy] = out
            held = _scan(data, cuts, lazy=lazy, wants=wants)[0]
            # A held line gets its next line from the next block: no None left for it
            assert [line for line in held if line[1].startswith(b"vtnet0")] == [
                line for line in expected if line[1].startswith(b"vtnet0")]
            results[name, lazy, "held"] = held
    assert results["hyperscan", False] == results["re2", False] == results["find", False]
    assert results["hyperscan", True, "held"] == results["find", True, "held"]
    # One block, the whole input: the same lines
    way("hyperscan")
    assert [line[:2] for line in _scan(data, [])[0]] == [line[:2] for line in expected]


def test_a_block_scan_reports_every_trigger_end_in_order(way):
    """multiliteral.compile_block_ends: every occurrence of every trigger in chunk[:size] (the
    scan stops at size: a trigger past it belongs to the carry), overlapping ones too."""
    pytest.importorskip("hyperscan")
    way("hyperscan")
    ends = multiliteral.compile_block_ends((b"virtio", b"irtio_b", b"vda"))
    assert ends is not None
    block = b"virtio_blk vda\nnoise\nvirtiovirtio\nvda"
    assert ends(block, len(block)) == [6, 8, 14, 27, 33, 37]
    assert ends(block, 21) == [6, 8, 14]  # virtio_blk's two, vda; "virtio" at 21 is past
    assert ends(block, 3) == []


def test_the_fallback_is_taken_when_hyperscan_is_off_or_cannot_take_the_triggers(way):
    pytest.importorskip("hyperscan")
    data, cuts = _edge_block()
    way("hyperscan")
    assert _scan(data, cuts)[2] == "hyperscan"
    # A trigger holding a NUL (the binding cuts it at the NUL) or a newline (a line of
    # its own is what the loop takes): not Hyperscan's; the lines still found.
    odd = (b"virtio", b"a\0b")
    assert multiliteral.compile_block_ends(odd) is None
    out, _, used = _scan(data, cuts, triggers=odd)
    assert used != "hyperscan"
    assert [line[:2] for line in out] == [line[:2] for line in _expected(data, odd)]
    assert multiliteral.compile_block_ends((b"virtio", b"x\ny")) is None
    way("re2")  # VIRTIODIAG_NO_HYPERSCAN
    assert multiliteral.compile_block_ends(TRIGGERS) is None
    assert _scan(data, cuts)[2] in ("re2", "find")


def test_each_scanner_has_its_own_scratch_and_one_database_a_process(way):
    """A scan releases the GIL (the binding's hs_scan): two threads' scanners sharing a
    scratch would fail with HS_SCRATCH_IN_USE; the database is compiled once."""
    hyperscan = pytest.importorskip("hyperscan")
    way("hyperscan")
    first = multiliteral._database(TRIGGERS)
    assert first is not None and first[0] is hyperscan
    assert multiliteral._database(TRIGGERS) is first
    one, two = (multiliteral.compile_block_ends(TRIGGERS) for _ in range(2))
    assert one is not None and two is not None
    scratches = [cell.cell_contents for f in (one, two) for cell in f.__closure__ or ()
                 if isinstance(cell.cell_contents, hyperscan.Scratch)]
    assert len(scratches) == 2 and scratches[0] is not scratches[1]
