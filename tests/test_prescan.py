"""A large file is scanned by a second process: same lines, same counts, same report."""

from __future__ import annotations

import json
import os
import sys

import pytest

from conftest import REPO, run_cli
from virtiodiag.dialects.registry import load_dialects
from virtiodiag.sources import prescan
from virtiodiag.sources.prescan import Prescan
from virtiodiag.sources.reader import InputError
from virtiodiag.sources.scanner import LineScanner

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or not hasattr(os, "fork"),
                                reason="the second scanning process is used on Linux only")
SAMPLE = REPO / "samples" / "multi-device" / "combined.log"


def _scanner():
    dialects = load_dialects([])
    return LineScanner(dialects.trigger_re, dialects.trigger_bytes)


def _big_log(path, size):
    """Real sample lines spread through kernel-style noise, no newline at the very end."""
    sample = SAMPLE.read_bytes().splitlines(keepends=True)
    noise = [f"[{i:6d}.000000] ata{i % 7}: link up, noise line {i} for the CI log\n".encode()
             for i in range(997)]
    with open(path, "wb") as out:
        written, index = 0, 0
        while written < size:
            chunk = b"".join(noise[(index + k) % len(noise)] for k in range(40))
            chunk += sample[index % len(sample)]
            out.write(chunk)
            written += len(chunk)
            index += 1
        out.write(b"last line without newline virtio_set_status vdev 0x1 val 0")
    return path


def _qemu_trace(path, count):
    # hw/virtio/trace-events: virtio_queue_notify "vdev %p n %d vq %p",
    # virtio_notify "vdev %p vq %p"; -msg timestamp=on's "PID@SECONDS:" before each.
    lines = []
    for i in range(count):
        body = (f"virtio_queue_notify vdev 0x55d0c0de{i % 4} n {i % 3} vq 0x7f00{i % 3}"
                if i % 2 else f"virtio_notify vdev 0x55d0c0de{i % 4} vq 0x7f00{i % 3}")
        lines.append(f"{2000 + i % 7}@1700000000.{i:06d}:{body}\n")
    path.write_text("".join(lines))
    return path


def _scanned_here(path):
    """The candidate lines scanning in this process finds, block by block as the child
    reads, and the scanner that found them."""
    here = _scanner()
    expected = []
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            expected += list(here.feed(block))
    return expected + list(here.close()), here


def _through_the_child(path):
    """The child's frames of a file, (size, lines, codes) each; its scanner; the size of
    the pipe it sent them through."""
    there = _scanner()
    with open(path, "rb", buffering=0) as stream:
        scan = Prescan(stream, there)
        try:
            batches = [(size, lines, codes) for size, lines, codes in scan]
            scan.finish()
        finally:
            scan.close()
    return batches, there, scan.pipe_size


def test_the_child_yields_exactly_what_scanning_here_yields(tmp_path):
    path = _big_log(tmp_path / "big.log", 3 << 20)
    expected, here = _scanned_here(path)
    batches, there, _ = _through_the_child(path)
    got = [tuple(line) for _, lines, _ in batches for line in lines]
    assert got == expected and len(got) > 300
    assert (there.lines, there.bytes, there.truncated_last_line) == (
        here.lines, here.bytes, True)


def test_a_dense_trace_comes_in_frames_that_fit_in_the_pipe(tmp_path):
    """Every line of a QEMU trace is a candidate: a 1 MiB block's lines marshalled are
    larger than the pipe (1 MiB), and the parent read each block's frame whole before
    parsing it, so the child found the pipe empty whenever it asked whether the parent
    was behind (_ParentBehind) and left every new text to it, the slower process. The
    lines come in frames of at most FRAME_LINES lines (several fit in the pipe); same
    lines, same counts."""
    import marshal

    path = _qemu_trace(tmp_path / "trace.log", 40000)
    expected, _ = _scanned_here(path)
    batches, there, _ = _through_the_child(path)
    got = [tuple(line) for _, lines, _ in batches for line in lines]
    assert got == expected and len(got) == 40000
    assert sum(size for size, _, _ in batches) == path.stat().st_size == there.bytes
    assert max(len(lines) for _, lines, _ in batches) <= prescan.FRAME_LINES
    assert max(len(marshal.dumps(lines)) for _, lines, _ in batches) < 256 << 10


