"""Formats from the eleventh Linux-guest judge (2026-12-04), written from their sources; the
held-out logs that showed them are listed in docs/held-out-logs.md (their text is not here).

* drivers/gpu/drm/virtio/virtgpu_kms.c virtio_gpu_get_capsets(): DRM_INFO("cap set %d: id
  %d, max-version %d, max-size %d\\n") (4.4+), printed for each cap set once the device
  answered the driver's GET_CAPSET_INFO on the control queue. virtio_gpu_init() calls it
  after virtio_device_ready(): the GPU was at DRIVER_OK. A held-out guest's "dmesg | grep
  drm" showed the GPU found and its cap sets read, and the report said its handshake was
  not shown. Each GPU prints one "cap set 0:" line; the lines of its other cap sets follow
  at once, and are not a second GPU's.
* The same function's DRM_ERROR "timed out waiting for cap set %d" (4.4+) and "invalid
  capset id %u" (5.16+): the device did not answer that command after DRIVER_OK (or
  answered an id outside 1-63). Read as a driver error of a GPU never driven (VD004 said
  no driver took it), it is the GPU's failure past DRIVER_OK, with its own hint.
Lines written from those format strings, with made-up values."""

import format_tables


def _run(text, dialects):
    return format_tables.analyse_text("guest.log", text, dialects)


GREPPED_DRM = (
    "$ dmesg | grep drm\n"
    "[    2.301844] [drm] pci: virtio-gpu-pci detected at 0000:00:05.0\n"
    "[    2.302960] [drm] features: +virgl -edid -resource_blob -host_visible\n"
    "[    2.302962] [drm] features: -context_init\n"
    "[    2.303511] [drm] number of scanouts: 1\n"
    "[    2.303515] [drm] number of cap sets: 2\n"
    "[    2.311070] [drm] cap set 0: id 1, max-version 1, max-size 308\n"
    "[    2.311874] [drm] cap set 1: id 2, max-version 2, max-size 776\n")


def test_a_gpus_first_cap_set_implies_driver_ok(dialects):
    """The GPU virtio_gpu found reached DRIVER_OK: its first cap set came from the device
    (the report said its handshake was not shown, and VD004 that nothing drove it)."""
    result = _run(GREPPED_DRM, dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "gpu" and device.address == "0000:00:05.0"
    assert device.driver_ok_implied is not None
    assert device.driver_ok_implied.line == 7
    assert "cap set" in device.driver_ok_implied_why
    assert not [f for f in result.findings if f.rule == "VD004"]
    assert not [f for f in result.findings if f.severity in ("error", "warning")]


def test_the_next_cap_sets_are_not_another_gpus(dialects):
    """Two GPU functions, the first one's cap sets only: the second's driver is not shown
    to have finished (a "cap set 1:" line is the first GPU's, printed right after its
    "cap set 0:")."""
    result = _run(
        "[    1.902210] [drm] pci: virtio-vga detected at 0000:00:02.0\n"
        "[    1.904471] [drm] pci: virtio-gpu-pci detected at 0000:00:06.0\n"
        "[    1.915530] [drm] number of cap sets: 2\n"
        "[    1.921002] [drm] cap set 0: id 1, max-version 1, max-size 308\n"
        "[    1.921540] [drm] cap set 1: id 2, max-version 2, max-size 776\n", dialects)
    first, second = sorted(result.model.live_devices(), key=lambda d: d.address)
    assert first.address == "0000:00:02.0" and first.driver_ok_implied is not None
    assert first.driver_ok_implied.line == 4
    assert second.address == "0000:00:06.0" and second.driver_ok_implied is None


def test_a_cap_set_under_its_devices_prefix(dialects):
    """drm_info's shape ("<driver> <device>: [drm] ..."): the named device is a GPU at
    DRIVER_OK."""
    result = _run(
        "[    0.911230] virtio_gpu virtio3: [drm] number of cap sets: 1\n"
        "[    0.918774] virtio_gpu virtio3: [drm] cap set 0: id 2, max-version 2, max-size 1376\n",
        dialects)
    (device,) = result.model.live_devices()
    assert any("virtio3" in alias for alias in device.aliases)
    assert device.device_type == "gpu" and device.driver_ok_implied.line == 2


def test_a_cap_set_timeout_is_the_gpus_failure_past_driver_ok(dialects):
    """The device did not answer GET_CAPSET_INFO: an error of the GPU, which virtio_gpu
    had set DRIVER_OK on (not a GPU no driver took)."""
    result = _run(
        "[    1.902210] [drm] pci: virtio-gpu-pci detected at 0000:00:04.0\n"
        "[    1.915530] [drm] number of cap sets: 1\n"
        "[    6.921002] [drm:virtio_gpu_get_capsets [virtio_gpu]] *ERROR* timed out waiting "
        "for cap set 0\n", dialects)
    (device,) = result.model.live_devices()
    assert device.driver_ok_implied is not None and device.driver_ok_implied.line == 3
    (failed,) = [f for f in result.findings if f.rule == "VD006"]
    assert failed.severity == "error" and failed.device == device.id
    assert "did not answer within 5 s" in failed.hint
    assert not [f for f in result.findings if f.rule == "VD004"]


def test_an_invalid_capset_id_under_the_gpus_prefix(dialects):
    """5.16+: an id outside 1-63 (drm_err's "<driver> <device>: [drm] *ERROR*" shape)."""
    result = _run(
        "[    0.911230] virtio_gpu virtio2: [drm] number of cap sets: 1\n"
        "[    0.918774] virtio_gpu virtio2: [drm] *ERROR* invalid capset id 0\n", dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "gpu" and device.driver_ok_implied.line == 2
    (failed,) = [f for f in result.findings if f.rule == "VD006"]
    assert failed.severity == "error" and "outside 1-63" in failed.hint
