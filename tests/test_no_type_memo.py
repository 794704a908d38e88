"""discovery.infer_type remembers the payloads whose fields show no device type (a device of
no known type asks on each of its lines: QEMU's status writes of a vdev): the same
report as asking every time, on logs with such devices; a payload that shows a type, or
a Windows PCI function's ids, is never remembered so."""

import pytest

from conftest import REPO, SAMPLES, report_with_caches, shared_dialects
from virtiodiag.dialects.decoder import Caches
from virtiodiag.events import Event, Payload
from virtiodiag.model import discovery
from virtiodiag.model.device import Device

LOGS = [SAMPLES / "multi-device" / "combined.log",
        SAMPLES / "arm64-virt-mmio" / "combined.log",
        SAMPLES / "s390x-ccw-virtio" / "combined.log",
        SAMPLES / "q35-intel-iommu" / "combined.log",
        REPO / "tests" / "fixtures" / "wild" / "cloud-hypervisor.log",
        REPO / "tests" / "fixtures" / "wild" / "firecracker.log"]


class _Counted(dict):
    """The memo, counting the look-ups that found the payload asked about."""

    found = 0

    def get(self, key, default=None):
        value = super().get(key, default)
        if value is not None:
            _Counted.found += 1
        return value


class _Forgetful(dict):
    """A memo that keeps nothing: every call asks the fields."""

    def __setitem__(self, key, value):
        pass


@pytest.mark.parametrize("path", LOGS, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_the_remembered_payloads_give_the_report_of_asking_every_time(path, monkeypatch):
    dialects = shared_dialects()
    _Counted.found = 0
    monkeypatch.setattr(discovery, "_NO_TYPE", _Counted())
    remembered = report_with_caches(path, Caches(), dialects)
    monkeypatch.setattr(discovery, "_NO_TYPE", _Forgetful())
    assert report_with_caches(path, Caches(), dialects) == remembered
    if path.parent.name in ("multi-device", "arm64-virt-mmio"):
        assert _Counted.found, "no line of this log took the shortcut"


def _event(fields, kind="status_write", detail=None, line=1):
    return Event(Payload("made-up", kind, tuple(fields), detail), "made-up.log", line,
                 "a line", seq=line)


def test_a_payload_that_shows_a_type_or_pci_ids_is_asked_every_time(monkeypatch):
    monkeypatch.setattr(discovery, "_NO_TYPE", {})
    nothing = _event([("device", "0x5555aaaa0000"), ("status", 3)])
    windows = _event([("device", "PCI\\VEN_1AF4&DEV_1041&SUBSYS_11001AF4&REV_01\\3&aa11&0&18")],
                     kind="device_found")
    # a transitional device id of no type the spec lists: the function's ids, no type
    unlisted = _event([("device", "PCI\\VEN_1AF4&DEV_103F&SUBSYS_11001AF4&REV_01\\3&aa11&0&20")],
                      kind="device_found", line=2)
    typed = _event([("device", "0x5555aaaa0000"), ("trace_event", "virtio_blk_req_complete")],
                   kind="queue_io")
    drm = _event([("device", "0000:00:02.0")], kind="note", detail="drm")
    for _ in range(2):  # asked again, by another device of no type: the same answers
        for event, device_type, pci_device in ((nothing, None, None),
                                               (windows, "net", 0x1041),
                                               (unlisted, None, 0x103F),
                                               (typed, "block", None),
                                               (drm, "gpu", None)):
            device = Device(1)
            discovery.infer_type(device, event.payload.by_name, event.payload.detail, event)
            assert (device.device_type, device.pci_device) == (device_type, pci_device)
    assert list(discovery._NO_TYPE.values()) == [nothing.payload]
    # a device that has a type keeps it (infer_type is asked only without one)
    device = Device(2)
    device.device_type = "rng"
    discovery.infer_type(device, nothing.payload.by_name, None, nothing)
    assert device.device_type == "rng"
