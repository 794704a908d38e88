"""The device's own view, asked from QEMU over QMP with ``qemu.qmp`` (QEMU's library).

QEMU 7.2 and later answer ``x-query-virtio`` (the virtio devices and their QOM paths),
``x-query-virtio-status`` (status bits, features offered by the device and accepted by
the guest, number of queues) and ``x-query-virtio-queue-status`` (per queue: size,
last_avail_idx, used_idx, inuse) (qapi/virtio.json). Older QEMUs lack these commands,
and a monitor may refuse the connection: then the snapshot says why and the run goes on
with the log alone.

Everything here is synchronous: one private event loop, run only while a question is
asked, so the caller stays single-threaded (no thread is alive when it forks a guest).
"""

from __future__ import annotations

import asyncio
import os
import re
from time import monotonic
from typing import Any

from virtiodiag import spec
from virtiodiag.plain import Plain

ASK_TIMEOUT = 5.0  # seconds for one QMP command
CONNECT_TIMEOUT = 15.0  # seconds for QEMU to create its socket after start


class QueueView(Plain):
    FIELDS = ("index", "size", "last_avail_idx", "shadow_avail_idx", "used_idx", "inuse",
              "desc", "avail", "used", "avail_idx")

    def __init__(self, index: int, size: int, last_avail_idx: int | None,
                 shadow_avail_idx: int | None, used_idx: int, inuse: int, desc: int,
                 avail: int, used: int, avail_idx: int | None = None):
        self.index = index
        self.size = size
        self.last_avail_idx = last_avail_idx
        self.shadow_avail_idx = shadow_avail_idx
        self.used_idx = used_idx
        self.inuse = inuse
        self.desc = desc  # guest-physical ring addresses (0: the guest never set them)
        self.avail = avail
        self.used = used
        # The avail ring's idx as the guest wrote it (read from guest memory): how many
        # buffers the guest ever made available, mod 2^16. QEMU's own indices move only
        # when the device takes a buffer (a NIC without a peer never takes one).
        self.avail_idx = avail_idx

    @property
    def configured(self) -> bool:
        return bool(self.desc)

    @property
    def filled(self) -> bool:
        """The guest made buffers available on this queue at least once."""
        return bool(self.avail_idx or self.last_avail_idx or self.shadow_avail_idx
                    or self.used_idx)


class DeviceView(Plain):
    """One virtio device as QEMU holds it."""

    FIELDS = ("path", "name", "device_id", "pci_address", "status", "host_features",
              "guest_features", "queues", "started", "broken", "vm_running",
              "unmapped_features")

    def __init__(self, path: str, name: str, device_id: int, pci_address: str | None,
                 status: int, host_features: dict[int, str], guest_features: dict[int, str],
                 queues: list[QueueView], started: bool, broken: bool, vm_running: bool,
                 unmapped_features: list[str] | None = None):
        self.path = path
        self.name = name
        self.device_id = device_id
        self.pci_address = pci_address  # "03.0": slot and function on its PCI bus
        self.status = status
        self.host_features = host_features  # bit -> name (names QEMU knows; else bitN)
        self.guest_features = guest_features
        self.queues = queues
        self.started = started
        self.broken = broken
        self.vm_running = vm_running
        # feature names QEMU gave that have no bit in virtiodiag.spec (so not in the above)
        self.unmapped_features = unmapped_features or []

    @property
    def device_type(self) -> str | None:
        return spec.DEVICE_TYPES.get(self.device_id)

    @property
    def features_offered(self) -> int:
        return sum(1 << bit for bit in self.host_features)

    @property
    def features_accepted(self) -> int:
        return sum(1 << bit for bit in self.guest_features)


class Snapshot(Plain):
    """QEMU's view of every virtio device at one moment (``when``: stall, timeout, until,
    end, interrupt), or ``note`` saying why there is none."""

    FIELDS = ("when", "devices", "note")

    def __init__(self, when: str, devices: list[DeviceView] | None = None,
                 note: str | None = None):
        self.when = when
        self.devices = devices or []
        self.note = note


_STATUS_NAME = re.compile(r"VIRTIO_CONFIG_S_([A-Z_]+)")
_STATUS_ALIASES = {"FAILED": "FAILED", "NEEDS_RESET": "DEVICE_NEEDS_RESET"}


def status_bits(statuses: list[str]) -> int:
    """``["VIRTIO_CONFIG_S_ACKNOWLEDGE: Valid virtio device found", ...]`` -> 0x01..."""
    value = 0
    for text in statuses:
        found = _STATUS_NAME.match(text)
        if found:
            name = _STATUS_ALIASES.get(found.group(1), found.group(1))
            value |= spec.STATUS_BY_NAME.get(name, 0)
    return value


