"""A real quiet console (samples/quiet-3-devices, scripts/capture-quiet.sh): Debian's
kernel booted with `quiet`, net + blk + rng, QEMU's trace. The console names no device,
so the trace is the only witness: three devices, each listed once, all at DRIVER_OK."""

import pytest

from conftest import SAMPLES, analyse_json

QUIET = SAMPLES / "quiet-3-devices"


@pytest.mark.parametrize("log", ["trace.log", "combined.log"])
def test_quiet_boot_with_its_trace_reports_exactly_three_devices_at_driver_ok(log):
    report = analyse_json(QUIET / log)
    devices = report["devices"]
    assert len(devices) == 3
    assert all(d["reached_driver_ok"] == "yes" for d in devices)
    assert sorted(d["type"] for d in devices) == ["block", "rng", "unknown"]
    assert [f for f in report["findings"] if f["severity"] in ("error", "warning")] == []
    # The disk's first handshake is SeaBIOS's (3 at once), the second Linux's (1 first).
    disk = next(d for d in devices if d["type"] == "block")
    assert [w for w in disk["status_writes"] if w] == [3, 11, 15, 1, 3, 11, 15]
    others = [d for d in devices if d["type"] != "block"]
    assert all([w for w in d["status_writes"] if w] == [1, 3, 11, 15] for d in others)


def test_quiet_console_alone_names_no_device():
    report = analyse_json(QUIET / "console.log")
    assert report["devices"] == []
    assert [f for f in report["findings"] if f["severity"] in ("error", "warning")] == []
