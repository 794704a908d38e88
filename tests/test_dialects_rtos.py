"""The rtos-step dialect end to end: samples/rtos-step/*.log through ``virtiodiag analyze``.

Each sample's timeline (status writes, queues, IRQ lines bound to the right device) is
checked, then its findings by rule name (samples/rtos-step/README.md lists them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import analyse_json

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "rtos-step"

MODERN = [0x00, 0x01, 0x03, 0x0B, 0x0F]
# The rules these samples were written for; among them exactly the expected ones must fire.
RTOS_RULES = {"legacy-fallback", "placeholder-device", "queue-misaligned", "num-buffers-missing",
              "irq-enabled-mid-init", "handshake-incomplete", "queue-setup-order"}

EXPECTED = {
    "good.log": set(),
    "legacy-slot.log": {"legacy-fallback"},
    "placeholder-slot.log": {"placeholder-device", "handshake-incomplete"},
    "unaligned-queue.log": {"queue-misaligned"},
    "hdr10.log": {"num-buffers-missing"},
    "irq-mid-init.log": {"irq-enabled-mid-init"},
    "stuck-step.log": {"handshake-incomplete"},
    "ready-while-configuring.log": {"queue-setup-order"},
    "init-path.log": set(),
    "ping-path.log": {"irq-enabled-mid-init"},
}
# Findings outside RTOS_RULES that the README documents for a file.
ALSO = {"placeholder-slot.log": {"features-refused", "device-not-driven"}}

def analyze(name: str) -> dict:
    return analyse_json(SAMPLES / name)


def device(report: dict, name: str) -> dict:
    found = [d for d in report["devices"] if d["id"] == name or d["guest_name"] == name]
    assert len(found) == 1, [d["id"] for d in report["devices"]]
    return found[0]


def events(dev: dict, kind: str) -> list[str]:
    return [e["event"] for e in dev["timeline"] if e["event"].split(" ")[0].split("[")[0] == kind]


def test_every_sample_is_listed_in_the_readme():
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    logs = sorted(p.name for p in SAMPLES.glob("*.log"))
    assert logs == sorted(EXPECTED)
    for name in logs:
        assert f"`{name}`" in readme
    assert "hand-written" in readme


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_virtio_line_is_understood(name):
    report = analyze(name)
    assert report["stats"]["unrecognised_virtio_lines"] == 0
    assert set(report["stats"]["dialects"]) == {"rtos-step"}


def test_good_timeline():
    report = analyze("good.log")
    net, blk = device(report, "virtio-net0"), device(report, "virtio-blk0")
    assert net["address"] == "0xa000000" and blk["address"] == "0xa000400"
    assert net["type"] == "net" and blk["type"] == "block"
    assert net["mode"] == blk["mode"] == "modern"
    for dev in (net, blk):
        assert dev["status_writes"] == MODERN
        assert [(s["value"], s["read"]) for s in dev["status_changes"]][4] == (0x0B, True)
    assert net["features_offered"] == "0x139bf8064"
    assert net["features_accepted"] == "0x100000020"
    assert [(q["index"], q["size"], q["desc"], q["ready"]) for q in net["queues"]] == [
        (0, 256, "0x80010000", 1), (1, 256, "0x80014000", 1)]
    assert [(q["index"], q["size"], q["desc"]) for q in blk["queues"]] == [(0, 128, "0x80020000")]
    assert net["irq_lines"] == [48] and blk["irq_lines"] == [50]
    assert events(net, "irq_setup") == ["irq_setup irq=48 handler=BSP_OS_VirtioNetHandler"]
    assert events(net, "irq_enable") == ["irq_enable irq=48"]
    assert events(blk, "irq_enable") == ["irq_enable irq=50"]
    assert events(net, "net_hdr") == ["net_hdr device=virtio-net0 hdr_len=12 num_buffers=0"]
    # The empty slots are seen, never attached.
    empty = [d for d in report["devices"] if d["virtio_id"] == 0]
    assert [d["address"] for d in empty] == ["0xa000200", "0xa000600"]
    assert all(not d["status_writes"] for d in empty)
    assert [(t["test"], t["verdict"]) for t in report["tests"]] == [
        ("test-ping-wan", "PASS"), ("test-blk-rw", "PASS")]


def test_legacy_slot_timeline():
    net = device(analyze("legacy-slot.log"), "virtio-net0")
    assert net["status_writes"] == [0x00, 0x01, 0x03, 0x07]
    assert net["mode"] == "legacy"
    assert [(q["index"], q["desc"]) for q in net["queues"]] == [(0, "0x80010000"), (1, "0x80014000")]
    assert events(net, "legacy_fallback")


def test_placeholder_slot_timeline():
    report = analyze("placeholder-slot.log")
    net = device(report, "virtio-net0")
    assert net["address"] == "0xa000200" and net["virtio_id"] == 0
    assert net["status_writes"] == [0x00, 0x01, 0x03, 0x0B]
    assert events(net, "features_refused")
    real = [d for d in report["devices"] if d["virtio_id"] == 1]
    assert len(real) == 1 and real[0]["address"] == "0xa000000" and not real[0]["status_writes"]


def test_unaligned_queue_timeline():
    net = device(analyze("unaligned-queue.log"), "virtio-net0")
    assert net["status_writes"] == MODERN
    assert [q["desc"] for q in net["queues"]] == ["0x80010008", "0x80014000"]


def test_hdr10_timeline():
    report = analyze("hdr10.log")
    net = device(report, "virtio-net0")
    assert net["features_accepted_names"] == ["MAC", "VERSION_1"]
    assert events(net, "net_hdr") == ["net_hdr device=virtio-net0 hdr_len=10"]
    assert all(e["time"] is None for e in net["timeline"])  # no time stamps in this file


def test_irq_mid_init_timeline():
    report = analyze("irq-mid-init.log")
    net, blk = device(report, "virtio-net0"), device(report, "virtio-blk0")
    enable = next(e for e in net["timeline"] if e["event"] == "irq_enable irq=48")
    blk_before = [s["value"] for s in blk["status_changes"] if s["line"] < enable["line"]]
    blk_after = [s["value"] for s in blk["status_changes"] if s["line"] > enable["line"]]
    assert blk_before == [0x00, 0x01, 0x03]
    assert 0x0F in blk_after
    assert events(blk, "irq_enable") == ["irq_enable irq=50"]


def test_stuck_step_timeline():
    report = analyze("stuck-step.log")
    net, blk = device(report, "virtio-net0"), device(report, "virtio-blk0")
    assert net["status_writes"] == [0x00, 0x01, 0x03, 0x0B]
    assert net["last_step"] == "FEATURES_OK" and net["reached_driver_ok"] == "no"
    assert blk["status_writes"] == MODERN
    assert not events(net, "irq_enable") and not events(blk, "irq_enable")


def test_ready_while_configuring_timeline():
    net = device(analyze("ready-while-configuring.log"), "virtio-net0")
    assert net["status_writes"] == MODERN
    assert [q["ready"] for q in net["queues"]] == [1, 1]
    assert events(net, "queue_config")[0].startswith("queue_config device=virtio-net0 queue=0 ready=1")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings(name):
    names = {f["name"] for f in analyze(name)["findings"]}
    expected = EXPECTED[name]
    if not expected:
        assert names == set(), analyze(name)["findings"]
        return
    assert expected <= names, f"missing {expected - names}; got {names}"
    assert names & RTOS_RULES == expected & RTOS_RULES
    assert ALSO.get(name, set()) <= names


def test_solo5_before_the_bindings_finds_each_device_and_its_driver():
    """Solo5's 2015-2016 kernel printed no prefix and no device name: pci.c's
    "virtio_config: device_id=%x, interrupt_line=%x" is a device of the subsystem id's
    type, virtio.c's "Found virtio network device with MAC: ..." (DRIVER_OK follows in the
    same function) and virtio_blk.c's "Found virtio block device with capacity: ..." the
    driver that took the one of its type."""
    fixture = Path(__file__).parent / "fixtures" / "linux-eras" / "solo5-2016-legacy-virtio.log"
    report = analyse_json(fixture)
    states = sorted((d["type"], d["driver_ok"]["state"], d["driver_ok"]["line"])
                    for d in report["devices"])
    assert states == [("block", "implied", 11), ("net", "implied", 8), ("rng", "not-shown", None)]
    assert not [f for f in report["findings"] if f["rule"] in ("VD016", "VD020")]
