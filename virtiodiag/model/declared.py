"""The virtio devices a VMM's command line declares, and their join with the guest's.

QEMU's command line (a libvirt domain log, a CI job's ``set -x`` echo, ``ps``, Kata's
"launching qemu with: [...]"; grammars/qemu_cmdline.lark gives its words) declares
devices with ``-device DRIVER,prop=value,...`` (or its JSON form ``-device
{"driver":...}``, QEMU 6.0+, libvirt 7.x+), ``-drive ...,if=virtio`` (a virtio-blk),
``-nic BACKEND,model=virtio-net-pci`` and ``-net nic,model=virtio``. A virtio driver name
says the type (virtio-net-pci, vhost-user-fs-pci: spec.normalise_type) and the transport
(-pci*: PCI, -device: virtio-mmio, -ccw: channel I/O). A PCI device given ``addr=`` on the
root bus (no ``bus=``, or ``pci.0``/``pcie.0``: qdev-properties-system.c
set_pci_devfn() reads "%x.%x" or "%x", slot and function, or a JSON number, the devfn)
has a known function, 0000:00:SS.F; behind a bridge or root port its bus number is the
firmware's choice, and without ``addr=`` QEMU takes the first free slot.

At the end of the run each declaration joins the guest's record of its device: by PCI
function when known, else when it is the only declaration of its type and transport and
the guest shows exactly one device of them. A declaration no guest device answers is a
device of its own, marked missing, when the guest's lines show it enumerating that
transport (Linux prints every PCI function it finds), the log goes on after that, and no
guest device could be it: a log of the host alone (libvirt's), one pasted through grep,
one cut right after the enumeration say nothing of what the guest did not show. Those
are listed, configured and never seen by the guest, with no finding; so is a declaration of
a log with no guest line at all (libvirt's log, a CI job's command line, Proxmox's `qm
showcmd`) that no device record of the run may be.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from virtiodiag import limits, spec
from virtiodiag.cachefiles import compiled
from virtiodiag.events import Event
from virtiodiag.model.declared_places import (EXPANDER_DRIVERS, bus_number, join_by_virtio_index,
                                              on_root_bus, own_record, place_declarations)
from virtiodiag.model.ending import went_on_after
from virtiodiag.model.eras import OS
from virtiodiag.model.option_words import option_value, unquote
from virtiodiag.model.records import Declaration

if TYPE_CHECKING:
    from virtiodiag.model.device import Device, Model
    from virtiodiag.model.identity import Identities

DECLARATION_LIMIT = 256  # declarations kept per run (a command line declares a few dozen)
# QEMU's PCI-PCI bridges and PCIe ports: a device's bus= may name one by its id.
BRIDGE_DRIVERS = frozenset({"pci-bridge", "pci-bridge-seat", "pcie-pci-bridge",
                            "pcie-root-port", "ioh3420", "x3130-upstream",
                            "xio3130-downstream", "i82801b11-bridge", "dec-21154-p2p-bridge",
                            *EXPANDER_DRIVERS})
# The order QEMU creates them in (softmmu/vl.c, blockdev.c: see model/declared_places.py):
# the machine's NICs (net/net.c net_init_clients(): -nic's, then -net nic's), -device in
# option syntax, -drive if=virtio, then -device in JSON.
_PHASES = {"-nic": 0, "-net": 1, "-device": 2, "-drive": 3}
JSON_DEVICE_PHASE = 4
_SLOT_FN = compiled(r"^(?:0[xX])?([0-9a-fA-F]+)(?:\.(?:0[xX])?([0-9a-fA-F]+))?$")
# QEMU device names spec.normalise_type does not read, mapped to their type; "ramfb" and
# "ramfb-gl": UTM's QEMU fork's virtio-ramfb(-gl), a VirtIOPCIProxy holding a virtio-gpu.
_EXTRA_TYPES = {"gpu-gl": "gpu", "vga-gl": "gpu", "gpu-rutabaga": "gpu", "vga-rutabaga": "gpu",
                "ramfb": "gpu", "ramfb-gl": "gpu", "input-host": "input", "multitouch": "input"}


def _keyval(value: str) -> tuple[str | None, dict[str, str]]:
    """(implied first value, properties) of QEMU's "a,b=c,d=e" option syntax, where ",,"
    is a comma inside a value (util/qemu-option.c get_opt_value)."""
    parts: list[str] = []
    current = ""
    i = 0
    while i < len(value):
        if value[i] == ",":
            if value[i + 1:i + 2] == ",":
                current += ","
                i += 2
                continue
            parts.append(current)
            current = ""
        else:
            current += value[i]
        i += 1
    parts.append(current)
    first = None
    props: dict[str, str] = {}
    for index, part in enumerate(parts):
        name, eq, text = part.partition("=")
        if not eq:
            if index == 0:
                first = part
            continue
        props.setdefault(name, text)
    return first, props


def _device_props(value: str) -> dict[str, str] | None:
    """-device's properties, "driver" among them, from either syntax (a JSON number
    becomes "#N": addr's number form is the devfn, where the text "3" is slot 3)."""
    if value.startswith("{"):
        if "&quot;" in value:  # a copy from an HTML page keeps its escaped quotes
            # (Bugzilla's, and the issues imported from it). Imported here: html's
            # entity table cost every run's start-up 7.5 M instructions (+1 %).
            import html

            value = html.unescape(value)
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        if not isinstance(parsed, dict):
            return None
        return {str(k): ("on" if v else "off") if isinstance(v, bool)
                else f"#{v}" if isinstance(v, int) else str(v) for k, v in parsed.items()}
    first, props = _keyval(value)
    if first is not None:
        props.setdefault("driver", first)
    return props


