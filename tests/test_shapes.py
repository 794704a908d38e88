"""Line shapes: trusted only after reproducing the grammar, retired on any disagreement."""

from virtiodiag.dialects import load_dialects
from virtiodiag.dialects.shapes import VERIFY, ShapeMemo, Template
from virtiodiag.events import Payload


def test_shape_memo_gives_what_the_grammar_gives():
    shaped = load_dialects()
    lines = [f"virtio_queue_notify vdev 0x5529d26b94{i % 90 + 10} n {i % 3} vq 0x7f65cd4a{i:04x}"
             for i in range(200)]
    lines += [f"virtio_set_status vdev 0x5529d26b9496 val {v}" for v in (0, 1, 3, 11, 15, 7, 9)]
    fresh = [load_dialects() for _ in range(1)][0]
    for line in lines:
        expected = None
        for dialect in fresh.dialects:
            if dialect.wants(line):
                expected = dialect.parse(line)
                if expected is not None:
                    break
        assert shaped.parse(line) == expected, line


def test_template_is_retired_when_the_grammar_disagrees():
    memo = ShapeMemo()
    first = Payload("x", "status_write", (("status", 1),))
    key, numbers = memo.key("val 1")
    memo.learn(key, numbers, first)
    for value in range(2, 2 + VERIFY):
        k, n = memo.key(f"val {value}")
        memo.learn(k, n, Payload("x", "status_write", (("status", value),)))
    assert memo.lookup(*memo.key("val 7")) == Payload("x", "status_write", (("status", 7),))
    # A line of the same shape that the grammar reads differently retires the template.
    k, n = memo.key("val 8")
    memo.learn(k, n, Payload("x", "note", ()))
    assert memo.lookup(*memo.key("val 9")) is None


def test_ambiguous_numbers_are_resolved_before_use():
    template = Template(Payload("x", "notify", (("queue", 0), ("value", 0))), ["0", "0x0"])
    assert not template.trusted  # both numbers could be either field
    template.learn(Payload("x", "notify", (("queue", 1), ("value", 2))), ["1", "0x2"])
    template.learn(Payload("x", "notify", (("queue", 2), ("value", 1))), ["2", "0x1"])
    assert template.trusted
    assert template.build(["5", "0x9"]).by_name == {"queue": 5, "value": 9}