def test_a_pipe_that_cannot_be_enlarged_gets_frames_sized_to_it(tmp_path, monkeypatch):
    """F_SETPIPE_SZ may be refused (an unprivileged process above pipe-max-size or its
    user's pipe-user-pages-soft): the pipe stays at its default (64 KiB). 1,024 lines of
    trace (about 120 KB) would not fit in it at all; the frames and the parent's read
    buffer are sized from the pipe's actual size instead (F_GETPIPE_SZ), so that several
    frames wait in it while the parent works. Same lines, same counts."""
    import fcntl
    import marshal

    real = fcntl.fcntl

    def refused(fd, cmd, *args):
        if cmd == getattr(fcntl, "F_SETPIPE_SZ", 1031):
            raise PermissionError(1, "Operation not permitted")
        return real(fd, cmd, *args)

    monkeypatch.setattr(fcntl, "fcntl", refused)
    read_end, write_end = os.pipe()
    try:
        default = real(write_end, getattr(fcntl, "F_GETPIPE_SZ", 1032))
    finally:
        os.close(read_end)
        os.close(write_end)
    assert default < 1 << 20
    path = _qemu_trace(tmp_path / "trace.log", 20000)
    expected, _ = _scanned_here(path)
    batches, there, pipe_size = _through_the_child(path)
    assert pipe_size == default
    got = [tuple(line) for _, lines, _ in batches for line in lines]
    assert got == expected and len(got) == 20000
    assert sum(size for size, _, _ in batches) == path.stat().st_size == there.bytes
    most = prescan.frame_lines(default)
    assert most < prescan.FRAME_LINES
    assert max(len(lines) for _, lines, _ in batches) == most
    assert max(len(marshal.dumps(lines)) for _, lines, _ in batches) <= default // 4
    assert prescan._read_buffer(default) <= default // 4


def test_frames_are_sized_in_proportion_to_the_pipe():
    assert prescan.frame_lines(1 << 20) == prescan.FRAME_LINES
    assert prescan.frame_lines(4 << 20) == prescan.FRAME_LINES
    assert prescan.frame_lines(64 << 10) == 64
    assert prescan.frame_lines(4 << 10) == 16
    assert prescan._read_buffer(1 << 20) == 64 << 10
    assert prescan._read_buffer(64 << 10) == 16 << 10


def test_a_read_error_in_the_child_is_an_input_error_here():
    class Broken:
        def read(self, size):
            raise OSError(5, "Input/output error")

        def fileno(self):
            raise OSError("no descriptor")

    prescan = Prescan(Broken(), _scanner())
    try:
        with pytest.raises(InputError, match="read error"):
            for _ in prescan:
                pass
    finally:
        prescan.close()


def test_the_cli_report_is_identical_with_and_without_the_second_process(tmp_path,
                                                                        monkeypatch):
    # A 2 MiB file takes the path a file over PRESCAN_MIN_BYTES takes (16 MiB: seconds).
    monkeypatch.setattr(prescan, "PRESCAN_MIN_BYTES", 1 << 20)
    started = []

    class Counted(Prescan):
        def __init__(self, stream, scanner, decoder=None):
            started.append(stream.name)
            super().__init__(stream, scanner, decoder)

    monkeypatch.setattr(prescan, "Prescan", Counted)
    path = _big_log(tmp_path / "big.log", 2 << 20)
    reports = []
    for setting in ("1", "0"):
        proc = run_cli("analyze", "--format", "json", path, env={"VIRTIODIAG_PRESCAN": setting})
        assert proc.returncode in (0, 1), proc.stderr
        reports.append(json.loads(proc.stdout))
    # The first run scanned in a second process (where there are two CPUs), the other not.
    assert started == ([str(path)] if prescan._usable_cpus() > 1 else [])
    assert reports[0] == reports[1]
    assert reports[0]["stats"]["lines"] > 30000 and reports[0]["devices"]