def driver_type(driver: str) -> tuple[str, str | None] | None:
    """(type, transport or None) of a QEMU virtio device name; None for any other device."""
    name = driver.lower()
    if not name.startswith(("virtio-", "vhost-")) or name in ("virtio-mmio",):
        return None
    transport = ("pci" if "-pci" in name or name.startswith(("virtio-vga", "virtio-ramfb")) else
                 "mmio" if name.endswith("-device") else "ccw" if name.endswith("-ccw") else None)
    kind = spec.normalise_type(name)
    if kind is None:
        stem = name.split("-", 1)[1]
        for suffix in ("-pci-non-transitional", "-pci-transitional", "-pci", "-device", "-ccw"):
            stem = stem.removesuffix(suffix)
        kind = _EXTRA_TYPES.get(stem)
    return (kind, transport) if kind else None


def slot_function(addr: str | None) -> tuple[int, int] | None:
    """addr= as (slot, function), as set_pci_devfn() reads it; None when absent or invalid."""
    if addr is None:
        return None
    if addr[:1] == "#" and addr[1:].isdigit():
        devfn = int(addr[1:])  # JSON's number form: the devfn itself
        return (devfn >> 3, devfn & 7) if devfn < 256 else None
    match = _SLOT_FN.match(addr)
    if match is None:
        return None
    slot, function = int(match.group(1), 16), int(match.group(2) or "0", 16)
    return (slot, function) if slot <= 31 and function <= 7 else None


def pci_function(props: dict[str, str]) -> str | None:
    """The PCI function of a device the root bus holds at a given addr=, else None."""
    place = slot_function(props.get("addr"))
    if place is None or not on_root_bus(props.get("bus")):
        return None
    return f"0000:00:{place[0]:02x}.{place[1]}"


def declarations_of(event: Event, bridges: bool = False,
                    words: tuple | None = None) -> list[Declaration]:
    """The virtio devices one command-line line declares, in the order it gives them (with
    ``bridges``, its PCI bridges and root ports instead); ``words``: the command's words
    when they are not the event's own (an option and its value printed on two lines,
    model/split_argv.py)."""
    if event.payload.detail in ("cloud_hypervisor", "cloud_hypervisor_options"):
        from virtiodiag.model.declared_ch import ch_declarations  # only its logs need it

        return [] if bridges else ch_declarations(event)
    if event.payload.detail in ("bhyve", "vm_bhyve", "hyperkit", "script_var"):
        # Imported here: only a bhyve or HyperKit log needs it; start-up pays for each module.
        from virtiodiag.model.declared_bhyve import bhyve_declarations

        return [] if bridges else bhyve_declarations(event)
    if words is None:
        words = event.get("arg")
        words = words if isinstance(words, tuple) else (words,) if words else ()
    listed = event.get("device_arg")  # vfkit's --device values, no option word before them
    listed = listed if isinstance(listed, tuple) else (listed,) if listed else ()
    return _from_words(event, tuple(words) + tuple(w for v in listed for w in ("-device", v)),
                       bridges)


