"""A finding shown live says what the report says about its line (or less, never
otherwise): each log read in process twice, as a pipe is (findings as their evidence
arrives) and as a file, and each live finding compared with the report's on its line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from virtiodiag.options import AnalysisOptions, ReadOptions
from virtiodiag.pipeline import analyse_path

ROOT = Path(__file__).resolve().parents[1]
DIALECTS = AnalysisOptions().load_dialects()


def read(tmp_path: Path, text: str):
    """(findings shown live, the live run's result, the file's result)."""
    log = tmp_path / "boot.log"
    log.write_text(text)
    shown: list = []
    live = analyse_path(str(log), DIALECTS, None, ReadOptions(live=True, second_process=False),
                        on_finding=shown.append)
    whole = analyse_path(str(log), DIALECTS, None, ReadOptions(second_process=False))
    return shown, live, whole


# Two boots of one machine (linux_banner, drivers/pci/probe.c pci_setup_device()'s
# "[%04x:%04x] type %02x class %#08x", setup-res.c "BAR %d: no space for %pR",
# virtio_pci_common.c virtio_pci_probe()'s "virtio_pci: leaving for legacy driver"): a
# transitional NIC whose modern BAR found no space, left to the legacy driver, then a
# modern-only NIC in the same slot.
TWO_BOOTS = """\
Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)
pci 0000:00:03.0: [1af4:1000] type 00 class 0x020000
pci 0000:00:03.0: BAR 4: no space for [mem size 0x00004000 64bit pref]
virtio-pci 0000:00:03.0: virtio_pci: leaving for legacy driver
virtio_net virtio0 ens3: renamed from eth0
Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)
pci 0000:00:03.0: [1af4:1041] type 00 class 0x020000
virtio-pci 0000:00:03.0: enabling device (0000 -> 0003)
virtio_net virtio0 ens3: renamed from eth0
"""


def test_legacy_fallback_judged_by_the_device_in_the_slot_then(tmp_path):
    """The fallback of line 4 is the transitional NIC's, driven legacy: a later boot's
    modern-only NIC in that slot does not make it 'a modern-only device never driven' (the
    report said so, the live line the opposite)."""
    shown, live, whole = read(tmp_path, TWO_BOOTS)
    said = [f.message for f in shown if f.rule == "VD001" and f.line == 4]
    assert said and "driven in legacy mode because" in said[0]
    for result in (live, whole):
        final = [f.message for f in result.findings if f.rule == "VD001" and f.line == 4]
        assert final == said, final
        assert not result.withdrawn


# The step-logging RTOS driver (samples/rtos-step): one boot, an IRQ enabled while
# virtio-net0 is at ACKNOWLEDGE, virtio-blk0 beginning its handshake after it.
IRQ_THEN_LATER_DEVICE = """\
uC/OS-III V3.08.02 on QEMU virt (cortex-a15): start
virtio-net0: Step 2: status |= ACKNOWLEDGE -> 0x01
BSP_IntSrcEn(irq=48)
virtio-blk0: Step 2: status |= ACKNOWLEDGE -> 0x01
virtio-net0: Step 10: status |= DRIVER_OK -> 0x0f
virtio-blk0: Step 10: status |= DRIVER_OK -> 0x0f
"""


def test_irq_enable_counts_the_devices_mid_handshake_then(tmp_path):
    """At the enable one device is mid-handshake (what the live line says); the report
    said '2 device(s) not at DRIVER_OK', counting virtio-blk0, which began later: it
    counts it apart, so the live line is its beginning."""
    shown, live, whole = read(tmp_path, IRQ_THEN_LATER_DEVICE)
    said = [f.message for f in shown if f.rule == "VD007"]
    assert said == ["IRQ 48 enabled while virtio-net0 was initialising (still at ACKNOWLEDGE; "
                    "1 device(s) not at DRIVER_OK)"]
    for result in (live, whole):
        final = [f.message for f in result.findings if f.rule == "VD007"]
        assert final == [said[0][:-1] + "; 1 more began later in the boot)"]
    assert [(s.message, f.message) for s, f in live.completed] == [(said[0], final[0])]


def cli(*args: str, stdin: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1")
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run([sys.executable, "-m", "virtiodiag", *args], input=stdin.encode(),
                          capture_output=True, env=env, cwd=ROOT, timeout=120)


# drivers/block/virtio_blk.c virtblk_update_capacity() "[%s] %llu %d-byte logical blocks
# (%s/%s)", block/blk-core.c print_req_error() "%s: %s error, dev %s, sector %llu op
# 0x%x:(%s) flags 0x%x phys_seg %u prio class %u" (5.x's blk_update_request)
REPEATED_ERROR = """\
virtio_blk virtio2: [vdb] 4194304 512-byte logical blocks (2.15 GB/2.00 GiB)
blk_update_request: I/O error, dev vdb, sector 1049600 op 0x1:(WRITE) flags 0x4800 phys_seg 32 prio class 0
blk_update_request: I/O error, dev vdb, sector 1049856 op 0x1:(WRITE) flags 0x4800 phys_seg 32 prio class 0
blk_update_request: I/O error, dev vdb, sector 1050112 op 0x1:(WRITE) flags 0x4800 phys_seg 32 prio class 0
"""


def test_a_repeated_error_shown_live_is_completed_with_its_count():
    """The live line comes with the first error (its count unknown); the report of a pipe
    showed it no more, so '(3 times)' was never seen: it is listed as completed."""
    run = cli("analyze", "-", stdin=REPEATED_ERROR)
    out = run.stdout.decode()
    assert run.returncode == 1, out
    live = [line for line in out.splitlines() if " VD006 " in line]
    assert live[0].startswith("<stdin>:2: error VD006 device-failed [virtio2] virtio2: "
                              "device error [io_error]: blk_update_request")
    assert live[1] == ("completed: <stdin>:2: error VD006 device-failed [virtio2] with the "
                       "whole log: virtio2: device error [io_error] (3 times): "
                       "blk_update_request: I/O error, dev vdb, sector 1049600 op 0x1:(WRITE) "
                       "flags 0x4800 phys_seg 32 prio class 0")
    assert len(live) == 2
    records = [json.loads(line) for line in cli("analyze", "-", "--format", "jsonl",
                                                stdin=REPEATED_ERROR).stdout.splitlines()]
    done = [r for r in records if r["type"] == "completed"]
    streamed = [r for r in records if r["type"] == "finding"]
    assert [r["shown"] for r in done] == [streamed[0]["fingerprint"]]
    assert "(3 times)" in done[0]["message"]


def test_a_finding_said_in_full_live_is_not_completed():
    """One error: the live line is the report's finding; nothing more to say."""
    out = cli("analyze", "-", stdin="".join(REPEATED_ERROR.splitlines(True)[:2])).stdout
    assert b"VD006" in out and b"completed:" not in out


