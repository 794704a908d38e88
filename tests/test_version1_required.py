"""A driver written for virtio 1.x devices only refuses a device without VIRTIO_F_VERSION_1
in its .validate(), before the probe: sound/virtio/virtio_card.c virtsnd_validate() (5.13+),
drivers/firmware/arm_scmi/virtio.c scmi_vio_validate(), drivers/net/can/virtio_can.c and
drivers/spi/spi-virtio.c print dev_err "device does not comply with spec version 1.x" and
return -EINVAL. Unlike virtio_pci_modern's "device uses modern interface but does not have
VIRTIO_F_VERSION_1", the device is usually a legacy one (a virtio-mmio device under QEMU's
default force-legacy=true), so the line says nothing of the mode. Before, the line was read
by no grammar: only the probe failure was reported, without its cause. The lines are
written from those format strings."""

from __future__ import annotations

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects

REFUSED = """\
[    0.700101] virtio-mmio a003a00.virtio_mmio: enabling device
[    0.731234] virtio_snd virtio5: device does not comply with spec version 1.x
[    0.731290] virtio_snd: probe of virtio5 failed with error -22
"""
# the same line as a terminal or a mail wraps it: "version 1.x" on a line of its own
WRAPPED = """\
[    0.731234] virtio_snd virtio5: device does not comply with spec
version 1.x
[    0.731290] virtio_snd: probe of virtio5 failed with error -22
"""


def _analyse(text: str):
    return analyse_blocks("v1.log", [text.encode()], shared_dialects())


def _device(result):
    (device,) = [d for d in result.model.devices if d.id == "virtio5"]
    return device


def test_a_1x_only_driver_refusal_is_the_probe_failure_s_cause_and_names_no_mode():
    result = _analyse(REFUSED)
    device = _device(result)
    assert device.device_type == "sound"
    assert device.version1_missing.payload.detail == "driver_requires"
    assert device.mode in (None, "unknown")  # not "modern": the transport may be legacy
    (v1,) = [f for f in result.findings if f.rule == "VD002"]
    assert v1.line == 2 and "supports only virtio 1.x" in v1.message
    assert "modern interface but" not in v1.message
    assert [f.rule for f in result.findings if f.rule == "VD015"] == ["VD015"]


def test_the_wrapped_line_is_still_the_cause():
    result = _analyse(WRAPPED)
    (v1,) = [f for f in result.findings if f.rule == "VD002"]
    assert v1.line == 1 and "supports only virtio 1.x" in v1.message


def test_the_modern_transport_s_own_refusal_still_says_modern():
    text = ("[    0.500000] virtio_net virtio0: virtio: device uses modern interface but "
            "does not have VIRTIO_F_VERSION_1\n")
    result = _analyse(text)
    device = _device_named(result, "virtio0")
    assert device.version1_missing.payload.detail != "driver_requires"
    (v1,) = [f for f in result.findings if f.rule == "VD002"]
    assert "modern interface" in v1.message


def _device_named(result, name):
    (device,) = [d for d in result.model.devices if d.id == name]
    return device
