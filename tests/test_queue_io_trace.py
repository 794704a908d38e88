"""QEMU's device side of the virtqueues and its vhost events, from a real capture
(samples/trace-queues-vhost-user, scripts/capture-extra.sh: -trace 'virt*' -trace
'vhost_*', an emulated virtio-blk, a virtio-rng, a NIC and a vhost-user-blk disk served by
qemu-storage-daemon).

virtqueue_pop / virtqueue_flush name their queue by its VirtQueue pointer only: the model
gives them to the queue an earlier virtio_queue_notify / virtio_notify line named with its
device, and counts the buffers each queue took and returned. vhost_* lines (the memory map
QEMU hands a back-end, vhost-user messages, the back-end's start and stop) name no device:
read and counted, not "unrecognised virtio lines".
"""

from __future__ import annotations

from conftest import SAMPLES, analyse_json, shared_dialects
from virtiodiag.analysis import analyse_blocks

SAMPLE = SAMPLES / "trace-queues-vhost-user"
BLK, RNG, NET, VHOST = ("vdev:0x55680f639840", "vdev:0x55680f751ba0", "vdev:0x55680f51a410",
                        "vdev:0x55680f863ff0")


def _model(text: bytes, name: str = "trace.log"):
    return analyse_blocks(name, [text], shared_dialects())


def _device(model, alias):
    (device,) = [d for d in model.devices if alias in d.aliases]
    return device


def test_every_vhost_and_virtqueue_line_is_read():
    # before: 9,579 lines "look like virtio messages but matched no grammar" (VD016)
    report = analyse_json(SAMPLE / "trace.log")
    assert report["stats"]["unrecognised_virtio_lines"] == 0
    assert report["stats"]["events"] == report["stats"]["lines"] == 9743
    assert not report["findings"]


def test_buffers_each_queue_took_and_returned():
    model = _model((SAMPLE / "trace.log").read_bytes()).model
    blk, rng, net = (_device(model, a) for a in (BLK, RNG, NET))
    # the disk: SeaBIOS's one read (polled), Linux's three, all on queue 0
    assert (blk.queues[0].buffers_taken, blk.queues[0].buffers_used) == (4, 4)
    # counted afresh in Linux's attempt: its first used buffer is line 9659, not SeaBIOS's 938
    assert blk.queues[0].buffers_used_after_driver_ok == 3
    assert blk.queues[0].first_buffer_used_after_driver_ok.line == 9659
    assert (rng.queues[0].buffers_taken, rng.queues[0].buffers_used) == (3, 3)
    # the NIC's three queues were kicked once each and returned nothing (no traffic)
    assert sorted(net.queues) == [0, 1, 2]
    assert all(q.notifies == 1 and q.buffers_used == 0 for q in net.queues.values())
    # the vhost-user disk's queue is the back-end's: QEMU traces no kick of it
    assert not _device(model, VHOST).queues


def test_used_buffers_never_notified_are_silent_interrupts():
    # The same capture with the disk's virtio_notify_irqfd lines taken out: QEMU returned
    # used buffers after Linux's DRIVER_OK and never notified. Before, the disk's 6 kicks
    # were under VD014's threshold of 8 and nothing was reported.
    lines = (SAMPLE / "trace.log").read_text().splitlines(keepends=True)
    cut = "".join(line for line in lines
                  if not line.startswith("virtio_notify_irqfd vdev 0x55680f639840 "))
    result = _model(cut.encode())
    (hit,) = [f for f in result.findings if f.rule == "VD014"]
    assert hit.severity == "warning"
    assert hit.line == cut.splitlines().index(
        "virtqueue_flush vq 0x7f2e318a6010 count 1", 9000) + 1  # Linux's first
    assert "returned 3 used buffer(s) on queue 0 after DRIVER_OK" in hit.message


def test_kicks_without_used_buffers_owe_no_interrupt():
    # A trace that shows the queues' device side: the NIC kicked 9 times (over the old
    # threshold) but QEMU returned no buffer on it: no interrupt was owed.
    text = (SAMPLE / "trace.log").read_text()
    kicks = "virtio_queue_notify vdev 0x55680f51a410 n 0 vq 0x7f2e318cd010\n" * 9
    result = _model((text + kicks).encode())
    assert _device(result.model, NET).notify_count == 12
    assert not [f for f in result.findings if f.rule == "VD014"]