def trace(*values: int) -> bytes:
    """QEMU's virtio_set_status trace lines (hw/virtio/trace-events
    "virtio_set_status(void *vdev, uint8_t val) \\"vdev %p val %u\\"")."""
    return b"".join(b"virtio_set_status vdev 0x55d0a7b3c010 val %d\n" % v for v in values)


def stream(blocks):
    """A live Analysis fed block by block: the findings shown after each block, then the
    result."""
    from virtiodiag.analysis import Analysis

    shown: list = []
    analysis = Analysis("-", DIALECTS, live=True, on_finding=shown.append)
    after = []
    for block in blocks:
        analysis.feed_block(block)
        after.append([(f.rule, f.line, f.message) for f in shown])
    analysis.close_input()
    return after, analysis.finish()


def test_status_order_shown_as_the_write_arrives():
    """A write that clears DRIVER without a reset is out of order whatever comes next: it
    is shown when read (it was shown only when the stream ended), as the report says it."""
    after, result = stream([trace(0, 1, 3, 1), trace(3, 11, 15)])
    final = [(f.rule, f.line, f.message) for f in result.findings if f.rule == "VD005"]
    assert final and final[0][1] == 4
    assert final[0] in after[0]
    assert not result.withdrawn and not result.completed


def test_status_order_that_needs_the_interface_waits_for_the_end():
    """DRIVER_OK without FEATURES_OK breaks the order only on the modern interface, which
    the attempt's later lines may settle: not shown while reading, shown at the end."""
    after, result = stream([trace(0, 1, 3, 7), b"virtio_pci: leaving for legacy driver\n"])
    assert not [s for s in after[0] if s[0] == "VD005"]
    assert not result.withdrawn


