"""The rule contract and the findings rules produce.

A rule is a module in this package with module-level constants and one generator:

    CODE = "VD001"                  # stable, never reused
    NAME = "legacy-fallback"        # kebab-case, may be used instead of the code
    SEVERITY = "error"              # default: error | warning | info
    SUMMARY = "one line"
    SPEC = "2.2.3, 3.1.2"           # virtio spec sections it enforces ("" if none)
    OPTIONS = {"allow_legacy": False}   # option -> default (type taken from the default)
    LIVE_EVENTS = {"legacy_fallback"}   # event kinds after which a live stream re-checks
    def check(ctx): yield Hit(...)      # reads ctx.model / ctx.devices, never raw text

The module docstring is the rule's documentation (``virtiodiag explain``): what it
detects, a bad log excerpt, a good one, why it matters, how to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model

SEVERITIES = ("info", "warning", "error")


def severity_rank(name: str) -> int:
    return SEVERITIES.index(name)


@dataclass
class Hit:
    """What a rule reports; the engine turns it into a Finding."""

    device: Device | None
    event: Event | None
    message: str
    hint: str
    related: list[tuple[Event, str]] = field(default_factory=list)
    key: str = ""  # tells two hits of one rule on one device apart (not a line number)
    severity: str | None = None  # overrides the rule's default for this hit


@dataclass
class Finding:
    rule: str
    name: str
    severity: str
    device: str
    path: str
    line: int | None
    message: str
    hint: str
    fingerprint: str
    related: list[dict] = field(default_factory=list)
    evidence: str = ""
    spec: str = ""
    time: float | None = None
    device_identity: str = ""

    def as_dict(self) -> dict:
        return {
            "rule": self.rule, "name": self.name, "severity": self.severity,
            "device": self.device, "path": self.path, "line": self.line,
            "message": self.message, "hint": self.hint, "fingerprint": self.fingerprint,
            "related": self.related, "evidence": self.evidence, "spec": self.spec,
        }


@dataclass
class Context:
    model: Model
    devices: list[Device]
    options: dict
    final: bool


def fingerprint(code: str, identity: str, artifact: str, key: str, occurrence: int) -> str:
    text = "\x1f".join((code, identity, artifact, key, str(occurrence)))
    import hashlib  # here: a run without findings does not load OpenSSL

    return hashlib.sha256(text.encode()).hexdigest()[:32]
