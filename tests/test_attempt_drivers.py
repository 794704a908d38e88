"""Which driver each reset-to-reset attempt had (model/attempts.Attempt.drivers), and the
JSON report's per-attempt ``drivers`` when a log shows a driver in more than one attempt.

The real case is a boot captured here by scripts/capture-rebind.py (QEMU 7.2 with
``-trace virtio_set_status``, Debian kernel 6.1, x86_64 TCG, QEMU's trace and the serial
console in one pipe): /init loads virtio_net, unbinds and binds it again through sysfs,
then removes the module and loads it again, and lists the device's driver link after each
step. Linux's virtio_dev_remove() resets the device (and sets ACKNOWLEDGE again), so each
bind is an attempt of its own in QEMU's trace (``val 0`` ... ``val 15``)."""

from __future__ import annotations

from pathlib import Path

from conftest import analyse_json

REBIND = Path(__file__).parent / "fixtures" / "attempts" / "rebind.log"


def _driven(device: dict) -> list[dict]:
    return [a for a in device["attempts"] if any(s["step"] == "DRIVER_OK" for s in a["steps"])]


def test_each_bind_of_a_rebound_device_names_its_driver():
    report = analyse_json(REBIND)
    (device,) = report["devices"]
    driven = _driven(device)
    assert len(driven) == 3  # loaded, bound again through sysfs, loaded again after rmmod
    assert [a["drivers"] for a in driven] == [["virtio_net"]] * 3
    lines = REBIND.read_text().splitlines()
    for attempt, step in zip(driven, ("step 1,", "step 3,", "step 5,"), strict=True):
        # the driver link /init listed after that step falls in that attempt
        link = next(i for i, text in enumerate(lines, 1) if step in text) + 1
        assert "drivers/virtio_net" in lines[link - 1]
        assert attempt["first_line"] < link
    # an attempt with no driver's line (a reset alone) names none
    assert all(a["drivers"] == [] for a in device["attempts"] if a not in driven)


def test_one_bind_keeps_the_report_as_it_was(tmp_path):
    text = REBIND.read_text()
    once = tmp_path / "once.log"
    once.write_text(text[:text.index("vd-guest: step 2")])  # before the unbind
    (device,) = analyse_json(once)["devices"]
    assert len(_driven(device)) == 1
    assert all("drivers" not in a for a in device["attempts"])