def _from_words(event: Event, words: tuple, bridges: bool) -> list[Declaration]:
    out: list[Declaration] = []
    aliased: list[str | None] = []  # the target's alias transport, looked up once
    for index, word in enumerate(words[:-1]):
        option = "-" + str(word).lstrip("[\"'").lstrip("-")
        # multipass logs QEMU's argv joined by ", " (process arguments '-device, v, ...'),
        # and a list's repr quotes each word too ("-device", "virtio-net-device,..."):
        # the comma after an option word, and after its value, only separates them.
        joined = option.endswith(",")
        option = option.removesuffix(",")
        if joined and option.endswith(("'", '"')):
            option = option[:-1]
        if option not in ("-device", "-drive", "-nic", "-net"):
            continue
        value = option_value(words, index + 1)
        # (the last value also ends the quoted list: "..., -device, virtio-rng-pci'")
        if joined:
            value = value.removesuffix(",")
            if not value.startswith(("'", '"')):  # not a list's quoted word ('v', "v")
                value = value.removesuffix("'")
        value = unquote(value)
        declaration = (_bridge(event, option, value) if bridges
                       else _declaration(event, option, value))
        if declaration is not None:
            if declaration.transport is None and not bridges:
                if not aliased:  # imported here: a rare line (an alias) needs it
                    from virtiodiag.model.qemu_aliases import alias_transport
                    aliased.append(alias_transport(words))
                declaration.transport = aliased[0]
            phase = JSON_DEVICE_PHASE if value.startswith("{") else _PHASES[option]
            declaration.order = (phase, event.seq, index)
            out.append(declaration)
    return out


def _bridge(event: Event, option: str, value: str) -> Declaration | None:
    props = _device_props(value) if option == "-device" else None
    if props is None or props.get("driver") not in BRIDGE_DRIVERS:
        return None
    bridge = Declaration(event, f"{option} {value}", props["driver"], "pci-bridge", "pci",
                         pci_function(props), props.get("id"))
    bridge.bus, bridge.slot = props.get("bus"), slot_function(props.get("addr"))
    if props["driver"] in EXPANDER_DRIVERS:
        bridge.root_bus = bus_number(props.get("bus_nr"))
    return bridge


def _declaration(event: Event, option: str, value: str) -> Declaration | None:
    declaration = _virtio_declaration(event, option, value)
    if declaration is not None and option != "-drive":
        props = (_device_props(value) if option == "-device" else _keyval(value)[1]) or {}
        declaration.bus, declaration.slot = props.get("bus"), slot_function(props.get("addr"))
        declaration.netdev = props.get("netdev")
        declaration.chardev = props.get("chardev")
    return declaration


def _virtio_declaration(event: Event, option: str, value: str) -> Declaration | None:
    text = f"{option} {value}"
    if option == "-device":
        props = _device_props(value)
        if props is None or "driver" not in props:
            return None
        typed = driver_type(props["driver"])
        if typed is None:
            return None
        return Declaration(event, text, props["driver"], typed[0], typed[1],
                           pci_function(props) if typed[1] == "pci" else None, props.get("id"))
    first, props = _keyval(value)
    if option == "-drive":
        if props.get("if") != "virtio":
            return None
        drive = Declaration(event, text, "virtio-blk", "block", None, None, props.get("id"))
        drive.slot = slot_function(props.get("addr"))  # drive_new() passes addr= on
        return drive
    model = props.get("model")
    if (option == "-net" and first != "nic") or not model:
        return None
    typed = driver_type(model) if model != "virtio" else ("net", None)
    if typed is None or typed[0] != "net":
        return None
    return Declaration(event, text, model, "net", typed[1],
                       pci_function(props) if typed[1] != "mmio" else None, props.get("id"))


def note_declarations(model: Model, event: Event, words: tuple | None = None) -> None:
    """Keep a command line's declarations; a log that prints the same command line again
    (libvirt's log of a domain started twice) declares the same devices, not more."""
    xml = event.payload.detail == "libvirt_xml"  # one line of a domain XML's elements
    for kept, bridges in ((model.declarations, False), (model.declared_bridges, True)):
        found = ([] if bridges else model.libvirt_domain.feed(event)) if xml \
            else declarations_of(event, bridges, words)
        for declaration in found:
            same = next((i for i, d in enumerate(kept) if d.key() == declaration.key()), None)
            if same is not None:
                kept[same] = declaration  # the latest start's line is the evidence
            elif len(kept) < DECLARATION_LIMIT:
                kept.append(declaration)
            else:
                limits.over(model).count("declarations")


def _compatible(device: Device, declaration: Declaration) -> bool:
    transport_ok = (declaration.transport is None or device.transport == "unknown"
                    or device.transport == declaration.transport)
    return transport_ok and device.device_type == declaration.device_type


