"""silent-interrupts: traffic flowed but the device's interrupt never fired.

**What it detects.** Traffic that flowed (an answer came back, not a timeout) with no
interrupt counted during it (an RTOS ``net_ping_run: ... rtt=2 ms irq_delta=0``), on a
device not in polling mode; or, in a QEMU trace
that shows interrupts for other devices, a device that reached DRIVER_OK without a single
interrupt although QEMU returned used buffers on its queues after DRIVER_OK
(``virtqueue_flush``, traced with ``-trace 'virtqueue_*'``), or, where the trace does not
show the device side of the queues, one kicked at least ``min_notifies`` times (default
8). The threshold leaves out the few kicks a driver makes at probe (filling receive
queues), which complete without interrupts on an idle device such as a NIC with no
backend; a trace that shows the queues' device side needs no threshold: a device that
returned no used buffer owed no interrupt. (A driver may ask for no interrupts and poll,
as SeaBIOS does: a device only such a driver drove looks the same.)

**Bad**::

    net_ping_run: dst=10.0.2.2 seq=1 rtt=2 ms irq_delta=0

**Good**::

    net_ping_run: dst=10.0.2.2 seq=1 rtt=2 ms irq_delta=2

**Why it matters.** Packets arrived only because something polled the rings (a timer, a
busy loop, the transmit path reaping receive buffers): latency is bad and, once the
poller stops, the device looks dead. The interrupt is routed to the wrong line or vector,
masked, never acknowledged, or the handler is attached to another device.

**How to fix.** Check the IRQ number the transport reports against the one the handler is
attached to (virtio-mmio: the slot's interrupt; PCI: INTx pin or MSI-X vectors), that the
source is unmasked after DRIVER_OK, and that the handler reads and acknowledges
InterruptStatus (virtio-mmio) or the ISR register (PCI INTx).
"""

from virtiodiag.rules.base import Hit

CODE = "VD014"
NAME = "silent-interrupts"
SEVERITY = "warning"
SUMMARY = "Traffic flowed (or queues were kicked) but no interrupt was counted"
SPEC = "2.3"
OPTIONS = {"min_notifies": 8}
LIVE_EVENTS: set[str] = set()

_HINT = ("check the IRQ line / MSI-X vector the handler is attached to, that it is unmasked "
         "after DRIVER_OK, and that the handler acknowledges InterruptStatus / ISR")
_POLLING = ("poll", "polling", "polled")


def check(ctx):
    if not ctx.final:
        return
    nets = [d for d in ctx.devices if d.is_net]
    for device in ctx.devices:
        if (device.irq_mode or "") in _POLLING:
            continue
        silent = [e for e in device.traffic if _silent(e)]
        if silent:
            yield _traffic_hit(device, silent)
    unowned = [e for e in ctx.model.traffic if _silent(e)]
    if unowned:
        owner = nets[0] if len(nets) == 1 else None
        if owner is None or (owner.irq_mode or "") not in _POLLING:
            yield _traffic_hit(owner, unowned)
    yield from _trace_check(ctx)


def _silent(event) -> bool:
    """Traffic that flowed (the grammar marks a request that got no answer ``lost``) with
    no interrupt counted."""
    return event.get("irq_delta") == 0 and event.get("lost") is None


def _traffic_hit(device, silent):
    first = silent[0]
    more = f" ({len(silent)} times)" if len(silent) > 1 else ""
    who = device.id if device is not None else "the network device"
    return Hit(device, first,
               f"{who}: traffic with no interrupt counted (irq_delta=0){more}", _HINT,
               key="traffic")


def _trace_check(ctx):
    minimum = ctx.options.get("min_notifies", 8)
    traced = [d for d in ctx.devices if "host" in d.sides]  # the VMM reported on them
    # A trace of the device side of the queues (virtqueue_pop / virtqueue_flush) says
    # whether a device owed the driver an interrupt: it returned used buffers.
    io_traced = any(q.buffers_taken or q.buffers_used for d in traced for q in d.queues.values())
    for device in traced:
        if not device.reached_driver_ok or device.interrupt_count:
            continue
        others = [d for d in traced if d is not device and d.interrupt_count > 0]
        if not others:
            continue
        used = [q for q in device.queues.values() if q.buffers_used_after_driver_ok]
        if used:
            yield _used_hit(device, used, others)
            continue
        if io_traced or device.notify_count < minimum:
            continue  # it returned no used buffer: kicks alone owe no interrupt
        firsts = [q.first_notify for q in device.queues.values() if q.first_notify]
        event = min(firsts, key=lambda e: e.seq) if firsts else None
        yield _silent_hit(device, event, f"{device.notify_count} queue notifications after "
                          "DRIVER_OK but no interrupt", "QEMU", others)


def _used_hit(device, used, others):
    """QEMU put used buffers in the device's rings after DRIVER_OK and never notified."""
    first = min((q.first_buffer_used_after_driver_ok for q in used), key=lambda e: e.seq)
    count = sum(q.buffers_used_after_driver_ok for q in used)
    queues = ", ".join(str(q.index) for q in sorted(used, key=lambda q: q.index))
    return _silent_hit(device, first, f"QEMU returned {count} used buffer(s) on queue {queues} "
                       "after DRIVER_OK but never notified the driver", "it", others)


def _silent_hit(device, event, what: str, tracer: str, others) -> Hit:
    """A device QEMU's trace shows silent while it traced interrupts for ``others``."""
    return Hit(device, event,
               f"{device.id}: {what}, while {tracer} traced interrupts for "
               f"{', '.join(d.id for d in others[:3])}", _HINT,
               related=[(device.driver_ok_event, "DRIVER_OK")] if device.driver_ok_event else [],
               key="no-irq")
