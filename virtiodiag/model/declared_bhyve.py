"""The virtio devices a bhyve command line declares (``vmm_cmdline[bhyve]``), and a HyperKit
or xhyve one (``vmm_cmdline[hyperkit]``), whose -s options are bhyve's with emulations of
their own.

bhyve(8) puts each PCI device on the guest's bus with ``-s slot,emulation[,conf]``
(usr.sbin/bhyve pci_emul.c pci_parse_slot(): the slot is ``pcislot[:function]`` or
``bus:pcislot:function``, decimal; getopt also takes the value glued, ``-s4,...``). The
virtio emulations (pci_virtio_*.c) name the device's type. Every -s gives its place, so a
declaration's PCI function is known and joins the guest's device at that function
(model/declared.py); a slot on another bus than 0 is the firmware's bus numbering's, not
known here. vm-bhyve's log line ends its list with "]".
"""

from __future__ import annotations

from virtiodiag.cachefiles import compiled
from virtiodiag.events import Event
from virtiodiag.model.records import Declaration

# pci_virtio_net.c "virtio-net", pci_virtio_block.c "virtio-blk", pci_virtio_scsi.c
# "virtio-scsi", pci_virtio_rnd.c "virtio-rnd", pci_virtio_console.c "virtio-console",
# pci_virtio_9p.c "virtio-9p", pci_virtio_input.c "virtio-input" (FreeBSD 14+).
EMULATION_TYPES = {"virtio-net": "net", "virtio-blk": "block", "virtio-scsi": "scsi",
                   "virtio-rnd": "rng", "virtio-console": "console", "virtio-9p": "9p",
                   "virtio-input": "input"}
# HyperKit's emulations (moby/hyperkit src/lib/pci_virtio_*.c pe_emu; xhyve has the first
# three): pci_virtio_net_vmnet.c "virtio-net", pci_virtio_block.c "virtio-blk",
# pci_virtio_rnd.c "virtio-rnd", pci_virtio_net_tap.c "virtio-tap", pci_virtio_net_vpnkit.c
# "virtio-vpnkit", pci_virtio_9p.c "virtio-9p", pci_virtio_sock.c "virtio-sock".
HYPERKIT_EMULATION_TYPES = {"virtio-net": "net", "virtio-blk": "block", "virtio-rnd": "rng",
                            "virtio-tap": "net", "virtio-vpnkit": "net", "virtio-9p": "9p",
                            "virtio-sock": "vsock"}
_SCRIPT_EMULATION_TYPES = {**EMULATION_TYPES, **HYPERKIT_EMULATION_TYPES}
_SLOT = compiled(r"^(?:(\d+):)?(\d+)(?::(\d+))?$")
# vm-bhyve's configuration: the emulation of guest network N or disk N.
_CONFIG = compiled(r'^(network|disk)(\d+)_type="?([a-z0-9-]+)"?$')


def _place(slot: str) -> tuple[int, int, int] | None:
    """(bus, slot, function) of pci_parse_slot()'s "b:s:f", "s:f" or "s"."""
    match = _SLOT.match(slot)
    if match is None:
        return None
    if match.group(3) is not None and match.group(1) is not None:
        bus, pci_slot, function = (int(g) for g in match.groups())
    elif match.group(1) is not None:  # "s:f": the regex read s as the bus
        bus, pci_slot, function = 0, int(match.group(1)), int(match.group(2))
    else:
        bus, pci_slot, function = 0, int(match.group(2)), int(match.group(3) or 0)
    if bus > 255 or pci_slot > 31 or function > 7:
        return None
    return bus, pci_slot, function


def vm_bhyve_declaration(event: Event) -> list[Declaration]:
    """The device one line of vm-bhyve's guest configuration declares: vm-bhyve gives it
    its -s slot when it starts the guest (its log's "[bhyve devices: ...]" line says
    which), so the function is left open."""
    match = _CONFIG.match(str(event.get("arg") or ""))
    device_type = EMULATION_TYPES.get(match.group(3)) if match else None
    if match is None or device_type is None:
        return []
    declaration = Declaration(event, match.group(0), match.group(3), device_type, "pci",
                              None, f"{match.group(1)}{match.group(2)}")
    declaration.order = (2, event.seq, int(match.group(2)))
    return [declaration]


def bhyve_declarations(event: Event) -> list[Declaration]:
    """The virtio devices one bhyve command line (or vm-bhyve's list) declares, in order."""
    if event.payload.detail == "vm_bhyve":
        return vm_bhyve_declaration(event)
    words = event.get("arg")
    words = words if isinstance(words, tuple) else (words,) if words else ()
    types = EMULATION_TYPES
    if event.payload.detail == "hyperkit":
        types = HYPERKIT_EMULATION_TYPES
        # HyperKit's Go package prints the arguments as Go's %#v of a []string, each word
        # quoted and followed by a comma (`"-s", "2:0,virtio-blk,/d.img",`), the last by "}".
        words = tuple(str(w).rstrip(",}").strip('"') for w in words)
    elif event.payload.detail == "script_var":
        # A run script's shell variable: xhyve's (its template's) or bhyve's, whose
        # emulations share their names; the value's closing quote ends its last word.
        types = _SCRIPT_EMULATION_TYPES
        words = tuple(str(w).rstrip("\"'") for w in words)
    out: list[Declaration] = []
    for index, word in enumerate(str(w) for w in words):
        if word == "-s" and index + 1 < len(words):
            value = str(words[index + 1])
        elif word.startswith("-s") and word[2:3].isdigit():
            value = word[2:]
        else:
            continue
        value = value.rstrip("]")
        slot, _, rest = value.partition(",")
        emulation = rest.partition(",")[0].lower()
        device_type = types.get(emulation)
        place = _place(slot)
        if device_type is None or place is None:
            continue
        bus, pci_slot, function = place
        address = f"0000:00:{pci_slot:02x}.{function}" if bus == 0 else None
        declaration = Declaration(event, f"-s {value}", emulation, device_type, "pci",
                                  address, None)
        declaration.slot = (pci_slot, function)
        declaration.bus = None if bus == 0 else f"bhyve-bus-{bus}"  # no QEMU bus id
        declaration.order = (2, event.seq, index)
        out.append(declaration)
    return out
