"""End-of-run joining: records of one device that no line linked are joined at the end.

Two joins, each only when the match is unambiguous (otherwise a note says why not):
Linux's virtioN names to the transport devices they sit on, by probe order; and QEMU's
devices to the guest's, by the order they were acknowledged or because each side has one.
"""

from __future__ import annotations

from collections.abc import Iterable

from virtiodiag import spec
from virtiodiag.model.attempts import LEGACY, STRONG
from virtiodiag.model.discovery import TRANSPORT_DRIVERS, transport_probe_failed
from virtiodiag.model.cmdline import declaration_rank
from virtiodiag.model.device import Device, Model
from virtiodiag.model.eras import FIRMWARE, OS, Eras
from virtiodiag.model.identity import VIRTIO_N, Identities
from virtiodiag.model.pairing import agree, compatible, join_by_unique_type, speaker


def link_guest_names(model: Model, identities: Identities) -> None:
    """Join Linux's virtioN devices to the transport devices they sit on, by order.

    Linux names virtio devices virtio0, virtio1 ... in the order the transports register
    them, which is the order their PCI functions / MMIO devices were probed. When every
    virtioN is unlinked and their number equals the number of virtio transport devices the
    log enumerated, the Nth one is virtioN; otherwise they stay apart.
    """
    # A BSD attach line ("virtio0 at fdt0: ...", "virtio1 at pv0") found the device under
    # its virtioN unit: that line is the link, nothing is left to join by order.
    named = sorted(((index, name, d) for d in model.live_devices()
                    if (name := d.guest_name) is not None
                    and (index := virtio_index(name)) is not None and d.address is None
                    and not (d.found_event is not None
                             and d.found_event.get("device") == name)),
                   key=lambda entry: entry[0])
    # In the order a line first named them: "pci 0000:00:03.0: [1af4:1000]", or on a quiet
    # console "virtio-pci 0000:00:03.0: virtio_pci: leaving for legacy driver" (the probe).
    firsts = [(first.seq, d) for d in model.live_devices()
              if d.address and d.guest_name is None and d.virtio_id != 0
              and "host" not in d.sides and not transport_probe_failed(d)
              and (first := d.found_event or d.first_event)]
    ranks = declaration_rank(model)  # devices first seen on the command line: its order
    transports = [d for _, d in sorted(
        firsts, key=lambda pair: (pair[0], ranks.get(pair[1].address or "", 0)))]
    if not named:
        return
    order = list(transports)  # virtioN is the Nth of these, however many are joined first
    if len(named) == len(transports) and [i for i, _, _ in named] == list(range(len(named))):
        for transport, (index, name, guest) in zip(transports, named, strict=True):
            identities.merge(transport, guest, how=f"{name} is the {_nth(index)} virtio "
                                                 "device Linux registered (probe order)")
            transport.guest_name = name
        return
    if _join_after_probe(model, identities, named, transports):
        return
    kept = []
    # virtioN is the Nth virtio device Linux registered: a number past the functions the
    # log enumerated says some were never shown (an excerpt, a grep), so positions say
    # nothing ("virtio1", "virtio2" and two functions: virtio0's is missing)
    by_position = max(index for index, _, _ in named) < len(order)
    for index, name, guest in named:
        rivals = [g for _, _, g in named if g is not guest and g.aliases and g.address is None]
        found, how = _transport_of(guest, name, index, transports,
                                   order if by_position else [], rivals)
        if found is None:
            kept.append(name)
            continue
        transports.remove(found)
        identities.merge(found, guest, how=how)
        found.guest_name = name
        if how.startswith("probably"):
            model.matching_notes.append(f"{name} joined to {how}")
    if kept:
        model.matching_notes.append(
            f"{', '.join(kept)}: no sysfs link and no single transport device that fits "
            "(type, probe order): kept apart")


