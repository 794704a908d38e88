"""Declared devices without a known function, joined by order only where the order is
proven (model/declared_places.py).

The real cases are boots captured here by scripts/capture-declared.py (QEMU 7.2, Debian
kernel 6.1, x86_64 TCG; the command line first, as a shell's ``set -x`` prints it, then
the serial console). Each console ends with the sysfs links of every virtioN
(``virtio1 -> ../../../devices/pci0000:00/0000:00:03.0/virtio1``): the truth a join is
checked against. QEMU's automatic addresses follow hw/pci/pci.c do_pci_register_device()
(the first free slot when the device is created) in vl.c's creation order (-nic, -net
nic, -device in option syntax, -drive if=virtio, -device in JSON); Linux's bus number
behind a bridge is drivers/pci/setup-bus.c __pci_setup_bridge()'s "PCI bridge to %pR".
"""

from __future__ import annotations

import re
from pathlib import Path

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects

FIXTURES = Path(__file__).parent / "fixtures" / "declared"
_LINK = re.compile(r"(virtio\d+) -> \S*/(0000:[0-9a-f]{2}:[0-9a-f]{2}\.\d)/virtio\d+")
_SYSFS = "=== vd-guest: sysfs status"


def _analyse(text: str):
    return analyse_blocks("declared.log", [text.encode()], shared_dialects())


def _capture(name: str) -> str:
    return (FIXTURES / f"{name}.log").read_text()


def _without_sysfs(text: str) -> str:
    """The log up to /init's sysfs dump: the guest's own kernel lines only."""
    return text[:text.index(_SYSFS)]


def _truth(text: str) -> dict[str, str]:
    """virtioN -> its PCI function, from the sysfs links the guest printed."""
    return dict(_LINK.findall(text))


def _declared(result) -> dict[str, tuple[str | None, str | None, str | None]]:
    """The option of each joined declaration -> (address, virtioN, how it was placed)."""
    return {d.declaration.option: (d.address, d.guest_name, d.declaration.placed)
            for d in result.model.live_devices() if d.declaration is not None}


def _option(result, text: str) -> tuple[str | None, str | None, str | None]:
    (found,) = [v for k, v in _declared(result).items() if text in k]
    return found


def test_two_disks_at_automatic_addresses_join_in_creation_order():
    log = _capture("pc-auto-blk")
    truth = _truth(log)  # virtio1 -> 00:03.0 (drive d0, created first), virtio2 -> 00:04.0
    for text in (log, _without_sysfs(log)):
        result = _analyse(text)
        first = _option(result, "drive=d0")
        second = _option(result, "drive=d1")
        assert first[0] == "0000:00:03.0" == truth["virtio1"]
        assert second[0] == "0000:00:04.0" == truth["virtio2"]
        assert "automatic address: the 1st of 2 block" in first[2]
        assert _option(result, "virtio-net-pci")[0] == "0000:00:02.0"
        assert len(result.model.live_devices()) == 4  # joined, not beside them
        assert not [f for f in result.findings if f.rule == "VD025" and "block" in f.message]


def test_a_quiet_console_joins_by_virtio_number_in_qemus_creation_order():
    # The JSON -device comes first on the command line but QEMU creates it last: the
    # option-syntax disk is virtio1 (00:03.0), the -drive's virtio2, the JSON one virtio3.
    log = _capture("pc-auto-blk-quiet")
    truth = _truth(log)
    quiet = _without_sysfs(log)
    assert "pci 0000:" not in quiet  # loglevel 6: the guest names virtioN only
    result = _analyse(quiet)
    assert _option(result, "id=kv1")[1] == "virtio1"
    assert _option(result, "if=virtio")[1] == "virtio2"
    assert _option(result, '"json1"')[1] == "virtio3"
    assert "virtio3 the 3rd of them Linux registered" in _option(result, '"json1"')[2]
    full = _analyse(log)  # with the links: the same declarations at their functions
    assert _option(full, "id=kv1")[0] == truth["virtio1"] == "0000:00:03.0"
    assert _option(full, "if=virtio")[0] == truth["virtio2"]
    assert _option(full, '"json1"')[0] == truth["virtio3"] == "0000:00:05.0"


def test_a_disk_at_a_given_address_leaves_the_virtio_order_unproven():
    # With one disk at addr=, the numbers of the other two say nothing about which is which.
    log = _without_sysfs(_capture("pc-auto-blk-quiet")).replace(
        "drive=d0,id=kv1", "drive=d0,id=kv1,addr=0x7", 1)
    result = _analyse(log)
    assert not [k for k in _declared(result) if "blk" in k or "if=virtio" in k]
    assert not [f for f in result.findings if f.rule == "VD025"]  # not missing either


def test_a_count_that_differs_joins_nothing_by_order():
    # One disk less on the command line than the guest found: no order proves which it is.
    log = _capture("pc-auto-blk").replace(" -device virtio-blk-pci,drive=d1,serial=second", "", 1)
    result = _analyse(_without_sysfs(log))
    assert not [k for k in _declared(result) if "virtio-blk" in k]
    assert not [f for f in result.findings if f.rule == "VD025" and "block" in f.message]


# Written from the formats: qemu-options.hx -nic/-net, Linux probe.c's "[%04x:%04x] type
# %02x class %#08x". net_init_clients() makes -nic's NICs before -net's, and each board
# places them its own way: a mix is no proven order.
MIXED_NICS = """\
+ qemu-system-x86_64 -M pc -nodefaults -net nic,model=virtio -nic user,model=virtio-net-pci,restrict=on
[    0.300000] pci 0000:00:02.0: [1af4:1000] type 00 class 0x020000
[    0.310000] pci 0000:00:03.0: [1af4:1000] type 00 class 0x020000
[    5.000000] Run /init as init process
"""


