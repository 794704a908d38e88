"""Linux's "Kernel panic - not syncing: %s" (kernel/panic.c panic()) is a crash report:
read as oops[panic] with its reason, joined with the call trace panic() dumps, and tied
to the virtio device whose driver the trace (in a probe) or the reason names. Before, the
line was read by no grammar: a boot that panicked in virtio_blk's probe gave exit 0.
The console lines around the panic are those of samples/trace-queues-vhost-user's
console.log (Linux 6.1 under QEMU 7.2); the panic and its trace are written from
kernel/panic.c and lib/dump_stack.c's formats."""

from __future__ import annotations

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects

HEAD = """\
[    4.869872] ACPI: \\_SB_.LNKC: Enabled at IRQ 11
[    4.874120] virtio-pci 0000:00:03.0: enabling device (0000 -> 0003)
[    4.901233] virtio-pci 0000:00:04.0: enabling device (0000 -> 0003)
"""
PROBING = "[    6.181000] virtio_blk virtio1: 1/0/0 default/read/poll queues\n"
PANIC = "[    6.181171] Kernel panic - not syncing: virtio_blk: cannot allocate virtqueue\n"
TRACE = """\
[    6.181502] CPU: 0 PID: 98 Comm: insmod Not tainted 6.1.0-57-amd64 #1  Debian 6.1.192-3
[    6.182311] Call Trace:
[    6.182400]  <TASK>
[    6.182501]  dump_stack_lvl+0x44/0x5c
[    6.182633]  panic+0x118/0x2ed
[    6.182742]  virtblk_probe+0x3a2/0x6d0 [virtio_blk]
[    6.182881]  virtio_dev_probe+0x1a5/0x2d0 [virtio]
[    6.183010]  really_probe+0xdb/0x380
[    6.183121]  </TASK>
"""
END = "[    6.183300] ---[ end Kernel panic - not syncing: virtio_blk: cannot allocate virtqueue ]---\n"


def _analyse(text: str):
    return analyse_blocks("panic.log", [text.encode()], shared_dialects())


def _crashes(result):
    return [f for f in result.findings if f.rule == "VD021"]


def test_the_panic_line_is_a_crash_report_with_its_reason():
    result = _analyse(PANIC)
    (head, frames), = result.model.crashes
    assert head.payload.detail == "panic"
    assert head.get("message") == "virtio_blk: cannot allocate virtqueue"
    assert frames == []


def test_a_panic_in_a_probe_is_the_probed_device_s_crash():
    result = _analyse(HEAD + PROBING + PANIC + TRACE + END)
    (hit,) = _crashes(result)
    assert hit.severity == "error" and hit.line == 5
    assert "virtblk_probe [virtio_blk] while its driver probed this device" in hit.message
    device = next(d for d in result.model.devices if d.crash is not None)
    assert device.address == "0000:00:04.0"


def test_a_panic_whose_trace_names_a_driver_no_device_fits_is_run_wide():
    # No line says which function is the block device: the crash is the driver's.
    result = _analyse(HEAD + PANIC + TRACE + END)
    (hit,) = _crashes(result)
    assert hit.device is None or hit.device == "-"
    assert "virtblk_probe" in hit.message and "a kernel panic" in hit.message
    assert not any(d.crash for d in result.model.devices)


def test_a_panic_whose_reason_names_the_driver_is_its_device_s():
    # no call trace at all: the reason "virtio_blk: ..." names the driver
    result = _analyse(HEAD + PROBING + PANIC + END)
    (hit,) = _crashes(result)
    assert hit.line == 5
    assert "the virtio block driver" in hit.message
    device = next(d for d in result.model.devices if d.crash is not None)
    assert device.address == "0000:00:04.0"


def test_a_panic_of_no_virtio_driver_is_no_virtio_finding():
    result = _analyse('[    1.806115] VFS: Cannot open root device "vda" or unknown-block(0,0): '
                      "error -6\n[    1.806902] Kernel panic - not syncing: VFS: Unable to mount "
                      "root fs on unknown-block(0,0)\n")
    assert len(result.model.crashes) == 1
    assert not _crashes(result)


def test_a_handshake_the_panic_ended_is_not_a_driver_that_gave_up():
    # The kernel stopped at the panic: the driver neither hung nor gave up by itself.
    # Before: "the run went on (the guest printed more, line 4) but DRIVER_OK was never
    # set: the driver hung or gave up without resetting the device".
    result = _analyse("virtio_set_status vdev 0x55d0a7b3c010 val 0\n"
                      "virtio_set_status vdev 0x55d0a7b3c010 val 1\n"
                      "virtio_set_status vdev 0x55d0a7b3c010 val 3\n"
                      "[    0.512000] Kernel panic - not syncing: VFS: Unable to mount root fs\n")
    (hit,) = [f for f in result.findings if f.rule == "VD003"]
    assert hit.line == 3
    assert "the kernel panicked (line 4) before DRIVER_OK was set" in hit.message
    assert "gave up" not in hit.message
