"""Lines that only move their kind's latest (the PCI core's scan lines, the kernel starting
init) are held by the decoder and applied together, without an Event each
(model/last_seen.py). The model must be the one feeding each line makes: the report with
every event watched (each line through Attribution.feed) is the same, and the facts read
from the latest such line (a log cut in the PCI scan) stand."""

import io
import json

import pytest

from virtiodiag.analysis import Analysis
from virtiodiag.dialects import load_dialects
from virtiodiag.model import last_seen
from virtiodiag.options import ReportOptions
from virtiodiag.reports import get_reporter

from conftest import SAMPLES

DIALECTS = load_dialects()

# Linux's PCI core scanning a bus (drivers/pci/probe.c pci_setup_device() "[%04x:%04x] type
# %02x class %#08x", __pci_read_base() "reg 0x%x: %pR", drivers/pci/setup-res.c
# pci_assign_resource() "BAR %d: assigned %pR") and starting init (init/main.c
# run_init_process() "Run %s as init process", free_initmem_default()'s "Freeing unused
# kernel memory: %ldK"), as tests/test_log_end.py writes them.
SCAN = (b"[    1.42] pci 0000:00:02.0: [1af4:1003] type 00 class 0x078000\n"
        b"[    1.42] pci 0000:00:02.0: reg 0x10: [io  0x0000-0x003f]\n"
        b"[    1.42] pci 0000:00:02.0: reg 0x20: [mem 0x00000000-0x00003fff 64bit pref]\n"
        b"[    1.43] pci 0000:00:03.0: [1af4:1001] type 00 class 0x010000\n"
        b"[    1.43] pci 0000:00:03.0: reg 0x10: [io  0x0000-0x007f]\n"
        b"[    1.44] pci 0000:00:02.0: BAR 4: assigned [mem 0x8000004000-0x8000007fff 64bit pref]\n"
        b"[    1.44] pci 0000:00:03.0: BAR 1: assigned [mem 0x10082000-0x10082fff]\n")
INIT = (b"[    2.10] Freeing unused kernel memory: 1024K\n"
        b"[    2.11] Run /sbin/init as init process\n")
# SeaBIOS's pci_init_device() "PCI: init bdf=%pP id=%04x:%04x": the firmware speaking
FIRMWARE = b"PCI: init bdf=00:03.0 id=1af4:1001\n"


@pytest.fixture
def held(monkeypatch):
    """The lines each LastSeen.settle applied (by kind and dialect, each in order)."""
    taken: list[tuple] = []
    settle = last_seen.LastSeen.settle

    def spy(self):
        for by_dialect in self.held.values():
            for items in by_dialect.values():
                taken.extend(items)
        return settle(self)

    monkeypatch.setattr(last_seen.LastSeen, "settle", spy)
    return taken


def _report(data: bytes, watched: bool) -> tuple[str, list[str]]:
    """The JSON report and the findings' messages of ``data`` read as one log; with
    ``watched``, every event goes through an on_event (nothing held)."""
    analysis = Analysis("log", DIALECTS, on_event=(lambda event: None) if watched else None)
    analysis.feed_block(data)
    analysis.close_input()
    result = analysis.finish()
    out = io.StringIO()
    get_reporter("json").render([result], out, ReportOptions())
    return out.getvalue(), [f.message for f in result.findings]


@pytest.mark.parametrize("data", [
    SCAN + INIT + SCAN,  # the second scan's lines are repeated ones: held, the log ends there
    SCAN + FIRMWARE + SCAN + INIT,  # the firmware spoke: the first held line changes the era
    SCAN + INIT + SCAN + INIT + FIRMWARE + INIT,
], ids=["cut-in-scan", "after-firmware", "init-last"])
def test_held_lines_give_the_model_feeding_each_gives(held, data):
    report, messages = _report(data, watched=False)
    kinds = [item[0].kind for item in held]
    assert "pci_scan" in kinds  # the path was taken (repeated lines only: the line memo's)
    assert (report, messages) == _report(data, watched=True)
    if data.endswith(SCAN):
        # Eras.last is the held scan line's Event, the same object as Ending.pci_scan
        assert any("while the PCI core was still scanning" in m for m in messages), messages


def test_watched_events_hold_nothing(held):
    _report(SCAN + SCAN + INIT + INIT, watched=True)
    assert held == []


def test_a_repeated_boot_log_reads_the_same_held_or_not(held):
    """A real console printed twice (every line of the second copy a repeated one); its
    CRs taken out (the serial port's, kept in the sample): a line that cleaning changes is
    never memoised, so never held."""
    data = (SAMPLES / "arm64-virt-pci" / "console.log").read_bytes().replace(b"\r\n", b"\n")
    report, _ = _report(data + data, watched=False)
    assert {item[0].kind for item in held} >= {"pci_scan", "userspace"}
    assert report == _report(data + data, watched=True)[0]