def test_nics_of_minus_nic_and_minus_net_together_stay_apart():
    result = _analyse(MIXED_NICS)
    assert _declared(result) == {}
    assert len(result.model.live_devices()) == 2
    single = _analyse(MIXED_NICS.replace(" -net nic,model=virtio", " -nic none")
                      .replace("[    0.310000] pci 0000:00:03.0: [1af4:1000] type 00 class "
                               "0x020000\n", ""))
    assert next(iter(_declared(single).values()))[0] == "0000:00:02.0"


def test_devices_behind_root_ports_join_through_the_bus_numbers_the_guest_printed():
    log = _capture("q35-root-ports")
    truth = _truth(log)
    for text in (log, _without_sysfs(log)):
        result = _analyse(text)
        assert _option(result, "bus=rp2")[0] == "0000:02:00.0" == truth["virtio2"]
        assert "behind rp2" in _option(result, "bus=rp2")[2]
        assert _option(result, "bus=rp1")[0] == "0000:01:00.0" == truth["virtio1"]
        assert _option(result, "id=disk1")[0] == "0000:00:02.0" == truth["virtio0"]
        # the root ports' own lines (1b36:000c, pcieport, bridge windows) make no device
        assert sorted(d.address for d in result.model.live_devices()) == [
            "0000:00:02.0", "0000:01:00.0", "0000:02:00.0"]
        assert not [f for f in result.findings if f.rule == "VD025" and f.severity != "info"]


def test_without_the_bridge_lines_a_device_behind_a_root_port_is_not_placed():
    log = "".join(line for line in _without_sysfs(_capture("q35-root-ports"))
                  .splitlines(keepends=True) if "PCI bridge to" not in line)
    result = _analyse(log)
    assert _option(result, "bus=rp2")[2] is None  # joined, if at all, as the only one left
    assert len(result.model.live_devices()) == 3


def test_devices_behind_root_ports_on_a_pci_expander_join_their_declarations():
    # q35-pxb: pxb-pcie bus_nr=0x80 (hw/pci-bridge/pci_expander_bridge.c: a root bus of
    # its own, numbered by bus_nr=), rp1 at 00 and rp2 at 01 on it, a disk behind each;
    # the guest numbers the buses behind them 81 and 82 ("PCI bridge to [bus 81]"). Two
    # disks off the root bus: no "only one left" join could tell them apart.
    log = _capture("q35-pxb")
    truth = _truth(log)
    for text in (log, _without_sysfs(log)):
        result = _analyse(text)
        behind1 = _option(result, "id=vblk0,")
        behind2 = _option(result, "id=vblk2,")
        assert behind1[0] == "0000:81:00.0" and behind2[0] == "0000:82:00.0"
        assert "behind rp1, which the guest numbered bus 81" in (behind1[2] or "")
        assert "behind rp2, which the guest numbered bus 82" in (behind2[2] or "")
        assert _option(result, "id=vblk1,")[0] == "0000:00:02.0"
        if text is log:
            assert truth[behind1[1]] == "0000:81:00.0" and truth[behind2[1]] == "0000:82:00.0"


PXB = """\
+ qemu-system-x86_64 -M pc -nodefaults -kernel vmlinuz -append console=ttyS0 -serial stdio \
-device pxb,id=bridge1,bus_nr=4,bus=pci.0 -device virtio-net-pci,id=n1,bus=bridge1,addr=0x3 \
-device virtio-net-pci,id=n2,bus=bridge1,addr=0x5 -device '{"driver":"pxb","id":"x2",\
"bus_nr":16,"bus":"pci.0"}' -device virtio-blk-pci,id=b9,bus=x2,addr=0x1,drive=d9
[    0.300000] ACPI: PCI Root Bridge [PC04] (domain 0000 [bus 04-0f])
[    0.300100] PCI host bridge to bus 0000:04
[    0.300200] pci 0000:04:03.0: [1af4:1000] type 00 class 0x020000
[    0.300300] pci 0000:04:05.0: [1af4:1000] type 00 class 0x020000
[    0.300400] ACPI: PCI Root Bridge [PC10] (domain 0000 [bus 10-ff])
[    0.300500] pci 0000:10:01.0: [1af4:1001] type 00 class 0x010000
[    1.000000] virtio_blk virtio2: [vda] 2048 512-byte logical blocks (1.05 MB/1.00 MiB)
[    2.000000] Run /init as init process
"""


def test_devices_on_a_pxb_root_bus_are_at_its_bus_nr():
    # A pxb (not pxb-pcie) takes endpoints on its own root bus: bus_nr=4 in decimal, and
    # the JSON syntax's number 16; Linux prints the root bridges from QEMU's ACPI tables
    # (drivers/acpi/pci_root.c "PCI Root Bridge [%s] (domain %04x %pR)").
    result = _analyse(PXB)
    assert _option(result, "id=n1,")[0] == "0000:04:03.0"
    assert _option(result, "id=n2,")[0] == "0000:04:05.0"
    assert "on bridge1, the PCI expander whose bus_nr= numbers its bus 04" in (
        _option(result, "id=n1,")[2] or "")
    assert _option(result, "id=b9,")[0] == "0000:10:01.0"  # behind x2, a JSON -device
