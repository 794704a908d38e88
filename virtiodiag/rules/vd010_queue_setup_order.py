"""queue-setup-order: a virtqueue configured in the wrong order.

**What it detects.** Any of: a queue's size or addresses written while the queue is
enabled (QueueReady / ``queue_enable`` not cleared first); ``0`` written to PCI
``queue_enable`` (QEMU: ``wrong value for queue_enable``); a queue set up after
DRIVER_OK in the same attempt.

**Bad**::

    [    0.030] virtio-net0: Step 8: queue 0 ready=1 size=256 desc=0x80010000 avail=0x80011000 used=0x80012000

**Good**::

    [    0.030] virtio-net0: Step 8: queue 0 ready=0 size=256 desc=0x80010000 avail=0x80011000 used=0x80012000
    [    0.031] virtio-net0: Step 8: queue 0 ready=1

**Why it matters.** The driver MUST configure the other queue fields before enabling the
queue and MUST NOT write 0 to ``queue_enable`` (4.1.4.3.2); on virtio-mmio it MUST NOT
touch QueueSize or the address registers while QueueReady is set (4.2.2.2). QEMU
latches the addresses when the queue is enabled, so later writes are ignored or
half-applied; a ``queue_enable`` of 0 is a device error. Queues set up after DRIVER_OK
break step 7 of 3.1.1: the device is live and may already use them.

**How to fix.** Per queue: select it, check it is not enabled, write size and the three
addresses, then enable it (write 1) — all before DRIVER_OK. To stop a queue on PCI, reset
the device (or use VIRTIO_F_RING_RESET); on virtio-mmio write 0 to QueueReady and read
it back before reconfiguring.
"""

from virtiodiag.model.records import QUEUE_ENABLE, rejections
from virtiodiag.rules.base import Hit

CODE = "VD010"
NAME = "queue-setup-order"
SEVERITY = "error"
SUMMARY = "Queue fields written while enabled, queue_enable written 0, or queues set up after DRIVER_OK"
SPEC = "3.1.1, 4.1.4.3.2, 4.2.2.2"
OPTIONS: dict[str, object] = {}
LIVE_EVENTS = {"queue_config", "queue_ready", "mmio_access"}


def check(ctx):
    for device in ctx.devices:
        for index in sorted(device.queues):
            queue = device.queues[index]
            if queue.config_while_ready:
                event = queue.config_while_ready[0]
                yield Hit(device, event,
                          f"{device.id}: queue {index} configured while it was enabled "
                          f"(ready={queue.ready if queue.ready is not None else 1})",
                          "write size and addresses first, then enable the queue; disable it "
                          "(mmio QueueReady=0, read back) before changing them",
                          related=[(e, "again while enabled") for e in queue.config_while_ready[1:3]],
                          key=f"q{index}-while-ready")
            if queue.ready_zero_writes:
                event = queue.ready_zero_writes[0]
                yield Hit(device, event,
                          f"{device.id}: 0 written to queue_enable of queue {index} (the driver "
                          "must not write 0 to queue_enable on PCI)",
                          "only ever write 1 to queue_enable; reset the device (or use "
                          "RING_RESET) to stop a queue",
                          key=f"q{index}-enable-zero")
            if queue.configured_after_driver_ok is not None:
                yield Hit(device, queue.configured_after_driver_ok,
                          f"{device.id}: queue {index} set up after DRIVER_OK",
                          "set up every queue (step 7 of 3.1.1) before setting DRIVER_OK",
                          related=[(device.driver_ok_event, "DRIVER_OK")]
                          if device.driver_ok_event else [],
                          key=f"q{index}-after-driver-ok")
        yield from _queue_enable_rejected(device, rejections(device.errors, QUEUE_ENABLE))
    if ctx.final:
        yield from _queue_enable_rejected(None, rejections(ctx.model.unattributed_errors,
                                                           QUEUE_ENABLE))


def _queue_enable_rejected(device, rejected):
    """The device's (its VMM's) refusal of a queue_enable value: the model's typed fact."""
    for rejection in rejected[:1]:
        who = device.id if device is not None else "a virtio-pci device"
        value = f" 0x{rejection.value:x}" if rejection.value is not None else ""
        yield Hit(device, rejection.event,
                  f"{who}: the device rejected the value{value} written to queue_enable "
                  "(the driver may only write 1)",
                  "only ever write 1 to queue_enable; reset the device (or use "
                  "RING_RESET) to stop a queue", key="qemu-queue-enable")
