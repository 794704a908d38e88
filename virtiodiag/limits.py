"""What one run keeps, whatever the input (issue 15: linear time, bounded memory).

A log is text anyone can influence (a guest prints what it likes on its console). These
limits keep time linear in the input and memory flat; each is far above what a real
machine prints, and everything beyond one is counted and reported (rule VD022), never
dropped silently. docs/hostile-input.md lists them.
"""

LINE_BYTES = 64 << 10  # bytes of one line that are parsed; the rest is cut (counted)
DEVICES = 1024  # devices per run; events of further devices are counted, not applied
QUEUES_PER_DEVICE = 1024  # distinct queue indices per device (the spec allows 65,536)
ALIASES_PER_DEVICE = 64  # names one device is known by (vdev pointers, BDFs, virtioN ...)
IRQS_PER_DEVICE = 256  # interrupt lines remembered per device
# Input that holds this many NUL bytes (and at least one per 1,000 bytes) is reported as
# binary data: a text log has none, or a stray few from a serial line.
BINARY_NUL_BYTES = 16

# Keys of Model.over_limit, with the words the report uses.
OVER_LIMIT_WORDS = {
    "lines": f"line(s) longer than {LINE_BYTES // 1024} KiB cut (only their first "
             f"{LINE_BYTES // 1024} KiB read)",
    "devices": f"event(s) of devices beyond the first {DEVICES} not applied",
    "queues": f"event(s) of queues beyond {QUEUES_PER_DEVICE} per device not applied",
    "aliases": f"device name(s) beyond {ALIASES_PER_DEVICE} per device not kept",
    "irqs": f"interrupt line(s) beyond {IRQS_PER_DEVICE} per device not kept",
    "binary": "NUL byte(s): the input holds binary data (not a text log?)",
}
