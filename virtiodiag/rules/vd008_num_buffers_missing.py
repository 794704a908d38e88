"""num-buffers-missing: a 10-byte virtio-net header where the negotiated features need 12.

**What it detects.** A virtio-net header of 10 bytes (``struct virtio_net_hdr``, without
``num_buffers``) on a device that negotiated VIRTIO_F_VERSION_1 (bit 32) or
VIRTIO_NET_F_MRG_RXBUF (bit 15), or that was driven through the modern interface: both
need the 12-byte ``struct virtio_net_hdr_mrg_rxbuf``. Also QEMU's own header errors
(``virtio-net header incorrect`` / ``header is invalid`` reported as device errors).

**Bad**::

    [    0.020] virtio-net0: features accepted 0x100000020
    [    0.030] virtio-net0: tx hdr_len=10

**Good**::

    [    0.020] virtio-net0: features accepted 0x100000020
    [    0.030] virtio-net0: tx hdr_len=12 num_buffers=0

**Why it matters.** With VERSION_1 the header always has ``num_buffers`` (spec 5.1.6;
the 10-byte form exists only for legacy devices without MRG_RXBUF, 5.1.6.1). QEMU does
not complain in general: it takes the two missing bytes from the frame, so every packet
loses its first two bytes of Ethernet header on transmit and receive buffers are parsed
at the wrong offset: ARP and ping fail with no error anywhere.

**How to fix.** Use a 12-byte header (``struct virtio_net_hdr_mrg_rxbuf`` / ``_v1``)
whenever VERSION_1 or MRG_RXBUF is negotiated, set ``num_buffers`` to 0 on transmit
(5.1.6.2.1), and size receive buffers for it.
"""

from virtiodiag import spec
from virtiodiag.model.attempts import MODERN
from virtiodiag.model.records import NET_HEADER, rejections
from virtiodiag.rules.base import Hit

CODE = "VD008"
NAME = "num-buffers-missing"
SEVERITY = "error"
SUMMARY = "A 10-byte virtio-net header on a device whose features require the 12-byte one"
SPEC = "5.1.6, 5.1.6.1"
OPTIONS: dict[str, object] = {}
LIVE_EVENTS = {"net_hdr"}

_HINT = ("use the 12-byte header (struct virtio_net_hdr_mrg_rxbuf) when VERSION_1 or "
         "MRG_RXBUF is negotiated, with num_buffers = 0 on transmit")


def check(ctx):
    for device in ctx.devices:
        why = _needs_12(device)
        if why is not None:
            short = [e for e in device.net_headers if e.get("hdr_len") == spec.NET_HDR_LEGACY]
            if short:
                first = short[0]
                related = []
                if device.features_accepted_event is not None:
                    related.append((device.features_accepted_event, "features accepted"))
                more = f" ({len(short)} such headers)" if len(short) > 1 else ""
                yield Hit(device, first,
                          f"{device.id}: virtio-net header of {spec.NET_HDR_LEGACY} bytes"
                          f"{_num_buffers(first)} but {why}: the header must be "
                          f"{spec.NET_HDR_MRG} bytes with num_buffers{more}",
                          _HINT, related=related, key="hdr10")
        yield from _header_rejected(device, rejections(device.errors, NET_HEADER))
    if ctx.final:
        yield from _header_rejected(None, rejections(ctx.model.unattributed_errors,
                                                     NET_HEADER))


def _needs_12(device):
    accepted = device.features_accepted
    if accepted is not None and accepted >> spec.VERSION_1 & 1:
        return "VERSION_1 (bit 32) was negotiated"
    if accepted is not None and accepted >> spec.NET_F_MRG_RXBUF & 1:
        return "MRG_RXBUF (bit 15) was negotiated"
    if device.interface[0] == MODERN:
        return "the device was driven through the modern interface (VERSION_1)"
    return None


def _num_buffers(event):
    value = event.get("num_buffers")
    return f" (num_buffers={value})" if value is not None else " (no num_buffers field)"


def _header_rejected(device, rejected):
    """The device's (its VMM's) refusal of a virtio-net header: the model's typed fact."""
    for rejection in rejected[:1]:
        hdr = rejection.value
        shown = f" of {hdr} bytes" if hdr is not None else ""
        yield Hit(device, rejection.event,
                  f"{device.id if device else 'virtio-net'}: the device rejected the "
                  f"virtio-net header{shown} the driver sent",
                  _HINT, key="qemu-hdr")
