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

from virtiodiag.events import Event
from virtiodiag.model.device import Device, Model
from virtiodiag.plain import Plain

SEVERITIES = ("info", "warning", "error")


def severity_rank(name: str) -> int:
    return SEVERITIES.index(name)


class Hit(Plain):
    """What a rule reports; the engine turns it into a Finding."""

    FIELDS = ("device", "event", "message", "hint", "related", "key", "severity")

    def __init__(self, device: Device | None, event: Event | None, message: str, hint: str,
                 related: list[tuple[Event, str]] | None = None, key: str = "",
                 severity: str | None = None):
        self.device = device
        self.event = event
        self.message = message
        self.hint = hint
        self.related = [] if related is None else related
        self.key = key  # tells two hits of one rule on one device apart (not a line number)
        self.severity = severity  # overrides the rule's default for this hit


class Finding(Plain):
    FIELDS = ("rule", "name", "severity", "device", "path", "line", "message", "hint",
              "fingerprint", "related", "evidence", "spec", "time", "device_identity")

    def __init__(self, rule: str, name: str, severity: str, device: str, path: str,
                 line: int | None, message: str, hint: str, fingerprint: str,
                 related: list[dict] | None = None, evidence: str = "", spec: str = "",
                 time: float | None = None, device_identity: str = ""):
        self.rule = rule
        self.name = name
        self.severity = severity
        self.device = device
        self.path = path
        self.line = line
        self.message = message
        self.hint = hint
        self.fingerprint = fingerprint
        self.related = [] if related is None else related
        self.evidence = evidence
        self.spec = spec
        self.time = time
        self.device_identity = device_identity

    def as_dict(self) -> dict:
        return {
            "rule": self.rule, "name": self.name, "severity": self.severity,
            "device": self.device, "path": self.path, "line": self.line,
            "message": self.message, "hint": self.hint, "fingerprint": self.fingerprint,
            "related": self.related, "evidence": self.evidence, "spec": self.spec,
        }


class Withdrawal(Plain):
    """A finding shown live (while a stream was read) that the final pass, with the whole
    log, does not make: the device's record was joined into another (``device`` is its
    name now) or later lines settled it otherwise. ``stands``: the final pass's finding of
    the same rule on that device, if any (of another severity); ``same_as``: the finding shown
    live before it for a record of the same device (the final pass makes one)."""

    FIELDS = ("finding", "device", "stands", "same_as")

    def __init__(self, finding: Finding, device: str, stands: Finding | None,
                 same_as: Finding | None = None):
        self.finding = finding
        self.device = device
        self.stands = stands
        self.same_as = same_as

    def reason(self) -> str:
        """One line: why the live finding does not stand."""
        finding = self.finding
        became = (f"{finding.device} turned out to be {self.device}"
                  if self.device != finding.device else "")
        if self.same_as is not None:
            earlier = self.same_as
            where = f" (line {earlier.line})" if earlier.line else ""
            if earlier.device != finding.device:
                return (f"{finding.device} and {earlier.device} turned out to be one device, "
                        f"{self.device}: counted once, as {earlier.device}'s finding{where}")
            return f"counted once, as the finding shown before{where}"
        if self.stands is None:
            return f"{became}; the whole log does not show it" if became else \
                "the whole log does not show it"
        line = f" (line {self.stands.line})" if self.stands.line else ""
        settled = f"the whole log makes it {self.stands.severity} {self.stands.rule}{line}"
        return f"{became}; {settled}" if became else settled


class Context(Plain):
    FIELDS = ("model", "devices", "options", "final")

    def __init__(self, model: Model, devices: list[Device], options: dict, final: bool):
        self.model = model
        self.devices = devices
        self.options = options
        self.final = final


def fingerprint(code: str, identity: str, artifact: str, key: str, occurrence: int) -> str:
    text = "\x1f".join((code, identity, artifact, key, str(occurrence)))
    import hashlib  # here: a run without findings does not load OpenSSL

    return hashlib.sha256(text.encode()).hexdigest()[:32]
