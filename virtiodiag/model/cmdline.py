"""The virtio-mmio devices the kernel command line declares (``virtio_mmio.device=``).

drivers/virtio/virtio_mmio.c vm_cmdline_set() (CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, Linux
3.4+) registers, for each ``virtio_mmio.device=<size>@<baseaddr>:<irq>[:<id>]``, the platform
device "virtio-mmio.<id>" with the window at <baseaddr> and the interrupt <irq>; the ids
count up from 0, or from the id a parameter gives (``vm_cmdline_id++``). QEMU's microvm
without ACPI, Firecracker and kvmtool declare their transports this way. Each declared
device is a device of the run: the one its "Registering device virtio-mmio.N at 0x..." line
and every line naming virtio-mmio.N or the window speak of, so the names join here. A
kernel built without that option ignores the parameter (kernel/params.c "virtio_mmio:
unknown parameter 'device' ignored"): no declared device is ever probed, and that line is
the probe failure of each declared device no other line shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtiodiag.cachefiles import compiled
from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model
from virtiodiag.model.failures import ignored_parameter

if TYPE_CHECKING:
    from virtiodiag.model.identity import Identities

PARAM = "virtio_mmio.device"
# memparse() size (base 0, an optional K/M/G/T/P/E suffix), then vm_cmdline_set()'s
# sscanf "@%lli:%u%n:%d%n": the base (0x hex, 0 octal, else decimal), the IRQ, an id.
_VALUE = compiled(r"(?:0[xX][0-9a-fA-F]+|\d+)[KMGTPEkmgtpe]?"
                  r"@(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*):(\d+)(?::(\d+))?")


def parse_device(value: str) -> tuple[int, int, int | None] | None:
    """(base, irq, id or None) of one ``virtio_mmio.device=`` value, or None for a value
    vm_cmdline_set() refuses (-EINVAL: nothing is registered)."""
    match = _VALUE.fullmatch(value.strip())
    if match is None:
        return None
    base_text, irq, given = match.groups()
    if base_text[:2] in ("0x", "0X"):
        base = int(base_text, 16)
    elif base_text.startswith("0"):
        base = int(base_text, 8)
    else:
        base = int(base_text)
    return base, int(irq), int(given) if given is not None else None


def declared_values(event: Event) -> list[str]:
    words = event.get("param")
    words = words if isinstance(words, tuple) else (words,) if words else ()
    values = []
    for word in words:
        name, _, value = str(word).partition("=")
        if name == PARAM:
            values.append(value)
    return values


def declaration_rank(model: Model) -> dict[str, int]:
    """Window address -> its place among the command line's devices: the order
    vm_cmdline_set() registered them, and so the order virtio_mmio probes them."""
    ranks: dict[str, int] = {}
    for value in declared_values(model.cmdline) if model.cmdline is not None else ():
        parsed = parse_device(value)
        if parsed is not None:
            ranks.setdefault(f"0x{parsed[0]:x}", len(ranks))
    return ranks


def declare_cmdline_mmio(model: Model, identities: Identities) -> None:
    """Make each device the command line declares a device of the run (see the module's
    docstring), and give the ones no line shows the kernel's refusal of the parameter."""
    event = model.cmdline
    if event is None:
        return
    declared: list[Device] = []
    next_id = 0
    # QEMU's trace shows every device of the machine (by its vdev pointer): a declared
    # device no guest line shows is one of the trace's guest-less devices, which one the
    # log does not say, so it adds no record beside them.
    traced = any(not (d.sides - {"host"}) for d in model.live_devices())
    for value in declared_values(event):
        parsed = parse_device(value)
        if parsed is None:
            continue
        base, irq, given = parsed
        if given is not None:
            next_id = given
        aliases = (f"mmio:0x{base:x}", f"name:virtio-mmio.{next_id}")
        next_id += 1
        if traced and not any(a in identities.by_alias for a in aliases):
            continue
        device = identities.device_for(aliases)
        if device is None:
            break  # over the run's device limit (counted there)
        _declare(device, event, base, irq)
        declared.append(device)
    ignored = [e for e in model.unattributed_errors
               if (p := ignored_parameter(e)) is not None and p.drops_cmdline_devices]
    unseen = [d for d in declared if all(e is event for e in d.timeline)]
    if not ignored or not unseen:
        return
    for device in unseen:
        device.probe_failures.append(ignored[0])
        device.last_event = ignored[0]
    model.unattributed_errors[:] = [e for e in model.unattributed_errors
                                    if not any(e is i for i in ignored)]


def _declare(device: Device, event: Event, base: int, irq: int) -> None:
    """The facts the parameter gives; a device no line shows also gets the command line as
    its one line (a device other lines show keeps their timeline)."""
    if device.transport == "unknown":
        device.transport = "mmio"
    device.address = device.address or f"0x{base:x}"
    device.irq_lines.add(irq)
    if device.timeline:
        return
    device.sides.add("guest")
    device.dialects.add(event.dialect)
    device.first_event = device.last_event = event
    device.add_timeline(event)
