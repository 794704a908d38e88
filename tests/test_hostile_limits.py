"""Linear time, bounded memory, whatever the input (issue 15, case 3).

Timings stay in scripts/benchmark.py (its "hostile" cases); these tests check what makes
time linear and memory flat: what a long line hands the parser, how many devices, queues
and names a run keeps, and that everything beyond a limit is counted and reported (VD022).
"""


from virtiodiag import limits
from virtiodiag.analysis import analyse_blocks
from virtiodiag.dialects.decoder import LineDecoder
from virtiodiag.sources import framing


def _vd017(result):
    return [f for f in result.findings if f.rule == "VD022"]


def test_a_megabyte_line_hands_the_parser_only_its_first_64_kib(dialects, monkeypatch):
    seen = []
    original = LineDecoder.parse

    def parse(self, text):
        seen.append(len(text.encode()))
        return original(self, text)

    monkeypatch.setattr(LineDecoder, "parse", parse)
    line = b"virtio_" * ((1 << 20) // 7)
    result = analyse_blocks("long.log", [line + b"\n" + line[:100] + b"\n"], dialects)
    assert seen and max(seen) <= limits.LINE_BYTES
    assert result.model.lines == 2
    assert limits.over(result.model) == {"lines": 1}
    (finding,) = _vd017(result)
    assert finding.severity == "info" and "1 line(s) longer than 64 KiB" in finding.message


def test_a_cut_never_splits_a_character(dialects):
    line = ("é" * 40000).encode()  # 80,000 bytes, two per character
    result = analyse_blocks("utf8.log", [b"virtio " + line + b"\n"], dialects)
    assert result.model.invalid_utf8_lines == 0
    assert limits.over(result.model) == {"lines": 1}


def test_a_midline_record_search_is_bounded_per_position():
    # The search for a record inside a line tries each "virtio_" position; an unbounded
    # repeat there made a 1 MB line of "virtio_" take 130 s (quadratic). Each repeat of
    # the pattern is bounded now, and the search still finds real records.
    assert "+" not in framing._MIDLINE.pattern.replace("\\+", "")
    body = "virtio_ " * 2000 + "123@1700000000.000001:virtio_set_status vdev 0x1 val 1"
    records = framing.split_records(body)
    assert records[-1].text == "virtio_set_status vdev 0x1 val 1"


def test_devices_beyond_the_limit_are_counted_not_kept(dialects):
    count = limits.DEVICES + 76
    data = "".join(f"1234@1700000000.000001:virtio_set_status vdev 0x{0x55000000 + i:x} val 1\n"
                   for i in range(count)).encode()
    result = analyse_blocks("devices.log", [data], dialects)
    assert len(result.model.devices) == limits.DEVICES
    assert limits.over(result.model) == {"devices": 76}
    (finding,) = _vd017(result)
    assert f"76 event(s) of devices beyond the first {limits.DEVICES}" in finding.message


def test_queues_beyond_the_limit_are_counted_not_kept(dialects):
    lines = ["1234@1700000000.000001:virtio_set_status vdev 0x55 val 1"]
    lines += [f"1234@1700000000.000002:virtio_queue_notify vdev 0x55 n {i} vq 0x7f{i:06x}"
              for i in range(2000)]
    result = analyse_blocks("queues.log", ["\n".join(lines).encode() + b"\n"], dialects)
    (device,) = result.model.devices
    assert len(device.queues) == limits.QUEUES_PER_DEVICE
    assert max(device.queues) == limits.QUEUES_PER_DEVICE - 1  # the first ones are kept
    assert limits.over(result.model) == {"queues": 2000 - limits.QUEUES_PER_DEVICE}
    assert _vd017(result)


def test_an_ordinary_log_reports_no_limit(dialects):
    from conftest import SAMPLES

    data = (SAMPLES / "modern-pci" / "combined.log").read_bytes()
    result = analyse_blocks("modern.log", [data], dialects)
    assert limits.over(result.model) == {} and not _vd017(result)
