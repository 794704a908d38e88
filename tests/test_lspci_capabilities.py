"""lspci -v's virtio capability lines, written from pciutils' formats (ls-caps.c
"Capabilities: [%02x] ", ls-caps-vendor.c show_vendor_caps() "Vendor Specific Information: "
and, for vendor 0x1af4's ids 0x1000-0x107f, show_vendor_caps_virtio() "VirtIO: %s" with
the capability's cfg_type named CommonCfg, Notify, ISR, DeviceCfg, SharedMemory or
<unknown>). The lines name no function: they are the function listed just above. Before,
they were not read (a function listed without "1.0" in its name was "mode unknown"); now
the function has the virtio 1.0 interface (mode modern, what it offers)."""

from __future__ import annotations

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects

BLOCKS = """\
00:03.0 Ethernet controller: Red Hat, Inc. Virtio network device
\tSubsystem: Red Hat, Inc. Device 0001
\tFlags: bus master, fast devsel, latency 0, IRQ 11
\tCapabilities: [98] MSI-X: Enable+ Count=3 Masked-
\tCapabilities: [84] Vendor Specific Information: VirtIO: <unknown>
\tCapabilities: [70] Vendor Specific Information: VirtIO: Notify
\tCapabilities: [60] Vendor Specific Information: VirtIO: DeviceCfg
\tCapabilities: [50] Vendor Specific Information: VirtIO: ISR
\tCapabilities: [40] Vendor Specific Information: VirtIO: CommonCfg
\tKernel driver in use: virtio-pci

00:04.0 SCSI storage controller: Red Hat, Inc. Virtio block device
\tSubsystem: Red Hat, Inc. Device 0002
\tFlags: bus master, fast devsel, latency 0, IRQ 10
\tI/O ports at c000 [size=64]
\tKernel driver in use: virtio-pci

00:05.0 Unclassified device [00ff]: Red Hat, Inc. Virtio RNG
\tCapabilities: [40] Vendor Specific Information: VirtIO: CommonCfg
"""


def _devices(text: str):
    result = analyse_blocks("lspci.log", [text.encode()], shared_dialects())
    return result, {d.address: d for d in result.model.devices}


def test_capability_lines_are_the_function_listed_above_them():
    result, by_address = _devices(BLOCKS)
    assert sorted(by_address) == ["0000:00:03.0", "0000:00:04.0", "0000:00:05.0"]
    net, block, rng = (by_address[a] for a in sorted(by_address))
    assert [e.get("pci_cap") for e in net.timeline][1:] == [
        "<unknown>", "Notify", "DeviceCfg", "ISR", "CommonCfg"]
    assert (net.mode, block.mode, rng.mode) == ("modern", "unknown", "modern")
    assert net.pci_caps is not None and net.pci_caps.line == 6  # Notify, the first known
    assert [e.line for e in rng.timeline] == [18, 19]
    # still known from a listing only: nothing says a driver took them
    assert {f.rule for f in result.findings} <= {"VD004"}


def test_capability_lines_with_no_function_listed_before_make_no_device():
    lines = ("\tCapabilities: [84] Vendor Specific Information: VirtIO: CommonCfg\n"
             "\tCapabilities: [70] Vendor Specific Information: VirtIO: Notify\n")
    result, by_address = _devices(lines)
    assert result.model.devices == [] and by_address == {}