def join_declarations(model: Model, identities: Identities) -> None:

    """Give each declaration to the guest's record of its device, or make it a missing
    device of its own (see the module's docstring)."""
    if not model.declarations:
        return
    guest = [d for d in model.live_devices() if "guest" in d.sides and d.virtio_id != 0
             and d.placeholder_event is None and d.declaration is None]
    place_declarations(model, guest)
    left: list[Declaration] = []
    for declaration in model.declarations:
        device = next((d for d in guest if declaration.address is not None
                       and d.address == declaration.address), None)
        if device is None:
            left.append(declaration)
            continue
        attach_declaration(device, declaration)
        guest.remove(device)
    for declaration in list(left):
        peers = [d for d in left if d.device_type == declaration.device_type
                 and d.transport == declaration.transport]
        candidates = [d for d in guest if _compatible(d, declaration)]
        if len(peers) == 1 and len(candidates) == 1 and declaration.address is None:
            attach_declaration(candidates[0], declaration)
            guest.remove(candidates[0])
            left.remove(declaration)
    for declaration, device in join_by_virtio_index(model, left, guest):
        attach_declaration(device, declaration)
        guest.remove(device)
        left.remove(declaration)
    enumerated = _enumerated_transports(model)
    guest_spoke = OS in model.eras.sides
    # no guest line (a host's log): a record of the run of its type may be it, else listed
    others = guest if guest_spoke else [d for d in model.live_devices() if d.declaration is None]
    for declaration in left:
        if enumerated and _surely_missing(declaration, guest, enumerated):
            declaration.missing = True
        elif not _could_be(declaration, others):
            declaration.unseen, declaration.guest_silent = True, not guest_spoke
        elif guest_spoke or own_record(model, declaration) is None:
            continue  # a device of the run may be it; in a host's log, the VMM's own one is
        own = own_record(model, declaration)
        if own is not None:
            attach_declaration(own, declaration)
            if own.transport in (None, "unknown"):  # the option says where it sits
                own.transport = declaration.transport or own.transport
                own.address = declaration.address
            continue
        device = identities.device_for((_alias_for(declaration, identities),))
        if device is None:
            return  # over the run's device limit (counted there)
        attach_declaration(device, declaration)
        device.sides.add("host")
        device.dialects.add(declaration.event.dialect)
        device.transport = declaration.transport or device.transport
        device.address = declaration.address


def _surely_missing(declaration: Declaration, guest: list[Device],
                    enumerated: set[str]) -> bool:
    """No guest device can be the declared one, and the guest enumerated its transport:
    every PCI function at boot (Linux's "pci 0000:00:03.0: [1af4:1000]"), every
    virtio-mmio window it registered."""
    transports = {declaration.transport} if declaration.transport else {"pci", "mmio", "ccw"}
    if not transports & enumerated:
        return False
    if declaration.address is not None:
        return True  # the guest listed that bus's functions, and not this one
    return not _could_be(declaration, guest)


def _could_be(declaration: Declaration, guest: list[Device]) -> bool:
    """A guest device no declaration took may be this one: of its type or of none known,
    on its transport or on none known (its address, when both have one, aside)."""
    transports = {declaration.transport} if declaration.transport else {"pci", "mmio", "ccw"}
    return any(d.device_type in (None, declaration.device_type)
               and (d.transport in transports or d.transport == "unknown")
               and (declaration.address is None or d.address is None
                    or d.address == declaration.address) for d in guest)


def _enumerated_transports(model: Model) -> set[str]:
    """The transports whose devices the guest's own lines enumerated in this run; none
    when its lines came through a pasted grep (what it left out says nothing) or the log
    stops right after the enumeration (the rest of it may be cut)."""
    if model.filters:
        return set()
    found = [d for d in model.live_devices()
             if d.found_event is not None and model.grammar_of(d.found_event).side == "guest"]
    if not found:
        return set()
    last = max(found, key=lambda d: d.found_event.seq if d.found_event else 0)
    step = last.found_event
    userspace = model.ending.userspace  # the kernel started init: its probes were done
    if step is None or ((userspace is None or userspace.seq < step.seq)
                        and went_on_after(model, last, step) is None):
        return set()
    return {d.transport for d in found}


def _alias_for(declaration: Declaration, identities: Identities) -> str:
    name = f"name:{declaration.qemu_id or declaration.driver}"
    if name in identities.by_alias:
        name = f"name:{declaration.driver}@{declaration.event.line}"
    return name


def attach_declaration(device: Device, declaration: Declaration) -> None:
    device.declaration = declaration
    device.device_type = device.device_type or declaration.device_type
    if not device.timeline:
        device.first_event = device.last_event = declaration.event
    device.insert_timeline(declaration.event)
