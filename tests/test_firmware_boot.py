"""EDK2's boot manager failing to boot from a device (OVMF, ArmVirtQemu).

The fixtures under tests/fixtures/firmware_boot/ were written for these tests from the
format strings of OvmfPkg/Library/PlatformBmPrintScLib/StatusCodeHandler.c
HandleStatusCode() (``"%a: %a %s \\"%s\\" from %s\\n"`` and ``"%a: failed to %a %s \\"%s\\"
from %s: %r\\n"``, printed by BdsDxe on the console), with EDK2's PciBusDxe and VirtioBlkDxe
debug lines (grammars/edk2.lark) and Linux's virtio_blk lines around them.
"""

from pathlib import Path

from conftest import analyse_json

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "firmware_boot"


def _boot_findings(report):
    return [f for f in report["findings"] if f["rule"] == "VD006"]


def test_a_failure_on_a_device_no_other_line_names_is_the_runs_and_invents_no_device():
    report = analyse_json(FIXTURES / "unnamed-device.log")
    assert report["devices"] == []
    [finding] = _boot_findings(report)
    assert finding["severity"] == "error" and finding["line"] == 2
    assert finding["device_identity"] == "run"
    assert "the device at PCI 0000:00:03.0" in finding["message"]
    assert "could not boot from it" in finding["message"] and "Not Found" in finding["message"]


def test_a_failure_on_a_virtio_device_the_firmware_listed_is_that_devices():
    report = analyse_json(FIXTURES / "virtio-blk.log")
    [device] = report["devices"]
    assert device["address"] == "0000:00:03.0" and device["type"] == "block"
    # The DVD's failure (an IDE path: not a PCI function's own Block I/O) is no finding.
    [finding] = _boot_findings(report)
    assert finding["line"] == 9 and finding["severity"] == "error"
    assert finding["device_identity"] == "pci:0000:00:03.0"
    assert any(event["line"] == 9 for event in device["timeline"])


def test_the_failure_is_a_warning_when_the_os_started_from_another_option():
    report = analyse_json(FIXTURES / "went-on.log")
    [finding] = _boot_findings(report)
    assert finding["line"] == 7 and finding["severity"] == "warning"
    assert "the OS started afterwards" in finding["message"]
    assert report["verdict"] == "pass"


def test_a_path_behind_a_bridge_names_no_function_and_no_device(tmp_path):
    log = tmp_path / "bridged.log"
    log.write_text('BdsDxe: failed to load Boot0002 "UEFI Misc Device" from '
                   "PciRoot(0x0)/Pci(0x1C,0x0)/Pci(0x0,0x0): Device Error\n")
    report = analyse_json(log)
    assert report["devices"] == []
    [finding] = _boot_findings(report)
    assert "behind a PCI bridge" in finding["message"] and "Device Error" in finding["message"]


def test_other_boot_paths_and_the_loading_lines_are_read_as_notes(tmp_path):
    log = tmp_path / "notes.log"
    log.write_text(
        'BdsDxe: loading Boot0001 "UEFI QEMU DVD-ROM QM00003 " from '
        "PciRoot(0x0)/Pci(0x1,0x1)/Ata(Secondary,Master,0x0)\n"
        'BdsDxe: failed to load Boot0001 "UEFI QEMU DVD-ROM QM00003 " from '
        "PciRoot(0x0)/Pci(0x1,0x1)/Ata(Secondary,Master,0x0): Not Found\n"
        'BdsDxe: failed to load Boot0003 "UEFI PXEv4 (MAC:525400123456)" from PciRoot(0x0)/'
        "Pci(0x3,0x0)/MAC(525400123456,0x1)/IPv4(0.0.0.0,0x0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0): "
        "Not Found\n")
    report = analyse_json(log)
    assert report["findings"] == [] and report["devices"] == []
    assert report["stats"]["events"] == 3
