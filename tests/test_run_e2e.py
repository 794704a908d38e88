"""End-to-end: real guests booted THROUGH `virtiodiag run`.

Debian's qemu-system-x86_64 (TCG), Debian's kernel and a busybox initramfs this test
builds (tests/guest_image.py). Every QEMU started here carries the session's marker in
its command line (the initramfs path), and after each test no process with it may be
left (tests/conftest.py checks the same for the whole session, interrupted or not).
Without QEMU, a kernel or busybox the tests are skipped, saying why; .ci/run installs
them.
"""

import json
import os

import pytest

import guest_image
from conftest import run_cli, leftover_processes

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def guest(e2e_dir):
    reason = guest_image.missing()
    if reason:
        pytest.skip(f"booting a guest needs QEMU ({reason}); .ci/run installs it")
    initrd = str(e2e_dir / "initramfs.cpio.gz")
    kernel = guest_image.build_initramfs(initrd)
    return kernel, initrd


@pytest.fixture(autouse=True)
def no_qemu_left(e2e_dir):
    yield
    left = leftover_processes(str(e2e_dir))
    assert not left, f"processes left behind: {left}"


def _run(guest, append, *devices, extra=(), timeout=300):
    kernel, initrd = guest
    argv = guest_image.qemu_command(kernel, initrd, append, *devices)
    return run_cli("run", "--timeout", "240", *extra, "--", *argv, timeout=timeout)


def test_modern_device_reaches_driver_ok(guest, tmp_path):
    log = tmp_path / "modern.log"
    proc = _run(guest, "vd.load=pci,net",
                "-device", "virtio-net-pci,disable-legacy=on,addr=0x3",
                extra=("--format", "json", "--save-log", str(log)))
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    report = json.loads(proc.stdout)
    [net] = [d for d in report["devices"] if d["address"] == "0000:00:03.0"]
    assert net["type"] == "net" and net["mode"] == "modern"
    assert net["reached_driver_ok"] is True
    assert not [f for f in report["findings"] if f["severity"] in ("error", "warning")]
    # The saved log is the stream `analyze` reads: the same verdict from the file.
    again = run_cli("analyze", "--format", "json", log)
    assert again.returncode == 0
    assert [d["reached_driver_ok"] for d in json.loads(again.stdout)["devices"]] == [True]
    text = log.read_bytes()
    assert b"virtio_set_status" in text and b"vd-guest: done" in text
