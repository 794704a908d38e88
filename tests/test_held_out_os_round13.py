"""Formats from the thirteenth judging round, BSD guests (2026-12-04), written from their
sources; the held-out logs of the round are listed in docs/held-out-logs.md (their text is
not here).

* OpenBSD 7.x's vio(4) (sys/dev/pv/if_vio.c, vio_needs_reset()): on a config-change
  interrupt the driver reads the device status and, when the device set
  DEVICE_NEEDS_RESET (virtio spec 2.1.1: an error it cannot recover from), prints
  "%s: device needs reset" and resets it. The line read as an unrecognised virtio line,
  so a guest whose network device broke after DRIVER_OK exited 0.
Lines written from those format strings, with made-up values."""

from pathlib import Path

import format_tables
from conftest import invoke_cli

NEEDS_RESET = "tests/fixtures/bsd_round13/openbsd-vio-needs-reset.log"


def _run(text, dialects):
    return format_tables.analyse_text("dmesg.boot", text, dialects)


def test_openbsd_vio_needs_reset_is_the_net_devices_error(dialects):
    result = _run(Path(NEEDS_RESET).read_text(), dialects)
    devices = sorted((d.device_type, d.driver_ok_implied is not None)
                     for d in result.model.live_devices())
    assert devices == [("block", True), ("net", True), ("rng", True)]
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert finding.severity == "error" and finding.line == 19
    assert finding.device == "virtio0"
    assert result.model.unrecognised == 0


def test_the_attach_lines_alone_stay_clean(dialects):
    text = "".join(Path(NEEDS_RESET).read_text().splitlines(keepends=True)[:18])
    result = _run(text, dialects)
    assert [f for f in result.findings if f.severity == "error"] == []


def test_the_openbsd_boot_with_a_reset_device_exits_1():
    proc = invoke_cli("analyze", NEEDS_RESET)
    assert proc.returncode == 1 and "VD006" in proc.stdout
