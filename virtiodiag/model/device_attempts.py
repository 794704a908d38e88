"""A device's handshake attempts and the interface they show: its attempts (built by
model/attempts.py, kept while the facts they are made of stay the same), the latest one's
step, the evidence of the interface recorded as lines arrive, and the interface and mode
that evidence decides. A part of model/device.py's Device, kept here as a mixin."""

from __future__ import annotations

from sys import intern
from typing import TYPE_CHECKING, cast

from virtiodiag import spec
from virtiodiag.events import Event
from virtiodiag.model.attempts import (
    DEFAULT,
    DEVICE,
    LEGACY,
    UNKNOWN,
    Attempt,
    FeatureValue,
    InterfaceEvidence,
    build_attempts,
    decide,
    split_attempts,
)
from virtiodiag.model.records import Evidence, StatusChange

if TYPE_CHECKING:
    from virtiodiag.model.attempts import DeviceFacts


class DeviceAttempts:
    """Attempts, interface evidence and mode of a device (model/device.Device)."""

    status: list[StatusChange]
    interface_evidence: list[InterfaceEvidence]
    feature_log: list[FeatureValue]
    mode_evidence: list[Evidence]
    pci_kind: str | None
    pci_caps: Event | None
    mmio_version: int | None
    found_event: Event | None
    legacy_fallback: Event | None
    reset_seq: int
    _attempts: tuple | None

    def _facts(self) -> DeviceFacts:
        """This device as model/attempts.py reads it: Device, which has this mixin, has
        every fact DeviceFacts names; the mixin alone declares only those it reads."""
        return cast("DeviceFacts", self)

    def last_step(self) -> tuple[str, Event | None]:
        """Highest step of 3.1.1 reached in the latest attempt (after the last reset), and
        the line that first reached it."""
        attempts = self.attempts()
        if not attempts:
            return "none", None
        step, change = attempts[-1].last_step
        return step, change.event if change is not None else None

    def attempts(self) -> list[Attempt]:
        """One Attempt per reset-to-reset run of the handshake (see model/attempts.py).

        Built from the status, the interface evidence and the features seen; kept while
        none of them changed (rules read them many times, a live stream after each line)."""
        status, evidence, features = self.status, self.interface_evidence, self.feature_log
        # Identities of the lists and of their last items: the lists are only appended to
        # (or their middle dropped), or replaced by a merge.
        key = (id(status), len(status), id(status[-1]) if status else 0, id(evidence),
               len(evidence), id(evidence[-1]) if evidence else 0, id(features),
               len(features), self.pci_kind, self.mmio_version, id(self.found_event),
               id(self.pci_caps))
        cached = self._attempts
        if cached is not None and cached[0] == key:
            return cached[1]
        attempts = build_attempts(self._facts())
        self._attempts = (key, attempts)
        return attempts

    def last_started_attempt(self) -> Attempt | None:
        """The latest attempt that did something (a reset after DRIVER_OK, at shutdown or
        unbind, ends a finished handshake; it is not a new attempt)."""
        for attempt in reversed(self.attempts()):
            if attempt.started:
                return attempt
        return None

    def current_attempt(self) -> list[StatusChange]:
        """The status changes since the last reset (all of them if there was none)."""
        groups = split_attempts(self.status)
        return groups[-1] if groups else []

    def driver_ok_in_attempt(self) -> bool:
        """DRIVER_OK is set in the current attempt (since the last reset)."""
        return any(s.value & spec.DRIVER_OK for s in self.current_attempt())

    def add_evidence(self, interface: str, kind: str, strength: str, text: str,
                     event: Event) -> None:
        """Record evidence of the interface the driver used: typed, once per kind and
        wording in each attempt; its wording once for the report."""
        # One string per wording (a long log says "FEATURES_OK written (status 0x0b)" in
        # every attempt of every device); sys.intern holds no string alive by itself.
        text = intern(text)
        self.note(text, event)
        reset = self.reset_seq
        for earlier in reversed(self.interface_evidence):
            if earlier.event.seq < reset:
                break
            if earlier.kind == kind and earlier.text == text:
                return
        self.interface_evidence.append(InterfaceEvidence(interface, kind, strength, event, text))

    def note(self, text: str, event: Event) -> None:
        """Wording about the device's interface for the report, recorded once."""
        # A loop that stops at the wording, not ``text in [...]`` of every wording: a long
        # log says the same few again and again (a PCI id's on each of its listing lines).
        for known in self.mode_evidence:
            if known.text == text:
                return
        self.mode_evidence.append(Evidence(text, event))

    @property
    def interface(self) -> tuple[str, list[InterfaceEvidence]]:
        """The interface the device was driven through, and the evidence that decided it:
        that of its latest attempt whose interface is known (preferring one that did
        something), else what the whole log shows."""
        attempts = self.attempts()
        for wanted in (True, False):
            for attempt in reversed(attempts):
                if attempt.started is wanted and attempt.interface != UNKNOWN:
                    return attempt.interface, attempt.evidence
        return decide(self._facts(), float("-inf"), float("inf"))

    @property
    def driven_mode(self) -> str | None:
        """How the driver drove it, as its acts show: 'modern', 'legacy' or None (no act
        shows it: what the device offers is not counted here)."""
        interface, evidence = self.interface
        if interface == UNKNOWN or not evidence or evidence[0].strength in (DEVICE, DEFAULT):
            return None
        return interface

    @property
    def mode(self) -> str:
        driven = self.driven_mode
        if self.pci_kind == "transitional" and not self.legacy_fallback:
            return f"transitional-used-as-{driven}" if driven else "transitional"
        if self.pci_kind == "transitional" and self.legacy_fallback:
            return "legacy"  # the driver left the modern probe for the legacy one
        if driven:
            return driven
        if self.pci_kind == "modern" or (self.pci_caps is not None and self.pci_kind is None):
            return "modern"  # what the function offers (a listing's 1.0 capabilities)
        return {1: "legacy", 2: "modern"}.get(self.mmio_version or 0, "unknown")

    @property
    def is_legacy(self) -> bool:
        """Driven (or, with no act to show it, offered) through the legacy interface."""
        return self.interface[0] == LEGACY

    @property
    def mode_reason(self) -> str:
        parts = [f"{e.text} (line {e.event.line})" for e in self.mode_evidence[:4]]
        return "; ".join(parts) if parts else "no evidence in the log"
