"""An arm64 capture made afresh gives the committed sample's diagnosis (boots QEMU: e2e).

scripts/capture-arch.sh boots Debian's arm64 kernel on qemu-system-aarch64 -M virt
(GICv3: MSI-X through the ITS; 32 empty virtio-mmio transports probed besides the three PCI
devices) into a temporary folder; the facts of samples/arm64-virt-pci/expected.json, which
hold for any capture of that scenario (not pointers or line numbers), must hold there too.
Needs qemu-system-aarch64 (the script installs what it misses when run as root) and the
Debian archive, from which it fetches the arm64 kernel and busybox (about 60 MB, cached in
~/.cache/virtiodiag-arch). Without them it is skipped, saying why.
"""

import json
import os
import shutil
import subprocess

import pytest

from conftest import REPO, SAMPLES, analyse_json

pytestmark = pytest.mark.e2e

SCENARIO = "arm64-virt-pci"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    if not shutil.which("qemu-system-aarch64") and os.geteuid() != 0:
        pytest.skip("qemu-system-aarch64 is not installed (capture-arch.sh installs it as root)")
    out = tmp_path_factory.mktemp("fresh-arch")
    # Each boot may take 600 s, not the script's 240: a loaded machine slows TCG down
    # (tests/test_fresh_capture.py).
    env = dict(os.environ, SAMPLES_DIR=str(out), RUN_TIMEOUT_ARCH="600")
    proc = subprocess.run(["bash", str(REPO / "scripts/capture-arch.sh"), SCENARIO],
                          env=env, capture_output=True, text=True, timeout=2400)
    if proc.returncode != 0 and "Unable to locate package" in proc.stderr + proc.stdout:
        pytest.skip("the Debian archive cannot be reached for the arm64 kernel")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out / SCENARIO


@pytest.mark.parametrize("log", ["trace.log", "console.log", "combined.log"])
def test_a_fresh_arm64_capture_gives_the_same_diagnosis(fresh, log):
    expected = json.loads((SAMPLES / SCENARIO / "expected.json").read_text())
    report = analyse_json(fresh / log)
    names = {f["name"] for f in report["findings"] if f["severity"] in ("error", "warning")}
    assert names == set(expected["expected_findings"])
    assert len(report["devices"]) == len(expected["devices"])
    assert all(d["reached_driver_ok"] == "yes" for d in report["devices"])
    if log == "trace.log":
        # the 96 reads of the empty virtio-mmio transports are no device's
        assert all(d["transport"] != "mmio" for d in report["devices"])
        return
    by_address = {d["address"]: d for d in report["devices"]}
    for exp in expected["devices"]:
        dev = by_address[exp["address"]]
        assert dev["guest_name"] == exp["guest_name"]
        assert dev["mode"] == exp["mode"]
        assert dev["irq_mode"] == exp["irq"]
