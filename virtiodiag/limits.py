"""What one run keeps, whatever the input (issue 15: linear time, bounded memory).

A log is text anyone can influence (a guest prints what it likes on its console). These
limits keep time linear in the input and memory flat; each is far above what a real
machine prints, and everything beyond one is counted and reported (rule VD022), never
dropped silently. docs/hostile-input.md lists them.
"""

LINE_BYTES = 64 << 10  # bytes of one line that are parsed; the rest is cut (counted)
# Bytes of one line that are searched for a grammar's trigger words; the rest of a longer
# line is skipped (counted): a line with no newline never grows memory beyond this.
SEARCHED_LINE_BYTES = 8 << 20
DEVICES = 1024  # devices per run; events of further devices are counted, not applied
QUEUES_PER_DEVICE = 1024  # distinct queue indices per device (the spec allows 65,536)
ALIASES_PER_DEVICE = 64  # names one device is known by (vdev pointers, BDFs, virtioN ...)
IRQS_PER_DEVICE = 256  # interrupt lines remembered per device
# Input that holds this many NUL bytes (and at least one per 1,000 bytes) is reported as
# binary data: a text log has none, or a stray few from a serial line.
BINARY_NUL_BYTES = 16

class OverLimit(dict):
    """What went beyond these limits in one run (key -> count), and the first such line."""

    first: tuple[int, str] | None = None  # (line number, text) of the first one with a line

    def count(self, what: str, count: int = 1, line: int | None = None, text: str = "") -> None:
        self[what] = self.get(what, 0) + count
        if line is not None and self.first is None:
            self.first = (line, text[:300])


def over(model) -> OverLimit:
    """The run's OverLimit record (kept on the model, made on first use)."""
    record = getattr(model, "_over_limit", None)
    if record is None:
        record = OverLimit()
        setattr(model, "_over_limit", record)  # noqa: B010 - not a field of the model's
    return record


def queue_of(model, device, index: int | None):
    """``device.queue(index)``; a new queue beyond QUEUES_PER_DEVICE is counted and
    handed out as a scratch queue that is not the device's (what is written to it is
    never kept)."""
    wanted = device.selected_queue if index is None else index
    if (wanted is not None and wanted not in device.queues
            and len(device.queues) >= QUEUES_PER_DEVICE):
        from virtiodiag.model.device import Queue  # here: the model imports this module

        over(model).count("queues")
        return Queue(wanted)
    return device.queue(index)


def keep_irq(model, device, irq: int) -> bool:
    """Whether a device may remember one more interrupt line (counted when not)."""
    if irq in device.irq_lines or len(device.irq_lines) < IRQS_PER_DEVICE:
        return True
    over(model).count("irqs")
    return False


def status_byte(model, event, value, text: str) -> int:
    """A device status read from sysfs (``value``, or ``text`` in hex). ValueError when
    it is no number; ValueOutOfRange (counted: the line is not understood) when it is
    wider than a byte (spec 2.1)."""
    from virtiodiag.events import ValueOutOfRange

    number = value if isinstance(value, int) else int(text, 16)
    if 0 <= number <= 0xFF:
        return number
    not_understood(model, event)
    raise ValueOutOfRange(f"status {number:#x} is wider than a byte")


def not_understood(model, event) -> None:
    """A line a grammar read whose values make no sense for the device (a selector out of
    its range): counted with the lines no grammar understood (VD016), never applied."""
    model.note_unrecognised(event.line, event.text, event.text, 50)


# Keys of Model.over_limit, with the words the report uses.
OVER_LIMIT_WORDS = {
    "lines": f"line(s) longer than {LINE_BYTES // 1024} KiB cut (only their first "
             f"{LINE_BYTES // 1024} KiB read)",
    "unsearched": f"line(s) longer than {SEARCHED_LINE_BYTES >> 20} MiB (only their first "
                  f"{SEARCHED_LINE_BYTES >> 20} MiB searched for virtio text)",
    "devices": f"event(s) of devices beyond the first {DEVICES} not applied",
    "queues": f"event(s) of queues beyond {QUEUES_PER_DEVICE} per device not applied",
    "aliases": f"device name(s) beyond {ALIASES_PER_DEVICE} per device not kept",
    "irqs": f"interrupt line(s) beyond {IRQS_PER_DEVICE} per device not kept",
    "binary": "NUL byte(s): the input holds binary data (not a text log?)",
    "nul": "NUL byte(s) inside lines, left out of the text read (serial line noise?)",
}
