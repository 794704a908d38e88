"""/proc/interrupts lists every handler on a line: kernel/irq/proc.c show_interrupts()
prints the first action's name, then ", %s" for each next action on the same IRQ. Virtio
devices without MSI-X (INTx under virtio-pci, drivers/virtio/virtio_pci_common.c
vp_request_intx(); virtio-mmio's vm_find_vqs()) request their IRQ under dev_name(), so a
pin shared by several of them reads "virtio8, virtio9, nvme0q0, virtio2". Before, such a
line was not read (VD020: no device recognised); now every virtio name on it is a device
wired to that INTx line. The lines below are written from that format."""

from __future__ import annotations

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects


def _analyse(text: str):
    return analyse_blocks("interrupts.log", [text.encode()], shared_dialects())


def test_every_virtio_name_on_a_shared_intx_line_is_a_device_on_that_line():
    text = (" 21:          0     100330   IO-APIC  21-fasteoi   virtio3, virtio1, "
            "nvme0q0, xhci-hcd:usb1, virtio12\n")
    result = _analyse(text)
    names = sorted(d.guest_name or d.key for d in result.model.devices)
    assert names == ["virtio1", "virtio12", "virtio3"]
    for device in result.model.devices:
        assert (device.irq_mode, device.irq_lines) == ("intx", {21})
        assert device.interrupt_count == 0  # the pin's count is not one device's
    assert not [f for f in result.findings if f.rule == "VD020"]


def test_a_virtio_name_after_other_handlers_is_read_and_the_others_are_not_devices():
    text = " 10:        412   IO-APIC  10-fasteoi   ata_piix, virtio1, uhci_hcd:usb1\n"
    (device,) = _analyse(text).model.devices
    assert (device.guest_name or device.key) == "virtio1"


def test_a_line_of_one_device_keeps_its_count():
    (device,) = _analyse(" 11:         37   IO-APIC  11-fasteoi   virtio0\n").model.devices
    assert device.interrupt_count == 37


# A guest's /proc/interrupts pasted alone (written from show_interrupts()'s format): one
# INTx device, one with MSI-X vectors named by virtio_pci's vp_request_msix_vectors()
# ("%s-config", "%s-%s" with the queue's name).
LISTING = ("           CPU0       CPU1\n"
           "  0:         44          0   IO-APIC   2-edge      timer\n"
           " 11:       1523          0   IO-APIC  11-fasteoi   virtio0, uhci_hcd:usb1\n"
           " 24:          0          0   PCI-MSI 65536-edge      virtio2-config\n"
           " 25:       2301          0   PCI-MSI 65537-edge      virtio2-input.0\n"
           " 26:          1          0   PCI-MSI 65538-edge      virtio2-output.0\n")


def test_a_device_whose_interrupts_are_listed_has_a_driver_that_finished_its_probe():
    """Its driver requested them in its probe (find_vqs) and frees them if the probe
    fails; virtio_dev_probe() sets DRIVER_OK once the probe returns: DRIVER_OK implied,
    not "not shown"."""
    from virtiodiag.model.driver_ok import DriverOk

    result = _analyse(LISTING)
    by_name = {d.guest_name or d.key: d for d in result.model.devices}
    assert sorted(by_name) == ["virtio0", "virtio2"]
    for name, line in (("virtio0", 3), ("virtio2", 4)):
        device = by_name[name]
        assert device.driver_ok.state is DriverOk.IMPLIED, name
        assert device.driver_ok_implied.line == line
        assert "its driver holds its interrupts" in device.driver_ok_implied_why
    assert not [f for f in result.findings if f.rule in ("VD004", "VD020")]


def test_the_report_says_driver_ok_implied_by_the_listing():
    from conftest import invoke_cli

    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "interrupts.log"
        log.write_text(LISTING, encoding="utf-8")
        result = invoke_cli("analyze", "--no-color", str(log))
    assert result.returncode == 0, result.stderr
    assert "2 devices, all reached DRIVER_OK, 2 of them implied" in result.stdout
    assert "not shown" not in result.stdout
    assert "DRIVER_OK implied by line 3: its driver holds its interrupts" in result.stdout
