"""Where QEMU put the PCI devices its command line declares without a known function.

A -device with addr= on the root bus has its function from the command line alone
(declared.pci_function). The guest's own lines prove two more, and nothing else here
joins a declaration to a device:

* Behind a bridge or root port (``bus=`` its id): the bus number is the firmware's or
  the kernel's choice, and Linux prints it ("pci 0000:00:01.0: PCI bridge to [bus 01]",
  drivers/pci/setup-bus.c __pci_setup_bridge()); the bridge's own function is known as
  any device's is, so the device is at that bus's addr= (devfn 0 when none is given and
  it is the only one there).
* Without addr= (QEMU's automatic address): hw/pci/pci.c do_pci_register_device() gives
  the device the first free slot of its bus when it is created, and at start-up no slot
  is freed, so on one bus a device created later sits at a higher slot. QEMU creates
  them in a fixed order: the machine's NICs (net/net.c net_init_clients(): -nic's, then
  -net nic's; the board places them), -device in option syntax in command-line order,
  -drive if=virtio (blockdev.c drive_new() appends its virtio-blk-pci to the -device
  list), then -device in JSON syntax (QEMU 6.2+, vl.c qemu_create_cli_devices() walks
  them after the others). QEMU 7.2's `info pci` shows it: ``-device virtio-net-pci -device
  '{"driver":"virtio-blk-pci",...}' -device virtio-blk-pci -drive if=virtio`` puts the
  net at 02, the option-syntax blk at 03, the drive's at 04, the JSON one at 05.
  So the devices of one type a bus holds at automatic addresses, in creation order, are
  the guest's functions of that type on that bus in slot order, when both sides count
  the same number (no other device of that type there, none missing). When the guest
  names them only by Linux's virtioN, the numbers follow the same order (virtio_pci
  probes a bus in slot order and registers each device as it goes), when every device
  of that type is at an automatic address on the root bus.

* On a PCI expander bridge (``-device pxb`` or ``pxb-pcie``, bus= its id): the expander
  is a host bridge of a root bus of its own, numbered by its bus_nr= (hw/pci-bridge/
  pci_expander_bridge.c; QEMU's ACPI tables give the guest that number, and Linux prints
  "PCI Root Bridge [PC80] (domain 0000 [bus 80-81])", "PCI host bridge to bus 0000:80").
  A device there (a pxb takes endpoints, a pxb-pcie only root ports) is at that bus's
  addr=; a root port there has its bus behind it numbered as any bridge's is.

Anything else (a count that differs, a bus whose number no line shows, an expander with
no bus_nr=) leaves the declaration unplaced: joined by nothing rather than by a guess.
A host's own record of a device (own_record: vfkit's "Adding virtio-blk device", libvirt
starting a device's virtiofsd) takes the declaration of that type no guest line answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtiodiag.model.identity import VIRTIO_N
from virtiodiag.model.records import Declaration

if TYPE_CHECKING:
    from virtiodiag.model.device import Device, Model

_ROOT_BUSES = ("pci.0", "pcie.0")
# QEMU's PCI expander bridges (hw/pci-bridge/pci_expander_bridge.c): a root bus each.
EXPANDER_DRIVERS = frozenset({"pxb", "pxb-pcie", "pxb-cxl"})
PCI_BRIDGE_LIMIT = 256  # bridges remembered per run (a machine has a few dozen)
_DEPTH = 8  # bridges behind bridges resolved (a switch behind a root port is three)


def note_pci_bridge(model: Model, address: object, bus: object) -> None:
    """Keep a guest's "PCI bridge to [bus NN]" line: the bus behind that bridge."""
    if not isinstance(address, str) or not isinstance(bus, int):
        return
    key = address.lower()
    if key in model.pci_bridges or len(model.pci_bridges) < PCI_BRIDGE_LIMIT:
        model.pci_bridges[key] = bus


def on_root_bus(bus: str | None) -> bool:
    """A device given no bus= sits on the machine's root bus (qdev_device_add() takes the
    first bus of its type, the host bridge's), as one given pci.0 or pcie.0."""
    return bus is None or bus in _ROOT_BUSES


def _bus_of(address: str) -> int | None:
    """The bus number of a PCI function "0000:BB:SS.F" in domain 0."""
    if len(address) != 12 or not address.startswith("0000:"):
        return None
    try:
        return int(address[5:7], 16)
    except ValueError:
        return None


def place_declarations(model: Model, guest: list[Device]) -> None:
    """Give each PCI declaration whose function the command line leaves open the function
    the guest's lines prove (``declaration.address``, how in ``declaration.placed``)."""
    numbers: dict[str | None, int] = {None: 0}  # bus id (None: the root bus) -> its number
    bridges = [b for b in model.declared_bridges if b.driver not in EXPANDER_DRIVERS]
    for expander in model.declared_bridges:
        if expander.qemu_id and expander.root_bus is not None:
            numbers.setdefault(expander.qemu_id, expander.root_bus)
    expanders = set(numbers) - {None}
    for _ in range(_DEPTH):
        _place_on_buses(bridges, numbers, sorted(model.pci_bridges), "bridge", expanders)
        grown = False
        for bridge in bridges:
            behind = model.pci_bridges.get(bridge.address or "")
            if bridge.qemu_id and behind is not None and bridge.qemu_id not in numbers:
                numbers[bridge.qemu_id] = behind
                grown = True
        if not grown:
            break
    pci = [d for d in model.declarations if d.transport in ("pci", None)]
    by_type: dict[str | None, list[str]] = {}
    for device in guest:
        if device.address and device.transport in ("pci", "unknown"):
            by_type.setdefault(device.device_type, []).append(device.address)
    for kind in {d.device_type for d in pci}:
        _place_on_buses([d for d in pci if d.device_type == kind], numbers,
                        sorted(by_type.get(kind, [])), f"{kind} device", expanders)


