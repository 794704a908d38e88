"""The virtio devices a libvirt domain XML declares (``vmm_cmdline[libvirt_xml]``).

libvirt writes one element a line (docs/formatdomain.rst): a device's element opens,
its children follow, one a line, and it closes; a device with no child is one
self-closing line (<memballoon model='virtio'/>, <input type='tablet' bus='virtio'/>).
What makes it virtio is on its own line (<rng model='virtio'>, <controller type='scsi'
model='virtio-scsi'>) or a child's (<model type='virtio'/> of an <interface> or a
<video>, <target bus='virtio'/> of a <disk>, <driver type='virtiofs'/> of a
<filesystem>). Its <address type='pci' .../> gives its function (bus 0: 0000:00:SS.F;
another bus is a controller's, whose number the guest's firmware gives), 'ccw' or
'virtio-mmio' its transport, and <alias name='...'/> (a running domain's XML) the id
QEMU knows it by. The QEMU device each becomes is libvirt's choice for it
(src/qemu/qemu_command.c): virtio-net-pci, virtio-blk-pci, virtio-scsi-pci,
virtio-serial-pci, virtio-balloon-pci, virtio-rng-pci, virtio-gpu-pci,
virtio-tablet-pci ..., vhost-user-fs-pci, virtio-9p-pci, vhost-vsock-pci.
"""

from __future__ import annotations

from virtiodiag.cachefiles import compiled
from virtiodiag.events import Event
from virtiodiag.model.records import Declaration

_ATTR = compiled(r"""^([\w-]+)=['"]([^'"]*)['"]/?>?$""")
# element -> (QEMU device, type) when virtio; the element's kind decides the rest
_DEVICES = {"interface": ("virtio-net", "net"), "disk": ("virtio-blk", "block"),
            "memballoon": ("virtio-balloon", "balloon"), "rng": ("virtio-rng", "rng"),
            "video": ("virtio-gpu", "gpu"), "vsock": ("vhost-vsock", "vsock")}
_TRANSPORTS = {"pci": "pci", "ccw": "ccw", "virtio-mmio": "mmio"}
_VIRTIO_MODELS = ("virtio", "virtio-transitional", "virtio-non-transitional")


def _tag(event: Event) -> tuple[str, dict[str, str], bool, bool]:
    """(element name, attributes, opens, closes) of one line's tag."""
    words = event.get("arg")
    words = [str(w) for w in (words if isinstance(words, tuple) else (words,) if words else ())]
    if not words:
        return "", {}, False, False
    head = words[0].lstrip("<")
    closing = head.startswith("/")
    name = head.lstrip("/").rstrip(">").rstrip("/")
    attrs = {}
    for word in words[1:]:
        match = _ATTR.match(word)
        if match:
            attrs[match.group(1)] = match.group(2)
    last = words[-1]
    self_closing = last.endswith("/>")
    return name, attrs, not closing and not self_closing and last.endswith(">"), \
        closing or self_closing


class LibvirtDomain:
    """Follows one domain XML's device elements, line by line."""

    __slots__ = ("element", "event", "virtio", "attrs", "address", "transport", "alias")

    def __init__(self) -> None:
        self.element: str | None = None
        self.event: Event | None = None
        self.virtio: tuple[str, str] | None = None
        self.attrs: dict[str, str] = {}
        self.address: str | None = None
        self.transport: str | None = None
        self.alias: str | None = None

    def feed(self, event: Event) -> list[Declaration]:
        """The device this line completes, if it is a virtio one's last line."""
        name, attrs, opens, closes = _tag(event)
        if name in _DEVICES or name in ("controller", "input", "filesystem"):
            if closes and not opens and name == self.element and self.event is not None:
                return self._done()
            self._start(name, attrs, event)
            if closes:  # one self-closing line: the whole device
                return self._done()
            return []
        if self.element is None:
            return []
        if name == "model" and attrs.get("type") in _VIRTIO_MODELS \
                and self.element in ("interface", "video"):
            self.virtio = _DEVICES[self.element]
        elif name == "target" and attrs.get("bus") == "virtio" and self.element == "disk":
            self.virtio = _DEVICES["disk"]
        elif name == "driver" and attrs.get("type") == "virtiofs" \
                and self.element == "filesystem":
            self.virtio = ("vhost-user-fs", "fs")
        elif name == "address":
            self._place(attrs)
        elif name == "alias" and attrs.get("name"):
            self.alias = attrs["name"]
        return []

    def _start(self, name: str, attrs: dict[str, str], event: Event) -> None:
        self.element, self.event, self.attrs = name, event, attrs
        self.address = self.transport = self.alias = None
        model = attrs.get("model", "")
        self.virtio = None
        if name in ("memballoon", "rng", "vsock") and model in _VIRTIO_MODELS:
            self.virtio = _DEVICES[name]
        elif name == "controller" and attrs.get("type") == "scsi" \
                and model.startswith("virtio-"):
            self.virtio = ("virtio-scsi", "scsi")
        elif name == "controller" and attrs.get("type") == "virtio-serial":
            self.virtio = ("virtio-serial", "console")
        elif name == "input" and attrs.get("bus") == "virtio":
            self.virtio = (f"virtio-{attrs.get('type', 'input')}", "input")
        elif name == "filesystem":
            self.virtio = ("virtio-9p", "9p")  # QEMU's default driver; <driver> may say fs

    def _place(self, attrs: dict[str, str]) -> None:
        self.transport = _TRANSPORTS.get(attrs.get("type", ""))
        if self.transport != "pci":
            return
        try:
            bus, slot, function = (int(attrs.get(k, ""), 16) for k in ("bus", "slot", "function"))
            domain = int(attrs.get("domain", "0x0"), 16)
        except ValueError:
            return
        if domain == 0 and bus == 0 and slot <= 31 and function <= 7:
            self.address = f"0000:00:{slot:02x}.{function}"

    def _done(self) -> list[Declaration]:
        virtio, event = self.virtio, self.event
        self.element = self.event = self.virtio = None
        if virtio is None or event is None:
            return []
        device, device_type = virtio
        transport = self.transport or "pci"
        suffix = {"pci": "-pci", "ccw": "-ccw", "mmio": "-device"}[transport]
        declaration = Declaration(event, str(event.text).strip(), device + suffix, device_type,
                                  transport, self.address, self.alias)
        declaration.order = (2, event.seq, 0)
        return [declaration]
