"""An event's line and sequence number share one int (events.Event._place), and the
model's small records carry no instance dictionary: a long stream's model keeps tens of
thousands of them (docs/performance.md, "Memory of a long stream: smaller kept events").
The packing must read back every value a log can give, and fall back where it cannot."""

import pickle

import pytest

from virtiodiag.events import PLACE_BITS, Event, Payload
from virtiodiag.model.attempts import FeatureValue, InterfaceEvidence
from virtiodiag.model.records import Evidence, StatusChange

PAYLOAD = Payload("linux_console", "status_write", (("device", "virtio0"), ("status", 7)))


@pytest.mark.parametrize("line, seq", [
    (0, 0), (1, 1), (717, 3), (2**31, 2**31), ((1 << PLACE_BITS) - 1, 5),
    (1 << PLACE_BITS, 5),  # too long a line for the packed form: kept as a pair
    (-1, 3), (4, -2), (None, 0),  # not a place a log gives: kept as given
])
def test_line_and_seq_read_back(line, seq):
    event = Event(PAYLOAD, "<stdin>", line, "virtio0: status 7", 1.5, "boot", seq)
    assert (event.line, event.seq) == (line, seq)
    again = pickle.loads(pickle.dumps(event))  # -j workers send events back
    assert again == event and (again.line, again.seq) == (line, seq)


def test_setting_one_keeps_the_other():
    event = Event(PAYLOAD, "<stdin>", 12, "text", seq=40)
    event.line = 13
    assert (event.line, event.seq) == (13, 40)
    event.seq = 41
    assert (event.line, event.seq) == (13, 41)
    assert Event(PAYLOAD, "<stdin>", 13, "text", seq=41) == event


def test_equality_tells_line_from_seq():
    a = Event(PAYLOAD, "<stdin>", 3, "text", seq=5)
    b = Event(PAYLOAD, "<stdin>", 5, "text", seq=3)
    assert a != b
    assert sorted([a, b], key=lambda e: e.seq) == [b, a]


def test_kept_records_have_no_instance_dictionary():
    event = Event(PAYLOAD, "<stdin>", 1, "text", seq=1)
    for record in (event, StatusChange(7, event), Evidence("FEATURES_OK written", event),
                   InterfaceEvidence("modern", "features_ok_written", "strong", event, "w"),
                   FeatureValue("offered", 1 << 32, event)):
        assert not hasattr(record, "__dict__"), type(record).__name__
    with pytest.raises(AttributeError):
        StatusChange(7, event).note = "x"  # type: ignore[attr-defined]