# init/main.c "Kernel command line: %s": a virtio module parameter that decides a
# transitional device's interface (joining.apply_kernel_parameters), so the report depends
# on which command line is the latest; drivers/pci/pci.c pci_enable_device's "enabling
# device (%04x -> %04x)" of the transitional function SCAN lists (virtio_pci)
LEGACY_ON = b"[    0.01] Kernel command line: console=ttyS0 virtio_pci.force_legacy=1\n"
LEGACY_OFF = b"[    0.01] Kernel command line: console=ttyS0 virtio_pci.force_legacy=0\n"
LEGACY_ON_AGAIN = b"[    0.01] Kernel command line: console=hvc0 virtio_pci.force_legacy=1\n"
PROBE = b"[    1.50] virtio-pci 0000:00:03.0: enabling device (0000 -> 0003)\n"


@pytest.mark.parametrize("data, forced", [
    # the third boot's command lines are repeated ones: held, the last one decides
    (SCAN + LEGACY_ON + LEGACY_OFF + INIT + SCAN + LEGACY_ON + LEGACY_OFF + SCAN + LEGACY_OFF
     + LEGACY_ON + PROBE, True),
    (SCAN + LEGACY_OFF + LEGACY_ON + INIT + SCAN + LEGACY_OFF + LEGACY_ON + SCAN + LEGACY_ON
     + LEGACY_OFF + PROBE, False),
    # a command line read for the first time is fed after the held ones: it is the latest
    (SCAN + LEGACY_ON + LEGACY_OFF + INIT + SCAN + LEGACY_ON + LEGACY_OFF + SCAN + LEGACY_ON
     + LEGACY_OFF + LEGACY_ON_AGAIN + PROBE, True),
], ids=["on-last", "off-last", "fed-after-held"])
def test_held_command_lines_keep_their_parameters_in_log_order(held, data, forced):
    report, messages = _report(data, watched=False)
    assert "cmdline" in [item[0].kind for item in held]
    assert (report, messages) == _report(data, watched=True)
    assert ("virtio_pci.force_legacy=1 on the kernel command line" in report) is forced


# kernel/reboot.c kernel_power_off() "Power down", kernel_halt() "System halted",
# kernel_restart() "Restarting system" (pr_emerg under the "reboot: " pr_fmt): the guest
# ends each boot itself. A power-off only moves Ending.finished (held as the scan lines
# are); a restart begins the next boot's eras (fed: Eras.rebooted).
POWER_OFF = b"[    3.00] reboot: Power down\n"
HALTED = b"[    3.10] reboot: System halted\n"
RESTART = b"[    3.20] reboot: Restarting system\n"


@pytest.mark.parametrize("data", [
    SCAN + INIT + POWER_OFF + SCAN + INIT + POWER_OFF + SCAN + INIT + POWER_OFF,
    SCAN + INIT + POWER_OFF + RESTART + SCAN + INIT + POWER_OFF + RESTART + FIRMWARE + SCAN
    + INIT + RESTART + FIRMWARE + SCAN,
    SCAN + INIT + HALTED + SCAN + POWER_OFF + SCAN + INIT + HALTED + SCAN + RESTART + SCAN,
], ids=["power-offs", "restarts-between", "cut-in-scan"])
def test_held_power_offs_give_the_model_feeding_each_gives(held, data):
    report, messages = _report(data, watched=False)
    assert "run_end" in [item[0].kind for item in held]
    assert not [item for item in held if item[0].kind == "run_end"
                and item[0].detail != "poweroff"]  # a restart is fed, never held
    assert (report, messages) == _report(data, watched=True)


def test_an_unnamed_device_after_a_held_power_off_is_in_the_next_boot(held):
    """Apache NuttX's virtio_mmio_init_device() "VIRTIO version: %u device: %u vendor: %x"
    names no device: its place in the boot's probe order does, and a power-off between two
    announcements (times going on) begins the next boot (model/unnamed.py). The power-off
    it reads may be held (the third: the first is read by the grammars, the second fed
    as its dialect's first memoised one): it settles first. Four boots' announcements:
    the same two devices."""
    boots = b"".join(
        b"[    %d.10] virtio_mmio_init_device: VIRTIO version: 2 device: 1 vendor: 554d4551\n"
        b"[    %d.20] virtio_mmio_init_device: VIRTIO version: 2 device: 2 vendor: 554d4551\n"
        b"[    %d.30] reboot: Power down\n" % (boot, boot, boot) for boot in range(1, 5))
    report, messages = _report(boots, watched=False)
    assert "run_end" in [item[0].kind for item in held]
    assert (report, messages) == _report(boots, watched=True)
    assert [device["type"] for device in json.loads(report)["devices"]] == ["net", "block"]


