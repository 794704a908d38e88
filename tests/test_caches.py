"""Every cache of parse results gives what no cache gives (dialects/decoder.py).

The line-shape memo once turned `mydrv dev eth status 0` (a reset in that grammar) into a
status write after three lines of the same shape; the grammar must decide each line."""

from pathlib import Path

import pytest

from virtiodiag.dialects import load_dialects
from virtiodiag.dialects.decoder import Caches, LineDecoder

from conftest import (REPO, SAMPLES, caches_report, report_text, report_with_caches,
                      shared_dialects)

MYDRV = REPO / "tests" / "fixtures" / "grammars" / "mydrv.lark"
USER_LINES = [f"mydrv dev eth status {v}" for v in (1, 2, 3, 0)]
ALL_ON = Caches()
ALL_OFF = Caches(text_memo=False, shape_memo=False, line_memo=False, interning=False)
EACH_OFF = {name: Caches(**{name: False}) for name in Caches.FIELDS}


def test_the_shape_memo_never_changes_a_user_grammar_line():
    dialects = load_dialects(extra=[str(MYDRV)])
    kinds = [dialects.parse(line).kind for line in USER_LINES]
    assert kinds == ["status_write", "status_write", "status_write", "reset"]


def test_a_grammar_that_tells_digits_apart_is_not_shape_safe():
    dialects = {d.name: d for d in load_dialects(extra=[str(MYDRV)]).dialects}
    assert any("STATUS" in h for h in dialects["mydrv"].shape_hazards)
    assert any("'0'" in h for h in dialects["mydrv"].shape_hazards)
    assert dialects["qemu-trace"].shape_safe  # dense traces keep their shape memo


def test_shape_safe_is_having_no_hazard_whichever_is_asked_first():
    """``shape_safe`` stops at a grammar's first hazard (the decoder asks only that); it is
    ``not shape_hazards`` for every built-in grammar and the user grammar, asked before or
    after the list."""
    from virtiodiag.dialects.shapes import terminal_hazards

    first = load_dialects(extra=[str(MYDRV)]).dialects
    second = load_dialects(extra=[str(MYDRV)]).dialects
    safe = 0
    for before, after in zip(first, second, strict=True):
        hazards = terminal_hazards(before.parser.terminals)
        assert before.shape_safe == (not hazards), before.name  # asked first
        assert before.shape_hazards == hazards, before.name
        assert after.shape_hazards == hazards, after.name
        assert after.shape_safe == (not hazards), after.name  # asked after the list
        safe += not hazards
    assert 0 < safe < len(first)


def _report(path: Path, caches: Caches, extra: tuple[str, ...] = ()) -> str:
    # The caches under test belong to each Analysis's own LineDecoder, never to the
    # grammars: one loaded set serves every run (conftest.shared_dialects).
    dialects = load_dialects(extra=list(extra)) if extra else shared_dialects()
    return report_with_caches(path, caches, dialects)


@pytest.mark.parametrize("caches", [ALL_OFF, *EACH_OFF.values()],
                         ids=["all-off", *(f"no-{n}" for n in EACH_OFF)])
def test_the_user_grammar_log_reads_the_same_with_and_without_each_cache(tmp_path, caches):
    log = tmp_path / "mydrv.log"
    log.write_text("".join(f"{line}\n" for line in USER_LINES * 3))
    reference = _report(log, ALL_ON, (str(MYDRV),))
    assert _report(log, caches, (str(MYDRV),)) == reference
    assert '"event":"reset device=eth"' in reference


# Every sample with every cache off gives the command's report (`analyze --format json`,
# every cache on) byte for byte: the first pass of tests/test_parallel.py's
# test_a_run_does_not_depend_on_the_runs_before_it, which reads every sample on one
# loaded set before its own checks anyway.


# Each cache alone off, on the samples where they all work: QEMU traces (line memo, shape
# memo) interleaved with a guest console (text memo, interning).
@pytest.mark.parametrize("name", list(EACH_OFF))
@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*/combined.log"))[:3],
                         ids=lambda p: p.parent.name)
def test_each_cache_alone_changes_nothing(path, name):
    assert caches_report(path, EACH_OFF[name]) == report_text(path)


