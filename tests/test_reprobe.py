"""One device probed twice (a driver that failed, then a reload or another driver that
bound it): one device, and its verdict follows the last attempt (model/liveness.py
later_success): the earlier failure is a warning that names both probes' drivers and the
line of the later success."""

from __future__ import annotations

from pathlib import Path

from conftest import analyse_json, run_cli

ERAS = Path(__file__).parent / "fixtures" / "linux-eras"
RELOADED = ERAS / "linux-6.x-probe-failed-then-reloaded.log"


def test_a_probe_that_failed_then_succeeded_leaves_the_device_up():
    report = analyse_json(RELOADED)
    (device,) = report["devices"]
    assert (device["guest_name"], device["driver_ok"]["state"], device["driver_ok"]["line"]) == (
        "virtio0", "implied", 8)
    (finding,) = [f for f in report["findings"] if f["rule"] == "VD015"]
    assert finding["severity"] == "warning" and finding["line"] == 7
    assert "probe by virtio_net failed" in finding["message"]
    assert "a later probe by virtio_net succeeded (line 8): the device is up" in finding["message"]
    assert [r["line"] for r in finding["related"]] == [8]
    assert run_cli("analyze", RELOADED).returncode == 0  # the device is up: no error
    assert run_cli("analyze", "--expect-devices", "1", RELOADED).returncode == 0


def test_a_probe_that_failed_for_good_stays_an_error(tmp_path):
    log = tmp_path / "console.log"
    log.write_text("".join(RELOADED.read_text().splitlines(keepends=True)[:-1]))
    (finding,) = [f for f in analyse_json(log)["findings"] if f["rule"] == "VD015"]
    assert finding["severity"] == "error" and "later probe" not in finding["message"]
    assert run_cli("analyze", "--expect-devices", "1", log).returncode == 1


def _trace(tmp_path, values):
    """QEMU's trace (hw/virtio/trace-events virtio_set_status "vdev %p val %u") of one
    device whose status goes through ``values``."""
    log = tmp_path / "trace.log"
    log.write_text("".join(f"virtio_set_status vdev 0x55d0c0a0b2d0 val {v}\n" for v in values))
    return log


def test_a_failed_attempt_then_a_driver_that_binds_is_one_device_up(tmp_path):
    # FAILED (0x83), reset, and a second attempt (a driver reloaded, or another one
    # bound) through FEATURES_OK to DRIVER_OK: two attempts of one device.
    report = analyse_json(_trace(tmp_path, [0, 1, 3, 131, 0, 1, 3, 11, 15]))
    (device,) = report["devices"]
    assert len(device["attempts"]) == 2  # the failed run (from the first reset), the good one
    assert device["attempts"][-1]["driver_ok"] == "reached"
    (failed,) = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert failed["severity"] == "warning"
    assert "a later attempt reached DRIVER_OK (line 9): the device is up" in failed["message"]


def test_a_failed_last_attempt_stays_an_error(tmp_path):
    report = analyse_json(_trace(tmp_path, [0, 1, 3, 11, 15, 0, 1, 3, 131]))
    (failed,) = [f for f in report["findings"] if f["rule"] == "VD006"]
    assert failed["severity"] == "error"