def feature_bits(features: dict, device_type: str | None,
                 unmapped: list[str] | None = None) -> dict[int, str]:
    """QEMU's VirtioDeviceFeatures (names such as ``VIRTIO_NET_F_MAC: ...``, and the
    unknown device bits as a number) -> {bit: our name}. Names without a bit in
    virtiodiag.spec go to ``unmapped`` (as our name would read: ``MAC``)."""
    common = {name: bit for bit, name in spec.COMMON_FEATURES.items()}
    device = {name: bit for bit, name in spec.DEVICE_FEATURES.get(device_type or "", {}).items()}
    bits: dict[int, str] = {}
    for text in list(features.get("transports", [])) + list(features.get("dev-features", [])):
        name = str(text).split(":", 1)[0].strip()
        head, sep, tail = name.partition("_F_")
        if not sep:
            continue
        if head == "VIRTIO_RING":
            tail = "RING_" + tail
            bit = common.get(tail)
        elif head == "VIRTIO":
            bit = common.get(tail)
        elif head == "VHOST_USER" and tail == "PROTOCOL_FEATURES":
            bit, tail = 30, "VHOST_USER_PROTOCOL_FEATURES"
        else:
            bit = device.get(tail)
        if bit is None:
            if unmapped is not None:
                unmapped.append(tail)
            continue
        bits[bit] = tail if bit == 30 else (spec.feature_names(1 << bit, device_type)[0])
    unknown = int(features.get("unknown-dev-features") or 0)
    for bit in range(unknown.bit_length()):
        if unknown >> bit & 1:
            bits.setdefault(bit, spec.feature_names(1 << bit, device_type)[0])
    return bits


_XP = re.compile(r":\s*0x([0-9a-fA-F]+)")


def avail_idx_from_xp(reply) -> int | None:
    """HMP ``xp /1hx ADDR``'s answer (``00000000061f5002: 0x0100``) -> 256."""
    found = _XP.search(reply) if isinstance(reply, str) else None
    return int(found.group(1), 16) if found else None


def device_from_replies(path: str, name: str, status: dict, queues: list[dict],
                        devfn: int | None, avail_xp: list | None = None) -> DeviceView:
    """A DeviceView from QEMU's replies: x-query-virtio-status, x-query-virtio-queue-status
    for each queue, the PCI proxy's ``addr`` (devfn) or None, and per queue the HMP
    ``xp`` answer holding the avail ring's idx (or None)."""
    avail_xp = list(avail_xp or [])
    device_id = int(status.get("device-id", 0))
    device_type = spec.DEVICE_TYPES.get(device_id)
    views = [QueueView(
        int(q.get("queue-index", index)), int(q.get("vring-num", 0)), q.get("last-avail-idx"),
        q.get("shadow-avail-idx"), int(q.get("used-idx", 0)), int(q.get("inuse", 0)),
        int(q.get("vring-desc", 0)), int(q.get("vring-avail", 0)), int(q.get("vring-used", 0)),
        avail_idx_from_xp(avail_xp[index]) if index < len(avail_xp) else None)
        for index, q in enumerate(queues)]
    unmapped: list[str] = []
    pci = (f"{devfn >> 3:02x}.{devfn & 7:x}"
           if isinstance(devfn, int) and not isinstance(devfn, bool) and devfn >= 0 else None)
    return DeviceView(
        path, name, device_id, pci,
        status_bits(status.get("status", {}).get("statuses", [])),
        feature_bits(status.get("host-features", {}), device_type, unmapped),
        feature_bits(status.get("guest-features", {}), device_type),
        views, bool(status.get("started")), bool(status.get("broken")),
        bool(status.get("vm-running")), unmapped)


