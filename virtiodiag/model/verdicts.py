"""Run-wide words for the devices' DRIVER_OK verdicts (``Device.driver_ok``).

One place for the summary sentence and the yes / no / not shown words that the text,
JSON and multi-run reports print, so they cannot say it differently.
"""

from __future__ import annotations

from virtiodiag.model.driver_ok import DriverOk


def driver_ok_counts(devices) -> dict[DriverOk, int]:
    counts = dict.fromkeys(DriverOk, 0)
    for device in devices:
        counts[device.driver_ok.state] += 1
    return counts


def driver_ok_summary(devices) -> str:
    """'4 devices, 3 reached DRIVER_OK, 2 of them implied by the driver's probe; 1 not
    shown' (the parts that are zero are left out, except the count that reached)."""
    counts = driver_ok_counts(devices)
    yes = counts[DriverOk.REACHED] + counts[DriverOk.IMPLIED]
    noun = "device" if len(devices) == 1 else "devices"
    text = f"{len(devices)} {noun}, {yes} reached DRIVER_OK"
    if counts[DriverOk.IMPLIED]:
        text += f", {counts[DriverOk.IMPLIED]} of them implied by the driver's probe"
    if counts[DriverOk.NOT_REACHED]:
        text += f"; {counts[DriverOk.NOT_REACHED]} did not"
    if counts[DriverOk.NOT_SHOWN]:
        text += f"; {counts[DriverOk.NOT_SHOWN]} not shown"
    return text


# The JSON and table words for each verdict.
DRIVER_OK_WORDS = {DriverOk.REACHED: "yes", DriverOk.IMPLIED: "yes",
                   DriverOk.NOT_REACHED: "no", DriverOk.NOT_SHOWN: "not shown"}


def driver_ok_yes(device) -> bool:
    """DRIVER_OK reached, or implied by the driver's finished probe."""
    return device.driver_ok.state in (DriverOk.REACHED, DriverOk.IMPLIED)


def format_unread(model) -> bool:
    """The log looked like virtio and nothing virtio in it was understood: no device and no
    run-wide failure (a QEMU virtio_error, a vhost failure, a crash in a virtio driver, a
    shared folder no device serves, a virtio device QEMU refused or did not create). Only
    then is its format one virtiodiag does not read."""
    return bool(model.unrecognised and not model.unattributed_errors
                and not model.unattributed_crashes and not model.config_refusals)
