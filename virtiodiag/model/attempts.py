"""Per-attempt facts: what each run of the handshake was, decided here once.

An attempt is one reset-to-reset run of the handshake (the status changes from a write
of 0 to the next one). For each, this module decides the interface the driver used
(modern, legacy, unknown) from typed evidence records (kind, strength, line), the steps
reached and the change that first reached each, DRIVER_OK (a ``DriverOk`` state; the
whole device's verdict is model/driver_ok.py's), the features offered and accepted, the
queues configured and the IRQs set up during it. Rules and reports read these; none of
them decides an interface or a step again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from virtiodiag import spec
from virtiodiag.events import Event
from virtiodiag.model.driver_ok import DriverOk, DriverOkFact
from virtiodiag.model.handover import OTHER_DRIVER
from virtiodiag.model.records import Queue, StatusChange
from virtiodiag.plain import Plain

MODERN, LEGACY, UNKNOWN = "modern", "legacy", "unknown"

# How much a piece of evidence says about the interface the driver used:
DEVICE = "device"    # the device has only this interface (modern-only PCI id, virtio-mmio v2)
STRONG = "strong"    # an act only one interface has (FEATURES_OK, VERSION_1, a register)
WEAK = "weak"        # inferred from a step missing (DRIVER_OK without FEATURES_OK)
DEFAULT = "default"  # what the device offers, when the driver's acts say nothing

# Evidence kinds tied to the status writes of their own attempt: another attempt's driver
# (firmware before the OS, a driver that retried) says nothing about this one.
_OWN_ATTEMPT_ONLY = frozenset({"features_ok_written", "driver_ok_without_features_ok"})


class DeviceFacts(Protocol):
    """What this module reads of a device. model/device.Device is one; it is named by this
    protocol, not by its class, because device.py imports this module (no import cycle)."""

    @property
    def status(self) -> Sequence[StatusChange]: ...
    @property
    def queues(self) -> Mapping[int, Queue]: ...
    @property
    def irq_events(self) -> Sequence[Event]: ...
    @property
    def driver_lines(self) -> Sequence[Event]: ...
    @property
    def probe_failures(self) -> Sequence[Event]: ...
    @property
    def driver_ok_implied(self) -> Event | None: ...
    @property
    def found_event(self) -> Event | None: ...
    @property
    def pci_kind(self) -> str | None: ...
    @property
    def fallback_kind(self) -> str | None: ...
    @property
    def pci_caps(self) -> Event | None: ...
    @property
    def features_offered(self) -> int | None: ...
    @property
    def pci_device(self) -> int | None: ...
    @property
    def mmio_version(self) -> int | None: ...
    @property
    def interface_evidence(self) -> Sequence[InterfaceEvidence]: ...
    @property
    def feature_log(self) -> Sequence[FeatureValue]: ...
    @property
    def bound(self) -> bool: ...
    @property
    def driver_ok(self) -> DriverOkFact: ...
    @property
    def started_handshake(self) -> bool: ...
    @property
    def legacy_fallback(self) -> Event | None: ...
    @property
    def unassigned_bars(self) -> Sequence[Event]: ...
    @property
    def features_accepted(self) -> int | None: ...
    @property
    def transport(self) -> str | None: ...
    @property
    def interface(self) -> tuple[str, list[InterfaceEvidence]]: ...


class InterfaceEvidence(Plain):
    """One typed fact about which interface the driver used, and the line that shows it.

    ``kind`` names the fact (``features_ok_written``, ``version1_accepted``,
    ``version1_not_accepted``, ``driver_ok_without_features_ok``, ``legacy_driver``,
    ``legacy_register``, ``modern_register``, ``log_says``, ``pci_id``, ``mmio_version``);
    ``text`` is its wording for people (reports), never read to decide anything."""

    FIELDS = ("interface", "kind", "strength", "event", "text")
    __slots__ = FIELDS

    def __init__(self, interface: str, kind: str, strength: str, event: Event, text: str):
        self.interface = interface
        self.kind = kind
        self.strength = strength
        self.event = event
        self.text = text

    @property
    def line(self) -> int:
        return self.event.line

    @property
    def wording(self) -> str:
        """The model's own words for this fact (``text``), as a rule's message quotes it;
        rules read no ``text`` of any kind (tests/test_typed_rule_facts.py)."""
        return self.text


class FeatureValue(Plain):
    """Features offered or accepted as known after one line."""

    FIELDS = ("kind", "value", "event")
    __slots__ = FIELDS

    def __init__(self, kind: str, value: int, event: Event):
        self.kind = kind  # "offered" | "accepted"
        self.value = value
        self.event = event


class Attempt(Plain):
    """One reset-to-reset run of the handshake and what the model decided about it."""

    FIELDS = ("index", "changes", "interface", "evidence", "steps", "driver_ok", "failed",
              "features_offered", "features_accepted", "queues", "irq_setups", "reset_after")

    def __init__(self, device: DeviceFacts, index: int, changes: list[StatusChange],
                 start: float, end: float, reset_after: bool):
        self._device = device
        self._range = (start, end)  # sequence numbers: [start, end)
        self.index = index
        self.changes = changes  # the StatusChanges, the reset (if any) first
        self.reset_after = reset_after  # a later reset ended it
        self.interface: str = UNKNOWN
        self.evidence: list[InterfaceEvidence] = []  # what decided the interface
        self.steps: dict[str, StatusChange] = {}  # step name -> the change that first reached it
        for change in changes:
            for bit, name in spec.HANDSHAKE_STEPS:
                if change.value & bit and name not in self.steps:
                    self.steps[name] = change
        dok = self.steps.get("DRIVER_OK")
        self.driver_ok = DriverOkFact(DriverOk.REACHED if dok else DriverOk.NOT_REACHED,
                                      dok.event if dok else None)
        self.failed = next((c for c in changes if c.value & spec.FAILED), None)
        self.features_offered: FeatureValue | None = None
        self.features_accepted: FeatureValue | None = None

    @property
    def queues(self) -> list[int]:
        """The queues whose latest set-up line falls in this attempt."""
        start, end = self._range
        return sorted({q.index for q in self._device.queues.values()
                       if any(start <= e.seq < end for e in q.address_events.values())})

    @property
    def drivers(self) -> list[str]:
        """The device drivers whose lines about the device fall in this attempt, in the
        order they first appear (a rebind, an rmmod and insmod, another driver taking the
        device each start an attempt: the driver's remove resets the device)."""
        start, end = self._range
        names: list[str] = []
        for event in self._device.driver_lines:
            name = event.get("driver")
            if start <= event.seq < end and isinstance(name, str) and name not in names:
                names.append(name)
        return names

    @property
    def taken_by(self) -> Event | None:
        """The first line in this attempt of a driver that is not virtio's taking the PCI
        function (vfio-pci, pci-stub: device_bind[other_driver]). The previous virtio
        driver's remove reset the device (Linux's virtio_dev_remove() leaves ACKNOWLEDGE
        set): the handshake stopped because the device changed hands, not because a
        driver failed, and no virtio driver drives it until a reset starts a new attempt."""
        start, end = self._range
        return next((e for e in self._device.driver_lines if start <= e.seq < end
                     and e.payload.detail == OTHER_DRIVER), None)

    @property
    def irq_setups(self) -> list[Event]:
        """The IRQ set-up and enable lines of the device during this attempt."""
        start, end = self._range
        return [e for e in self._device.irq_events if start <= e.seq < end]

    @property
    def started(self) -> bool:
        """Something beyond a reset was written or read."""
        return any(c.value for c in self.changes)

    @property
    def driven(self) -> bool:
        """A driver took the device: DRIVER was set."""
        return "DRIVER" in self.steps

    @property
    def features_ok_cleared(self) -> tuple[StatusChange, StatusChange] | None:
        """The device refused the features by its read-back: the FEATURES_OK write and the
        first non-zero status read after it without FEATURES_OK (spec 3.1.1 step 6)."""
        written = None
        for change in self.changes:
            if not change.read:
                if change.value & spec.FEATURES_OK:
                    written = change
                continue
            if written is not None and change.value and not change.value & spec.FEATURES_OK:
                return written, change
        return None

    @property
    def last_step(self) -> tuple[str, StatusChange | None]:
        """The furthest step and the change that first reached it: a later write that keeps
        the same bits (adding FAILED, or QEMU re-writing the status when the VM stops)
        reached nothing new, so it is not the evidence of the step."""
        for _, name in reversed(spec.HANDSHAKE_STEPS):
            if name in self.steps:
                return name, self.steps[name]
        return ("RESET", self.changes[0]) if self.changes else ("none", None)


def split_attempts(status: Sequence[StatusChange]) -> list[list[StatusChange]]:
    """Status changes split at each reset (a write of 0)."""
    groups: list[list[StatusChange]] = []
    for change in status:
        if (change.value == 0 and not change.read) or not groups:
            groups.append([change])
        else:
            groups[-1].append(change)
    return groups


def device_evidence(device: DeviceFacts) -> InterfaceEvidence | None:
    """What the device itself says: only one interface, or the one it offers (the PCI id
    and the virtio-mmio version are learnt from the line that found the device)."""
    if device.found_event is None:
        return None
    # The kind it had when its driver left it for the legacy one, if it did: a later boot
    # of the log may show another device in that PCI slot.
    if (device.fallback_kind or device.pci_kind) == "modern":
        return InterfaceEvidence(MODERN, "pci_id", DEVICE, device.found_event,
                                 f"PCI id 1af4:{device.pci_device:04x} is a modern device")
    if device.mmio_version == 2:
        return InterfaceEvidence(MODERN, "mmio_version", DEVICE, device.found_event,
                                 "virtio-mmio Version 2 (modern)")
    if device.pci_caps is not None and device.pci_kind is None:
        # What it offers: the 1.0 interface (a transitional function has the legacy one
        # too), the one Linux's virtio_pci_probe() tries first.
        return InterfaceEvidence(MODERN, "pci_caps", DEFAULT, device.pci_caps,
                                 "the function has the virtio 1.0 PCI capabilities")
    if device.mmio_version == 1:
        return InterfaceEvidence(LEGACY, "mmio_version", DEFAULT, device.found_event,
                                 "virtio-mmio Version 1 (legacy)")
    return None


def decide(device: DeviceFacts, start: float, end: float) -> tuple[str, list[InterfaceEvidence]]:
    """The interface used between two sequence numbers, and the evidence that shows it.

    A device with one interface is driven through it. Otherwise strong evidence inside
    the range decides, the latest winning (a driver that retried); then strong evidence
    printed before it that is not another attempt's own status writes (a guest says
    "leaving for legacy driver", or writes GuestPageSize at probe, before it resets the
    device); then weak evidence inside (DRIVER_OK without FEATURES_OK: legacy); last, what
    the device offers. The evidence returned is every record of the winning interface
    from those, in log order."""
    own = device_evidence(device)
    if own is not None and own.strength == DEVICE:
        return own.interface, [own]
    inside: list[InterfaceEvidence] = []
    before: list[InterfaceEvidence] = []
    for evidence in device.interface_evidence:
        seq = evidence.event.seq
        if start <= seq < end:
            inside.append(evidence)
        elif seq < start and evidence.kind not in _OWN_ATTEMPT_ONLY:
            before.append(evidence)
    strong_inside = [e for e in inside if e.strength == STRONG]
    strong_before = [e for e in before if e.strength == STRONG]
    if strong_inside:
        winner = strong_inside[-1].interface
    elif strong_before:
        winner = strong_before[-1].interface
    elif inside:
        winner = LEGACY
    elif own is not None:
        return own.interface, [own]
    else:
        return UNKNOWN, []
    return winner, [e for e in before + inside if e.interface == winner]


def build_attempts(device: DeviceFacts) -> list[Attempt]:
    groups = split_attempts(device.status)
    attempts = []
    for index, changes in enumerate(groups):
        start = changes[0].event.seq if index else float("-inf")
        end = groups[index + 1][0].event.seq if index + 1 < len(groups) else float("inf")
        attempt = Attempt(device, index, changes, start, end, index < len(groups) - 1)
        attempt.interface, attempt.evidence = decide(device, start, end)
        for value in device.feature_log:
            if start <= value.event.seq < end:
                if value.kind == "offered":
                    attempt.features_offered = value
                else:
                    attempt.features_accepted = value
        attempts.append(attempt)
    return attempts


def offered_version1(device: DeviceFacts) -> bool:
    """A line shows the device offering VIRTIO_F_VERSION_1 (bit 32)."""
    return any(v.kind == "offered" and v.value >> 32 & 1 for v in device.feature_log)


def driver_took(device: DeviceFacts) -> bool:
    """A driver did something with the device: a handshake begun, a bind, a legacy
    fallback, features accepted, a queue, or any status written (an id-0 placeholder that
    nothing drove has none of these)."""
    return bool(device.started_handshake or device.bound or device.legacy_fallback
                or device.features_accepted or device.queues
                or any(s.value for s in device.status))


# Why a device was driven in legacy mode (legacy_cause); only FALLBACK is a driver passing
# over a modern interface it could have used.
DRIVER_HAS_NO_OTHER = "driver_has_no_other"
LEGACY_TRANSPORT_DRIVER = "legacy_transport_driver"
NO_MODERN_INTERFACE = "no_modern_interface"
MODERN_BAR_UNASSIGNED = "modern_bar_unassigned"
VERSION1_NOT_OFFERED = "version1_not_offered"
FALLBACK = "fallback"


def legacy_cause(device: DeviceFacts) -> str | None:
    """Why the device was driven through its legacy interface, or None when it was not
    (or nothing shows it). Unless a line shows the device offering VERSION_1:
    - DRIVER_HAS_NO_OTHER: the driver has no modern interface (FreeBSD 9-12's description
      without "(legacy)"/"(modern)");
    - LEGACY_TRANSPORT_DRIVER: a guest's legacy PCI transport driver took a function that
      is not modern-only (FreeBSD 13+ "(legacy)", U-Boot virtio-pci.l, SeaBIOS "using
      legacy"): it binds only ids 0x1000-0x103f, which transitional devices carry so that
      legacy drivers match them (spec 4.1.2.3); no modern attempt failed;
    - MODERN_BAR_UNASSIGNED: Linux's "leaving for legacy driver" after the PCI core left
      one of the function's BARs without address space (unassigned_bar);
    - NO_MODERN_INTERFACE: Linux's "leaving for legacy driver", printed when the function
      has no modern capability;
    - VERSION1_NOT_OFFERED: the features are all that shows the interface: the accepted
      ones lack VERSION_1 and so do those a line shows the device offering to that driver
      (FreeBSD's "host features: ..."): the driver was not given VERSION_1 to pass over (a
      legacy-only device, or a legacy driver, which reads only feature bits 0-31);
    else FALLBACK."""
    interface, evidence = device.interface
    if interface != LEGACY or not evidence:
        return None
    if unassigned_bar(device) is not None:
        return MODERN_BAR_UNASSIGNED
    kind = evidence[0].kind
    if not offered_version1(device):
        if kind == "legacy_only_driver":
            return DRIVER_HAS_NO_OTHER
        if (device.fallback_kind or device.pci_kind) != "modern":
            if kind in ("log_says", "transport_driver") and device.transport == "pci":
                return LEGACY_TRANSPORT_DRIVER
            if kind == "legacy_driver":
                return NO_MODERN_INTERFACE
        if (device.features_offered is not None
                and all(e.kind == "version1_not_accepted" for e in evidence)):
            return VERSION1_NOT_OFFERED
    return FALLBACK


def unassigned_bar(device: DeviceFacts) -> Event | None:
    """The PCI core's line leaving one of the device's BARs without address space
    (drivers/pci/setup-res.c "BAR 4: no space for ...") before virtio_pci left the device to
    the legacy driver: virtio_pci_find_capability() skips a capability whose BAR has no
    length, so a modern capability in that BAR was there but unusable."""
    fallback = device.legacy_fallback
    if fallback is None:
        return None
    return next((e for e in device.unassigned_bars if e.seq < fallback.seq), None)
