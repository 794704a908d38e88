"""The text report: verdict first, one line per device, findings with their evidence in
context, one closing line; the whole timeline only on ``--timeline``."""

from __future__ import annotations

import io
import re

from conftest import SAMPLES, invoke_cli, shared_dialects

MULTI = SAMPLES / "multi-device" / "combined.log"
IRQ_MID_INIT = SAMPLES / "rtos-step" / "irq-mid-init.log"
EPOCH = re.compile(r"\b1[5-9]\d{8}\.\d")  # raw epoch seconds (QEMU's trace clock)


def analyze(*args):
    return invoke_cli("analyze", *args)


def test_clean_boot_of_the_bundled_sample_fits_one_screen_verdict_first():
    proc = analyze(MULTI)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.rstrip("\n").splitlines()
    assert len(lines) < 40, proc.stdout
    assert lines[0] == (f"PASS {MULTI}: 4 devices, all reached DRIVER_OK (modern); "
                        "no error or warning")
    rows = {line.split()[1]: line for line in lines[2:7] if line.startswith("\u2713")}
    assert set(rows) == {"virtio0", "virtio1", "virtio2", "virtio3"}, proc.stdout
    # name, type, transport and address, mode, the handshake as a path with who made it
    assert re.search(r"virtio0\s+net\s+pci 0000:00:03\.0\s+modern \(transitional device\)"
                     r"\s+Linux: ACK \u2192 DRIVER \u2192 FEATURES_OK \u2192 DRIVER_OK$",
                     rows["virtio0"]), rows["virtio0"]
    # SeaBIOS drove the disk before Linux booted (QEMU's trace shows its status writes
    # before the kernel's first line): two attempts, each named.
    assert rows["virtio1"].endswith(
        "2 attempts: firmware: ACK+DRIVER \u2192 FEATURES_OK \u2192 DRIVER_OK; "
        "Linux: ACK \u2192 DRIVER \u2192 FEATURES_OK \u2192 DRIVER_OK"), rows["virtio1"]
    assert "console" in rows["virtio3"] and "rng" in rows["virtio2"]
    # no raw epoch seconds, no per-write status column, no timeline by default
    assert not EPOCH.search(proc.stdout)
    assert "0,0,0,0" not in proc.stdout and "status write" not in proc.stdout
    # the lines no grammar understood are counted in the closing line; none is a virtio
    # driver's message (the init script's echo, its sysfs and /proc dumps), so no finding
    assert "VD016" not in proc.stdout
    assert lines[-1] == ("4 devices, 4 reached DRIVER_OK; 0 errors, 0 warnings, 0 info; "
                         "717 lines read, 329 events; 33 line(s) mention virtio but no "
                         "grammar understood them (--verbose lists them)")


def test_timeline_on_request_with_relative_times_and_folded_repeats():
    proc = analyze("--timeline", MULTI)
    out = proc.stdout
    assert not EPOCH.search(out), "times are relative to a stated origin"
    assert ("times: host s: QEMU's clock, seconds since line 2, 2026-11-24 "
            "02:22:16.921709 UTC; guest s: seconds since the guest booted") in out
    # one column per clock: QEMU's writes under "host s", the console's under "guest s"
    assert re.search(r"^\s+0\.093370\s+24  status write 0x03 ACKNOWLEDGE\|DRIVER$", out, re.M)
    assert re.search(r"^\s{15,}6\.736862\s+495  device_bind", out, re.M)
    # repeated resets folded into one entry
    assert "status write 0x00 RESET x9, lines 4-23" in out
    assert "attempt 1 by firmware, lines 23-26: ACK+DRIVER \u2192 FEATURES_OK \u2192 DRIVER_OK" in out
    assert "traffic: 66 notifies and 34 interrupts" in out
    assert len(out.splitlines()) > 100


