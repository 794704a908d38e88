"""notify-before-driver-ok: the driver kicked a queue before setting DRIVER_OK.

**What it detects.** An available-buffer notification (a queue notify / kick) after the
handshake began and before DRIVER_OK in that attempt. An error for devices driven
through the modern interface; a warning for devices driven legacy, where spec 3.1.2
allows using the device before DRIVER_OK.

**Bad**::

    virtio_set_status vdev 0x55d0a7b3c010 val 11
    virtio_queue_notify vdev 0x55d0a7b3c010 n 0 vq 0x55d0a7b4a000
    virtio_set_status vdev 0x55d0a7b3c010 val 15

**Good**::

    virtio_set_status vdev 0x55d0a7b3c010 val 11
    virtio_set_status vdev 0x55d0a7b3c010 val 15
    virtio_queue_notify vdev 0x55d0a7b3c010 n 0 vq 0x55d0a7b4a000

**Why it matters.** Spec 3.1.1: "The driver MUST NOT send any buffer available
notifications to the device before setting DRIVER_OK", and the device must not consume
buffers before it (2.1.2). The kick is lost or, worse, processed by a device whose
backend is not started; the driver then waits for a completion that never comes.

**How to fix.** Add buffers to the rings if you like, but kick only after DRIVER_OK (Linux:
``virtio_device_ready()`` before the first ``virtqueue_kick()``).

A known case that is not your driver's: Linux's ``virtio_balloon`` primes and kicks its
stats queue in ``init_vqs()``, during probe, before ``virtio_device_ready()`` (seen with
Linux 6.1 and QEMU 7.2, where it does no harm: QEMU's balloon reads the stats queue only
later). The finding is then the guest kernel's; the hint says so, and
``[rules.VD012] severity = "warning"`` or ``ignore = ["VD012"]`` keeps such a guest's CI
gate green.
"""

from virtiodiag.rules.base import Hit

CODE = "VD012"
NAME = "notify-before-driver-ok"
SEVERITY = "error"
SUMMARY = "An available-buffer notification was sent before DRIVER_OK"
SPEC = "2.1.2, 3.1.1, 3.1.2"
OPTIONS: dict[str, object] = {}
LIVE_EVENTS: set[str] = set()  # legacy or modern is only known at the end


def check(ctx):
    if not ctx.final:
        return
    for device in ctx.devices:
        event = device.first_notify_before_driver_ok
        if event is None:
            continue
        legacy = device.is_legacy
        queue = event.get("queue")
        which = f"queue {queue}" if queue is not None else "a queue"
        last = [s for s in device.status if s.event.seq < event.seq and not s.read]
        related = [(last[-1].event, "last status before the notify")] if last else []
        if device.driver_ok_event is not None and device.driver_ok_event.seq > event.seq:
            related.append((device.driver_ok_event, "DRIVER_OK"))
        note = (" (allowed for the legacy interface by spec 3.1.2, but not for a 1.x driver)"
                if legacy else "")
        hint = "kick queues only after setting DRIVER_OK"
        if device.device_type == "balloon":
            hint += (" (Linux's virtio_balloon kicks its stats queue in init_vqs() before "
                     "virtio_device_ready(): with a Linux guest this is the kernel's, not "
                     "your driver's)")
        yield Hit(device, event,
                  f"{device.id}: {which} notified before DRIVER_OK{note}",
                  hint,
                  related=related, key="notify", severity="warning" if legacy else None)