def _join_after_probe(model: Model, identities: Identities,
                      named: list[tuple[int, str, Device]], transports: list[Device]) -> bool:
    """Join an excerpt's virtioN devices (numbered from virtio3, say: their count and
    numbers do not say which function is which) each to the PCI function whose
    virtio-pci line came right before its own first line, nothing between them: Linux's
    virtio_pci_probe registers the virtio device, and the device driver's probe (its
    "virtio_blk virtio3: [vdb] ..." line) runs inside that registration. Only when every
    virtioN has such a function, no two share one, and the numbers follow the functions'
    order with one offset (a driver loaded later as a module probes every function after
    the last virtio-pci line: they would share one, so nothing is joined). Returns whether
    it joined them."""
    if len(named) < 2 or len(named) > len(transports):
        return False
    last_probe_line: dict[int, Device] = {}  # seq of a virtio-pci line -> its function
    for transport in transports:
        for event in transport.timeline:
            if str(event.get("driver") or "").startswith(TRANSPORT_DRIVERS):
                last_probe_line[event.seq] = transport
    position = {id(t): i for i, t in enumerate(transports)}
    chosen = []
    for index, _, guest in named:
        first = guest.first_event
        before = last_probe_line.get(first.seq - 1) if first is not None else None
        if before is None or not compatible(before, guest):
            return False
        chosen.append((index - position[id(before)], before))
    if len({offset for offset, _ in chosen}) != 1 or len({id(t) for _, t in chosen}) != len(chosen):
        return False
    for (_, name, guest), (_, transport) in zip(named, chosen, strict=True):
        transports.remove(transport)
        identities.merge(transport, guest, how=f"probably {transport.address}: {name}'s first "
                                               f"line came right after its virtio-pci line")
        transport.guest_name = name
        model.matching_notes.append(
            f"{name} joined to probably {transport.address}: its driver's first line came "
            "right after that function's virtio-pci probe line (the driver probes inside "
            "virtio_pci_probe's registration)")
    return True


def virtio_index(name: str) -> int | None:
    """N of Linux's name ``virtioN`` for a device, or None for any other name."""
    m = VIRTIO_N.match(name)
    return int(m.group(1)) if m else None


def in_found_order(devices: Iterable[Device]) -> list[Device]:
    """The devices a line found (``found_event``), in the order those lines came."""
    found = [(event.seq, d) for d in devices if (event := d.found_event) is not None]
    return [d for _, d in sorted(found, key=lambda pair: pair[0])]


def _transport_of(guest: Device, name: str, index: int, transports: list[Device],
                  order: list[Device], rivals: list[Device]) -> tuple[Device | None, str]:
    """The transport device an unlinked virtioN sits on, when only one fits.

    Certain: the only enumerated device of its type (or the only one at all), when no
    other unlinked virtioN (``rivals``) could sit on it too. Likely (said so): the Nth
    enumerated virtio function for virtioN, Linux numbering its virtio devices in probe
    order, when the types agree."""
    fitting = [t for t in transports if compatible(t, guest)]
    if len(transports) == 1 and fitting and not any(compatible(fitting[0], g) for g in rivals):
        return fitting[0], f"{name} and {fitting[0].address} are the only candidates"
    if guest.device_type:
        typed = [t for t in transports if t.device_type == guest.device_type]
        if len(typed) == 1 and not any(g.device_type in (None, guest.device_type)
                                       for g in rivals):
            return typed[0], (f"{name} is a {guest.device_type} device and "
                              f"{typed[0].address} the only one the log enumerated")
    if index < len(order) and order[index] in fitting and guest.device_type:
        transport = order[index]
        return transport, (f"probably {transport.address}: {name} is the {_nth(index)} virtio "
                           f"device Linux registered and {transport.address} the {_nth(index)} "
                           "virtio function enumerated (same order and type)")
    return None, ""


def match_host_and_guest(model: Model, identities: Identities) -> None:
    """Join QEMU's devices with the guest's when the log holds both sides.

    The firmware's devices first (the ones it drove, against the devices QEMU saw
    acknowledged while the firmware was speaking), then the OS's (against the devices
    acknowledged while it was): a firmware and an OS drive the same devices one after
    the other, each in its own order, and each side's order is only comparable with
    QEMU's acknowledgements made in its own era (model/eras.py)."""
    eras = model.eras
    live = model.live_devices()
    present = set().union(*(d.sides for d in live)) if live else set()
    if "host" not in present:
        return
    for side in (FIRMWARE, OS):
        if side in present:
            _match_side(model, identities, eras, side)


