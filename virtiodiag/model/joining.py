"""End-of-run joining: records of one device that no line linked are joined at the end.

Two joins, each only when the match is unambiguous (otherwise a note says why not):
Linux's virtioN names to the transport devices they sit on, by probe order; and QEMU's
devices to the guest's, by the order they were acknowledged or because each side has one.
"""

from __future__ import annotations

from virtiodiag import spec
from virtiodiag.model.device import Model
from virtiodiag.model.identity import VIRTIO_N, Identities


def link_guest_names(model: Model, identities: Identities) -> None:
    """Join Linux's virtioN devices to the transport devices they sit on, by order.

    Linux names virtio devices virtio0, virtio1 ... in the order the transports register
    them, which is the order their PCI functions / MMIO devices were probed. When every
    virtioN is unlinked and their number equals the number of virtio transport devices the
    log enumerated, the Nth one is virtioN; otherwise they stay apart.
    """
    # A BSD attach line ("virtio0 at fdt0: ...", "virtio1 at pv0") found the device under
    # its virtioN unit: that line is the link, nothing is left to join by order.
    named = [d for d in model.live_devices()
             if d.guest_name and VIRTIO_N.match(d.guest_name) and d.address is None
             and not (d.found_event is not None
                      and d.found_event.get("device") == d.guest_name)]
    transports = [d for d in model.live_devices()
                  if d.address and d.found_event is not None and d.guest_name is None
                  and d.virtio_id != 0 and "host" not in d.sides]
    if not named:
        return
    transports.sort(key=lambda d: d.found_event.seq)
    named.sort(key=lambda d: int(VIRTIO_N.match(d.guest_name).group(1)))
    indices = [int(VIRTIO_N.match(d.guest_name).group(1)) for d in named]
    if len(named) == len(transports) and indices == list(range(len(named))):
        for transport, guest in zip(transports, named):
            name = guest.guest_name
            identities.merge(transport, guest, how=f"{name} is the {_nth(int(name[6:]))} virtio "
                                                 "device Linux registered (probe order)")
            transport.guest_name = name
    else:
        model.matching_notes.append(
            f"{len(named)} virtioN name(s) and {len(transports)} transport device(s) without a "
            "sysfs link: kept apart, the probe order cannot tell which is which")


def match_host_and_guest(model: Model, identities: Identities) -> None:
    """Join QEMU's devices with the guest's when the log holds both sides."""
    host = [d for d in model.live_devices() if d.sides == {"host"}]
    # The guest machine's side: its OS or its firmware.
    guest = [d for d in model.live_devices() if d.sides and "host" not in d.sides]
    if not host or not guest:
        return
    # Linux: register_virtio_device() resets each device and sets ACKNOWLEDGE (status 1),
    # in virtioN order. The Nth device QEMU saw acknowledged alone is virtioN.
    acked = []
    for dev in host:
        first_ack = next((s.event.seq for s in dev.status
                          if not s.read and s.value == spec.ACKNOWLEDGE), None)
        if first_ack is not None:
            acked.append((first_ack, dev))
    acked.sort(key=lambda pair: pair[0])
    named = {}
    for dev in guest:
        if dev.guest_name and VIRTIO_N.match(dev.guest_name):
            named[int(dev.guest_name[6:])] = dev
    if named and sorted(named) == list(range(len(acked))) and len(acked) == len(named):
        for index, (_, dev) in enumerate(acked):
            identities.merge(named[index], dev,
                          how=f"QEMU device {dev.ordinal} was the {_nth(index)} to be "
                              f"acknowledged, as Linux numbers virtio{index}")
        return
    handshaking_guest = [d for d in guest if d.started_handshake or d.guest_name]
    if len(host) == 1 and len(guest) == 1:
        # The trace shows every virtio device of the machine, the guest every one it
        # enumerated: one on each side is the same device.
        identities.merge(guest[0], host[0], how="the only virtio device on each side of the log")
        return
    if len(host) == 1 and len(handshaking_guest) == 1:
        identities.merge(handshaking_guest[0], host[0],
                      how="the only device on each side of the log")
        return
    model.matching_notes.append(
        f"guest side names {len(guest)} device(s), QEMU's trace {len(host)}: not matched "
        "unambiguously, so they are reported apart")


def _nth(index: int) -> str:
    n = index + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
