"""A virtio device's driver registers class devices under it in its probe: the sysfs path
<transport device>/virtioN/<class>/<name> (drivers/base/core.c device_add()) names the
virtio device, the transport device it sits on and, by the class, its type; and
virtio_snd names its ALSA card "VirtIO SoundCard at %s/%s/%s" (sound/virtio/virtio_card.c
virtsnd_build_devs(), listed by sound/last.c alsa_sound_last_init() "  #%i: %s" and by
/proc/asound/cards). Before, none of these lines was read: a log showing devices only so
gave "no virtio device recognised" (VD020). The lines are written from those formats and
from the tools that print sysfs paths (systemctl's device units, udevadm info, ls -l)."""

from __future__ import annotations

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects


def _analyse(text: str):
    return analyse_blocks("paths.log", [text.encode()], shared_dialects())


def _only(result):
    (device,) = result.model.devices
    return device


def test_the_alsa_card_list_names_the_sound_device_and_its_pci_function():
    text = ("[    0.402113][    T1] ALSA device list:\n"
            "[    0.402200][    T1]   #0: VirtIO SoundCard at pci/0000:00:06.0/virtio2\n")
    result = _analyse(text)
    device = _only(result)
    assert (device.device_type, device.address, device.guest_name) == (
        "sound", "0000:00:06.0", "virtio2")
    assert device.driver_ok.state.value == "implied"  # the card is registered after virtio_device_ready()
    assert not [f for f in result.findings if f.rule == "VD020"]


def test_proc_asound_cards_longname_on_virtio_mmio():
    text = (" 0 [SoundCard      ]: virtio-snd - VirtIO SoundCard\n"
            "                      VirtIO SoundCard at platform/a003c00.virtio_mmio/virtio1\n")
    device = _only(_analyse(text))
    assert (device.device_type, device.transport) == ("sound", "mmio")


def test_a_systemd_device_unit_path_gives_a_bound_net_device():
    text = ("● sys-devices-pci0000:00-0000:00:04.0-virtio2-net-eth0.device loaded active "
            "plugged /sys/devices/pci0000:00/0000:00:04.0/virtio2/net/eth0\n")
    result = _analyse(text)
    device = _only(result)
    assert (device.device_type, device.address, device.netdev) == (
        "net", "0000:00:04.0", "eth0")
    assert device.driver_ok.state.value == "implied"
    assert not [f for f in result.findings if f.severity in ("error", "warning")]


def test_ls_of_sys_block_gives_the_disk_and_its_mmio_window():
    text = ("lrwxrwxrwx 1 root root 0 Mar  2 10:01 vdb -> "
            "../devices/platform/a003a00.virtio_mmio/virtio2/block/vdb\n")
    device = _only(_analyse(text))
    assert (device.device_type, device.transport, device.disk) == ("block", "mmio", "vdb")


def test_udevadm_devpath_of_a_scsi_disk_types_the_virtio_scsi_hba():
    text = ("E: DEVPATH=/devices/pci0000:00/0000:00:03.0/virtio1/host0/target0:0:0/"
            "0:0:0:0/block/sda\n")
    device = _only(_analyse(text))
    assert (device.device_type, device.address) == ("scsi", "0000:00:03.0")


def test_the_path_joins_the_driver_s_own_line():
    text = ("[    1.210000] virtio_net virtio0 enp1s0: renamed from eth0\n"
            "/sys/devices/pci0000:00/0000:00:03.0/virtio0/net/enp1s0\n")
    device = _only(_analyse(text))
    assert (device.device_type, device.address) == ("net", "0000:00:03.0")


def test_a_path_without_a_class_directory_makes_no_device():
    result = _analyse("/sys/devices/pci0000:00/0000:00:03.0/virtio0/features\n")
    assert not result.model.devices
