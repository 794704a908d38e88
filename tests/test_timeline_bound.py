"""A device's timeline keeps its first entries and its latest ones, with the gap counted."""

from conftest import SAMPLES, analyse_json
from virtiodiag.model.device import TIMELINE_HEAD, TIMELINE_LIMIT


def test_a_long_log_keeps_the_first_and_the_latest_entries(tmp_path):
    """The real modern-pci trace repeated 30 times (one device, 30 boots on one stream)."""
    trace = (SAMPLES / "modern-pci" / "trace.log").read_text()
    log = tmp_path / "thirty-boots.log"
    log.write_text(trace * 30)
    lines = trace.count("\n")
    report = analyse_json(log)
    (device,) = report["devices"]
    timeline = device["timeline"]
    assert len(timeline) == TIMELINE_LIMIT
    assert device["timeline_dropped"] > 0
    assert device["timeline_gap_after"] == TIMELINE_HEAD
    # The head is the first boot; the tail ends with the log's last event of the device.
    assert timeline[0]["line"] <= lines
    assert timeline[-1]["line"] > 29 * lines
    seen = [e["line"] for e in timeline]
    assert seen == sorted(seen)
    assert seen[TIMELINE_HEAD] - seen[TIMELINE_HEAD - 1] > lines  # the gap is there


def test_a_short_log_has_no_gap():
    report = analyse_json(SAMPLES / "modern-pci" / "combined.log")
    for device in report["devices"]:
        assert device["timeline_dropped"] == 0
        assert "timeline_gap_after" not in device
