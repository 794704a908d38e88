"""A few NUL bytes inside lines (serial line noise) are left out of the text the grammars
read: the run says how many (VD022, info), whether the log is a file or a pipe, and the
lines are still understood; the gate is not moved (exit 0 on a healthy log)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# drivers/pci/probe.c pci_setup_device()'s "[%04x:%04x] type %02x class %#08x", then
# net/core/dev.c's rename line, with two NUL bytes in it (below the binary threshold).
LOG = (b"pci 0000:00:03.0: [1af4:1041] type 00 class 0x020000\n"
       b"virtio_net virtio0 ens3: renamed\x00 from\x00 eth0\n")


def _run(args, **kwargs):
    return subprocess.run([sys.executable, "-m", "virtiodiag", "analyze", *args,
                           "--format", "json"], capture_output=True, cwd=ROOT,
                          env=dict(os.environ, NO_COLOR="1"), timeout=120, **kwargs)


def _check(run):
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    said = [f["message"] for f in report["findings"] if f["rule"] == "VD022"]
    assert said and "2 NUL byte(s) inside lines" in said[0], report["findings"]
    assert [d["type"] for d in report["devices"]] == ["net"]


def test_nul_bytes_in_a_file_are_counted(tmp_path):
    log = tmp_path / "serial.log"
    log.write_bytes(LOG)
    _check(_run([str(log)]))


def test_nul_bytes_in_a_pipe_are_counted():
    _check(_run(["-"], input=LOG))
