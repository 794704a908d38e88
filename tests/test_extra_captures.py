"""Real logs of scenarios captured with scripts/capture-extra.sh (see each NOTES.md).

test_samples.py checks their expected.json like every sample; these are the facts that
needed a fix when the logs were first seen.
"""

from conftest import SAMPLES, analyse_json

NO_CTRL_VQ = SAMPLES / "net-mq-no-ctrl-vq"


def _findings(report, name):
    return [f for f in report["findings"] if f["name"] == name]


def test_qemu_rewriting_the_failed_status_at_exit_is_no_status_order_fault():
    for log in ("trace.log", "combined.log"):
        report = analyse_json(NO_CTRL_VQ / log)
        assert not _findings(report, "status-order"), log
        assert _findings(report, "device-failed"), log
