"""``--format html`` (the file itself: self-contained, bounded) and ``--format
chrome-trace`` (Trace Event Format: one track per device, a span per phase, instants)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from conftest import SAMPLES, invoke_cli

IRQ_MID_INIT = SAMPLES / "rtos-step" / "irq-mid-init.log"
HDR10 = SAMPLES / "rtos-step" / "hdr10.log"  # no time stamps
MULTI = SAMPLES / "multi-device" / "combined.log"


class Page(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag
                and all(a.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())]


def html_of(tmp_path, *logs) -> str:
    out = tmp_path / "report.html"
    proc = invoke_cli("analyze", "--format", "html", "-o", out, *logs)
    assert proc.returncode in (0, 1), proc.stderr
    return out.read_text(encoding="utf-8")


def test_html_is_self_contained(tmp_path):
    text = html_of(tmp_path, IRQ_MID_INIT)
    page = Page(text)
    assert not page.all("script") and not page.all("link") and not page.all("img")
    assert not page.all("iframe") and not page.all("object")
    for _, attrs in page.tags:
        for name in ("src", "href"):
            assert not attrs.get(name, "#").split("#")[0], attrs  # only in-page links
    assert "@import" not in text and "url(" not in text
    assert "default-src 'none'" in text  # and the page forbids itself any fetch


def test_html_lanes_phases_marks_and_finding(tmp_path):
    page = Page(html_of(tmp_path, IRQ_MID_INIT))
    [svg] = page.all("svg")
    assert svg["data-axis"] == "time" and svg["data-clock"] == "boot"
    assert [g["data-device"] for g in page.all("g", class_="lane")] == [
        "virtio-net0", "virtio-blk0"]
    phases = [(r["data-phase"], r["data-line"]) for r in page.all("rect")
              if r.get("class", "").startswith("phase ")]
    assert phases == [("RESET", "11"), ("ACKNOWLEDGE", "12"), ("DRIVER", "13"),
                      ("FEATURES_OK", "16"), ("DRIVER_OK", "26"),
                      ("RESET", "22"), ("ACKNOWLEDGE", "23"), ("DRIVER", "24"),
                      ("FEATURES_OK", "32"), ("DRIVER_OK", "36")]
    [window] = page.all("rect", class_="init-window")
    assert (float(window["data-from"]), float(window["data-to"])) == (0.008, 0.025)
    enables = [(p["data-irq"], p["data-line"]) for p in page.all("path")
               if "mark-irq-enable" in p.get("class", "")]
    assert enables == [("48", "29"), ("50", "39")]
    [finding] = page.all("g", class_="finding")
    assert finding["data-rule"] == "VD007" and finding["data-line"] == "29"
    assert page.all("div", id="run-1-finding-1")


def test_html_without_time_stamps_uses_line_order_and_says_so(tmp_path):
    text = html_of(tmp_path, HDR10)
    page = Page(text)
    assert [s["data-axis"] for s in page.all("svg")] == ["line"]
    assert "no time stamps: line order" in text


def test_html_two_unrelated_clocks_are_two_lane_groups(tmp_path):
    text = html_of(tmp_path, MULTI)
    page = Page(text)
    assert [(s["data-axis"], s["data-clock"]) for s in page.all("svg")] == [
        ("time", "host"), ("line", "line")]
    assert "each has its own lane group" not in text  # QEMU's clock and line order only
    assert "QEMU&#x27;s clock, seconds since line 2, 2026-11-24 02:22:16.921709 UTC" in text
    assert not re.search(r"\b1795486\d{3}\.", text)  # never raw epoch seconds


def test_html_several_runs_one_lane_group_each(tmp_path):
    page = Page(html_of(tmp_path, IRQ_MID_INIT, SAMPLES / "rtos-step" / "good.log"))
    runs = page.all("section", class_="run")
    assert [r["data-path"] for r in runs] == [str(IRQ_MID_INIT),
                                              str(SAMPLES / "rtos-step" / "good.log")]
    assert len(page.all("svg")) == 2


def test_html_of_ten_thousand_events_stays_small(tmp_path):
    """Four devices, then 10,000 kicks and interrupts: floods become density bars."""
    lines = []
    devices = [f"0x55d0aa00{n}000" for n in range(4)]
    for n, vdev in enumerate(devices):
        lines += [f"1@1700000000.{n}{i:05d}:virtio_set_status vdev {vdev} val {v}"
                  for i, v in enumerate((0, 1, 3, 11, 15))]
    for i in range(10_000):
        vdev = devices[i % 4]
        kind = "virtio_queue_notify" if i % 2 else "virtio_notify"
        lines.append(f"1@{1700000001 + i / 1000:.6f}:{kind} vdev {vdev} "
                     + (f"n {i % 3} vq 0x7f00{i % 3}" if i % 2 else f"vq 0x7f00{i % 3}"))
    log = tmp_path / "busy.log"
    log.write_text("\n".join(lines) + "\n")
    text = html_of(tmp_path, log)
    size = len(text.encode())
    assert size < 150_000, size
    page = Page(text)
    assert len(page.all("g", class_="lane")) == 4
    assert len(page.all("rect", class_="traffic")) <= 4 * 120


def trace_of(*logs) -> dict:
    proc = invoke_cli("analyze", "--format", "chrome-trace", *logs)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def check_trace_event_format(doc: dict) -> None:
    """The parts of the Trace Event Format (JSON object form) the viewers read."""
    assert set(doc) >= {"traceEvents"} and doc.get("displayTimeUnit") in ("ms", "ns")
    for event in doc["traceEvents"]:
        assert event["ph"] in ("M", "X", "i"), event
        assert isinstance(event["pid"], int) and isinstance(event["tid"], int)
        assert isinstance(event["name"], str) and event["name"]
        if event["ph"] == "M":
            assert event["name"] in ("process_name", "thread_name", "process_sort_index",
                                     "thread_sort_index")
            continue
        assert isinstance(event["ts"], float) and event["ts"] >= 0
        if event["ph"] == "X":
            assert isinstance(event["dur"], float) and event["dur"] >= 0
        else:
            assert event["s"] in ("t", "p", "g")


def test_chrome_trace_one_track_per_device():
    doc = trace_of(IRQ_MID_INIT)
    check_trace_event_format(doc)
    events = doc["traceEvents"]
    threads = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert sorted(threads.values()) == ["virtio-blk0 (block mmio 0xa000400)",
                                        "virtio-net0 (net mmio 0xa000000)"]
    net = next(t for t, n in threads.items() if n.startswith("virtio-net0"))
    blk = next(t for t, n in threads.items() if n.startswith("virtio-blk0"))
    spans = [(e["name"], e["ts"]) for e in events if e["ph"] == "X" and e["tid"] == net]
    assert spans == [("RESET", 8000.0), ("ACKNOWLEDGE", 8000.0), ("DRIVER", 9000.0),
                     ("FEATURES_OK", 11000.0), ("DRIVER_OK", 18000.0)]
    instants = {(e["tid"], e["name"], e["ts"]) for e in events if e["ph"] == "i"}
    assert (net, "IRQ 48 enabled", 20000.0) in instants
    assert (net, "queue 0 set-up", 13000.0) in instants
    assert (blk, "VD007 irq-enabled-mid-init", 20000.0) in instants


def test_chrome_trace_clocks_and_runs_are_processes():
    doc = trace_of(MULTI, IRQ_MID_INIT)
    check_trace_event_format(doc)
    processes = [e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "process_name"]
    assert len(processes) == 3
    assert processes[0].startswith("run 1: ") and "QEMU's clock" in processes[0]
    assert "line order" in processes[1] and processes[2].startswith("run 2: ")


def test_html_escapes_names_and_log_text(tmp_path):
    """A file name or log text with markup or control characters is shown, never run."""
    hostile = tmp_path / "<img src=x onerror=alert(1)>\x1b[31m.log"
    hostile.write_text("virtio_set_status vdev 0x1 val 0\nvirtio_set_status vdev 0x1 val 1\n"
                       "virtio_set_status vdev 0x1 val 3\nvirtio_set_status vdev 0x1 val 7\n")
    out = tmp_path / "r.html"
    proc = invoke_cli("analyze", "--format", "html", "-o", out, hostile)
    assert proc.returncode == 1  # legacy fallback (DRIVER_OK without FEATURES_OK)
    text = out.read_text(encoding="utf-8")
    assert "<img" not in text and "\x1b" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;\\x1b[31m.log" in text
    page = Page(text)
    assert not page.all("img")
