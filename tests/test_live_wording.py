"""A finding shown live says what the report says about its line (or less, never
otherwise): each log read in process twice, as a pipe is (findings as their evidence
arrives) and as a file, and each live finding compared with the report's on its line."""

from __future__ import annotations

from pathlib import Path

from virtiodiag.options import AnalysisOptions, ReadOptions
from virtiodiag.pipeline import analyse_path

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