# init/do_mounts.c: prepare_namespace()'s "Waiting for root device %s..." (rootwait), then
# the disk registering (virtio_blk's capacity line, the partition scan), the mount and init.
ROOTWAIT = [b"[    0.000000] Command line: console=ttyS0 root=/dev/vda1 rootwait\n"
            b"[    0.468712] Waiting for root device /dev/vda1...\n",
            b"[    0.912530] virtio_blk virtio1: [vda] 4194304 512-byte logical blocks "
            b"(2.15 GB/2.00 GiB)\n"
            b"[    0.915004]  vda: vda1\n"
            b"[    0.931447] EXT4-fs (vda1): mounted filesystem with ordered data mode. "
            b"Opts: (null)\n"
            b"[    0.962551] Run /sbin/init as init process\n"]


def test_rootwait_is_not_judged_while_the_disk_may_still_come():
    """The kernel waiting for its root device (rootwait) is a finding only if no later line
    shows the disk: the live line said 'no later line shows it coming' when the waiting
    line was read, then the disk came and the report withdrew it."""
    after, result = stream(ROOTWAIT)
    assert not [s for s in after[0] if s[0] == "VD024"]
    assert not [f for f in result.findings if f.rule == "VD024"]
    assert not result.withdrawn


def test_rootwait_that_ends_in_a_mount_failure_is_shown_when_it_fails():
    after, result = stream([ROOTWAIT[0],
                            b"[    5.803021] VFS: Cannot open root device \"/dev/vda1\" or "
                            b"unknown-block(0,0): error -6\n"])
    assert not [s for s in after[0] if s[0] == "VD024"]
    final = [(f.rule, f.line, f.message) for f in result.findings if f.rule == "VD024"]
    assert final and final[0] in after[1]
    assert not result.withdrawn


def test_legacy_told_by_the_features_alone_waits_for_the_attempt():
    """samples/rtos-step/legacy-slot.log: at the driver's features (line 13) only they show
    the interface, which the live line took for 'the device offered no VERSION_1 ... not a
    driver passing over VERSION_1' (a warning); the driver's next lines (a legacy device,
    DRIVER_OK without FEATURES_OK) make the report's error. Shown once the attempt says
    more, as the report says it; never the warning withdrawn."""
    lines = (Path(__file__).resolve().parents[1] / "samples" / "rtos-step"
             / "legacy-slot.log").read_bytes().splitlines(keepends=True)
    after, result = stream([b"".join(lines[:13]), b"".join(lines[13:])])
    assert not [s for s in after[0] if s[0] == "VD001"]
    final = [(f.rule, f.line, f.message) for f in result.findings if f.rule == "VD001"]
    assert final and final[0] in after[1]
    assert not result.withdrawn


def test_a_rename_is_not_completed_when_the_log_quoted_the_old_name():
    """The live line names virtio0 and quotes the line ('virtio_gpu virtio0: [drm]
    *ERROR*'); the report names the PCI function it turned out to be and quotes the same
    line: a rename, not more words (it was listed as completed)."""
    log = (Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "linux-eras"
           / "linux-6.x-gpu-drm-error-wrapped.log").read_bytes()
    after, result = stream([log])
    shown = [s for s in after[0] if s[0] == "VD006"]
    final = [f for f in result.findings if f.rule == "VD006"]
    assert shown and final and shown[0][2] != final[0].message  # renamed
    assert not result.completed and not result.withdrawn


def read_when(tmp_path: Path, text: str):
    """(finding, number of events read when it was shown) for each finding of a live read,
    and the file's result: a finding shown at the end comes after the last event."""
    log = tmp_path / "boot.log"
    log.write_text(text)
    events: list = []
    shown: list = []
    analyse_path(str(log), DIALECTS, None, ReadOptions(live=True, second_process=False),
                 on_finding=lambda f: shown.append((f, len(events))),
                 on_event=events.append)
    whole = analyse_path(str(log), DIALECTS, None, ReadOptions(second_process=False))
    return shown, len(events), whole


# A NULL dereference in virtnet_send_command, outside a probe (arch/x86/mm/fault.c "BUG:
# kernel NULL pointer dereference", kernel/panic.c's "---[ end trace %016llx ]---" ending
# the report), then a disk that probes after.
OOPS_THEN_DISK = """\
pci 0000:00:03.0: [1af4:1041] type 00 class 0x020000 PCIe Endpoint
virtio_net virtio0 enp0s3: renamed from eth0
BUG: kernel NULL pointer dereference, address: 0000000000000008
Oops: 0000 [#1] PREEMPT SMP NOPTI
RIP: 0010:virtnet_send_command+0x10f/0x160 [virtio_net]
Call Trace:
 virtnet_set_rx_mode+0x8c/0x2a0 [virtio_net]
 __dev_set_rx_mode+0x5e/0x90
---[ end trace 0000000000000000 ]---
pci 0000:00:04.0: [1af4:1042] type 00 class 0x010000 PCIe Endpoint
virtio_blk virtio1: [vda] 2097152 512-byte logical blocks (1.07 GB/1.00 GiB)
"""