def test_close_stops_a_child_that_is_still_reading():
    """Ctrl-C or an error here: closing stops and reaps the child even mid-read."""
    read_end, write_end = os.pipe()  # a source that never ends while write_end is open
    stream = os.fdopen(read_end, "rb", buffering=0)
    prescan = Prescan(stream, _scanner())
    try:
        os.write(write_end, b"virtio_set_status vdev 0x1 val 0\n")
        assert os.waitpid(prescan.pid, os.WNOHANG) == (0, 0)  # still running
        prescan.close()
        with pytest.raises(ChildProcessError):
            os.waitpid(prescan.pid, os.WNOHANG)
    finally:
        os.close(write_end)
        stream.close()


def _report_through_prescan(path, caches, dialects):
    """The JSON report of ``path`` read as pipeline.analyse_path reads a large file, with
    ``caches``; and how many record texts this process asked its grammars about."""
    import io

    from virtiodiag.analysis import Analysis
    from virtiodiag.options import ReportOptions, RuleSettings
    from virtiodiag.reports import get_reporter

    parent = os.getpid()
    asked = []
    dispatch = type(dialects).dispatch

    def counted(self, text, wanting=None):
        if os.getpid() == parent:  # the forked child runs this code too: not counted
            asked.append(text)
        return dispatch(self, text, wanting)

    analysis = Analysis(str(path), dialects, RuleSettings(), caches=caches)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(dialects), "dispatch", counted)
        with open(path, "rb", buffering=0) as stream:
            scan = Prescan(stream, analysis.scanner, analysis.decoder)
            try:
                for _, lines, codes in scan:
                    analysis.feed_lines(lines, codes)
                scan.finish()
            finally:
                scan.close()
        analysis.close_input()
        out = io.StringIO()
        get_reporter("json").render([analysis.finish()], out, ReportOptions())
    return out.getvalue(), asked


@pytest.fixture
def parent_always_behind(monkeypatch):
    """The child reads the texts of every batch (it does so only while this process has
    not yet read what it sent: a matter of timing, fixed here; the fork copies the patch)."""
    monkeypatch.setattr(prescan._ParentBehind, "__call__", lambda self: True)


@pytest.fixture
def parent_never_behind(monkeypatch):
    monkeypatch.setattr(prescan._ParentBehind, "__call__", lambda self: False)


def test_texts_read_by_the_child_give_the_report_this_process_gives(tmp_path,
                                                                    parent_always_behind):
    """The child reads each new record text with the same grammars (decoder.Preparser):
    the report is the one this process makes asking its grammars itself, and it asks
    them about almost nothing."""
    from virtiodiag.dialects.decoder import Caches

    path = _big_log(tmp_path / "big.log", 3 << 20)
    dialects = load_dialects([])
    with_child, asked_with = _report_through_prescan(path, Caches(), dialects)
    alone, asked_alone = _report_through_prescan(path, Caches(preparse=False), dialects)
    assert with_child == alone
    assert json.loads(alone)["devices"] and len(asked_alone) > 50
    assert len(asked_with) * 10 < len(asked_alone)


def test_a_payload_marshal_cannot_carry_is_left_to_this_process():
    # its text is not among those read there, nor its line among those decoded there
    class Odd:
        pass

    read_end, write_end = os.pipe()

    parsed = [("text a", ("d", "k", (("f", 1),), None), False),
              ("text b", ("d", "k", (("f", Odd()),), None), False)]
    with os.fdopen(write_end, "wb") as out:
        prescan._send_batch(out, 5, [(1, b"raw", None)], [-1], parsed,
                            [(0, "text a", parsed[0][1], None, False),
                             (1, "text b", parsed[1][1], None, False)])
    with os.fdopen(read_end, "rb") as pipe:
        header = pipe.read(prescan._HEADER.size)
        kind, length = prescan._HEADER.unpack(header)
        import marshal

        size, lines, parsed, codes, framed, left_out = marshal.loads(pipe.read(length))
    assert (kind, size, lines, codes, left_out) == (prescan._BATCH, 5, [(1, b"raw", None)], [-1], 0)
    assert [text for text, _, _ in parsed] == ["text a"]
    assert [number for number, *_ in framed] == [0]


