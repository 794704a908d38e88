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
import subprocess
import sys

import pytest

import guest_image
from conftest import REPO, ends_with_pytest, leftover_processes
from conftest import run_cli_process as run_cli  # `run` in its own process (see test_run.py)

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


def _said(proc) -> str:
    """What a run said, for a failing assertion: the end of its report and its stderr."""
    return (proc.stdout.decode("utf-8", "replace")[-3000:] + "\n---- stderr:\n"
            + proc.stderr.decode("utf-8", "replace")[-3000:])


# Seconds a guest may take (virtiodiag run --timeout): a boot takes 10-80 s at load 1-20;
# the limit only keeps a hung guest from hanging the suite.
GUEST_LIMIT = "600"


def _run(guest, append, *devices, extra=(), timeout=900):
    kernel, initrd = guest
    argv = guest_image.qemu_command(kernel, initrd, append, *devices)
    return run_cli("run", "--timeout", GUEST_LIMIT, *extra, "--", *argv, timeout=timeout)


def test_modern_device_reaches_driver_ok(guest, tmp_path):
    """Stopped by --until at the guest's last line; QEMU's view (QMP) then holds the
    device at DRIVER_OK with its queues set up, and the receive queue still empty (the
    interface was never opened)."""
    log = tmp_path / "modern.log"
    proc = _run(guest, "vd.load=pci,net vd.hold=1",
                "-device", "virtio-net-pci,disable-legacy=on,addr=0x3",
                extra=("--until", "^vd-guest: holding", "--format", "json",
                       "--save-log", str(log)))
    assert proc.returncode == 0, _said(proc)
    report = json.loads(proc.stdout)
    [net] = [d for d in report["devices"] if d["address"] == "0000:00:03.0"]
    assert net["type"] == "net" and net["mode"] == "modern"
    assert net["reached_driver_ok"] == "yes"
    assert not [f for f in report["findings"] if f["severity"] in ("error", "warning")]
    [info] = [f for f in report["findings"] if f["rule"] == "VD018"]
    assert "receive queue 0" in info["message"]
    view = report["qemu_view"]
    assert view["when"] == "until" and view["note"] is None
    [qemu_net] = view["devices"]
    assert qemu_net["log_device"] == "pci-0000:00:03.0" and qemu_net["status"] == 0x0F
    assert qemu_net["features_accepted"] & (1 << 32)  # VERSION_1
    assert [q["configured"] for q in qemu_net["queues"]] == [True, True, True]
    assert qemu_net["queues"][0]["avail_idx"] == 0
    # The saved log is the stream `analyze` reads: the same verdict from the file.
    again = run_cli("analyze", "--format", "json", log)
    assert again.returncode == 0
    assert [d["reached_driver_ok"] for d in json.loads(again.stdout)["devices"]] == ["yes"]
    text = log.read_bytes()
    assert b"virtio_set_status" in text and b"vd-guest: holding" in text


