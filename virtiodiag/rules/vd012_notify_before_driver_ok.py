"""notify-before-driver-ok: the driver kicked a queue before setting DRIVER_OK.

**What it detects.** An available-buffer notification (a queue notify / kick) after the
handshake began and before DRIVER_OK in that attempt, or on a device whose status never
left RESET (a fuzzer's or a broken driver's kick). An error for devices driven through
the modern interface; a warning for devices driven legacy, where spec 3.1.2 allows using
the device before DRIVER_OK. Also its mirror: a used-buffer notification (QEMU's
``virtio_notify``, ``virtio_notify_irqfd``, ``virtio_irq``: an interrupt for a queue)
raised before DRIVER_OK, when no kick before DRIVER_OK explains it: spec 2.1.2 forbids
the device to consume buffers or notify before DRIVER_OK, so either the device ran a
queue the driver had not made live, or the driver handed it buffers in a way the log
does not show.

**Bad**::

    virtio_set_status vdev 0x55d0a7b3c010 val 11
    virtio_queue_notify vdev 0x55d0a7b3c010 n 0 vq 0x55d0a7b4a000
    virtio_set_status vdev 0x55d0a7b3c010 val 15

    virtio_set_status vdev 0x5581c3e4a2d0 val 0
    virtio_notify vdev 0x5581c3e4a2d0 vq 0x5581c3e5b000

**Good**::

    virtio_set_status vdev 0x55d0a7b3c010 val 11
    virtio_set_status vdev 0x55d0a7b3c010 val 15
    virtio_queue_notify vdev 0x55d0a7b3c010 n 0 vq 0x55d0a7b4a000

**Why it matters.** Spec 3.1.1: "The driver MUST NOT send any buffer available
notifications to the device before setting DRIVER_OK", and the device must not consume
buffers before it (2.1.2). The kick is lost or, worse, processed by a device whose
backend is not started; the driver then waits for a completion that never comes.

**How to fix.** Add buffers to the rings if you like, but kick only after DRIVER_OK (Linux:
``virtio_device_ready()`` before the first ``virtqueue_kick()``). For an interrupt before
DRIVER_OK: make queues live only after DRIVER_OK, and check the device model (VMM) does
not run a queue of a device at RESET.

A known case that is not your driver's: Linux's ``virtio_balloon`` primes and kicks its
stats queue in ``init_vqs()``, during probe, before ``virtio_device_ready()`` (seen with
Linux 6.1 and QEMU 7.2, where it does no harm: QEMU's balloon reads the stats queue only
later). So does ``virtio_rng`` of some kernels (seen with Debian 11's 5.10 and QEMU 7.2,
samples/x86-linux510-multi, arm64-linux510-pci): it queues its first entropy request during probe, at status
FEATURES_OK, and QEMU ignores that kick ("virtio_rng_guest_not_ready"). The finding is
then the guest kernel's; the hint says so, and
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
        elif device.device_type == "rng":
            hint += (" (Linux's virtio_rng of some kernels, Debian 11's 5.10 among them, "
                     "queues its first entropy request during probe, before "
                     "virtio_device_ready(): with a Linux guest this is the kernel's, not "
                     "your driver's; QEMU ignores that kick, 'virtio_rng_guest_not_ready')")
        yield Hit(device, event,
                  f"{device.id}: {which} notified before DRIVER_OK{note}",
                  hint,
                  related=related, key="notify", severity="warning" if legacy else None)
    for device in ctx.devices:
        interrupt = device.first_interrupt_before_driver_ok
        kick = device.first_notify_before_driver_ok
        if interrupt is None or (kick is not None and kick.seq < interrupt.seq):
            continue  # the kick before DRIVER_OK is the cause, reported above
        yield _interrupt_hit(device, interrupt)


def _interrupt_hit(device, event):
    last = [s for s in device.status if s.event.seq < event.seq and not s.read]
    where = (f"at status {last[-1].value:#04x}" if last and last[-1].value
             else "while its status was RESET (0)")
    related = [(last[-1].event, "last status before the interrupt")] if last else []
    if device.driver_ok_event is not None and device.driver_ok_event.seq > event.seq:
        related.append((device.driver_ok_event, "DRIVER_OK"))
    return Hit(device, event,
               f"{device.id}: a used-buffer notification (interrupt) was raised {where}, "
               "before DRIVER_OK: the device ran a queue before the driver made it live "
               "(spec 2.1.2)",
               "make queues live (and hand buffers to the device) only after DRIVER_OK; if "
               "the driver did not, the device model ran a queue of a device not yet driven",
               related=related, key="interrupt",
               severity="warning" if device.is_legacy else None)
