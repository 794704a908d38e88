"""Line shapes: trusted only after reproducing the grammar, retired on any disagreement."""

from virtiodiag.dialects import load_dialects
from virtiodiag.dialects.shapes import VERIFY, ShapeMemo, Template
from virtiodiag.events import Payload


def test_shape_memo_gives_what_the_grammar_gives():
    shaped = load_dialects()
    lines = [f"virtio_queue_notify vdev 0x5529d26b94{i % 90 + 10} n {i % 3} vq 0x7f65cd4a{i:04x}"
             for i in range(200)]
    lines += [f"virtio_set_status vdev 0x5529d26b9496 val {v}" for v in (0, 1, 3, 11, 15, 7, 9)]
    fresh = load_dialects()
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


def test_a_field_holding_digits_of_the_line_is_never_a_constant():
    """A value like ``virtio0`` or ``0000:00:03.0`` is made of the line's numbers but is no
    single number: a template would replay the first line's value for every later line of
    the same shape (``virtio1`` read as ``virtio0``). Real ``ls -l`` lines of sysfs, as the
    samples have them: the same device listed at several minutes, then another device."""
    shaped = load_dialects()
    link = ("lrwxrwxrwx    1 0        0                0 Nov 24 02:{minute} {name} -> "
            "../../../devices/pci0000:00/0000:00:0{slot}.0/{name}")
    lines = [link.format(minute=20 + i, name="virtio0", slot=3) for i in range(VERIFY + 3)]
    lines.append(link.format(minute=40, name="virtio1", slot=4))
    lines += [f"virtio_net virtio0: probe {i}" for i in range(4)] + ["virtio_net virtio1: probe 9"]
    fresh = load_dialects()  # Dialect.parse asks the grammar alone (no memo of the set's)
    for line in lines:
        expected = None
        for dialect in fresh.dialects:
            if dialect.wants(line):
                expected = dialect.parse(line)
                if expected is not None:
                    break
        assert shaped.parse(line) == expected, line
    last = shaped.parse(lines[VERIFY + 3])
    assert last is not None and "virtio1" in str(last.fields) and "0000:00:04.0" in str(last.fields)


def test_template_with_a_digit_bearing_constant_is_retired():
    template = Template(Payload("x", "device_bind", (("device", "virtio0"), ("slot", 3))),
                        ["0", "3"])
    template.learn(Payload("x", "device_bind", (("device", "virtio0"), ("slot", 4))), ["0", "4"])
    template.learn(Payload("x", "device_bind", (("device", "virtio0"), ("slot", 5))), ["0", "5"])
    assert not template.trusted


# Every sample log gives the same report with every memo off, the line shapes among them,
# as with every memo on, byte for byte `analyze --format json`'s: the first pass of
# tests/test_parallel.py's test_a_run_does_not_depend_on_the_runs_before_it.
