"""Attribution.feed's shortcut for a guest's or firmware's line that names no device and
only counts (model/only_counts.py, memoised by payload): the same report as
feed's whole path, on logs that have such lines (the kernel's banner, an oops's module
list, DRM's lines under no device) among lines that name devices."""

import pytest

from virtiodiag.model import attribution

from conftest import REPO, SAMPLES, caches_report, report_with_caches, shared_dialects
from virtiodiag.dialects.decoder import Caches

LOGS = [SAMPLES / "multi-device" / "combined.log",
        SAMPLES / "arm64-virt-mmio" / "combined.log",
        SAMPLES / "dyndbg-multi" / "combined.log",
        REPO / "tests" / "fixtures" / "attempts" / "rebind.log",
        REPO / "tests" / "fixtures" / "linux-eras" / "linux-6.x-lspci-listing.log"]


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.parent.name)
def test_a_line_that_only_counts_gives_the_report_of_the_whole_path(path, monkeypatch):
    taken = []

    def counted(payload, aliases):
        only = real(payload, aliases)
        taken.append(only)
        return only

    real = attribution.only_counts
    monkeypatch.setattr(attribution, "only_counts", counted)
    with_shortcut = report_with_caches(path, Caches(), shared_dialects())
    assert any(taken), "no line of this log took the shortcut"
    monkeypatch.setattr(attribution, "only_counts", lambda payload, aliases: False)
    assert report_with_caches(path, Caches(), shared_dialects()) == with_shortcut
    assert with_shortcut == caches_report(path, Caches())