def _crashes_shown(tmp_path, text):
    shown, total, whole = read_when(tmp_path, text)
    return [(f, when) for f, when in shown if f.rule == "VD021"], total, whole


def test_a_crash_is_shown_when_its_report_ends(tmp_path):
    """VD021 waited for the end of the stream; a virtio driver's crash of no device whose
    report ends with its own line is whole there: shown then (before the disk's lines), as
    the report words it."""
    crashes, total, whole = _crashes_shown(tmp_path, OOPS_THEN_DISK)
    assert len(crashes) == 1
    finding, when = crashes[0]
    assert when < total, "shown only at the end of the stream"
    (final,) = [f for f in whole.findings if f.rule == "VD021"]
    assert (finding.line, finding.message, finding.severity) == \
        (final.line, final.message, final.severity)
    assert not whole.withdrawn


def test_a_probes_crash_of_a_device_waits_for_the_stream_end(tmp_path):
    """A crash in virtnet_probe is the NIC's only if it never reaches DRIVER_OK: a later
    boot of the log (here, a second probe that succeeds) makes it the run's. Shown at the
    end, as the whole log words it, never withdrawn."""
    text = ("pci 0000:00:03.0: [1af4:1041] type 00 class 0x020000 PCIe Endpoint\n"
            "BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
            "RIP: 0010:virtnet_probe+0x3a2/0x6d0 [virtio_net]\n"
            "Call Trace:\n"
            " virtio_dev_probe+0x19b/0x2a0 [virtio]\n"
            " really_probe+0x19b/0x3e0\n"
            "---[ end trace 0000000000000000 ]---\n"
            "virtio_net virtio0 enp0s3: renamed from eth0\n")
    crashes, total, whole = _crashes_shown(tmp_path, text)
    assert [when for _, when in crashes] == [total]
    assert not [w for w in whole.withdrawn if w.finding.rule == "VD021"]


def test_a_report_with_no_end_line_waits_for_the_stream_end(tmp_path):
    """A soft lockup (kernel/watchdog.c) ends with no line of its own: judged at the end."""
    text = ("pci 0000:00:03.0: [1af4:1041] type 00 class 0x020000 PCIe Endpoint\n"
            "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [swapper/0:1]\n"
            "RIP: 0010:virtnet_send_command+0x10f/0x160 [virtio_net]\n"
            "pci 0000:00:04.0: [1af4:1042] type 00 class 0x010000 PCIe Endpoint\n")
    crashes, total, whole = _crashes_shown(tmp_path, text)
    assert [when for _, when in crashes] == [total]
    assert [f for f in whole.findings if f.rule == "VD021"]


# The RTOS driver's own format (grammars/rtos_step.lark: "<dev>: abort: <reason>"), read from a
# pipe: a probe failure whose line gives no detail has no cause to wait for. The live
# check indexed the (empty) list of causes: an internal error, exit 2, on a one-line log
# (found by the benchmark's piped stream, whose 1 GB round stopped at line 50,142).
RTOS_ABORT = """\
virtio-net0: Step 1: reset
virtio-net0: abort: no memory for rings
"""


def test_a_probe_failure_without_detail_is_shown_from_a_pipe(tmp_path):
    shown, live, whole = read(tmp_path, RTOS_ABORT)
    final = [(f.rule, f.line, f.message) for f in whole.findings if f.rule == "VD015"]
    assert final and final[0][1] == 2, final
    assert [(f.rule, f.line, f.message) for f in live.findings if f.rule == "VD015"] == final
    assert all(f.message == final[0][2] for f in shown if f.rule == "VD015" and f.line == 2)


def test_the_rtos_abort_line_piped_exits_with_its_findings():
    """Through the command, as `serial-capture | virtiodiag analyze -` runs: exit 1 (an
    error finding), not 2 (an internal error)."""
    run = subprocess.run([sys.executable, "-m", "virtiodiag", "analyze", "-"],
                         input=RTOS_ABORT, capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, NO_COLOR="1"), timeout=120)
    assert run.returncode == 1, run.stderr
    assert "internal error" not in run.stderr
    assert "VD015" in run.stdout