def test_a_child_that_this_process_keeps_up_with_leaves_the_texts_to_it(
        tmp_path, parent_never_behind):
    """While this process has read everything sent, it is waiting for the child: the
    child then sends its lines without reading their texts, and this process reads them
    all itself, to the same report."""
    from virtiodiag.dialects.decoder import Caches

    path = _big_log(tmp_path / "big.log", 3 << 20)
    dialects = load_dialects([])
    with_child, asked_with = _report_through_prescan(path, Caches(), dialects)
    alone, asked_alone = _report_through_prescan(path, Caches(preparse=False), dialects)
    assert with_child == alone
    assert len(asked_alone) > 50 and sorted(asked_with) == sorted(asked_alone)


def test_the_parent_is_behind_while_bytes_sent_to_it_lie_unread_in_the_pipe():
    read_end, write_end = os.pipe()
    try:
        behind = prescan._ParentBehind(write_end)
        assert not behind()
        os.write(write_end, b"x" * 1000)
        assert behind()
        os.read(read_end, 999)
        assert behind()
        os.read(read_end, 1)
        assert not behind()
    finally:
        os.close(read_end)
        os.close(write_end)


def test_the_parent_is_behind_only_with_more_than_an_eighth_of_the_pipe_unread():
    """The child, the slower process of a sparse log, reads new texts only while the
    parent is well behind (prescan.behind_from): not while a frame waits to be taken."""
    read_end, write_end = os.pipe()
    try:
        size = prescan._widen(write_end)
        unread = prescan.behind_from(size)
        assert 0 < unread < size
        behind = prescan._ParentBehind(write_end, unread)
        os.write(write_end, b"x" * unread)
        assert not behind()
        os.write(write_end, b"x")
        assert behind()
        os.read(read_end, 1)
        assert not behind()
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_console_line_cut_by_a_qemu_record_is_read_in_the_child_too(tmp_path,
                                                                      parent_always_behind):
    """The guest's unfinished line continues on the next line (decode joins them): the
    child joins it the same way, so this process asks its grammars about neither part."""
    from virtiodiag.dialects.decoder import Caches

    noise = b"".join(b"[%6d.000000] ata%d: link up, noise line for the CI log\n" % (i, i % 7)
                     for i in range(400))
    pairs = b"".join(
        b"[    2.%06d] virtio_net virtio0: failed to enable dev"
        b"%d@1700000000.%06d:virtio_set_status vdev 0x55d0 val %d\n"
        b"ice number %d\n" % (i, 2000 + i, i, i % 16, i % 50) for i in range(40))
    path = tmp_path / "cut.log"
    with open(path, "wb") as out:
        for _ in range(3 << 20 // (len(noise) + len(pairs)) + 1):
            out.write(noise + pairs)
    dialects = load_dialects([])
    with_child, asked_with = _report_through_prescan(path, Caches(), dialects)
    alone, asked_alone = _report_through_prescan(path, Caches(preparse=False), dialects)
    assert with_child == alone
    joined = [text for text in asked_alone if "failed to enable device number" in text]
    assert len(joined) == 40  # one text per continuation: each joined with its next line
    assert not [text for text in asked_with if "failed to enable" in text]


def test_texts_this_process_read_while_keeping_up_are_not_read_again_by_the_child(
        tmp_path, monkeypatch):
    """The child reads texts only while this process is behind; the lines it sent unread
    before are this process's to read, and the child must not read their texts again once
    this process falls behind (work nobody uses). Alternating keeping up and falling
    behind, every text the child sends is new here, and the report is the same."""
    from virtiodiag.dialects.decoder import Caches, LineDecoder

    calls = iter(range(1 << 30))
    monkeypatch.setattr(prescan._ParentBehind, "__call__",
                        lambda self: next(calls) % 2 == 1)  # copied by the fork
    received: list[str] = []
    take = LineDecoder.take_parsed

    def taking(self, parsed):
        received.extend(text for text, _, _ in parsed)
        return take(self, parsed)

    monkeypatch.setattr(LineDecoder, "take_parsed", taking)
    path = _big_log(tmp_path / "big.log", 3 << 20)
    dialects = load_dialects([])
    with_child, asked_with = _report_through_prescan(path, Caches(), dialects)
    alone, _ = _report_through_prescan(path, Caches(preparse=False), dialects)
    assert with_child == alone
    assert received and len(asked_with) > 20  # both processes read some texts
    assert not set(received) & set(asked_with)


@pytest.mark.parametrize("behind", [True, False])
def test_repeated_lines_are_known_here_by_the_childs_number(tmp_path, monkeypatch, behind):
    """The child numbers the bytes after each line's time prefix (Preparser.read): a
    repeated line is found in this process's line memo by that number, its time read
    between the prefix's bounds, without the prefix's regex here; the report is the one
    made without the numbers. QEMU trace lines (a notify flood among them), kernel lines
    with and without a caller id, one whose text starts with white space (never
    memoised), and a QEMU message broken over lines (framing.qemu_unfinished), joined
    with the repeated line after it."""
    from virtiodiag.dialects import decoder as decoders
    from virtiodiag.dialects.decoder import Caches

    monkeypatch.setattr(prescan._ParentBehind, "__call__", lambda self: behind)
    parent = os.getpid()
    matched: list[bytes] = []

    class Counted:  # the prefix regex, counted in this process only
        def __init__(self, pattern):
            self.pattern = pattern

        def match(self, raw):
            if os.getpid() == parent:
                matched.append(raw)
            return self.pattern.match(raw)

    noise = b"".join(b"[%6d.000000] ata%d: link up, noise line for the CI log\n" % (i, i % 7)
                     for i in range(300))
    # Formats: QEMU's trace-events (hw/virtio/trace-events) behind -msg timestamp=on, and
    # Linux's virtio_pci_common.c / pci_enable_device's dev_info behind printk's stamp.
    rounds = []
    for i in range(60):
        rounds.append(
            b"%d@1700000000.%06d:virtio_set_status vdev 0x55d0 val %d\n"
            b"%d@1700000000.%06d:virtio_queue_notify vdev 0x55d0 n 0 vq 0x7f00\n"
            b"[%5d.%06d] virtio-pci 0000:00:03.0: enabling device (0000 -> 0003)\n"
            b"[%5d.%06d][    T1] virtio_blk virtio1: [vda] 2048 512-byte logical blocks "
            b"(1.05 MB/1.00 MiB)\n"
            b"[%5d.%06d]  virtio_net virtio0: a text that starts with white space\n"
            b"%d@1700000003.%06d: virtio_set_status vdev 0x55d0 val 0\n"
            b"[%5d.%06d]  virtio_set_status vdev 0x55d0 val 0\n"
            # the bytes after one line's prefix as a whole line, and the other way round
            b"%d@1700000004.%06d:virtio_set_status vdev 0x55d0 val 1\n"
            b"virtio_set_status vdev 0x55d0 val 1\n"
            b"[drm] features: -virgl +edid\n"
            b"[%5d.%06d] [drm] features: -virgl +edid\n"
            b"%d@1700000002.%06d:qemu-system-x86_64: -device virtio-blk-pci,drive=d0:\n"
            b"%d@1700000002.%06d:virtio_set_status vdev 0x55d0 val %d\n"
            % (2000 + i, i, (0, 1, 3, 11, 15)[i % 5], 2000 + i, i + 1, i, i, i, i, i, i,
               2000 + i, i, i, i, 2000 + i, i, i, i, 2000 + i, i, 2000 + i, i + 1,
               (0, 1, 3, 11, 15)[i % 5]))
    path = tmp_path / "repeated.log"
    with open(path, "wb") as out:
        for _ in range(2):
            for chunk in rounds:
                out.write(noise)
                out.write(chunk)
    monkeypatch.setattr(prescan, "PRESCAN_MIN_BYTES", 1 << 20)
    dialects = load_dialects([])
    monkeypatch.setattr(decoders, "_TIME_PREFIX_B", Counted(decoders._TIME_PREFIX_B))
    numbered, _ = _report_through_prescan(path, Caches(), dialects)
    numbered_matches = len(matched)
    matched.clear()
    plain, _ = _report_through_prescan(path, Caches(preparse=False), dialects)
    assert numbered == plain
    report = json.loads(plain)
    assert report["devices"] and report["stats"]["lines"] > 30000
    # Without the numbers, every candidate line's prefix is matched here (more than once
    # for those decode reads); with them, only those of lines met the first time, the
    # white-space one's (decode's own match) and those after a broken message.
    assert len(matched) > 800
    assert numbered_matches * 2 < len(matched)


def test_a_trace_line_met_once_is_decoded_in_the_child(tmp_path, monkeypatch,
                                                       parent_always_behind):
    """QEMU's virtio_blk_handle_read names a new request and sector on every line, so each
    such line is met once. The child decodes it as this process would and sends the line
    memo's entry it made (Preparser.read's ``framed``): this process decodes none of
    those lines itself (LineDecoder.decode), and the report is the one made without the
    child's reading (preparse off)."""
    from virtiodiag.dialects.decoder import Caches, LineDecoder

    # hw/virtio/trace-events: virtio_set_status "vdev %p val %d", virtio_queue_notify
    # "vdev %p n %d vq %p", virtio_notify "vdev %p vq %p"; hw/block/trace-events:
    # virtio_blk_handle_read "vdev %p req %p sector %"PRIu64" nsectors %zu".
    lines = [f"2000@1700000000.{i:06d}:virtio_set_status vdev 0x55d0c0de0 val {value}"
             for i, value in enumerate((0, 1, 3, 11, 15))]
    for i in range(5, 30000):
        if i % 4 == 0:
            body = (f"virtio_blk_handle_read vdev 0x55d0c0de0 req 0x55e0{i:08x} "
                    f"sector {i * 8} nsectors 8")
        elif i % 2:
            body = "virtio_queue_notify vdev 0x55d0c0de0 n 0 vq 0x7f000"
        else:
            body = "virtio_notify vdev 0x55d0c0de0 vq 0x7f000"
        lines.append(f"{2000 + i % 7}@1700000{i // 1000000:03d}.{i % 1000000:06d}:{body}")
    path = tmp_path / "reads.log"
    path.write_text("\n".join(lines) + "\n")
    parent = os.getpid()
    decoded: list[bytes] = []
    decode = LineDecoder.decode

    def counted(self, line_no, raw, following):
        if os.getpid() == parent:  # the forked child decodes with this code too
            decoded.append(raw)
        return decode(self, line_no, raw, following)

    monkeypatch.setattr(LineDecoder, "decode", counted)
    dialects = load_dialects([])
    with_child, _ = _report_through_prescan(path, Caches(), dialects)
    reads_here = [raw for raw in decoded if b"handle_read" in raw]
    decoded.clear()
    alone, _ = _report_through_prescan(path, Caches(preparse=False), dialects)
    assert with_child == alone
    assert not reads_here
    assert len([raw for raw in decoded if b"handle_read" in raw]) == 7498
    report = json.loads(alone)
    assert report["stats"]["events"] == 30000


def test_a_held_line_the_child_decoded_counts_its_dialect_in_log_order(tmp_path,
                                                                        parent_always_behind):
    """A PCI core's BAR line (linux-pci-resources, a kind the decoder holds while the OS
    speaks: model/last_seen.py) met for the first time is decoded in the child, and this
    process answers it from its line memo (take_framed): held, it is counted only when the
    block settles. Its dialect is still counted in log order, before the command line's
    read after it: the report is byte for byte the one made without the child's reading."""
    from virtiodiag.dialects.decoder import Caches

    # drivers/virtio/virtio_pci_common.c via pci_enable_device() "enabling device (%04x ->
    # %04x)"; drivers/pci/probe.c __pci_read_base() "reg 0x%x: %pR"; init/main.c
    # "Kernel command line: %s"
    path = tmp_path / "boot.log"
    path.write_bytes(b"[    0.50] virtio-pci 0000:00:02.0: enabling device (0000 -> 0003)\n"
                     b"[    1.42] pci 0000:00:02.0: reg 0x10: [io  0x0000-0x003f]\n"
                     b"[    1.50] Kernel command line: console=ttyS0 root=/dev/vda\n")
    dialects = load_dialects([])
    with_child, _ = _report_through_prescan(path, Caches(), dialects)
    alone, _ = _report_through_prescan(path, Caches(preparse=False), dialects)
    assert list(json.loads(alone)["stats"]["dialects"]) == [
        "linux-console", "linux-pci-resources", "linux-cmdline"]
    assert with_child == alone


# Lines no grammar turns into an event that the triggers pick ("PCI ", "BAR "):
# drivers/pci/hotplug/acpiphp_core.c (pr_fmt "acpiphp: "), drivers/pci/quirks.c
# quirk_ide_bases() "BAR %d %pR: legacy IDE quirk", drivers/pci/probe.c
# pci_register_host_bridge() "PCI host bridge to bus %s"; behind printk's stamp.
NOTHING_TEXTS = [b"acpiphp: ACPI Hot Plug PCI Controller Driver version: 0.5",
                 b"pci 0000:00:01.1: BAR 0 [io  0x01f0-0x01f7]: legacy IDE quirk",
                 b"PCI host bridge to bus 0000:00"]


def _nothing_log(path, blocks=6):
    """Lines that give nothing among virtio lines and noise, placed at the 1 MiB block
    boundaries the child reads by (across one, ending at one, starting one), and QEMU
    messages broken over lines (libvirt's relay: the program and an option alone, QEMU's
    text on the next lines) whose next line is one that gives nothing, then a noise line
    the message joins too: in the middle of a block, and with its head as a block's
    last line."""
    from virtiodiag.sources.reader import BLOCK

    out: list[bytes] = []
    pos = 0
    count = 0

    def add(line: bytes) -> None:
        nonlocal pos
        out.append(line + b"\n")
        pos += len(line) + 1

    def kernel(text: bytes) -> bytes:
        nonlocal count
        count += 1
        return b"[%5d.%06d] %s" % (count // 1000, count % 1000, text)

    def noise(length: int | None = None) -> bytes:
        line = kernel(b"ata%d: link up, noise line for the CI log" % (count % 7))
        return line if length is None else line[:20] + b"x" * (length - 20)

    def head() -> bytes:  # QEMU's own line, behind -msg timestamp=on
        return (b"%d@1700000002.%06d:qemu-system-x86_64: -device virtio-blk-pci,drive=d0:"
                % (2000 + count % 9, count))

    def pad_to(target: int) -> None:  # noise up to byte ``target`` (a line starts there)
        while target - pos > 200:
            add(noise())
        add(noise(target - pos - 1))

    def mixed(rounds: int) -> None:
        for i in range(rounds):
            add(noise())
            add(kernel(NOTHING_TEXTS[i % 3]))
            add(kernel(NOTHING_TEXTS[(i + 1) % 3]))
            if i % 5 == 0:
                add(kernel(b"virtio-pci 0000:00:03.0: enabling device (0000 -> 0003)"))
            if i % 7 == 0:
                add(head())
                add(kernel(NOTHING_TEXTS[i % 3]))
                add(noise())
                add(kernel(NOTHING_TEXTS[(i + 2) % 3]))
            if i % 7 == 3:  # the program alone, its option (a line met before), the text
                add(b"%d@1700000003.%06d:qemu-system-x86_64:" % (2000 + count % 9, count))
                add(b"%d@1700000003.%06d:-device virtio-net-pci,netdev=n0:"
                    % (2000 + count % 9, count))
                add(b"Bus 'pcie.%d' not found" % (i % 3))

    for block in range(1, blocks + 1):
        mixed(40)
        boundary = block * BLOCK
        kind = block % 3
        if kind == 0:  # a line that gives nothing across the boundary
            pad_to(boundary - 30)
            add(kernel(NOTHING_TEXTS[block % 3]))
        elif kind == 1:  # ... ending at it, then one starting there
            line = kernel(NOTHING_TEXTS[block % 3])
            pad_to(boundary - len(line) - 1)
            add(line)
            add(kernel(NOTHING_TEXTS[(block + 1) % 3]))
        else:  # a broken message's head as the block's last line, its next line after
            line = head()
            pad_to(boundary - len(line) - 1)
            add(line)
            add(kernel(NOTHING_TEXTS[block % 3]))
            add(noise())
        assert pos > boundary
    mixed(40)
    path.write_bytes(b"".join(out))
    return path


def test_lines_that_give_nothing_are_counted_in_the_child_not_sent(tmp_path, monkeypatch,
                                                                  parent_always_behind):
    """A line the child knows gives one record and nothing else (its decoding of the
    bytes after the time prefix: no payload, not virtio-looking) is counted there, not
    sent; the report is byte for byte the one made from every line, the records counted
    included. Next to a QEMU message broken over lines such a line is sent all the same
    (the message joins it), and a line known to be one plain record keeps its following
    line there (the message's text, on a line no trigger picks, joins through it); and at
    the block boundaries (a line across one, ending at one, a message's
    head held by the scanner until the next block)."""
    from virtiodiag.analysis import Analysis
    from virtiodiag.dialects.decoder import Caches

    path = _nothing_log(tmp_path / "nothing.log")
    candidates = len(_scanned_here(path)[0])
    received = []
    feed = Analysis.feed_lines

    def counted(self, lines, codes=None):
        received.append(len(lines))
        return feed(self, lines, codes)

    monkeypatch.setattr(Analysis, "feed_lines", counted)
    dialects = load_dialects([])
    with_child, _ = _report_through_prescan(path, Caches(), dialects)
    sent = sum(received)
    received.clear()
    alone, _ = _report_through_prescan(path, Caches(preparse=False), dialects)
    assert sum(received) == candidates  # nothing left out without the child's decoder
    assert with_child == alone
    report = json.loads(alone)
    assert report["stats"]["records"] > candidates // 2
    assert report["devices"]
    assert sent < candidates - 300  # most lines that give nothing were left out
    # The broken messages joined a line that gives nothing, and the text after an option
    assert report["stats"]["records"] < candidates
    assert "netdev=n0: Bus 'pcie.1' not found" in alone


@pytest.mark.parametrize("texts", [True, False])
def test_next_lines_left_in_the_block_are_cut_out_as_the_child_sends_them(tmp_path, texts):
    """The child's scanner leaves a candidate line's next line in the block (an int: where
    it starts, LineScanner.lazy_following) and Preparser.read cuts it out only for the
    lines it sends with it or reads it for (a QEMU message's head, a line inside such a
    message's window, a new line decoded there, a line over the length limit): what it
    sends, block by block, is what it sends from the lines scanned with every next line
    cut out, at block boundaries (_nothing_log's) and with lines over the limit."""
    import marshal

    from virtiodiag.dialects.decoder import LINE_MAX_LEN, Preparser
    from virtiodiag.sources.reader import BLOCK

    path = _nothing_log(tmp_path / "nothing.log")
    data = path.read_bytes()
    # lines over Preparser's limit, one followed by a line sent with its next line
    long_line = b"[    9.000001] virtio_net virtio0: " + b"y" * (LINE_MAX_LEN + 10) + b"\n"
    data = data[:BLOCK // 2] + data[BLOCK // 2:].replace(b"\n", b"\n" + long_line, 1) + long_line
    dialects = load_dialects([])
    frames = {}
    lazy_ints = 0
    for lazy in (False, True):
        scanner = LineScanner(None, dialects.trigger_bytes)
        scanner.lazy_following = lazy
        preparser = Preparser(dialects)
        out = []
        for start in range(0, len(data), BLOCK):
            lines = scanner.feed(data[start:start + BLOCK])
            lazy_ints += sum(isinstance(line[2], int) for line in lines)
            # through marshal as through the pipe (its bytes depend on which values
            # are the same object, not only on the values)
            out.append(marshal.loads(marshal.dumps(
                preparser.read(lines, texts, scanner.following_chunk))))
        out.append(marshal.loads(marshal.dumps(
            preparser.read(scanner.close(), texts, scanner.following_chunk))))
        frames[lazy] = out
    assert lazy_ints > 500  # the lazy path was taken
    assert frames[True] == frames[False]
