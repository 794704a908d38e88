"""The line decoder (dialects/decoder.py) owns framing, dialect dispatch and the caches:
given a line's bytes it makes the events, and says which lines it could not read."""

from __future__ import annotations

from pathlib import Path

from conftest import shared_dialects
from virtiodiag.analysis import analyse_blocks
from virtiodiag.dialects import load_dialects
from virtiodiag.dialects.decoder import LineDecoder

MYDRV = Path(__file__).resolve().parent / "fixtures" / "grammars" / "mydrv.lark"
DEV = "0x5581c3e4a2d0"


def test_the_decoder_frames_a_line_into_numbered_events_without_an_analysis():
    events, missed = [], []
    decoder = LineDecoder(shared_dialects(), path="d.log", on_event=events.append,
                          on_unrecognised=lambda line, text, message: missed.append(line))
    line = f"12@1700000000.000100:virtio_set_status vdev {DEV} val 3\r".encode()
    decoder.decode(7, line, None)
    decoder.decode(8, line, None)  # the same bytes after the prefix: from the line memo
    decoder.decode(9, b"12@1700000000.000200:virtio_frobnicate vdev 0x1 val 3", None)
    assert [(e.kind, e.line, e.seq, e.path, e.time, e.clock) for e in events] == [
        ("status_write", 7, 1, "d.log", 1700000000.0001, "host"),
        ("status_write", 8, 2, "d.log", 1700000000.0001, "host")]
    assert events[0].text == f"virtio_set_status vdev {DEV} val 3"
    assert missed == [9] and decoder.records == 3


def test_a_user_grammar_line_refused_for_a_value_out_of_range_is_counted_not_dropped():
    # The grammar matches the line, but the status is wider than its field: the line is
    # not understood and counted (VD016's count), although it does not say "virtio".
    dialects = load_dialects(extra=[str(MYDRV)])
    understood = analyse_blocks("u.log", [b"mydrv dev eth status 3\n"], dialects)
    assert understood.model.unrecognised == 0 and understood.model.live_devices()
    refused = analyse_blocks("r.log", [b"mydrv dev eth status 999\n"], dialects)
    assert refused.model.unrecognised == 1
    assert refused.model.unrecognised_samples == [(1, "mydrv dev eth status 999")]
    assert not refused.model.live_devices()