def test_legacy_only_device_is_found_live(guest, e2e_dir):
    """The legacy fallback is printed as soon as its evidence arrives: when its line
    reaches virtiodiag's stdout, the guest's QEMU is still running (the guest holds at
    its last line until --until stops it)."""
    kernel, initrd = guest
    argv = guest_image.qemu_command(kernel, initrd, "vd.load=pci,net vd.hold=1",
                                    "-device", "virtio-net-pci,disable-modern=on,addr=0x3")
    proc = subprocess.Popen(
        [sys.executable, "-m", "virtiodiag", "run", "--timeout", GUEST_LIMIT,
         "--until", "^vd-guest: holding", "--", *argv],
        cwd=REPO, env=dict(os.environ, NO_COLOR="1"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, preexec_fn=ends_with_pytest)  # noqa: PLW1509 - no threads
    seen = []
    try:
        seen_live = None
        for line in proc.stdout:
            seen.append(line.decode("utf-8", "replace"))
            if b"VD001 legacy-fallback" in line:
                seen_live = [p for p in leftover_processes(str(e2e_dir))
                             if "qemu-system" in p and "-m virtiodiag" not in p]
                break
        rest = proc.stdout.read().decode()
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    said = "".join(seen) + rest + "\n---- stderr:\n" + proc.stderr.read().decode()[-3000:]
    assert seen_live, f"no legacy-fallback finding while the guest was running:\n{said}"
    # The verdict is the final pass's, as `analyze` gives it for the saved log (c2db0a1):
    # a device that offers only the legacy interface is a warning (its configuration, not
    # a driver's fallback), under the default gate; the live guesses made before QEMU's
    # device was joined to the guest's do not count.
    assert proc.returncode == 0, said
    assert "1 warning: legacy-fallback" in said, said
    assert "run: stopped: --until matched" in rest


def test_several_devices_at_once(guest):
    proc = _run(guest, "vd.load=pci,net,blk,rng",
                "-drive", "if=none,id=d0,format=raw,file=null-co://,read-only=on",
                "-device", "virtio-net-pci,disable-legacy=on,addr=0x3",
                "-device", "virtio-blk-pci,drive=d0,addr=0x4",
                "-device", "virtio-rng-pci,addr=0x5",
                extra=("--format", "json"))
    assert proc.returncode == 0, _said(proc)
    report = json.loads(proc.stdout)
    by_address = {d["address"]: d for d in report["devices"]}
    assert {a: (by_address[a]["type"], by_address[a]["reached_driver_ok"])
            for a in ("0000:00:03.0", "0000:00:04.0", "0000:00:05.0")} == {
        "0000:00:03.0": ("net", "yes"), "0000:00:04.0": ("block", "yes"),
        "0000:00:05.0": ("rng", "yes")}
    assert by_address["0000:00:03.0"]["mode"] == "modern"
    assert not [f for f in report["findings"] if f["severity"] == "error"]
    view = report["qemu_view"]
    assert view["note"] is None
    # QEMU paused at the guest's power-off (set-action over QMP) and was read once more:
    # Linux reset every device on its way down.
    assert view["when"] == "end"
    assert [d["status"] for d in view["devices"]] == [0, 0, 0]
    assert sorted(d["log_device"] for d in view["devices"]) == [
        "pci-0000:00:03.0", "pci-0000:00:04.0", "pci-0000:00:05.0"]


def test_guest_stalled_mid_handshake(guest):
    """A bare driver in the guest's /init stops after FEATURES_OK: --stall-timeout stops
    the run, the finding names the step, and QEMU's own view shows the device held there
    with no queue set up (the stall, not --timeout, ended the run: its view is "stall")."""
    # 10 s: each of the bare driver's steps is a busybox process in a TCG guest, seconds
    # apart on a loaded machine; a shorter limit could stop it at DRIVER.
    proc = _run(guest, "vd.stall=0000:00:03.0",
                "-device", "virtio-net-pci,disable-legacy=on,addr=0x3",
                extra=("--stall-timeout", "10", "--format", "json"))
    assert proc.returncode == 1, _said(proc)
    report = json.loads(proc.stdout)
    [stall] = [f for f in report["findings"] if "stalled at FEATURES_OK" in f["message"]]
    assert stall["rule"] == "VD003"
    [held] = [f for f in report["findings"] if f["rule"] == "VD017"]
    assert held["device"] == "pci-0000:00:03.0"
    assert "QEMU holds it at FEATURES_OK" in held["message"]
    assert "no queue of 3 set up" in held["message"]
    view = report["qemu_view"]
    assert view["when"] == "stall"
    [net] = [d for d in view["devices"] if d["log_device"] == "pci-0000:00:03.0"]
    assert net["status"] == 0x0B and net["status_names"] == "ACKNOWLEDGE|DRIVER|FEATURES_OK"
    assert net["features_accepted"] == 1 << 32  # VERSION_1, as the bare driver wrote
    assert [q["configured"] for q in net["queues"]] == [False, False, False]
    assert [(q["last_avail_idx"], q["used_idx"], q["inuse"]) for q in net["queues"]] == \
        [(0, 0, 0)] * 3


def test_repeat_counts_an_intermittent_failure(guest, tmp_path):
    """--repeat 5 -j 2: the guest's /init skips virtio_net on runs 2 and 4 ({run} in
    the command line), so the net device reaches DRIVER_OK in 3 of 5 runs; the gate at
    --fail-on warning fails those two (device-not-driven is a warning)."""
    runs = tmp_path / "runs"
    proc = _run(guest, "vd.load=pci,net vd.run={run} vd.skipon=2,4 vd.skip=net",
                "-device", "virtio-net-pci,disable-legacy=on,addr=0x3",
                extra=("--repeat", "5", "-j", "2", "--save-logs", str(runs),
                       "--fail-on", "warning", "--format", "json"), timeout=2400)
    assert proc.returncode == 1, _said(proc)
    report = json.loads(proc.stdout)
    [net] = report["stability"]["devices"]
    assert net["identity"] == "pci:0000:00:03.0"
    assert net["driver_ok_ratio"] == "3/5"
    spread = net["handshake_seconds"]  # from QEMU's trace times (-msg timestamp=on)
    assert spread["samples"] == 3 and 0 < spread["min"] <= spread["median"] <= spread["max"]
    [not_driven] = [f for f in net["findings"] if f["rule"] == "VD004"]
    assert [os.path.basename(r) for r in not_driven["runs"]] == ["run-002.log", "run-004.log"]
    verdicts = sorted(os.listdir(runs / "verdicts"))
    assert verdicts == [f"run-00{n}.json" for n in range(1, 6)]
    assert [json.loads((runs / "verdicts" / v).read_text())["verdict"] for v in verdicts] == \
        ["pass", "fail", "pass", "fail", "pass"]
    # The saved logs give the same summary to `analyze runs/`.
    again = run_cli("analyze", "--fail-on", "warning", "--format", "json", runs)
    assert [d["driver_ok_ratio"] for d in json.loads(again.stdout)["stability"]["devices"]] \
        == ["3/5"]
