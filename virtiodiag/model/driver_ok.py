"""DRIVER_OK's verdict for a device, decided here once: reached (a status write or read-back
with it), implied (no status shown, but a line only a driver done with its probe prints),
not reached (the status is shown and never had it, or the probe failed: a failure line, a
refusal of the features, a crash in the probe), or not shown. An attempt's own verdict
(model/attempts.py) uses the same states; rules, runs and reports read them."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Protocol

from virtiodiag import spec
from virtiodiag.events import Event
from virtiodiag.model.records import StatusChange
from virtiodiag.plain import Plain


class DriverOkFacts(Protocol):
    """What the verdict reads of a device (model/device.Device is one)."""

    @property
    def status(self) -> Sequence[StatusChange]: ...
    @property
    def probe_failures(self) -> Sequence[Event]: ...
    @property
    def features_refused(self) -> Event | None: ...
    @property
    def crash(self) -> Event | None: ...
    @property
    def driver_ok_implied(self) -> Event | None: ...


class DriverOk(Enum):
    REACHED = "reached"          # a status write (or read-back) with DRIVER_OK
    IMPLIED = "implied"          # no status shown, but a line only a live device prints
    NOT_REACHED = "not-reached"  # the status is shown and never had DRIVER_OK
    NOT_SHOWN = "not-shown"      # the log shows no status of this device


class DriverOkFact(Plain):
    """DRIVER_OK's state and the line that shows it (the write, or the implying line)."""

    FIELDS = ("state", "event")

    def __init__(self, state: DriverOk, event: Event | None = None):
        self.state = state
        self.event = event

    @property
    def reached(self) -> bool:
        return self.state is DriverOk.REACHED

    @property
    def line(self) -> int | None:
        return self.event.line if self.event is not None else None


def device_driver_ok(device: DriverOkFacts) -> DriverOkFact:
    """DRIVER_OK for a device: reached (the first status change with it), not reached
    (status shown, never with it), implied (no status shown, but a line that shows the
    driver's probe finished), or not shown. With no status, a probe failure, a refusal of
    the features or a crash in the probe after the last sign of success means the probe
    did not return success, so DRIVER_OK was never set (not reached, at the failure's
    line)."""
    for change in device.status:
        if change.value & spec.DRIVER_OK:
            return DriverOkFact(DriverOk.REACHED, change.event)
    if device.status:
        return DriverOkFact(DriverOk.NOT_REACHED)
    # A refusal of FEATURES_OK ends the attach as a failed probe does: the driver sets
    # FAILED and gives up (Linux virtio_features_ok(), BSD virtio_negotiate_features()),
    # whether or not a probe-failure line follows (OpenBSD prints none).
    refused = [device.features_refused] if device.features_refused is not None else []
    failures = [*device.probe_failures, *refused, *([device.crash] if device.crash else [])]
    failure = max(failures, key=lambda e: e.seq) if failures else None
    implied = device.driver_ok_implied
    if implied is not None and (failure is None or failure.seq < implied.seq):
        return DriverOkFact(DriverOk.IMPLIED, implied)
    if failure is not None:
        return DriverOkFact(DriverOk.NOT_REACHED, failure)
    return DriverOkFact(DriverOk.NOT_SHOWN)
