"""queue-misaligned: a virtqueue part at an address the spec (or your policy) does not allow.

**What it detects.** Split virtqueue addresses (from virtio-mmio QueueDesc/Driver/Device
writes, QueuePFN, or driver prints) checked against spec 2.7: the descriptor table on 16
bytes, the available ring on 2, the used ring on 4 (error, any device). On a device
driven through the legacy interface the descriptor table must also start on a 4096-byte
page (2.7.2, PCI 4.1.5.1.3.1; the virtio-mmio GuestPageSize when set) (error). Policy
(warning): the option ``alignment`` (default 4096) requires the queue memory (the
descriptor table, where the queue starts) to be aligned to that many bytes; set
``alignment = 0`` to turn the policy off.

**Bad**::

    [    0.030] virtio-net0: Step 8: queue 0 ready=0 size=256 desc=0x80010008 avail=0x80011000 used=0x80012000

**Good**::

    [    0.030] virtio-net0: Step 8: queue 0 ready=0 size=256 desc=0x80010000 avail=0x80011000 used=0x80012000

**Why it matters.** The device computes ring entries from these addresses; a misaligned
part breaks the driver requirement of 2.7.1 and some devices (and IOMMUs) mask the low
bits, so the device reads a different ring than the driver writes. Queue memory from a
general-purpose ``malloc`` is the usual cause: it is aligned by chance and breaks when
the heap layout changes.

**How to fix.** Allocate queue memory with an aligned allocator (page-aligned for
legacy devices: ``memalign(4096, ...)``, a DMA pool, a static buffer with
``__attribute__((aligned(4096)))``) and place each part at its alignment.
"""

from virtiodiag import spec
from virtiodiag.rules.base import Hit

CODE = "VD009"
NAME = "queue-misaligned"
SEVERITY = "error"
SUMMARY = "A virtqueue's desc/avail/used address breaks the spec's alignment (or the policy)"
SPEC = "2.7, 2.7.1, 2.7.2, 4.1.5.1.3.1"
OPTIONS = {"alignment": 4096}
LIVE_EVENTS = {"queue_config", "mmio_access"}

_PART_NAMES = {"desc": "descriptor table", "avail": "available (driver) ring",
               "used": "used (device) ring"}


def check(ctx):
    policy = ctx.options.get("alignment", 4096)
    for device in ctx.devices:
        legacy = device.is_legacy
        page = device.guest_page_size or spec.LEGACY_QUEUE_ALIGN
        for index in sorted(device.queues):
            queue = device.queues[index]
            for part, need in spec.MODERN_QUEUE_ALIGN.items():
                address = getattr(queue, part)
                if address is None or (part == "desc" and address == 0):
                    continue
                event = queue.address_events.get(part) or queue.first_config
                spec_error = False
                if address % need:
                    spec_error = True
                    yield Hit(device, event,
                              f"{device.id}: queue {index} {_PART_NAMES[part]} at 0x{address:x} "
                              f"is not {need}-byte aligned (spec 2.7)",
                              f"place the {_PART_NAMES[part]} on a multiple of {need} bytes",
                              key=f"q{index}-{part}")
                elif part == "desc" and legacy and address % page:
                    spec_error = True
                    yield Hit(device, event,
                              f"{device.id}: queue {index} descriptor table at 0x{address:x} "
                              f"is not {page}-byte aligned, as the legacy interface requires "
                              "(spec 2.7.2)",
                              f"allocate legacy queue memory page-aligned ({page} bytes)",
                              key=f"q{index}-{part}-legacy")
                if part == "desc" and policy and not spec_error and address % policy:
                    yield Hit(device, event,
                              f"{device.id}: queue {index} memory (descriptor table) at "
                              f"0x{address:x} is not aligned to {policy} bytes (policy option "
                              "alignment)",
                              f"allocate queue memory aligned to {policy} bytes (not plain "
                              "malloc), or set alignment = 0 to turn this policy off",
                              key=f"q{index}-policy", severity="warning")
