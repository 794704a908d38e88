"""A FreeBSD panic of a virtqueue assertion is the crash of the device whose queue it names.

Written from sys/dev/virtio/virtqueue.c's VQASSERT(): KASSERT's panic message "%s: %s -
<why>" (__func__, the queue's vq_name: its driver makes it from the device's unit, if_vtnet.c
"vtnet0-0 tx" / "vtnet0-rx0", virtio_blk.c "vtblk0 request"), printed by kern_shutdown.c
vpanic() as "panic: %s" wherever the console's cursor was, with values of our own (the class
comes from a posted riscv64 panic after a test runner's report, which virtiodiag passed with
exit 0, held out of the repository).
"""

from virtiodiag.analysis import analyse_blocks


def _run(text, dialects):
    result = analyse_blocks("console.log", [text.encode()], dialects)
    return result, [(f.rule, f.severity, f.line) for f in result.findings]


def test_a_virtqueue_assertion_is_its_devices_crash(dialects):
    text = ("panic: virtqueue_dequeue: vtblk0 request - no cookie for index 12\n"
            "cpuid = 1\n"
            "KDB: stack backtrace:\n"
            "db_trace_self_wrapper() at db_trace_self_wrapper+0x2b/frame 0xfffffe0000d3c8a0\n"
            "vpanic() at vpanic+0x17f/frame 0xfffffe0000d3c8f0\n"
            "virtqueue_dequeue() at virtqueue_dequeue+0x1a4/frame 0xfffffe0000d3c950\n"
            "vtblk_vq_intr() at vtblk_vq_intr+0x51/frame 0xfffffe0000d3c990\n")
    result, findings = _run(text, dialects)
    assert findings == [("VD021", "error", 1)]
    (device,) = result.model.live_devices()
    assert device.guest_name == "vtblk0" and device.device_type == "block"
    assert result.findings[0].device == device.id


def test_the_panic_after_a_test_runners_report_on_the_same_line(dialects):
    text = ("sys/net/if_test:main  ->  panic: vq_ring_free_chain: vtnet1-rx0 - failed to "
            "free entire desc chain, remaining: 3\n"
            "KDB: stack backtrace:\n"
            "virtqueue_dequeue() at virtqueue_dequeue+0x4a\n")
    result, findings = _run(text, dialects)
    assert findings == [("VD021", "error", 1)]
    (device,) = result.model.live_devices()
    assert device.guest_name == "vtnet1" and device.device_type == "net"


def test_another_panic_after_other_text_is_not_read(dialects):
    # Only a virtqueue function's panic is read after other text: "panic: " is common.
    result, findings = _run("worker 3: fatal: panic: page fault\n", dialects)
    assert findings == []
    assert result.model.live_devices() == []
