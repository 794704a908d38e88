"""The UEFI boot manager's failure on a virtio-mmio disk (ArmVirtQemu, device-tree boot): its
device path is the transport's own node, VenHw(837DCA9E-E874-4D82-B29A-23FE0E23D1E2,<base
bytes>), and the failure is that transport's device's, when the log shows the device at that
base. Before model/boot_paths.py the line was a note (no device, no failure).

Lines written from the printing code, with made-up values:
* ArmVirtPkg/VirtioFdtDxe/VirtioFdtDxe.c InitializeVirtioFdtDxe(): a VENDOR_DEVICE_PATH with
  gVirtioMmioTransportGuid ({0x837dca9e, 0xe874, 0x4d82, {0xb2, 0x9a, 0x23, 0xfe, 0x0e,
  0x23, 0xd1, 0xe2}}) and the UINT64 PhysBase;
* MdePkg/Library/UefiDevicePathLib/DevicePathToText.c DevPathToTextVendor(): "Ven%s(%g",
  then "," and "%02x" per byte of the vendor data, then ")";
* OvmfPkg/Library/PlatformBmPrintScLib/StatusCodeHandler.c HandleStatusCode(): "%a: failed
  to %a %s \\"%s\\" from %s: %r\\n";
* Linux's sysfs link of a virtio device on its platform device (ls -l /sys/bus/virtio/
  devices, drivers/base/core.c device_add()) and virtio_blk's capacity line."""

import format_tables

_FAILED = ('BdsDxe: failed to load Boot0001 "UEFI Misc Device" from '
           'VenHw(837DCA9E-E874-4D82-B29A-23FE0E23D1E2,003e000a00000000): Not Found\n')
_GUEST = ("[    0.912345] virtio_blk virtio1: [vda] 2048 512-byte logical blocks "
          "(1.05 MB/1.00 MiB)\n"
          "lrwxrwxrwx 1 root root 0 Nov 24 01:41 virtio1 -> "
          "../../../devices/platform/a003e00.virtio_mmio/virtio1\n")


def _run(text, dialects):
    return format_tables.analyse_text("boot.log", text, dialects)


def test_the_failure_is_the_device_s_at_that_base(dialects):
    result = _run(_FAILED + _GUEST, dialects)
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    (device,) = result.model.live_devices()
    assert finding.device_identity == device.identity and finding.line == 1
    assert "mmio:0xa003e00" in device.aliases and device.device_type == "block"
    assert not result.model.unattributed_errors


def test_alone_it_names_the_transport_by_its_base(dialects):
    result = _run(_FAILED, dialects)
    assert result.model.live_devices() == []  # no device made from the line
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert "virtio-mmio 0xa003e00" in finding.message


def test_another_base_stays_the_run_s(dialects):
    result = _run(_FAILED.replace("003e000a", "003c000a") + _GUEST, dialects)
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert "virtio-mmio 0xa003c00" in finding.message
    assert len(result.model.unattributed_errors) == 1