def _first_acknowledgement(device: Device, eras: Eras, side: str) -> int | None:
    """Seq of the first write that began a handshake (the first non-zero write after a
    reset) made by ``side`` (model/eras.py: ``handshake_sides``). An OS begins with
    ACKNOWLEDGE alone; a firmware may write ACKNOWLEDGE|DRIVER at once (SeaBIOS: 3)."""
    starts = handshake_starts(device)
    sides = eras.handshake_sides([(c.event.seq, c.value) for c in starts])
    for change, who in zip(starts, sides, strict=True):
        if who not in (side, None):
            continue
        if side == FIRMWARE or change.value == spec.ACKNOWLEDGE:
            return change.event.seq
    return None


def handshake_starts(device: Device) -> list:
    """The status writes that began a handshake: the first non-zero write after each
    reset (and the first of all)."""
    starts = []
    fresh = True
    for change in device.status:
        if change.read:
            continue
        if change.value == 0:
            fresh = True
            continue
        if fresh:
            starts.append(change)
        fresh = False
    return starts


def _match_side(model: Model, identities: Identities, eras: Eras, side: str) -> None:
    """Join the devices one guest side (firmware or OS) printed with QEMU's devices
    that side has not been joined with yet."""
    live = model.live_devices()
    host = [d for d in live if "host" in d.sides and side not in d.sides]
    guest = [d for d in live if side in d.sides and "host" not in d.sides]
    if not host or not guest:
        return
    # Linux: register_virtio_device() resets each device and sets ACKNOWLEDGE (status 1),
    # in virtioN order. The Nth device QEMU saw acknowledged alone is virtioN.
    acked = []
    for dev in host:
        first_ack = _first_acknowledgement(dev, eras, side)
        if first_ack is not None:
            acked.append((first_ack, dev))
    acked.sort(key=lambda pair: pair[0])
    named = {index: dev for dev in guest
             if dev.guest_name and (index := virtio_index(dev.guest_name)) is not None}
    if named and sorted(named) == list(range(len(acked))) and len(acked) == len(named):
        for index, (_, dev) in enumerate(acked):
            identities.merge(named[index], dev,
                          how=f"QEMU device {dev.ordinal} was the {_nth(index)} to be "
                              f"acknowledged, as Linux numbers virtio{index}")
        return
    handshaking_guest = [d for d in guest if d.started_handshake or d.guest_name]
    if len(host) == 1 and len(guest) == 1 and agree(guest[0], host[0]):
        # The trace shows every virtio device of the machine, the guest every one it
        # enumerated: one on each side is the same device.
        identities.merge(guest[0], host[0], how="the only virtio device on each side of the log")
        return
    if len(host) == 1 and len(handshaking_guest) == 1 and agree(handshaking_guest[0], host[0]):
        identities.merge(handshaking_guest[0], host[0],
                      how="the only device on each side of the log")
        return
    if _join_in_acknowledgement_order(model, guest, [dev for _, dev in acked], identities):
        _join_adjacent(model, identities, side)
        return
    if _join_adjacent(model, identities, side):
        return
    joined = join_by_unique_type(model, identities, host, guest)
    if joined == len(guest) == len(host):
        return
    model.matching_notes.append(
        f"{speaker(model, guest)} names {len(guest) - joined} device(s), QEMU's trace "
        f"{len(host) - joined}: not matched unambiguously, so they are reported apart")


def _join_adjacent(model: Model, identities: Identities, side: str) -> bool:
    """Join the devices still apart when QEMU's line about one comes right after the
    guest-side line that found the other, with no event between them (one stream, so
    the host acted on the device the guest had just touched: the firmware's PCI set-up
    of a function writes its command register, and QEMU's virtio_write_config resets a
    virtio-pci device then). Each pair must be the only one so placed and agree on
    type, transport and mode. Returns whether every device still apart was joined."""
    live = model.live_devices()
    host = [d for d in live if "host" in d.sides and side not in d.sides]
    guest = [d for d in live if side in d.sides and "host" not in d.sides]
    first_write: dict[int, list[Device]] = {}
    for dev in host:
        for change in dev.status:
            if not change.read:
                first_write.setdefault(change.event.seq, []).append(dev)
    pairs = []
    for dev in guest:
        found = dev.found_event
        after = first_write.get(found.seq + 1, []) if found is not None else []
        if found is not None and len(after) == 1 and agree(dev, after[0]):
            pairs.append((dev, after[0], found.line))
    partners = [h for _, h, _ in pairs]
    if not pairs or len(set(map(id, partners))) != len(partners):
        return False
    who = speaker(model, [g for g, _, _ in pairs])
    for guest_dev, host_dev, line in pairs:
        where = guest_dev.address or guest_dev.id
        identities.merge(guest_dev, host_dev,
                         how=f"probably {where}: QEMU wrote the status of device "
                             f"{host_dev.ordinal} right after {who}'s line that found {where} "
                             f"(line {line}), nothing between them")
    model.matching_notes.append(
        f"{len(pairs)} of QEMU's device(s) joined to {who}'s by adjacency (probably: QEMU's "
        f"line follows the line that found the device, in one stream)")
    return len(pairs) == len(guest) == len(host)