# The line memo keys a line by its bytes after a time prefix (decoder._TIME_PREFIX_B):
# QEMU's PID@SECONDS: and the kernel's [SECONDS]. Framing's kernel prefix takes any white
# space, and a caller id "[T12]", where the memo's prefix takes spaces only: every prefix
# written here must read the same with and without the memo, and the memo must be used.
KERNEL_BODIES = [
    "virtio_blk virtio1: [vda] 2097152 512-byte logical blocks (1.07 GB/1.00 GiB)",
    "virtio-pci 0000:00:03.0: enabling device (0000 -> 0003)",
    "Kernel command line: console=ttyS0 virtio_pci.force_legacy=1",
    "virtio_net virtio0: something no grammar reads",
    "<6>virtio_blk virtio2: [vdb] 4096 512-byte logical blocks",
    # A text that starts with "[" (virtio_gpu's DRM lines): after the prefix, a caller id
    # framing could still take, or the text's own.
    "[drm] pci: virtio-gpu-pci detected at 0000:00:04.0",
    "[drm:virtio_gpu_init [virtio_gpu]] *ERROR* failed to find virt queues",
    "[T12x] virtio_net virtio0: failed to enable device",
]
KERNEL_PREFIXES = [
    "[{t:12.6f}] ", "[{t:.6f}]", "[{t:12.6f}]\t", "[{t:12.6f}] [T12] ", "[{t:12.6f}][C3]",
    "[{t:12.6f}]\u00a0", "[{t:12.6f}]\u00a0[T7] ", "[{t:12.6f}] [{t:12.6f}] ",
    "[{t:12.6f}]\r", "[\t{t:.6f}] ", "<6>[{t:12.6f}] ", "2001@{h:.6f}:", "[{t:12.6f}] \u0663 ",
    # After "] " the tab is the text's; after "]" framing takes it, and then the caller id.
    "[{t:12.6f}] \t[T12] ", "[{t:12.6f}]\t[T12] ", "[{t:12.6f}] \u00a0[T7] ",
    "[{t:12.6f}] [T1\u0663] ", "[{t:12.6f}][T1\u0663] ",
    # A caller id written with white space in it: framing takes it, the memo's prefix not.
    "[{t:12.6f}] [\tT12] ", "[{t:12.6f}] [ C3] ", "[{t:12.6f}] [\x1cT4] ",
]


def _prefixed_log(path: Path) -> None:
    lines = []
    for round_ in range(4):
        for index, prefix in enumerate(KERNEL_PREFIXES):
            for body in KERNEL_BODIES:
                t = round_ + index / 100 + len(lines) / 1e5
                lines.append(prefix.format(t=t, h=1795484714 + t) + body)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("caches", [ALL_OFF, EACH_OFF["line_memo"]],
                         ids=["all-off", "no-line_memo"])
def test_kernel_time_prefixes_read_the_same_with_and_without_the_line_memo(tmp_path, caches):
    log = tmp_path / "prefixes.log"
    _prefixed_log(log)
    assert _report(log, caches) == _report(log, ALL_ON)


def _served(path: Path, monkeypatch) -> tuple[list[bytes], str]:
    """The lines (their bytes, in order) the line memo answered while ``path`` was read
    with every cache on, and the JSON report: those decode_lines answered itself (it hands
    every other line to decode) and those decode answered from the memo (_known_shape)."""
    offered: dict[int, bytes] = {}
    long_way: set[int] = set()
    known_lines: set[int] = set()
    lines_of, decode, known = (LineDecoder.decode_lines, LineDecoder.decode,
                               LineDecoder._known_shape)

    def spy_lines(self, lines, codes=None):
        lines = list(lines)
        offered.update((line_no, raw) for line_no, raw, _ in lines)
        return lines_of(self, lines, codes)

    def spy_decode(self, line_no, raw, following):
        long_way.add(line_no)
        return decode(self, line_no, raw, following)

    def spy_known(self, line_no, shape, time, clock):
        known_lines.add(line_no)
        return known(self, line_no, shape, time, clock)

    monkeypatch.setattr(LineDecoder, "decode_lines", spy_lines)
    monkeypatch.setattr(LineDecoder, "decode", spy_decode)
    monkeypatch.setattr(LineDecoder, "_known_shape", spy_known)
    report = _report(path, ALL_ON)
    served = [raw for line_no, raw in sorted(offered.items())
              if line_no not in long_way or line_no in known_lines]
    return served, report


def test_the_line_memo_serves_kernel_lines(tmp_path, monkeypatch):
    log = tmp_path / "prefixes.log"
    _prefixed_log(log)
    served, report = _served(log, monkeypatch)
    assert sum(raw.startswith(b"[") for raw in served) > len(KERNEL_BODIES) * 4
    assert '"clock":"boot"' in report


