"""OVMF's virtio-fs and virtio-gpu drivers' DEBUG_ERROR lines (grammars/edk2.lark, written
from OvmfPkg/VirtioFsDxe/Fuse*.c "%a: Label=\\"%s\\" ... Errno=%d" and OvmfPkg/VirtioGpuDxe/
Commands.c VirtioGpuSendCommand()): they name no device, only its type through the
function's name; the model gives each to the one device of that type the firmware found."""

from __future__ import annotations

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects

FOUND = """\
PciBus: Discovered PCI @ [00|03|00]  [VID = 0x1AF4, DID = 0x105A]
PciBus: Discovered PCI @ [00|04|00]  [VID = 0x1AF4, DID = 0x1050]
Loading driver at 0x0007E9F6000 EntryPoint=0x0007E9FAA7E VirtioFsDxe.efi
"""


def _analyse(text: str):
    result = analyse_blocks("ovmf.log", [text.encode()], shared_dialects())
    return {d.address: d for d in result.model.live_devices()}, result


def test_a_refused_fuse_init_is_the_fs_devices_probe_failure():
    devices, result = _analyse(FOUND + 'VirtioFsFuseInitSession: Label="hostshare" Errno=-38\n')
    assert [e.line for e in devices["0000:00:03.0"].probe_failures] == [4]
    (finding,) = [f for f in result.findings if f.rule == "VD015"]
    assert "FUSE_INIT" in finding.message


def test_a_gpu_command_error_is_the_gpus_and_a_missing_file_is_nobodys_error():
    devices, result = _analyse(
        FOUND + "VirtioGpuSendCommand: Request=0x103 Response=0x1203\n"
        'VirtioFsFuseLookup: Label="hostshare" DirNodeId=1 Name="startup.nsh" Errno=-2\n')
    assert [e.line for e in devices["0000:00:04.0"].errors] == [4]
    assert devices["0000:00:03.0"].errors == []
    assert [f.line for f in result.findings if f.rule == "VD006"] == [4]


# ArmVirtQemu's DEBUG build on QEMU's virt machine: ArmPkg's DebugPeCoffExtraActionLib prints
# the debugger's "add-symbol-file %a 0x%p" for each module it loads, and VirtioFdtDxe's
# transports each go through VirtioMmioDeviceLib's VirtioMmioInit(), which warns (EFI_D_WARN)
# "The VendorId (0x%X) does not match the VirtIo VendorId (0x%X)." and carries on: QEMU's
# virtio-mmio VendorID is "QEMU". The lines below are written from those format strings.
ARMVIRT_MMIO = """\
add-symbol-file /b/Build/ArmVirtQemu-AARCH64/DEBUG_GCC5/AARCH64/ArmVirtPkg/VirtioFdtDxe/VirtioFdtDxe/DEBUG/VirtioFdtDxe.dll 0x7F4A0000
Loading driver at 0x0007F49F000 EntryPoint=0x0007F4A1CBC VirtioFdtDxe.efi
InstallProtocolInterface: 09576E91-6D3F-11D2-8E39-00A0C969723B 7E7FB798
VirtioMmioInit: Warning: The VendorId (0x554D4551) does not match the VirtIo VendorId (0x1AF4).
InstallProtocolInterface: FA920010-6785-4941-B6EC-498C579F160A 7E7FB8A0
VirtioMmioInit: Warning: The VendorId (0x554D4551) does not match the VirtIo VendorId (0x1AF4).
"""


def test_armvirt_mmio_vendor_warnings_are_notes_of_a_clean_firmware_log():
    devices, result = _analyse(ARMVIRT_MMIO)
    assert result.model.unrecognised == 0
    assert devices == {}
    # Before, the symbol line and the two warnings were virtio lines no grammar read:
    # devices-missing (VD020, a warning) and VD016 on a firmware doing what it should.
    assert result.findings == []