def _join_in_acknowledgement_order(model: Model, guest: list[Device], acked: list[Device],
                                    identities: Identities) -> bool:
    """QEMU's devices, in the order the guest acknowledged them, are the guest's virtio
    functions in the order it enumerated them (Linux's virtio_pci and virtio_mmio probe in
    bus / device-tree order and register_virtio_device() acknowledges each at once), when
    both sides count the same devices and each pair agrees on type, transport and mode.

    A firmware drives only the devices it has a driver for (SeaBIOS: blk and scsi, no
    net): when the guest side enumerated more devices than QEMU saw acknowledged, the
    ones it bound a driver to, in the order it found them, are compared instead."""
    transports = _in_probe_order(model, in_found_order(
        d for d in guest if d.virtio_id != 0 and d.placeholder_event is None))
    if not acked:
        return False
    if len(transports) != len(acked) or len(transports) != len(guest):
        transports = [d for d in transports if d.bound]
        if len(transports) != len(acked):
            return False
    pairs = list(zip(transports, acked, strict=True))
    if not all(agree(g, h) for g, h in pairs):
        return False
    who = speaker(model, transports)
    for index, (guest_dev, host_dev) in enumerate(pairs):
        where = guest_dev.address or guest_dev.id
        identities.merge(guest_dev, host_dev,
                         how=f"probably {where}: QEMU device {host_dev.ordinal} was the "
                             f"{_nth(index)} acknowledged and {where} the {_nth(index)} virtio "
                             f"device {who} enumerated (same order, type and mode)")
    model.matching_notes.append(
        f"QEMU's {len(pairs)} device(s) joined to {who}'s in acknowledgement order "
        "(probably: no line links them; counts, order, types and modes agree)")
    return True


def _in_probe_order(model: Model, transports: list[Device]) -> list[Device]:
    """A driver tree (`//@ child_slot:`, U-Boot's `dm tree`) lists the transports by their
    place in the tree (device-tree order: riscv64's pci@30000000 before the virtio_mmio
    nodes), but numbers each by the order it was bound and probed (the uclass index: the
    mmio transports 0-7, then the PCI functions 8, 9), which is the order the firmware
    acknowledged them in: that number orders them when every one has it."""
    slots = []
    for device in transports:
        found = device.found_event
        slot = found.get("slot") if found is not None else None
        if (not isinstance(slot, int) or found is None
                or model.grammar_of(found).child_slot is None):
            return transports
        slots.append(slot)
    if len(set(slots)) != len(slots):
        return transports
    return [device for _, device in sorted(zip(slots, transports, strict=True),
                                           key=lambda pair: pair[0])]


def _nth(index: int) -> str:
    n = index + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def apply_kernel_parameters(model: Model) -> None:
    """The kernel command line's virtio parameters as configuration of the devices.

    ``virtio_pci.force_legacy=1`` makes virtio_pci try the legacy interface first
    (virtio_pci_common.c virtio_pci_probe): a transitional device (PCI id 0x1000-0x103f)
    is driven legacy, a modern-only one (0x1040-0x107f) has no legacy interface and stays
    modern. Evidence from status values written later still decides (it is newer)."""
    event = model.cmdline
    if event is None or model.virtio_params.get("virtio_pci.force_legacy") not in ("1", "Y", "y"):
        return
    for device in model.live_devices():
        if device.pci_kind == "transitional" and device.legacy_fallback is None:
            device.add_evidence(LEGACY, "kernel_parameter", STRONG,
                                "virtio_pci.force_legacy=1 on the kernel command line: Linux "
                                "drives a transitional device legacy", event)
