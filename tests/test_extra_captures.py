"""Real logs of scenarios captured with scripts/capture-extra.sh (see each NOTES.md).

test_samples.py checks their expected.json like every sample; these are the facts that
needed a fix when the logs were first seen.
"""

from conftest import SAMPLES, analyse_json

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
