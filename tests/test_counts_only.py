"""Attribution.feed's shortcut for a line that names no device and only counts
(model/only_counts.py, memoised by payload): the same report as feed's whole path, on
logs that have such lines (the kernel's banner, an oops's module list, DRM's lines under
no device; QEMU's trace of SCSI requests, data-plane starts, IOMMU and GPU commands,
which name no vdev) among lines that name devices."""

import pytest

from virtiodiag.model import attribution

from conftest import REPO, SAMPLES, caches_report, report_with_caches, shared_dialects
from virtiodiag.dialects.decoder import Caches

LOGS = [SAMPLES / "multi-device" / "combined.log",
        SAMPLES / "arm64-virt-mmio" / "combined.log",
        SAMPLES / "dyndbg-multi" / "combined.log",
        REPO / "tests" / "fixtures" / "attempts" / "rebind.log",
        REPO / "tests" / "fixtures" / "linux-eras" / "linux-6.x-lspci-listing.log"]
# Logs whose host lines take it too (a virtio-ccw status command's next line is its
# subchannel's: a host line between ends that wait, before the shortcut)
HOST_LOGS = [SAMPLES / "arm64-linux510-pci" / "combined.log",
             SAMPLES / "q35-intel-iommu" / "combined.log",
             SAMPLES / "9p-gpu-crypto" / "combined.log",
             SAMPLES / "s390x-ccw-virtio" / "combined.log",
             # a VMM's lines that name a device by its type only, or by none
             REPO / "tests" / "fixtures" / "wild" / "cloud-hypervisor.log",
             REPO / "tests" / "fixtures" / "wild" / "firecracker.log"]


@pytest.mark.parametrize("path", LOGS + HOST_LOGS, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_a_line_that_only_counts_gives_the_report_of_the_whole_path(path, monkeypatch):
    taken = []

    def counted(payload, aliases):
        only = real(payload, aliases)
        taken.append((payload, only))
        return only

    real = attribution.only_counts
    monkeypatch.setattr(attribution, "only_counts", counted)
    dialects = shared_dialects()
    with_shortcut = report_with_caches(path, Caches(), dialects)
    assert any(only for _, only in taken), "no line of this log took the shortcut"
    if path in HOST_LOGS:
        sides = {name: facts.side for name, facts in dialects.facts.items()}
        assert any(only and sides.get(payload.dialect) == "host" for payload, only in taken), \
            "no host line of this log took the shortcut"
    monkeypatch.setattr(attribution, "only_counts", lambda payload, aliases: False)
    assert report_with_caches(path, Caches(), dialects) == with_shortcut
    assert with_shortcut == caches_report(path, Caches())
