"""Devices announced under no name, in a log of many boots (model/unnamed.py).

A serial capture of repeated boots (the RTOS team's 50 runs) names a named device the same
way in every boot, so it is one record; an unnamed announcement is named by its place in
the boot's probe order, so the same machine booted 50 times is still its few devices, and
the structures a run keeps do not grow with the number of boots.
"""

from __future__ import annotations

from conftest import shared_dialects
from virtiodiag import limits
from virtiodiag.analysis import analyse_blocks
from virtiodiag.model.timeline import TIMELINE_LIMIT

# Apache NuttX, drivers/virtio/virtio-mmio.c virtio_mmio_init_device(): vrtinfo("VIRTIO
# version: %"PRIu32" device: %"PRIu32" vendor: %"PRIx32"\n", ...) and vrterr("Device Id 0\n")
# for an empty window, under syslog's CONFIG_SYSLOG_TIMESTAMP prefix ("[%5jd.%06ld] ",
# drivers/syslog/vsyslog.c) and _info()/_err()'s "%s: " __FUNCTION__. The board's windows
# are probed in one fixed order: a net device, two identical block devices, an empty slot.
NUTTX_BOOT = """\
[    0.010000] virtio_mmio_init_device: VIRTIO version: 2 device: 1 vendor: 554d4551
[    0.011000] virtio_mmio_init_device: VIRTIO version: 2 device: 2 vendor: 554d4551
[    0.012000] virtio_mmio_init_device: VIRTIO version: 2 device: 2 vendor: 554d4551
[    0.013000] virtio_mmio_init_device: Device Id 0
nsh: ping: 10 packets transmitted, 10 received
"""


def _model(text: str):
    return analyse_blocks("boots.log", [text.encode()], shared_dialects()).model


def _shape(model):
    return sorted((d.device_type, d.mmio_version, len(d.timeline))
                  for d in model.live_devices())


def test_fifty_boots_of_unnamed_devices_are_the_machines_four():
    one = _model(NUTTX_BOOT)
    fifty = _model(NUTTX_BOOT * 50)
    assert len(one.devices) == 4
    # The same four records, each with one announcement per boot on its timeline; the
    # two identical block devices of one boot stay two devices.
    assert len(fifty.devices) == 4
    assert _shape(fifty) == [("block", 2, 50), ("block", 2, 50), ("net", 2, 50),
                             ("placeholder", None, 50)]
    assert limits.over(fifty) == {}  # nothing past a limit: no device's events dropped


def test_what_a_run_keeps_does_not_grow_with_the_number_of_boots():
    def kept(model):
        return (len(model.devices), sum(len(d.aliases) for d in model.devices),
                sum(len(d.timeline) for d in model.devices),
                sum(d.timeline_dropped for d in model.devices))

    assert kept(_model(NUTTX_BOOT * 50)) == (4, 4, 4 * 50, 0)
    # 500 boots: the same records and names; each timeline at its bound (the first and
    # the latest entries), the announcements between counted, not lost.
    assert kept(_model(NUTTX_BOOT * 500)) == (4, 4, 4 * TIMELINE_LIMIT,
                                              4 * (500 - TIMELINE_LIMIT))


def test_a_boot_line_begins_the_probe_order_again():
    # Hermit under Firecracker: the VMM's start line (src/firecracker/src/main.rs,
    # info!("Running Firecracker v{}")) before each boot, and the unikernel's
    # "Found Virtio-FS device!" (kernel/src/drivers/fs/virtio_pci.rs) naming no device.
    boot = ("[anonymous-instance:main:INFO:src/firecracker/src/main.rs:321] "
            "Running Firecracker v1.5.0\n" + "[0][INFO] Found Virtio-FS device!\n" * 2)
    model = _model(boot * 3)
    assert [(d.device_type, len(d.timeline)) for d in model.live_devices()] == [
        ("fs", 3), ("fs", 3)]


def test_without_a_sign_of_a_reboot_nothing_is_joined_on_a_guess():
    # The same lines with no time and no boot line: two boots of one device each, or one
    # boot of two identical devices? The log cannot tell, so they stay apart.
    line = "virtio_mmio_init_device: VIRTIO version: 2 device: 2 vendor: 554d4551\n"
    assert len(_model(line * 3).live_devices()) == 3


def test_a_boot_whose_device_differs_gets_a_record_for_it():
    # Boot 2 has a console where boots 1 and 3 have the block device: the console is a
    # device of its own, boot 3's block device is boot 1's.
    def boot(device_id: int) -> str:
        return ("[    0.010000] virtio_mmio_init_device: VIRTIO version: 2 device: 1 vendor: 554d4551\n"
                f"[    0.011000] virtio_mmio_init_device: VIRTIO version: 2 device: {device_id} "
                "vendor: 554d4551\n")

    model = _model(boot(2) + boot(3) + boot(2))
    assert sorted((d.device_type, len(d.timeline)) for d in model.live_devices()) == [
        ("block", 2), ("console", 1), ("net", 3)]