class Monitor:
    """virtiodiag's QMP connection to one QEMU."""

    def __init__(self, path: str):
        self.path = path
        self.client: Any = None  # qemu.qmp.QMPClient, imported only when a run asks QEMU
        self.loop: asyncio.AbstractEventLoop | None = None
        self.note: str | None = None  # why the monitor is unusable
        self.shutdown = False  # the guest powered off (QEMU paused: set-action)
        self.since = 0.0

    def _run(self, coroutine, timeout: float = ASK_TIMEOUT):
        assert self.loop is not None, "no event loop: try_connect() first"
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, timeout))

    def try_connect(self) -> bool:
        """One attempt, once QEMU has made its socket; False: not yet (or not at all:
        ``note`` then says why)."""
        if self.client is not None:
            return True
        if self.note is not None:
            return False
        if self.loop is None:
            try:
                import qemu.qmp  # noqa: F401 - only: is it installed?
            except ImportError:
                self.note = ("the qemu.qmp library is not installed: QEMU's device view "
                             "not asked for")
                return False
            self.loop = asyncio.new_event_loop()
            self.since = monotonic()
        if not os.path.exists(self.path):
            if monotonic() - self.since > CONNECT_TIMEOUT:
                self.note = f"QEMU made no QMP socket in {CONNECT_TIMEOUT:.0f} s"
            return False
        from qemu.qmp import QMPClient

        client = QMPClient("virtiodiag")
        try:
            self._run(client.connect(self.path))
        except Exception as exc:  # noqa: BLE001 - any refusal: say so, go on with the log
            self.note = f"QMP refused ({_describe(exc)})"
            return False
        self.client = client
        try:  # pause at the guest's power-off, so its devices can still be asked for
            self._run(client.execute("set-action", {"shutdown": "pause"}))
        except Exception:  # noqa: BLE001 - before QEMU 6.0: QEMU exits, the view is missed
            pass
        return True

    def poll(self) -> None:
        """Let QMP events arrive (the guest's power-off: SHUTDOWN)."""
        if self.client is None:
            return
        try:
            self._run(asyncio.sleep(0.005))
            for event in self.client.events.clear():
                if event.get("event") == "SHUTDOWN":
                    self.shutdown = True
        except Exception as exc:  # noqa: BLE001
            self._lost(exc)

    def snapshot(self, when: str) -> Snapshot:
        if self.client is None:
            return Snapshot(when, note=self.note or "no QMP connection")
        try:
            listed = self._run(self.client.execute("x-query-virtio"))
        except Exception as exc:  # noqa: BLE001
            text = _describe(exc)
            if "CommandNotFound" in text or "has not been found" in text:
                return Snapshot(when, note="this QEMU has no x-query-virtio (QEMU 7.2 or "
                                           "later answers it): the log alone is analysed")
            return Snapshot(when, note=f"QMP x-query-virtio failed ({text})")
        devices = []
        for entry in listed or []:
            try:
                devices.append(self._device(entry["path"], entry.get("name", "?")))
            except Exception as exc:  # noqa: BLE001 - one device's failure: keep the others
                return Snapshot(when, devices, note=f"QMP query of {entry.get('path')} "
                                                    f"failed ({_describe(exc)})")
        devices.sort(key=lambda d: (d.pci_address or "~", d.path))
        return Snapshot(when, devices)

    def _device(self, path: str, name: str) -> DeviceView:
        execute = self.client.execute
        status = self._run(execute("x-query-virtio-status", {"path": path}))
        queues = [self._run(execute("x-query-virtio-queue-status",
                                    {"path": path, "queue": index}))
                  for index in range(int(status.get("num-vqs", 0)))]
        packed = any(str(t).startswith("VIRTIO_F_RING_PACKED")
                     for t in status.get("guest-features", {}).get("transports", []))
        avail_xp = [None if packed or not q.get("vring-avail") else self._xp(q["vring-avail"] + 2)
                    for q in queues]
        return device_from_replies(path, name, status, queues, self._devfn(path), avail_xp)

    def _xp(self, address: int):
        """The guest's u16 at ``address`` (the split ring's avail idx), through HMP's
        ``xp``: QMP has no command that reads guest memory into its answer."""
        try:
            return self._run(self.client.execute(
                "human-monitor-command", {"command-line": f"xp /1hx 0x{address:x}"}))
        except Exception:  # noqa: BLE001 - no HMP: the indices QEMU keeps still show
            return None

    def _devfn(self, path: str) -> int | None:
        """The PCI proxy's ``addr`` for a virtio device behind one (QOM:
        .../device[N]/virtio-backend); None for virtio-mmio and the like."""
        parent = path.rsplit("/", 1)[0]
        try:
            devfn = self._run(self.client.execute("qom-get", {"path": parent,
                                                              "property": "addr"}))
        except Exception:  # noqa: BLE001 - no such property: not a PCI device
            return None
        return devfn if isinstance(devfn, int) else None

    def quit(self) -> None:
        """Ask QEMU to end (paused at the guest's power-off, or being stopped)."""
        if self.client is None:
            return
        try:
            self._run(self.client.execute("quit"), timeout=2.0)
        except Exception:  # noqa: BLE001 - QEMU closes the socket as it quits
            pass

    def _lost(self, exc) -> None:
        self.note = f"QMP connection lost ({_describe(exc)})"
        self.client = None

    def close(self) -> None:
        if self.loop is None:
            return
        if self.client is not None:
            try:
                self._run(self.client.disconnect(), timeout=2.0)
            except Exception:  # noqa: BLE001
                pass
            self.client = None
        self.loop.close()
        self.loop = None


def _describe(exc) -> str:
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "unknown"
    return text[:200]


def snapshot_from_replies(data: dict) -> Snapshot:
    """A Snapshot from recorded QMP replies (tests/fixtures/rules/qmp/*.json): ``when``,
    ``note`` and ``devices``, each with ``path``, ``name``, ``status`` (the
    x-query-virtio-status reply), ``queues`` (x-query-virtio-queue-status replies) and
    ``addr`` (the PCI proxy's devfn, or null) and ``avail_xp`` (HMP xp answers)."""
    devices = [device_from_replies(d["path"], d.get("name", "?"), d["status"],
                                   d.get("queues", []), d.get("addr"), d.get("avail_xp"))
               for d in data.get("devices", [])]
    return Snapshot(data.get("when", "end"), devices, data.get("note"))
