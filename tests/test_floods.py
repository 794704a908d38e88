"""Notify/interrupt floods counted without Events (ModelBuilder.flood) change no report.

The fast path is taken only when no event is watched (no ``on_event``, not live); passing
a no-op ``on_event`` forces every line through the ordinary path, so the two reports of
one input must be identical, counts, timelines and findings alike.
"""

import json
import re

from conftest import SAMPLES, shared_dialects
from virtiodiag.analysis import RuleSettings
from virtiodiag.dialects.decoder import _TIME_PREFIX_B
from virtiodiag.model.handlers import Handlers
from virtiodiag.reports.model_dict import report_dict
from virtiodiag.runner import analyse_path

_KICKS = re.compile(r"^(\d+@)(\d+\.\d+)(:virtio_(?:queue_notify|notify|notify_irqfd) .*)$")


def _reports(path):
    dialects = shared_dialects()
    fast = analyse_path(str(path), dialects, RuleSettings())
    slow = analyse_path(str(path), dialects, RuleSettings(), on_event=lambda event: None)
    return (json.dumps(report_dict([fast]), sort_keys=True),
            json.dumps(report_dict([slow]), sort_keys=True))


def _host_timed(path) -> bool:
    """Whether a line of ``path`` starts with QEMU's host-time prefix (``pid@seconds:``):
    the line decoder offers only such a line to the flood path (dialects/decoder.py), so a
    log without one reads the same both ways by construction."""
    return any(found is not None and found.group(1) is not None
               for found in map(_TIME_PREFIX_B.match, path.read_bytes().splitlines()))


FLOODABLE = [path for path in sorted(SAMPLES.glob("*/*.log")) if _host_timed(path)]


def test_the_samples_compared_include_qemu_traces():
    # Every sample is read with the flood path off (a no-op on_event) and compared with
    # the command's report byte for byte by tests/test_parallel.py's
    # test_a_run_does_not_depend_on_the_runs_before_it (its second pass, each log after
    # all the others); the logs with QEMU's host-timed lines are those where the flood
    # path can count anything.
    assert len(FLOODABLE) > 30, FLOODABLE


def test_flood_path_changes_nothing_on_a_long_real_trace(tmp_path, monkeypatch):
    """The multi-device capture (console and timestamped trace) with its real
    notify/interrupt lines repeated 300 times at later times (a busy guest), then a reset
    and a new handshake of one device, and more kicks. Most kicks take the flood path, and
    each line it counts is still one event of the run, of its dialect."""
    lines = (SAMPLES / "multi-device" / "combined.log").read_text().splitlines()
    kicks = [m for m in map(_KICKS.match, lines) if m]
    assert len(kicks) > 50
    last = float(kicks[-1].group(2))
    out = list(lines)
    for _round in range(300):
        for m in kicks:
            last += 0.000013
            out.append(f"{m.group(1)}{last:.6f}{m.group(3)}")
    status = [line for line in lines if ":virtio_set_status " in line]
    vdev = re.search(r"vdev (0x[0-9a-f]+)", status[-1]).group(1)
    tid = status[-1].split("@")[0]
    for value in (0, 1, 3, 11, 15):
        last += 0.001
        out.append(f"{tid}@{last:.6f}:virtio_set_status vdev {vdev} val {value}")
    for m in kicks[:40]:
        last += 0.000013
        out.append(f"{m.group(1)}{last:.6f}{m.group(3)}")
    path = tmp_path / "busy-trace.log"
    path.write_text("\n".join(out) + "\n")
    flooded = []
    count = Handlers.on_notification

    def counting(self, device, event, payload=None, line=0):
        taken = count(self, device, event, payload, line)
        if event is None:  # the flood path's call (ModelBuilder.flood)
            flooded.append(taken)
        return taken

    monkeypatch.setattr(Handlers, "on_notification", counting)
    fast, slow = _reports(path)
    assert flooded.count(True) > 300 * 50  # the fast report's kicks were counted there
    stats, slow_stats = json.loads(fast)["stats"], json.loads(slow)["stats"]
    assert (stats["events"], stats["dialects"]) == (slow_stats["events"], slow_stats["dialects"])
    assert stats["events"] == sum(stats["dialects"].values()) > 300 * 50
    assert fast == slow
    report = json.loads(fast)
    assert sum(d["notifies"] + d["interrupts"] for d in report["devices"]) > 300 * 50
