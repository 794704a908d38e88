"""Whether a device came up: DRIVER_OK reached or implied, and no failure left standing.

One device may be probed more than once (a driver that failed, then the driver reloaded
or another driver bound it; a FAILED status, a reset, then an attempt to DRIVER_OK): its
verdict follows the last attempt. ``later_success`` finds the line that shows a later
attempt succeeded after a failure; ``came_up`` counts a failure only without one (what
--expect-devices and devices-missing count, what probe-failed and device-failed grade).
"""

from __future__ import annotations

from virtiodiag import spec
from virtiodiag.events import Event
from virtiodiag.model.attempts import DeviceFacts
from virtiodiag.model.driver_ok import DriverOk


def came_up(device: DeviceFacts) -> bool:
    """The device is usable as far as the log shows (what --expect-devices counts, VD020):
    DRIVER_OK reached (a status write or read with it, or a VMM's activation, which needs
    it) or implied; or, in a log that shows no status at all (a BSD guest, a firmware
    console), a driver took it (an attach, bind or ready line). Never with a probe failure
    or a FAILED or DEVICE_NEEDS_RESET status, unless a later attempt reached DRIVER_OK
    (later_success: a driver reloaded, or another driver bound the device)."""
    failures = [*device.probe_failures, *(s.event for s in device.status
                                           if s.value & (spec.FAILED | spec.DEVICE_NEEDS_RESET))]
    if any(later_success(device, failure) is None for failure in failures):
        return False
    state = device.driver_ok.state
    return state in (DriverOk.REACHED, DriverOk.IMPLIED) or bool(
        state is DriverOk.NOT_SHOWN and device.bound)


def later_success(device: DeviceFacts, failure: Event) -> Event | None:
    """The line showing that a later probe of the device succeeded after ``failure`` (its
    driver reloaded, or another driver bound it): DRIVER_OK written after it, or a driver's
    success line after it (DRIVER_OK implied). None when none did: the failure stands. One
    device, two attempts: its verdict follows the last."""
    for change in device.status:
        if (change.value & spec.DRIVER_OK and change.event.seq > failure.seq
                and not change.value & (spec.FAILED | spec.DEVICE_NEEDS_RESET)):
            return change.event
    implied = device.driver_ok_implied
    return implied if implied is not None and implied.seq > failure.seq else None
