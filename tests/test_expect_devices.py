"""Never silent on a log it does not understand: virtio-looking lines and --expect-devices."""

from pathlib import Path

from conftest import invoke_cli

WILD = Path(__file__).resolve().parent / "fixtures" / "wild"

# A FreeBSD console in a form no grammar reads: no line says "virtio".
UNKNOWN = ("vtnet0: Rx queue 0 overflow\n"
           "vtnet0: Tx queue 0 stalled\n"
           "vtbd0: request queue full\n")


def test_unknown_format_is_not_an_empty_clean_report(tmp_path):
    log = tmp_path / "unknown.log"
    log.write_text(UNKNOWN)
    proc = invoke_cli("analyze", log)
    assert proc.returncode == 0  # a warning: the default gate is error
    assert "3 line(s) look like virtio, first at line 1, but no virtio device was " \
           "recognised" in proc.stdout
    assert "VD020" in proc.stdout and "VD016" in proc.stdout


def test_expect_devices_fails_the_gate_on_an_unknown_format(tmp_path):
    log = tmp_path / "unknown.log"
    log.write_text(UNKNOWN)
    proc = invoke_cli("analyze", "--expect-devices", "1", log)
    assert proc.returncode == 1
    assert "expected at least 1 virtio device(s) to come up, 0 did (0 recognised)" in proc.stdout


def test_expect_devices_counts_devices_that_came_up():
    # NetBSD fixture: vioif0 and ld0 attach without failure; virtio2 has no driver, viornd
    # and viomb fail to attach, virtio5 is refused (bad magic).
    log = WILD / "netbsd.log"
    assert invoke_cli("analyze", "--expect-devices", "2", "--fail-on", "error",
                      "--select", "VD020", log).returncode == 0
    proc = invoke_cli("analyze", "--expect-devices", "3", "--select", "VD020", log)
    assert proc.returncode == 1
    assert "expected at least 3 virtio device(s) to come up, 2 did (6 recognised; not up:" \
           in proc.stdout


def test_expect_devices_counts_a_vmm_activation_as_driver_ok():
    # cloud-hypervisor: _disk0, _vsock2 and __balloon activated; _net1's activation
    # failed, __rng's worker thread could not be spawned.
    log = WILD / "cloud-hypervisor.log"
    assert invoke_cli("analyze", "--expect-devices", "3", "--select", "VD020",
                      log).returncode == 0
    proc = invoke_cli("analyze", "--expect-devices", "4", "--select", "VD020", log)
    assert proc.returncode == 1 and "not up: _net1 (net), __rng (rng)" in proc.stdout


def test_expect_devices_from_the_configuration_file(tmp_path):
    log = tmp_path / "unknown.log"
    log.write_text(UNKNOWN)
    config = tmp_path / "virtiodiag.toml"
    config.write_text('expect-devices = 1\nignore = ["VD020"]\n')
    proc = invoke_cli("analyze", "--config", config, log)
    assert proc.returncode == 1, proc.stdout  # the gate asked for it: not ignored
    config.write_text('expect-devices = "one"\n')
    proc = invoke_cli("analyze", "--config", config, log)
    assert proc.returncode == 2 and "expect-devices must be a whole number" in proc.stderr
    assert invoke_cli("analyze", "--expect-devices", "-1", log).returncode == 2


def test_bsd_driver_lines_count_as_virtio_looking(tmp_path):
    log = tmp_path / "mixed.log"
    log.write_text("vio0: no link\nvioif0: watchdog timeout\nld0 at virtio1 vendor wd\n"
                   "vsock: connection reset\nvhost-net: ioctl failed\n"
                   "previously obvious behaviour\n")  # 'vio' inside words is not virtio
    proc = invoke_cli("analyze", "--format", "json", log)
    import json

    report = json.loads(proc.stdout)
    assert report["stats"]["unrecognised_virtio_lines"] == 5


def test_a_log_whose_virtio_failures_were_read_is_no_unknown_format(tmp_path):
    # QEMU's vhost-user failure (hw/virtio/vhost.c "vhost_set_vring_call failed: %s (%d)")
    # with a line that only mentions vsock: the failure was understood, so the log's format
    # is read; no "format virtiodiag does not read" warning beside the error.
    log = tmp_path / "host.log"
    log.write_text("qemu-system-x86_64: vhost_set_vring_call failed: Invalid argument (22)\n"
                   "agent: timed out connecting to vsock 3:1024\n")
    proc = invoke_cli("analyze", log)
    assert proc.returncode == 1 and "VD006" in proc.stdout and "VD020" not in proc.stdout
    assert "does not read" not in proc.stdout and "no virtio device found" in proc.stdout