def test_a_model_with_held_power_offs_pickles(held, held_host):
    """``analyze -j`` sends each run's result back pickled, its model's holder too (its
    holds of power-offs and of a host's notes)."""
    import pickle

    analysis = Analysis("log", DIALECTS)
    analysis.feed_block(SCAN + INIT + POWER_OFF + SCAN + POWER_OFF + SCAN + POWER_OFF
                        + SCSI_REQ * 4)
    analysis.close_input()
    result = analysis.finish()
    assert "run_end" in [item[0].kind for item in held] and held_host
    assert pickle.loads(pickle.dumps(result)).model.ending.finished.line == 26  # the last


@pytest.fixture
def held_host(monkeypatch):
    """The host's lines each LastSeen.settle counted (held_host), in order."""
    taken: list[tuple] = []
    settle = last_seen.LastSeen.settle

    def spy(self):
        for items in self.held_host.values():
            taken.extend(items)
        return settle(self)

    monkeypatch.setattr(last_seen.LastSeen, "settle", spy)
    return taken


@pytest.mark.parametrize("log, guest", [(SAMPLES / "9p-gpu-crypto" / "combined.log", True),
                                        (SAMPLES / "arm64-linux510-pci" / "combined.log", False),
                                        (SAMPLES / "multi-device" / "combined.log", False),
                                        (SAMPLES / "q35-intel-iommu" / "combined.log", False)],
                         ids=["9p-gpu-crypto", "arm64-linux510-pci", "multi-device", "q35-intel-iommu"])
def test_notes_that_only_count_held_give_the_model_feeding_each_gives(held, held_host, log,
                                                                      guest):
    """A combined log read twice (the second copy's lines all memoised): the OS's notes
    that only count (the kernel's banner, DRM's lines under no device) and the host's
    (QEMU's trace of SCSI requests, IOMMU commands: no vdev) are held once
    Attribution.feed told them so; the report is the one every event watched makes."""
    data = log.read_bytes().replace(b"\r\n", b"\n")  # the serial port's CRs (above)
    report, messages = _report(data + data, watched=False)
    assert any(item[0].kind == "note" for item in held) is guest  # DRM's under no device
    assert held_host
    assert (report, messages) == _report(data + data, watched=True)


# QEMU's trace (hw/s390x/trace-events virtio_ccw_new_device "VIRTIO-CCW: add subchannel
# %x.%x.%04x, devno 0x%04x%s", virtio_ccw_interpret_ccw "VIRTIO-CCW: %x.%x.%04x: interpret
# command 0x%x"; hw/scsi/trace-events virtio_scsi_cmd_req "virtio_scsi_cmd_req lun=%u
# tag=0x%x cmd=0x%x"; hw/virtio/trace-events virtio_set_status "vdev %p val %u"), as the
# s390x sample's: a WRITE_STATUS command's next virtio_set_status is its subchannel's
# device, unless a line comes between (model/ccw.py).
CCW_PLUG = b"virtio_ccw_new_device VIRTIO-CCW: add subchannel fe.0.0001, devno 0x0002\n"
SCSI_REQ = b"virtio_scsi_cmd_req virtio_scsi_cmd_req lun=0 tag=0x447f2e18 cmd=0x12\n"
CCW_STATUS = b"virtio_ccw_interpret_ccw VIRTIO-CCW: fe.0.0001: interpret command 0x31\n"
SET_STATUS = b"virtio_set_status vdev 0x564609242a00 val 7\n"


def test_a_host_note_between_a_ccw_command_and_its_status_is_fed(held_host):
    """The SCSI request after the WRITE_STATUS command ends its wait: the status line after
    it is not the subchannel's device (two devices). Held, it would not: a host note is held
    only while no such command waits. The OS speaks first (held lines are the OS's era's)."""
    data = (INIT + CCW_PLUG
            + (SCSI_REQ + SCSI_REQ + CCW_STATUS + SCSI_REQ + SET_STATUS) * 3)
    report, messages = _report(data, watched=False)
    assert held_host  # the requests before each command
    assert (report, messages) == _report(data, watched=True)
    assert len(json.loads(report)["devices"]) == 2


# drivers/acpi/pci_irq.c acpi_pci_irq_enable()'s dev_warn "can't derive routing for PCI
# INT %c" under virtio-pci's function: a note that names its device, never held.
ROUTING = b"[    1.60] virtio-pci 0000:00:03.0: can't derive routing for PCI INT A\n"


def test_a_note_that_names_a_device_is_fed(held):
    data = SCAN + INIT + ROUTING * 3 + INIT + ROUTING * 3
    report, messages = _report(data, watched=False)
    assert not [item for item in held if item[0].kind == "note"]
    assert (report, messages) == _report(data, watched=True)