def _bus_key(declaration: Declaration) -> str | None:
    return None if on_root_bus(declaration.bus) else declaration.bus


def _place_on_buses(declared: list[Declaration], numbers: dict[str | None, int],
                    found: list[str], what: str, expanders: set[str | None]) -> None:
    """Place ``declared`` (of one kind) on the buses whose numbers are known, against the
    guest's functions of that kind (``found``, sorted); ``expanders``: the buses that are
    a PCI expander's root bus."""
    taken = {d.address for d in declared if d.address is not None}
    for bus, number in numbers.items():
        on_bus = [d for d in declared if _bus_key(d) == bus]
        for declaration in on_bus:
            if declaration.address is None and declaration.slot is not None:
                slot, function = declaration.slot
                declaration.address = f"0000:{number:02x}:{slot:02x}.{function}"
                if bus in expanders:
                    declaration.placed = (f"at {slot:02x}.{function} on {bus}, the PCI "
                                          f"expander whose bus_nr= numbers its bus "
                                          f"{number:02x}")
                elif bus is not None:
                    declaration.placed = (f"at {slot:02x}.{function} behind {bus}, which "
                                          f"the guest numbered bus {number:02x}")
                taken.add(declaration.address)
        automatic = [d for d in on_bus if d.address is None and d.slot is None]
        if not automatic or any(d.address is not None and d.slot is None for d in on_bus):
            continue
        there = [a for a in found if _bus_of(a) == number and a not in taken]
        if len(there) != len(automatic) or not _orderable(automatic):
            continue
        automatic.sort(key=lambda d: d.order)
        where = "the root bus" if bus is None else f"bus {number:02x} (behind {bus})"
        for index, (declaration, address) in enumerate(zip(automatic, there, strict=True)):
            declaration.address = address
            declaration.placed = (f"QEMU's automatic address: the {_nth(index)} of "
                                  f"{len(there)} {what}s created on {where}, and "
                                  f"{address} the {_nth(index)} the guest found there")


def _orderable(declared: list[Declaration]) -> bool:
    """Whether QEMU's creation order of these is known: -nic's and -net's NICs are made in
    separate passes that each board places its own way, so a mix of the two is not."""
    phases = {d.order[0] for d in declared}
    return not (0 in phases and 1 in phases)


def join_by_virtio_index(model: Model, left: list[Declaration],
                         guest: list[Device]) -> list[tuple[Declaration, Device]]:
    """Pairs of a declaration and the guest's device by Linux's virtioN order (see the
    module's docstring), for each type where that order is proven."""
    pairs: list[tuple[Declaration, Device]] = []
    for kind in {d.device_type for d in left}:
        declared = [d for d in model.declarations if d.device_type == kind]
        mine = [d for d in left if d.device_type == kind]
        devices = [d for d in guest if d.device_type == kind]
        if (len(mine) < 2 or len(devices) != len(mine)
                or not all(d.transport in ("pci", None) and on_root_bus(d.bus)
                           and d.slot is None for d in declared)
                or not _orderable(mine)):
            continue
        numbered = []
        for device in devices:
            match = VIRTIO_N.match(device.guest_name or "")
            if (match is None or device.address is not None
                    or device.transport not in ("pci", "unknown")):
                break
            numbered.append((int(match.group(1)), device))
        else:
            numbered.sort(key=lambda pair: pair[0])
            mine.sort(key=lambda d: d.order)
            for index, (declaration, (_, device)) in enumerate(
                    zip(mine, numbered, strict=True)):
                declaration.placed = (
                    f"QEMU's automatic address: the {_nth(index)} of {len(mine)} {kind} "
                    f"devices created on the root bus, and {device.guest_name} the "
                    f"{_nth(index)} of them Linux registered (slot order)")
                pairs.append((declaration, device))
    return pairs


def _nth(index: int) -> str:
    n = index + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def bus_number(text: str | None) -> int | None:
    """An expander's bus_nr= (qdev's uint8 property: decimal, 0x hex, or a JSON number)."""
    try:
        number = int(str(text).lstrip("#"), 0)
    except ValueError:
        return None
    return number if 0 < number <= 0xFF else None


def own_record(model: Model, declaration: Declaration) -> Device | None:
    """The VMM's own record of the declared device, when the host's lines also say it
    created one of that type that no guest line answers (vfkit's options, then its "Adding
    virtio-blk device"): one device, not two."""
    return next((d for d in model.live_devices() if d.sides == {"host"}
                 and d.declaration is None and d.device_type == declaration.device_type
                 and d.found_event is not None
                 and d.transport in (declaration.transport, "unknown", None)), None)
