"""irq-enabled-mid-init: an interrupt source was enabled while devices were still initialising.

**What it detects.** An interrupt enable (an RTOS ``BSP_IntSrcEn(irq=48)``, any
``irq_enable`` event) logged while the init window of that boot is open: after the first
device began its handshake (ACKNOWLEDGE or DRIVER written) and before the last device
of that boot reached DRIVER_OK (or, if one never did, until the boot ends). Boots are
separated by boot banners when the log has them. The finding points at the IRQ line and,
as related, at the device that had not finished. Enables after every device reached
DRIVER_OK are fine.

**Bad**::

    [    0.010] virtio-net0: Step 2: status |= ACKNOWLEDGE -> 0x01
    [    0.011] BSP_IntSrcEn(irq=48)
    [    0.012] virtio-net0: Step 3: status |= DRIVER -> 0x03
    [    0.020] virtio-net0: Step 9: status |= DRIVER_OK -> 0x0f

**Good**::

    [    0.010] virtio-net0: Step 2: status |= ACKNOWLEDGE -> 0x01
    [    0.020] virtio-net0: Step 9: status |= DRIVER_OK -> 0x0f
    [    0.021] BSP_IntSrcEn(irq=48)

**Why it matters.** A level-triggered virtio interrupt enabled before the handler's device
is live can fire against half-built queues (a shared line, a stale InterruptStatus from
before the reset, a configuration change): the handler touches rings that do not exist
yet, or never acknowledges the interrupt and the line storms. The device may send no
used-buffer notification before DRIVER_OK (spec 2.1.2), so nothing useful is lost by
waiting.

**How to fix.** Install the handler and unmask the interrupt source after the last
device's DRIVER_OK (or at least after that device's queues are set up), and acknowledge
any pending InterruptStatus before unmasking.
"""

from virtiodiag import spec
from virtiodiag.rules.base import Hit

CODE = "VD007"
NAME = "irq-enabled-mid-init"
SEVERITY = "error"
SUMMARY = "An interrupt source was enabled before every device of the boot reached DRIVER_OK"
SPEC = "2.1.2, 3.1.1"
OPTIONS: dict[str, object] = {}
LIVE_EVENTS = {"irq_enable"}


def check(ctx):
    if not ctx.model.irq_enables:
        return
    if not ctx.final:
        yield from _as_read(ctx)
        return
    bounds = sorted(e.seq for e in ctx.model.boots)
    writes = _writes(ctx.devices)  # read once, filtered per boot
    enabled = [(e.seq, e) for e in ctx.model.irq_enables]
    for boot, (start, stop) in enumerate(_segments(bounds)):
        enables = [e for seq, e in enabled if start <= seq < stop]
        if not enables:
            continue
        progress = _progress(writes, start, stop)
        if not progress:
            continue
        opened = min(began.seq for _, began, _ in progress)
        for event in enables:
            if event.seq <= opened:
                continue
            pending = [(d, b, o) for d, b, o in progress if o is None or o.seq > event.seq]
            if not pending:
                continue
            # The device in the middle of its handshake at that moment, else the next one.
            pending.sort(key=lambda p: (p[1].seq > event.seq, p[1].seq))
            yield _hit(event, pending, boot, bounds)


def _as_read(ctx):
    """Live, right after an enable was read: the devices in the middle of their handshake
    now (one that begins later is known at the end; the final pass then words the finding
    with the whole boot, as for a file)."""
    event = ctx.model.irq_enables[-1]
    bounds = sorted(e.seq for e in ctx.model.boots if e.seq < event.seq)
    start = bounds[-1] if bounds else 0
    progress = _progress(_writes(ctx.model.live_devices()), start, event.seq + 1)
    pending = sorted(((d, b, o) for d, b, o in progress if o is None and b.seq < event.seq),
                     key=lambda p: p[1].seq)
    if pending:
        yield _hit(event, pending, len(bounds), bounds)


def _writes(devices):
    """Each device with its status writes as (sequence number, change), in its order
    (Event.seq is a property: read once per write, not once per boot)."""
    return [(device, [(s.event.seq, s) for s in device.status if not s.read])
            for device in devices]


def _progress(writes, start, stop):
    """(device, first handshake event, first DRIVER_OK event or None) of each device that
    began a handshake between the events ``start`` and ``stop`` (sequence numbers), from
    ``_writes``."""
    progress = []
    for device, timed in writes:
        changes = [(seq, s) for seq, s in timed if start <= seq < stop]
        began = next(((seq, s.event) for seq, s in changes
                      if s.value & (spec.ACKNOWLEDGE | spec.DRIVER)), None)
        if began is None:
            continue
        done = next((s.event for seq, s in changes
                     if s.value & spec.DRIVER_OK and seq > began[0]), None)
        progress.append((device, began[1], done))
    return progress


def _hit(event, pending, boot, bounds):
    device, began, done = pending[0]
    irq = event.get("irq")
    last = _last_before(device, event)
    where = (f"still at {spec.status_names(last.value)}" if last is not None
             else "not started yet")
    related = [(last.event if last is not None else began,
                f"{device.id} not at DRIVER_OK yet")]
    if done is not None:
        related.append((done, f"{device.id} reached DRIVER_OK"))
    # The devices mid-handshake at the enable (all a live stream knows then), and apart
    # those of the boot that began theirs later (only the whole log shows them).
    began = sum(1 for _, b, _ in pending if b.seq < event.seq)
    later = len(pending) - began
    count = (f"{began} device(s) not at DRIVER_OK; {later} more began later in the boot"
             if began and later else f"{len(pending)} device(s) not at DRIVER_OK")
    return Hit(device, event,
               f"IRQ {irq if irq is not None else '?'} enabled while {device.id} was "
               f"initialising ({where}; {count})",
               "enable (unmask) the interrupt after the last device's DRIVER_OK, and "
               "acknowledge a pending InterruptStatus first",
               related=related,
               key=f"boot{boot}-irq{irq}" if bounds else f"irq{irq}")


def _segments(bounds):
    edges = [0] + bounds + [float("inf")]
    return [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


def _last_before(device, event):
    last = None
    for change in device.status:
        if change.event.seq < event.seq and not change.read:
            last = change
    return last
