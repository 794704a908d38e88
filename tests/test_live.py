"""Live input: findings while the pipe is open, stalls, Ctrl-C, --follow, jsonl streaming.

No assertion depends on how fast anything is: each test only checks that something was
seen *before* the input ended (the writer still holds the pipe open), with generous
time-outs that only bound a broken run.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import SIGNAL_BESIDE_THE_WAIT_CLI, main_thread_waits

ROOT = Path(__file__).resolve().parents[1]
WAIT = 60.0  # upper bound only: a healthy run answers in well under a second
VDEV = "0x5581c3e4a2d0"


def status(value: int) -> bytes:
    return f"virtio_set_status vdev {VDEV} val {value}\n".encode()


class Live:
    """``python -m virtiodiag analyze ...`` with a pipe on stdin and stdout read by a thread."""

    def __init__(self, *args: str, stdin=True, source: str | None = None):
        """``source``: run ``python -c SOURCE analyze ...`` (a CLI with more set-up)."""
        env = dict(os.environ, NO_COLOR="1")
        env.pop("GITHUB_ACTIONS", None)
        program = ["-m", "virtiodiag"] if source is None else ["-c", source]
        self.proc = subprocess.Popen(
            [sys.executable, *program, "analyze", *args],
            cwd=ROOT, env=env, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace"))
        self.lines.put(None)

    def write(self, data: bytes):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def position(self, path: Path) -> int | None:
        """Where the process reads ``path`` (its open file's offset), None if not open."""
        folder = f"/proc/{self.proc.pid}/fd"
        for fd in os.listdir(folder):
            try:
                if os.readlink(f"{folder}/{fd}") != str(path):
                    continue
                with open(f"/proc/{self.proc.pid}/fdinfo/{fd}") as info:
                    return next(int(x.split()[1]) for x in info if x.startswith("pos:"))
            except (OSError, StopIteration):
                continue
        return None

    def wait_until_read(self, path: Path, offset: int) -> None:
        """Until the process's offset in ``path`` is ``offset``: a readiness signal, not a
        pause (0 after a truncation: it started again; the size: it read everything)."""
        deadline = time.monotonic() + WAIT
        while self.position(path) != offset:
            assert time.monotonic() < deadline and self.proc.poll() is None, (
                f"never read {path} up to {offset}: at {self.position(path)}")
            time.sleep(0.01)

    def wait_for(self, needle: str) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            self.seen.append(line)
            if needle in line:
                return line
        raise AssertionError(f"{needle!r} never appeared; output so far: {self.seen!r}")

    def finish(self) -> tuple[int, str, str]:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        code = self.proc.wait(timeout=WAIT)
        rest = []
        while True:
            line = self.lines.get(timeout=WAIT)
            if line is None:
                break
            rest.append(line)
        return code, "".join(self.seen + rest), self.proc.stderr.read().decode()


def test_finding_printed_before_the_pipe_closes():
    live = Live("--no-timeline", "-")
    for value in (0, 1, 3, 7):  # DRIVER_OK without FEATURES_OK: legacy, known at line 4
        live.write(status(value))
    line = live.wait_for("VD001")
    assert live.proc.poll() is None, "the finding must come while the input is still open"
    assert "<stdin>:4" in line
    live.write(status(0))
    code, out, _err = live.finish()
    assert code == 1
    assert out.count("VD001 legacy-fallback") == 1  # printed once, not again at the end
    assert out.rstrip().splitlines()[-1].startswith("1 device, 1 reached DRIVER_OK")  # the summary comes last


NET_FAIL = ROOT / "samples" / "net-mq-no-ctrl-vq" / "combined.log"


def test_a_named_fifo_is_read_live(tmp_path):
    """QEMU's ``-serial pipe:PATH`` (and ``-chardev pipe``) writes the console to a FIFO:
    ``analyze PATH`` shows each finding while the writer still holds it open, as for
    ``| analyze -``. It was read as a file: nothing until the writer closed it."""
    lines = NET_FAIL.read_bytes().splitlines(keepends=True)
    fifo = tmp_path / "console.fifo"
    os.mkfifo(fifo)
    live = Live("--no-timeline", str(fifo), stdin=False)
    with open(fifo, "wb") as writer:  # opened once the command opens it to read
        writer.write(b"".join(lines[:388]))  # up to the FAILED status write
        writer.flush()
        line = live.wait_for("VD006 device-failed")
        assert live.proc.poll() is None, "the finding must come while the FIFO is open"
        assert f"{fifo}:388: error VD006" in line
        writer.write(b"".join(lines[388:]))
    code, out, _ = live.finish()
    assert code == 1
    assert out.rstrip().splitlines()[-1].startswith("1 device, 0 reached DRIVER_OK")


def test_a_failed_status_after_driver_is_reported_while_the_pipe_is_open():
    """The guest's console and QEMU's trace written line by line into a pipe: the driver
    sets FAILED after DRIVER (line 388, virtio_net refusing MQ without CTRL_VQ). That
    settles handshake-incomplete for the attempt: it is shown while the writer still holds
    the pipe open (it was shown only once the pipe closed), once, with the message, line
    and severity of the report's finding, and not withdrawn at the end."""
    lines = NET_FAIL.read_bytes().splitlines(keepends=True)
    live = Live("--no-timeline", "-")
    for line in lines[:388]:  # up to the FAILED status write, one line at a time
        live.write(line)
    shown = live.wait_for("VD003 handshake-incomplete")
    assert live.proc.poll() is None, "the finding must come while the input is still open"
    assert "<stdin>:388: error VD003" in shown
    assert "the driver set FAILED (status 0x83 ACKNOWLEDGE|DRIVER|FAILED) after reaching " \
        "DRIVER" in shown
    for line in lines[388:]:
        live.write(line)
    code, out, _ = live.finish()
    assert code == 1
    assert out.count("VD003 handshake-incomplete") == 1  # not shown again at the end
    assert not [line for line in out.splitlines() if "withdrawn" in line and "VD003" in line]
    report = json.loads(subprocess.run(
        [sys.executable, "-m", "virtiodiag", "analyze", "--format", "json", str(NET_FAIL)],
        cwd=ROOT, capture_output=True, check=False).stdout)
    (final,) = [f for f in report["findings"] if f["rule"] == "VD003"]
    assert final["line"] == 388 and final["severity"] == "error"
    assert final["message"].split(": ", 1)[1] in shown  # the same words, device aside


def test_a_live_finding_the_end_replaces_by_a_later_one_is_withdrawn_and_the_later_shown():
    """The driver sets FAILED (line 4: handshake-incomplete, shown live), resets the device
    and tries again, and the log ends at FEATURES_OK (line 8): the report's
    handshake-incomplete is line 8's. The stream shows line 8's finding and withdraws line
    4's, saying why. Any final finding of the same rule, device and severity was taken for
    the live one: line 8's was never shown and line 4's never withdrawn."""
    live = Live("--no-timeline", "-")
    for value in (0, 1, 3, 131):
        live.write(status(value))
    live.wait_for("VD003 handshake-incomplete")
    for value in (0, 1, 3, 11):
        live.write(status(value))
    code, out, _ = live.finish()
    assert code == 1
    shown = [line for line in out.splitlines() if line.startswith("<stdin>:")
             and "VD003" in line]
    assert [line.split(":")[1] for line in shown] == ["4", "8"]
    assert "the log ends at FEATURES_OK (line 8)" in shown[1]
    (withdrawn,) = [line for line in out.splitlines() if line.startswith("withdrawn:")
                    and "VD003" in line]
    assert withdrawn.startswith("withdrawn: <stdin>:4: error VD003")
    assert withdrawn.endswith("the whole log makes it error VD003 (line 8)")


def test_a_probe_failure_is_shown_live_with_the_errno_of_its_end_line():
    """virtio_net says why its probe failed (line 387: MQ without CTRL_VQ), then the
    driver core ends the probe with its errno (line 389: error -22). The finding was shown
    at line 387 without the errno, and the report's words ('error -22 (EINVAL); ...') were
    never shown on the stream; it is shown once line 389 arrives, while the pipe is still
    open, as the report words it."""
    lines = NET_FAIL.read_bytes().splitlines(keepends=True)
    live = Live("--no-timeline", "-")
    for line in lines[:389]:
        live.write(line)
    shown = live.wait_for("VD015 probe-failed")
    assert live.proc.poll() is None, "the finding must come while the input is still open"
    assert "<stdin>:387: error VD015" in shown
    assert shown.endswith("probe failed: error -22 (EINVAL); the device offers a feature "
                          "without the one it depends on\n")
    for line in lines[389:]:
        live.write(line)
    code, out, _ = live.finish()
    assert code == 1
    assert out.count("VD015 probe-failed") == 1
    assert not [line for line in out.splitlines() if "withdrawn" in line and "VD015" in line]


def test_stall_reported_while_the_pipe_stays_open():
    live = Live("--stall-timeout", "0.3", "--no-timeline", "-")
    # One write: a test paused for a second between lines would make an earlier stall.
    live.write(b"".join(status(value) for value in (0, 1, 3)))
    line = live.wait_for("stalled")
    assert live.proc.poll() is None
    assert "VD003" in line and "stalled at DRIVER " in line
    code, out, _ = live.finish()
    assert code == 1
    assert out.count("stalled") == 1  # reported once per device


def test_ctrl_c_prints_the_summary_and_exits_130():
    live = Live("--no-timeline", "-")
    for value in (0, 1, 3, 7):
        live.write(status(value))
    live.wait_for("VD001")  # the input was read: now interrupt
    live.proc.send_signal(signal.SIGINT)
    code = live.proc.wait(timeout=WAIT)
    _, out, err = live.finish()
    assert code == 130
    assert "1 device, 1 reached DRIVER_OK" in out
    assert "interrupted" in out
    assert "Traceback" not in err


@pytest.mark.parametrize(("signal_name", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_recorded_before_the_read_begins_still_stops_a_quiet_pipe(signal_name, code):
    """A Ctrl-C (or SIGTERM) whose C-level handler ran just before the read of a quiet pipe
    began to wait (virtiodiag/wakeup.py): the read is not interrupted by it, and the run
    waited for the next line, for ever if the writer stays silent. Here the signal always
    lands beside the wait (conftest's SIGNAL_BESIDE_THE_WAIT_CLI); the pipe stays open."""
    live = Live("--no-timeline", "-", source=SIGNAL_BESIDE_THE_WAIT_CLI.format(before=""))
    for value in (0, 1, 3, 7):
        live.write(status(value))
    live.wait_for("VD001")  # it read the log; ready when it waits for more
    deadline = time.monotonic() + WAIT
    while not main_thread_waits(live.proc.pid):
        assert time.monotonic() < deadline and live.proc.poll() is None, "it never waited"
        time.sleep(0.01)
    live.proc.send_signal(getattr(signal, signal_name))
    try:
        ended = live.proc.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        live.proc.kill()
        raise AssertionError(f"the run went on reading after {signal_name}") from None
    _, out, err = live.finish()
    assert ended == code, err
    assert "1 device, 1 reached DRIVER_OK" in out and "interrupted" in out
    assert "Traceback" not in err


def test_a_live_finding_the_whole_log_does_not_bear_out_is_withdrawn_in_the_report():
    """A guest's console piped in two parts. Line 371 (sysfs features without VERSION_1)
    makes virtio0 legacy: a live error, shown while the pipe is open. At the end virtio0
    is joined to pci-0000:00:02.0, whose "leaving for legacy driver" line (360) says the
    device has no modern interface: the whole log makes it a warning, and the run ended
    "0 errors" after showing an error, with nothing to say why. The report now withdraws
    the live error, naming the device and the finding that stands."""
    lines = (ROOT / "samples" / "legacy-pci" / "console.log").read_bytes().splitlines(True)
    live = Live("--no-timeline", "-")
    live.write(b"".join(lines[:371]))
    shown = live.wait_for("VD001")  # the warning for pci-0000:00:02.0, line 360
    shown += live.wait_for("VD001")
    assert live.proc.poll() is None, "the finding must come while the input is still open"
    assert "<stdin>:371: error VD001 legacy-fallback [virtio0]" in shown
    live.write(b"".join(lines[371:]))
    code, out, _err = live.finish()
    assert code == 0
    assert ("withdrawn: <stdin>:371: error VD001 legacy-fallback [virtio0] shown while "
            "reading: virtio0 turned out to be pci-0000:00:02.0; the whole log makes it "
            "warning VD001 (line 360)") in out
    assert "0 errors, 1 warning" in out.splitlines()[-1]
    assert _tally(out) == _summary(out)


def test_jsonl_streams_the_withdrawal_of_a_finding_it_streamed_live():
    """The same console as jsonl on a pipe: the live finding line is followed, before the
    run's line, by a ``withdrawn`` line with its fingerprint and the finding that stands."""
    from conftest import run_cli

    log = (ROOT / "samples" / "legacy-pci" / "console.log").read_bytes()
    proc = run_cli("analyze", "--format", "jsonl", "-", stdin=log)
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    streamed = {r["fingerprint"]: r for r in records if r["type"] == "finding"}
    withdrawn = [r for r in records if r["type"] == "withdrawn"]
    assert len(withdrawn) == 1
    gone = withdrawn[0]
    assert streamed[gone["fingerprint"]]["severity"] == "error" == gone["severity"]
    assert gone["rule"] == "VD001" and gone["line"] == 371
    assert gone["device"] == "pci-0000:00:02.0"
    assert streamed[gone["stands"]]["severity"] == "warning"
    summary = records[-1]
    assert (summary["errors"], summary["warnings"]) == (0, 1)
    assert proc.returncode == 0


def _tally(text: str) -> dict[str, int]:
    """Findings a live run's terminal showed, less those it withdrew, by severity."""
    import re

    counts = {"error": 0, "warning": 0, "info": 0}
    for line in text.splitlines():
        if m := re.match(r"<stdin>(?::\d+)?: (error|warning|info) VD\d+ ", line):
            counts[m.group(1)] += 1
        elif m := re.match(r"withdrawn: <stdin>(?::\d+)?: (error|warning|info) VD\d+ ", line):
            counts[m.group(1)] -= 1
    return counts


def _summary(text: str) -> dict[str, int]:
    import re

    last = text.rstrip().splitlines()[-1]  # "... 0 errors, 1 warning, 0 info; ..."
    found = {severity: int(count)
             for count, severity in re.findall(r"(\d+) (error|warning|info)", last)}
    return {severity: found.get(severity, 0) for severity in ("error", "warning", "info")}


def test_what_a_live_run_shows_adds_up_to_its_report_on_every_sample():
    """Every sample with both sides (QEMU's trace and the guest's console, as ``run``
    records them; devices known under several names until the end) read as a live
    stream: the findings shown while reading and at the end, less those withdrawn, are
    the report's, severity by severity. Eight live findings on five of these logs were
    shown and then silently dropped, or counted once for two names of one device."""
    from collections import Counter

    from conftest import shared_dialects
    from virtiodiag.analysis import Analysis

    for path in sorted((ROOT / "samples").glob("*/combined.log")):
        shown = []
        analysis = Analysis(str(path), shared_dialects(), live=True, on_finding=shown.append)
        data = path.read_bytes()
        for start in range(0, len(data), 4096):  # as a pipe delivers it
            analysis.feed_block(data[start:start + 4096])
        analysis.close_input()
        result = analysis.finish()
        withdrawn = Counter(item.finding.severity for item in result.withdrawn)
        assert Counter(f.severity for f in shown) - withdrawn == \
            Counter(f.severity for f in result.findings), path
        for item in result.withdrawn:
            assert item.finding in shown and item.reason(), path


def test_live_text_on_terminal_while_the_file_gets_json(tmp_path):
    report = tmp_path / "report.json"
    live = Live("--format", "json", "--output", str(report), "--no-timeline", "-")
    for value in (0, 1, 3, 7):
        live.write(status(value))
    live.wait_for("VD001")
    assert live.proc.poll() is None
    code, out, _ = live.finish()
    assert code == 1
    doc = json.loads(report.read_text())
    assert doc["schema"] == "virtiodiag/report/v3"
    assert [f["rule"] for f in doc["findings"]] == ["VD001"]
    assert "{" not in out  # the terminal got text only


def test_jsonl_streams_events_before_the_input_ends():
    live = Live("--format", "jsonl", "-")
    live.write(status(0))
    line = live.wait_for('"type": "event"')
    assert live.proc.poll() is None
    assert json.loads(line)["line"] == 1
    for value in (1, 3, 7):
        live.write(status(value))
    finding = live.wait_for('"type": "finding"')
    assert live.proc.poll() is None
    assert json.loads(finding)["rule"] == "VD001"
    code, out, _ = live.finish()
    assert code == 1
    records = [json.loads(x) for x in out.splitlines()]
    assert records[0]["type"] == "start" and records[-1]["type"] == "summary"
    assert sum(r["type"] == "finding" for r in records) == 1


def test_follow_survives_truncation_and_rotation(tmp_path):
    log = tmp_path / "serial.log"
    log.write_bytes(status(0) + status(1))
    live = Live("--follow", str(log), "--no-timeline", stdin=False)
    with open(log, "ab") as handle:  # grows
        handle.write(status(3) + status(7))
    live.wait_for("VD001")
    assert live.proc.poll() is None
    log.write_bytes(b"")  # truncated in place
    live.wait_until_read(log, 0)  # it saw the truncation (else the file grows back unseen)
    again = status(0) + status(1) + status(3) + status(11) + status(15)
    log.write_bytes(again)
    live.wait_until_read(log, len(again))
    rotated = tmp_path / "serial.log.1"
    log.rename(rotated)  # rotated: a new file appears under the old name
    other = b"".join(f"virtio_set_status vdev 0x55aa00000000 val {value}\n".encode()
                     for value in (0, 1, 3, 7))
    log.write_bytes(other)
    # A second device, legacy too: its finding shows the new file was read.
    live.wait_for("[qemu-dev2]")
    live.proc.send_signal(signal.SIGINT)  # a follow runs until Ctrl-C
    code, out, err = live.finish()
    assert code == 130, err
    assert "serial.log" in out
    summary = next(line for line in out.splitlines() if " reached DRIVER_OK; " in line)
    assert summary.startswith("2 devices, "), out
    assert "serial.log:13: error VD001 legacy-fallback [qemu-dev2]" in out, out


def test_follow_exit_after_ends_a_follow_that_gets_no_new_data(tmp_path):
    """The hidden --follow-exit-after (for scripts and tests): the report of what was read,
    and the gate's status, once the file has been quiet that long."""
    from conftest import run_cli

    log = tmp_path / "serial.log"
    log.write_bytes(b"".join(status(value) for value in (0, 1, 3, 7)))
    proc = run_cli("analyze", "--follow", log, "--follow-exit-after", "0.2", "--no-timeline")
    out = proc.stdout.decode()
    assert proc.returncode == 1, proc.stderr.decode()
    assert "serial.log:4: error VD001 legacy-fallback" in out
    assert out.rstrip().splitlines()[-1].startswith("1 device, 1 reached DRIVER_OK")


def test_follow_needs_an_existing_file(tmp_path):
    from conftest import run_cli

    proc = run_cli("analyze", "--follow", tmp_path / "absent.log")
    assert proc.returncode == 2
    assert b"absent.log: no such file" in proc.stderr


def _report(*args) -> tuple[int, dict]:
    from conftest import run_cli

    proc = run_cli("analyze", "--format", "json", *args)
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.parametrize("form", ["utf-16", "cr"])
def test_follow_reads_a_file_as_analyze_does(tmp_path, form):
    """--follow read every file as UTF-8 with LF line ends: the same sample saved by
    PowerShell (UTF-16) or by a terminal program that ends lines with CR alone found no
    device (one line); it is now read as analyze reads the file."""
    text = NET_FAIL.read_bytes()
    log = tmp_path / "serial.log"
    log.write_bytes(text.decode("utf-8").encode("utf-16") if form == "utf-16"
                    else text.replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    whole = _report(log)
    assert whole[1]["stats"]["lines"] == NET_FAIL.read_bytes().count(b"\n")
    followed = _report("--follow", log, "--follow-exit-after", "0.3")
    assert followed == whole
    assert followed[0] == 1 and len(followed[1]["devices"]) == 1


def test_follow_refuses_what_cannot_be_tailed(tmp_path):
    import gzip

    from conftest import run_cli

    packed = tmp_path / "serial.log.gz"
    packed.write_bytes(gzip.compress(NET_FAIL.read_bytes()))
    proc = run_cli("analyze", "--follow", packed, "--follow-exit-after", "0.3")
    assert proc.returncode == 2
    assert (b"serial.log.gz: gzip-compressed: --follow tails a growing plain-text log"
            in proc.stderr)
    fifo = tmp_path / "console.fifo"
    os.mkfifo(fifo)
    proc = run_cli("analyze", "--follow", fifo)
    assert proc.returncode == 2
    assert b"console.fifo: not a regular file: --follow tails a growing file" in proc.stderr
    assert b"no such file" not in proc.stderr
    proc = run_cli("analyze", "--follow", "-", stdin=b"")
    assert proc.returncode == 2
    assert (b"--follow tails a growing file; standard input is read as it arrives "
            b"without it (virtiodiag analyze -)") in proc.stderr
    assert b"no such file" not in proc.stderr


def test_memory_stays_flat_on_a_long_live_stream():
    """Ten times the input must not need noticeably more memory (floods are counted)."""
    import tracemalloc

    from virtiodiag.analysis import Analysis
    from virtiodiag.dialects import load_dialects

    dialects = load_dialects()
    head = b"".join(status(v) for v in (0, 1, 3, 11, 15))
    chunk = (f"virtio_queue_notify vdev {VDEV} n 0 vq 0x7f400722a010\n"
             f"virtio_notify vdev {VDEV} vq 0x7f400722a010\n"
             "[   12.000000] some console line that is not about virtio\n").encode() * 500

    def peak(blocks: int) -> int:
        analysis = Analysis("<stdin>", dialects, live=True)
        analysis.feed_block(head)
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            for _ in range(blocks):
                analysis.feed_block(chunk)
            analysis.close_input()
            analysis.finish()
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()

    peak(1)  # the first run compiles the grammars its lines need: tens of MB, once
    small, large = peak(2), peak(20)  # 3,000 and 30,000 lines
    assert large < small + 500_000, (small, large)  # under 19 bytes a line


def test_an_irq_enabled_mid_init_is_shown_while_the_stream_is_open():
    # The brief's own case (VD007): the enable line and the device mid-handshake arrive;
    # the finding must come before the rest of the boot (it came only at the end).
    log = (ROOT / "samples" / "rtos-step" / "irq-mid-init.log").read_bytes().splitlines(True)
    live = Live("--no-timeline", "-")
    live.write(b"".join(log[:29]))  # up to "BSP_IntSrcEn(irq=48)", blk0 at DRIVER
    line = live.wait_for("VD007")
    assert live.proc.poll() is None
    assert "<stdin>:29" in line and "virtio-blk0" in line
    live.write(b"".join(log[29:]))
    code, out, _ = live.finish()
    assert code == 1
    assert out.count("VD007 irq-enabled-mid-init") == 1  # shown once, not again at the end
    assert out.rstrip().splitlines()[-1].startswith("2 devices, 2 reached DRIVER_OK")