def test_the_line_memo_serves_kernel_lines_whose_text_starts_with_a_bracket(tmp_path,
                                                                           monkeypatch):
    # virtio_gpu's "[drm] ..." lines behind "[SECONDS] ": the "[" is the text's, not a
    # caller id's, so the repeats are served by the memo (each of them went through
    # framing and the text memo before).
    log = tmp_path / "drm.log"
    bodies = ["[drm] features: -virgl +edid -resource_blob -host_visible",
              "[drm:virtio_gpu_init [virtio_gpu]] *ERROR* failed to find virt queues"]
    log.write_text("".join(f"[{n:12.6f}] {body}\n" for n in range(20) for body in bodies))
    served, report = _served(log, monkeypatch)
    assert report == _report(log, EACH_OFF["line_memo"])
    for body in bodies:
        assert sum(raw.endswith(f"] {body}".encode()) for raw in served) == 19


# Lines with no time at all, repeated (sysfs dumps, a firmware's or VMM's own lines, pasted
# and mailed text): the line memo keys them by their whole bytes. Each is written with what
# could make a repeat read differently from its first reading: CR, ANSI, control and NUL
# bytes, invalid UTF-8, typographic quotes, quoting and indentation, a dynamic debug prefix,
# a QEMU record cut into a console line (its next line matters), a JSON or CRI envelope
# (a partial CRI line takes its next line), a line over the memo's length, a refused value,
# a time of its own (syslog's, Zephyr's).
PLAIN_LINES = [
    b"/sys/bus/virtio/devices/virtio0/status:0x0000000f",
    b"virtio0 at pci0 dev 3 function 0 \"Qumranet Virtio Network\" rev 0x00",
    b"vioif0 at virtio0: features: 0x10000020<CTRL_VQ,MAC>",
    b"virtio_net virtio0: something no grammar reads",
    b"virtio_net virtio0: something no grammar reads\r",
    b"\x1b[1mvirtio_blk virtio1: [vda] 2097152 512-byte logical blocks\x1b[0m",
    b"virtio_blk virtio1:\x07 [vda] 2097152 512-byte logical blocks",
    b"virtio_blk virtio1: [vda] 2097152 512-byte\x00 logical blocks",
    b"virtio_net virtio0: bad \xff byte",
    b"virtio0 at pci0 dev 3 function 0 \xe2\x80\x9cQumranet Virtio Network\xe2\x80\x9d rev 0x00",
    b"> virtio_net virtio0: failed to enable device",
    b"    virtio-pci 0000:00:03.0: enabling device (0000 -> 0003)",
    b"virtio_pci:virtio_pci_probe:120: virtio-pci 0000:00:04.0: probe",
    b"loading virtio_net... 2001@1795484714.000001:virtio_set_status vdev 0x55d0 val 3",
    b"done",
    b'{"log":"virtio_net virtio0: failed to enable device","stream":"stdout"}',
    b"2024-01-01T00:00:00.000000000Z stdout P virtio_net virtio0: fail",
    b"ed to enable device",
    b"virtio_net virtio0: " + b"x" * 600,
    b"virtio_mmio virtio_mmio.0: Wrong magic value 0x12345678901234567890!",
    b"PCI: init bdf=00:03.0 id=1af4:1000",
    b"virtio-scsi blksize=512 sectors=2097152",
    b"Dec  2 07:00:00 host kernel: virtio_net virtio0: failed to enable device",
    b"[Mon Dec  2 07:00:00 2024] virtio_net virtio0: failed to enable device",
]


@pytest.mark.parametrize("caches", [ALL_OFF, EACH_OFF["line_memo"]],
                         ids=["all-off", "no-line_memo"])
def test_lines_without_time_read_the_same_with_and_without_the_line_memo(tmp_path, caches):
    log = tmp_path / "plain.log"
    log.write_bytes(b"\n".join(PLAIN_LINES * 3) + b"\n")
    assert _report(log, caches) == _report(log, ALL_ON)


def test_the_line_memo_serves_lines_without_time(tmp_path, monkeypatch):
    log = tmp_path / "plain.log"
    log.write_bytes(b"\n".join(PLAIN_LINES * 3) + b"\n")
    served_lines = set(_served(log, monkeypatch)[0])
    assert b"PCI: init bdf=00:03.0 id=1af4:1000" in served_lines
    assert PLAIN_LINES[0] in served_lines
    # Lines whose reading depends on more than their bytes are never served from the memo:
    # a cut console line and its next line, envelopes, CR, escapes, controls, bad UTF-8,
    # typography, a line longer than the memo keeps, a line with a time of its own.
    never = [line for line in PLAIN_LINES
             if b"loading" in line or line == b"done" or len(line) > 512
             or line.startswith((b"{", b"2024", b"ed ", b"Dec", b"[Mon"))
             or any(c in line for c in (b"\r", b"\x1b", b"\x07", b"\x00", b"\xff", b"\xe2"))]
    assert len(never) == 14
    assert not served_lines & set(never)