def test_finding_evidence_shown_among_the_lines_around_it():
    proc = analyze(IRQ_MID_INIT)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"FAIL {IRQ_MID_INIT}: 2 devices, all reached DRIVER_OK")
    assert lines[0].endswith("1 error: irq-enabled-mid-init")
    assert "2 empty slots (device id 0, nothing to drive): mmio 0xa000200, mmio 0xa000600" \
        in proc.stdout
    head = next(i for i, line in enumerate(lines) if "VD007 irq-enabled-mid-init" in line)
    block = lines[head + 1:head + 7]
    assert block[0].split() == ["line", "guest", "s"]
    numbers = [int(line[5:12]) for line in block[1:]]
    assert numbers == [27, 28, 29, 30, 31]
    assert block[3].startswith("    >     29") and block[3].endswith("BSP_IntSrcEn(irq=48)")
    assert "    + line 24: virtio-blk0 not at DRIVER_OK yet" in proc.stdout
    assert lines[-1].startswith("2 devices, 2 reached DRIVER_OK, 2 empty slots; 1 error")


def test_floods_are_summarised(tmp_path):
    vdev = "0x55d0aa001000"
    lines = [f"1@1700000000.{i:06d}:virtio_set_status vdev {vdev} val {v}"
             for i, v in enumerate((0, 1, 3, 11, 15))]
    for n in range(3000):
        lines.append(f"1@1700000001.{n:06d}:virtio_queue_notify vdev {vdev} n {n % 4} "
                     f"vq 0x7f000000{n % 4}000")
    log = tmp_path / "flood.log"
    log.write_text("\n".join(lines) + "\n")
    proc = analyze("--timeline", log)
    assert "traffic: 3,000 notifies on queues 0-3, lines 6-3,005" in proc.stdout
    folded = [line for line in proc.stdout.splitlines() if "notifies on queues 0-3, lines" in line]
    assert any(line.rstrip().endswith("lines 6-3,005") for line in folded), proc.stdout
    assert len(proc.stdout.splitlines()) < 40


def test_ascii_when_the_terminal_cannot_show_arrows():
    from virtiodiag.analysis import analyse_blocks
    from virtiodiag.options import ReportOptions
    from virtiodiag.reports import text

    result = analyse_blocks(str(MULTI), [MULTI.read_bytes()], shared_dialects())
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    text.render([result], stream, ReportOptions(fail_on="error"))
    stream.flush()
    out = raw.getvalue().decode("ascii")
    assert "ok  virtio0" in out.replace("ok   ", "ok  ")
    assert "ACK -> DRIVER -> FEATURES_OK -> DRIVER_OK" in out


def test_log_text_in_the_context_is_escaped(tmp_path):
    log = tmp_path / "esc.log"
    log.write_text("virtio_set_status vdev 0x1 val 0\nvirtio_set_status vdev 0x1 val 1\n"
                   "virtio_set_status vdev 0x1 val 3\nvirtio_set_status vdev 0x1 val 7\x1b[2J\n")
    proc = analyze(log)
    assert "\x1b" not in proc.stdout
    assert all(not line.startswith("::") for line in proc.stdout.splitlines())


def test_readme_shows_the_current_report(monkeypatch):
    """The README's quick start shows what its first command prints today."""
    from conftest import REPO

    monkeypatch.chdir(REPO)
    proc = analyze("samples/multi-device/combined.log")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = "$ virtiodiag analyze samples/multi-device/combined.log\n"
    shown = readme.split(command, 1)[1].split("```", 1)[0]
    assert shown == proc.stdout, (
        "README.md's quick-start report is out of date: paste the output of "
        "'virtiodiag analyze --no-color samples/multi-device/combined.log'")


def test_guests_found_by_bisection_as_by_scanning():
    """view.Guests finds the nearest speaker by bisection over events in log order; the
    answer is the linear scan's for every held event and side, on logs of many guests."""
    from conftest import REPO, shared_dialects

    from virtiodiag.analysis import RuleSettings
    from virtiodiag.model.eras import FIRMWARE, OS
    from virtiodiag.reports import view
    from virtiodiag.runner import analyse_path

    logs = [SAMPLES / "seabios-virtio-pci" / "combined.log", SAMPLES / "rt-multi-device"
            / "combined.log", REPO / "tests" / "fixtures" / "wild" / "freebsd.log"]
    asked = 0
    for log in logs:
        model = analyse_path(str(log), shared_dialects(), RuleSettings()).model
        events = view.held_events(model)
        fast = view.Guests(events, model)
        slow = view.Guests(events, model)
        slow._by_side = None  # the linear scan
        assert fast._by_side is not None and fast.marks
        for event in events:
            for side in (None, FIRMWARE, OS):
                assert fast.actor(event, side) == slow.actor(event, side)
                asked += 1
    assert asked > 300
