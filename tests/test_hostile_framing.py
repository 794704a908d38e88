"""Same bytes, same answer (issue 15, case 5).

A guest console line cut by a QEMU record continues on the next line; it is joined
whether the whole file is read at once, the cut falls on a block boundary, or the
continuation arrives on a pipe a second later. Before, a probe failure split that way
was an error read from a file and an unrecognised line (info) read from a pipe.
"""

import json
import subprocess
import sys

import pytest

from conftest import REPO, run_cli, wait_until_drained
from virtiodiag.analysis import analyse_blocks
from virtiodiag.reports.json_report import render
from virtiodiag.options import ReportOptions

SPLIT = (b"[    1.200000] virtio_net virtio0: probe with driver virtio_net fai"
         b"1234@1700000000.000001:virtio_set_status vdev 0x55d0a7b3c010 val 0\n")
CONTINUATION = b"led with error -22\n"
LOG = (b"1234@1700000000.000000:virtio_set_status vdev 0x55d0a7b3c010 val 1\n" + SPLIT
       + CONTINUATION + b"[    1.300000] virtio_blk virtio1: [vda] 2048 512-byte logical blocks\n")


def _json(dialects, blocks) -> str:
    import io

    result = analyse_blocks("split.log", blocks, dialects)
    out = io.StringIO()
    render([result], out, ReportOptions())
    return out.getvalue()


def test_the_split_line_is_joined_in_one_block(dialects):
    report = json.loads(_json(dialects, [LOG]))
    assert "VD015" in {f["rule"] for f in report["findings"]}
    assert report["stats"]["unrecognised_virtio_lines"] == 0


def test_a_block_boundary_after_the_cut_line_changes_nothing(dialects):
    cut = LOG.index(CONTINUATION)
    assert _json(dialects, [LOG[:cut], LOG[cut:]]) == _json(dialects, [LOG])


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 100])
def test_every_block_size_gives_the_same_json(dialects, size):
    blocks = [LOG[i:i + size] for i in range(0, len(LOG), size)]
    assert _json(dialects, blocks) == _json(dialects, [LOG])


def test_a_pipe_that_pauses_gives_the_file_s_answer(tmp_path):
    path = tmp_path / "split.log"
    path.write_bytes(LOG)
    from_file = run_cli("analyze", "--format", "json", path)  # in process: the reference
    command = [sys.executable, "-m", "virtiodiag", "analyze", "--format", "json"]
    cut = LOG.index(CONTINUATION)
    proc = subprocess.Popen(command + ["-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO)
    proc.stdin.write(LOG[:cut])
    proc.stdin.flush()
    wait_until_drained(proc.stdin)  # it read the first part: the continuation comes later
    proc.stdin.write(LOG[cut:])
    proc.stdin.close()
    out = proc.stdout.read()
    proc.wait(timeout=120)
    report, expected = json.loads(out), json.loads(from_file.stdout)
    assert [(f["rule"], f["line"]) for f in report["findings"]] == \
        [(f["rule"], f["line"]) for f in expected["findings"]]
    assert report["stats"] == expected["stats"]
    assert proc.returncode == from_file.returncode == 1


def test_a_line_that_needs_no_continuation_is_not_held(dialects):
    from virtiodiag.analysis import Analysis

    analysis = Analysis("live.log", dialects, live=True)
    analysis.feed_block(b"1234@1700000000.000000:virtio_set_status vdev 0x55d0a7b3c010 val 1\n")
    assert analysis.builder.model.events == 1  # handled now, not when the next line comes
    analysis.feed_block(SPLIT)
    assert analysis.builder.model.events == 1  # held: its continuation may follow
    analysis.feed_block(CONTINUATION)
    assert analysis.builder.model.events == 3


def test_small_blocks_switch_to_the_block_automaton_and_agree_with_one_block(dialects):
    """A pipe gives ~64 KiB a read: the scanner must count input across blocks to decide
    when RE2's block search pays (it used to count per block, so piped input never left
    the slower find-per-trigger path), and the answer must equal one big block's."""
    from virtiodiag.analysis import Analysis
    from virtiodiag.sources import scanner as scanner_module

    # Sparse, as a CI log is: a dense block is split into lines and never searched.
    # (a SCSI disk's mount: a virtio disk's, "EXT4-fs (vda1)", is a line the model reads)
    noise = b"EXT4-fs (sda1): mounted filesystem with ordered data mode.\n" * 60
    log = b"".join(noise + line + b"\n" for name in ("multi-device", "legacy-pci")
                   for line in (REPO / "samples" / name / "combined.log").read_bytes()
                   .splitlines())
    assert len(log) > 2 * scanner_module.RE2_FROM_BLOCK_SIZE
    whole = Analysis("whole.log", dialects)
    whole.feed_block(log)
    whole.close_input()
    pieces = Analysis("pipe.log", dialects)
    step = 64 << 10
    for start in range(0, len(log), step):
        pieces.feed_block(log[start:start + step])
    pieces.close_input()
    try:
        import re2  # noqa: F401
    except ImportError:
        pass
    else:  # Hyperscan's block scan where installed, RE2's otherwise
        assert pieces.scanner._block_re is not None or pieces.scanner._block_ends is not None
    one, many = whole.finish(), pieces.finish()
    assert [(f.rule, f.line, f.message) for f in many.findings] == \
        [(f.rule, f.line, f.message) for f in one.findings]
    assert (many.model.lines, many.model.events) == (one.model.lines, one.model.events)
