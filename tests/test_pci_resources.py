"""A BAR the PCI core found no address space for (grammars/linux_pci_resources.lark,
written from drivers/pci/setup-res.c pci_assign_resource(): "BAR %d: no space for %pR",
"BAR %d: failed to assign %pR", 6.8+ "%s %pR: can't assign; no space"), and why it
matters to virtio: virtio_pci_modern_dev.c virtio_pci_find_capability() skips a capability
whose BAR has no length, so vp_modern_probe() prints "leaving for legacy driver" for a
device whose modern capabilities are in that BAR (model/attempts.unassigned_bar, VD001)."""

from __future__ import annotations

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects

TRANSITIONAL = """\
[    0.300300] pci 0000:00:03.0: [1af4:1000] type 00 class 0x020000
[    0.301000] pci 0000:00:02.0: [1234:1111] type 00 class 0x030000
[    0.400000] pci 0000:00:02.0: BAR 0: no space for [mem size 0x01000000 pref]
[    0.400100] pci 0000:00:1f.0: bridge window [mem size 0x00200000 64bit pref]: can't assign; no space
[    0.400200] pci 0000:00:03.0: BAR 4: no space for [mem size 0x00004000 64bit pref]
[    0.400300] pci 0000:00:03.0: BAR 4: failed to assign [mem size 0x00004000 64bit pref]
[    1.000000] virtio-pci 0000:00:03.0: virtio_pci: leaving for legacy driver
[    1.200000] virtio_net virtio0 ens3: renamed from eth0
[    5.000000] Run /init as init process
"""


def _analyse(text: str):
    return analyse_blocks("bars.log", [text.encode()], shared_dialects())


def test_the_lost_modern_bar_is_the_cause_of_the_fallback():
    result = _analyse(TRANSITIONAL)
    (finding,) = [f for f in result.findings if f.rule == "VD001"]
    assert finding.severity == "error" and finding.line == 7
    assert "BAR 4 without address space (line 5)" in finding.message
    assert [r["line"] for r in finding.related] == [5]


def test_another_functions_bar_makes_no_device():
    # the emulated VGA's BAR 0 and a bridge window: no virtio device sits there
    result = _analyse(TRANSITIONAL)
    assert [d.address for d in result.model.live_devices()] == ["0000:00:03.0"]
    (device,) = result.model.live_devices()
    assert [e.line for e in device.unassigned_bars] == [5, 6]


def test_without_the_bar_line_the_fallback_stays_a_legacy_only_device():
    text = "".join(line + "\n" for line in TRANSITIONAL.splitlines()
                   if "0000:00:03.0: BAR" not in line)
    (finding,) = [f for f in _analyse(text).findings if f.rule == "VD001"]
    assert finding.severity == "warning" and "no modern capability" in finding.message
