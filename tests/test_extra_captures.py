"""Real logs of scenarios captured with scripts/capture-extra.sh (see each NOTES.md).

test_samples.py checks their expected.json like every sample; these are the facts that
needed a fix when the logs were first seen.
"""

import pytest

from conftest import SAMPLES, analyse_json
from each_case import check_each, grouped

NO_CTRL_VQ = SAMPLES / "net-mq-no-ctrl-vq"


def _findings(report, name):
    return [f for f in report["findings"] if f["name"] == name]


def test_probe_cause_printed_inside_an_open_console_line_is_read():
    # console.log line 367: "virtiodiag-init: insmod .../virtio_net.ko ... [    7.432350]
    # virtio_net virtio0: device advertises feature VIRTIO_NET_F_MQ but not ..."
    report = analyse_json(NO_CTRL_VQ / "console.log")
    lines = {f["line"]: f for f in _findings(report, "probe-failed")}
    assert 367 in lines, lines
    assert "depends on" in lines[367]["message"]


def test_qemu_rewriting_the_failed_status_at_exit_is_no_status_order_fault():
    for log in ("trace.log", "combined.log"):
        report = analyse_json(NO_CTRL_VQ / log)
        assert not _findings(report, "status-order"), log
        assert _findings(report, "device-failed"), log


# Captures without an expected.json (each NOTES.md gives the correct diagnosis): per log,
# the devices (address, type, DRIVER_OK) and the finding codes. VD016, the count of virtio
# lines no grammar reads, is informational and left out. The trace alone names no PCI
# address and often no type, so there only the count and DRIVER_OK are checked.
EXTRA = {
    "scsi-balloon-input": ([("0000:00:03.0", "scsi", True), ("0000:00:04.0", "balloon", True),
                            ("0000:00:05.0", "input", True), ("0000:00:06.0", "input", True)],
                           {"trace.log": {"VD012"}, "console.log": set(),
                            "combined.log": {"VD012"}}),
    "9p-gpu-crypto": ([("0000:00:03.0", "9p", True), ("0000:00:04.0", "gpu", True),
                       ("0000:00:05.0", "crypto", True)], {}),
    "smp2-net-mq-blk-mq": ([("0000:00:03.0", "net", True), ("0000:00:04.0", "block", True)], {}),
    "packed-ring": ([("0000:00:03.0", "net", True), ("0000:00:04.0", "rng", True)], {}),
    "q35-intel-iommu": ([("0000:00:03.0", "net", True), ("0000:00:04.0", "block", True)], {}),
    "dyndbg-multi": ([("0000:00:03.0", "net", True), ("0000:00:04.0", "block", True),
                      ("0000:00:05.0", "rng", True)], {}),
    "modern-only-force-legacy": ([("0000:00:02.0", "net", True)], {}),
    "virtio-iommu-no-driver": ([("0000:00:03.0", "iommu", False), ("0000:00:04.0", "rng", True)],
                               {log: {"VD004"} for log in ("trace.log", "console.log",
                                                           "combined.log")}),
    "trace-queues-vhost-user": ([("0000:00:03.0", "net", True), ("0000:00:04.0", "block", True),
                                 ("0000:00:05.0", "rng", True), ("0000:00:06.0", "block", True)],
                                {}),
}
EXTRA_LOGS = [(name, log) for name in EXTRA for log in ("trace.log", "console.log", "combined.log")]


@pytest.mark.parametrize("logs", grouped(EXTRA_LOGS, key=lambda name_log: name_log[0]))
def test_extra_capture_diagnosis(logs):
    """One test a capture (its three logs), each failing log named (each_case)."""
    check_each(((f"{name}/{log}", (name, log)) for name, log in logs), _diagnosis)


def _diagnosis(name, log):
    devices, findings = EXTRA[name]
    report = analyse_json(SAMPLES / name / log)
    codes = {f["rule"] for f in report["findings"]} - {"VD016"}
    assert codes == findings.get(log, set()), [f["message"] for f in report["findings"]]
    got = sorted((d.get("address"), d["type"], d["reached_driver_ok"] == "yes") for d in report["devices"])
    if log == "trace.log":
        assert sorted(ok for _, _, ok in got) == sorted(ok for _, _, ok in devices)
    else:
        assert got == sorted(devices)
    assert all(d["mode"] != "legacy" and "legacy" not in d["mode"].split("-used-as-")[-1]
               for d in report["devices"] if d["reached_driver_ok"] == "yes")


def test_linux_balloon_kicking_before_driver_ok_is_explained():
    report = analyse_json(SAMPLES / "scsi-balloon-input" / "combined.log")
    (finding,) = [f for f in report["findings"] if f["rule"] == "VD012"]
    assert finding["device"] == "pci-0000:00:04.0"
    assert "virtio_balloon" in finding["hint"] and "init_vqs" in finding["hint"]


def test_the_last_step_is_the_write_that_reached_it_not_qemus_rewrite_at_exit():
    # trace.log: line 22 "val 3" (DRIVER), 23 "val 131" (the guest adds FAILED), 24 "val 131"
    # again from QEMU's main thread when the VM stops.
    report = analyse_json(NO_CTRL_VQ / "trace.log")
    (finding,) = _findings(report, "handshake-incomplete")
    assert finding["line"] == 23
    assert [(r["line"], r["what"]) for r in finding["related"]] == [(22, "last step DRIVER")]


def test_input_devices_are_placed_by_the_path_linux_prints_for_them(tmp_path):
    """A console without sysfs dumps: "input: QEMU Virtio Keyboard as
    /devices/pci0000:00/0000:00:05.0/virtio2/input/input1" ties virtio2 to its PCI device."""
    console = (SAMPLES / "scsi-balloon-input" / "console.log").read_text(errors="replace")
    log = tmp_path / "console-without-sysfs-links.log"
    log.write_text("".join(line for line in console.splitlines(keepends=True)
                           if "lrwxrwxrwx" not in line))
    report = analyse_json(log)
    inputs = {d["address"]: d for d in report["devices"] if d["type"] == "input"}
    assert set(inputs) == {"0000:00:05.0", "0000:00:06.0"}
    assert {d["guest_name"] for d in inputs.values()} == {"virtio2", "virtio3"}
    assert all(d["matched_by"] == "sysfs path in a kernel message" for d in inputs.values())
