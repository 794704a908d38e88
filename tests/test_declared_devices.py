"""QEMU's command line as declared devices (grammars/qemu_cmdline.lark, model/declared.py,
rule VD025). The option syntax is QEMU's (qemu-options.hx; util/qemu-option.c: ",," is a
comma inside a value; hw/core/qdev-properties-system.c set_pci_devfn(): addr= is
"%x.%x" or "%x", slot and function, or in JSON a number, the devfn), libvirt's log form
is src/qemu/qemu_process.c's virCommandWriteArgLog() (one option per line, " \\"), and
the real case is this repository's own capture: a sample's console with the command line
its NOTES.md records for that run."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects
from virtiodiag.events import Event, Payload
from virtiodiag.model.declared import declarations_of, driver_type, pci_function
from virtiodiag.options import ReportOptions
from virtiodiag.reports.text import render

SAMPLES = Path(__file__).parent.parent / "samples"


def _declared(*words: str):
    event = Event(Payload("qemu-cmdline", "vmm_cmdline", (("arg", tuple(words)),)),
                  "x.log", 1, "")
    return [(d.driver, d.device_type, d.transport, d.address, d.qemu_id)
            for d in declarations_of(event)]


def _analyse(text: str):
    return analyse_blocks("declared.log", [text.encode()], shared_dialects())


@pytest.mark.parametrize("driver,typed", [
    ("virtio-net-pci", ("net", "pci")),
    ("virtio-blk-pci-non-transitional", ("block", "pci")),
    ("virtio-scsi-pci-transitional", ("scsi", "pci")),
    ("vhost-user-fs-pci", ("fs", "pci")),
    ("vhost-vsock-pci", ("vsock", "pci")),
    ("virtio-blk-device", ("block", "mmio")),
    ("virtio-net-ccw", ("net", "ccw")),
    ("virtio-vga", ("gpu", "pci")),
    ("virtio-vga-gl", ("gpu", "pci")),
    ("virtio-gpu-gl-pci", ("gpu", "pci")),
    ("virtio-input-host-pci", ("input", "pci")),
    ("virtio-serial-pci", ("console", "pci")),
    ("virtio-net", ("net", None)),  # the qdev alias: the machine's default transport
    ("virtio-mmio", None),  # a transport, not a device
    ("virtconsole", None),  # a port on virtio-serial's bus, not a virtio device
    ("e1000", None),
])
def test_a_driver_name_gives_the_type_and_transport(driver, typed):
    assert driver_type(driver) == typed


@pytest.mark.parametrize("props,function", [
    ({"addr": "0x3"}, "0000:00:03.0"),
    ({"addr": "3"}, "0000:00:03.0"),  # text: a slot, in hex
    ({"addr": "1f.7"}, "0000:00:1f.7"),
    ({"addr": "0x1f.0x2", "bus": "pcie.0"}, "0000:00:1f.2"),
    ({"addr": "#24", "bus": "pci.0"}, "0000:00:03.0"),  # JSON's number: the devfn
    ({"addr": "0x0", "bus": "pci.1"}, None),  # behind a bridge: the firmware's bus number
    ({"bus": "pci.0"}, None),  # no addr=: the first free slot
    ({"addr": "0x20"}, None),  # slot 32: QEMU refuses it
    ({"addr": "3.8"}, None),
])
def test_a_root_bus_address_is_read_as_set_pci_devfn_reads_it(props, function):
    assert pci_function(props) == function


def test_each_syntax_of_a_device_option_declares_it():
    assert _declared("-device", "virtio-net-pci,netdev=n0,id=net0,addr=0x3") == [
        ("virtio-net-pci", "net", "pci", "0000:00:03.0", "net0")]
    # libvirt 7.x+: JSON, shell-quoted; a JSON number is the devfn
    assert _declared("-device", "'{\"driver\":\"virtio-rng-pci\",\"id\":\"rng0\",\"addr\":48}'",
                     "\\") == [("virtio-rng-pci", "rng", "pci", "0000:00:06.0", "rng0")]
    # ",," is a comma in a value: the id is "a,b", the device still a virtio-blk
    assert _declared("-device", "virtio-blk-pci,serial=x,,y,id=disk0") == [
        ("virtio-blk-pci", "block", "pci", None, "disk0")]
    assert _declared("--device", "vhost-user-fs-pci,chardev=c0,tag=t") == [
        ("vhost-user-fs-pci", "fs", "pci", None, None)]
    assert _declared("-drive", "file=d.img,if=virtio,id=d0") == [
        ("virtio-blk", "block", None, None, "d0")]
    assert _declared("-drive", "file=d.img,if=none,id=d0") == []  # a -device uses it
    assert _declared("-net", "nic,model=virtio") == [("virtio", "net", None, None, None)]
    assert _declared("-nic", "user,model=virtio-net-pci,restrict=on") == [
        ("virtio-net-pci", "net", "pci", None, None)]
    assert _declared("-nic", "user,model=e1000") == []
    assert _declared("-device", "e1000,netdev=n0") == []
    # Kata: the options between brackets in a logfmt quote
    assert _declared("msg=\"launching", "with:", "[-name", "sb", "-device",
                     "virtio-rng-pci,rng=rng0]\"") == [("virtio-rng-pci", "rng", "pci", None,
                                                         None)]


def _sample_with_its_command_line(name: str, extra: str = "") -> str:
    """The sample's console log, after the QEMU command line that captured it (NOTES.md's
    first run writes the console to a file: console.log)."""
    notes = (SAMPLES / name / "NOTES.md").read_text()
    command = next(line for line in notes.splitlines()
                   if line.startswith("timeout") and "console.log" in line)
    command = re.sub(r" < /dev/null.*$", "", command) + extra
    return command + "\n" + (SAMPLES / name / "console.log").read_text(errors="replace")


def test_a_real_boot_joins_each_declared_device_to_the_function_the_guest_found():
    result = _analyse(_sample_with_its_command_line("x86-linux510-multi"))
    declared = {d.address: d.declaration.driver for d in result.model.live_devices()
                if d.declaration is not None}
    assert declared == {"0000:00:03.0": "virtio-net-pci", "0000:00:04.0": "virtio-blk-pci",
                        "0000:00:05.0": "virtio-rng-pci", "0000:00:06.0": "virtio-serial-pci",
                        "0000:00:07.0": "virtio-scsi-pci",
                        "0000:00:08.0": "virtio-balloon-pci"}
    assert len(result.model.live_devices()) == 6  # joined, not beside them
    assert not [f for f in result.findings if f.rule == "VD025"]


def test_a_real_boot_without_a_declared_function_is_a_finding_on_the_command_line():
    result = _analyse(_sample_with_its_command_line(
        "x86-linux510-multi", " -device virtio-rng-pci,id=rng9,addr=0x9"))
    (finding,) = [f for f in result.findings if f.rule == "VD025"]
    assert finding.line == 1 and finding.severity == "warning"
    assert "rng9 (virtio-rng-pci)" in finding.message and "0000:00:09.0" in finding.message
    assert len(result.model.live_devices()) == 7


LIBVIRT_START = """\
-device '{"driver":"virtio-net-pci","netdev":"hostnet0","id":"net0","bus":"pci.0","addr":"0x3"}' \\
-device '{"driver":"virtio-rng-pci","id":"rng0","bus":"pci.0","addr":"0x9"}' \\
"""
GUEST = """\
[    0.300300] pci 0000:00:03.0: [1af4:1000] type 00 class 0x020000
[    1.200000] virtio_net virtio0 ens3: renamed from eth0
[    5.000000] Run /init as init process
"""


def test_a_command_line_printed_again_declares_the_same_devices():
    # libvirt's log of a domain started twice holds its command line twice
    result = _analyse(LIBVIRT_START + LIBVIRT_START + GUEST)
    assert len(result.model.declarations) == 2
    (finding,) = [f for f in result.findings if f.rule == "VD025"]
    assert finding.line == 4  # the latest start's line


def _not_shown(result):
    """The devices of a log with no guest line: each declared, not shown, no finding."""
    devices = result.model.live_devices()
    assert devices and not result.findings
    assert all(d.declaration.unseen and d.declaration.guest_silent
               and not d.declaration.missing and d.sides == {"host"} for d in devices)
    return sorted((d.declaration.driver, d.address) for d in devices)


def test_a_host_log_alone_lists_its_declared_devices_as_not_shown():
    # One policy for every form of the command line a host's log carries: libvirt's log
    # (before: no device, "no virtio device found"), a CI job's `set -x` echo, Proxmox
    # VE's `qm showcmd` (qemu-server's kvm command, its values quoted).
    assert _not_shown(_analyse(LIBVIRT_START)) == [
        ("virtio-net-pci", "0000:00:03.0"), ("virtio-rng-pci", "0000:00:09.0")]
    assert _not_shown(_analyse(
        "+ qemu-system-x86_64 -M q35 -netdev user,id=n0,restrict=on "
        "-device virtio-net-pci,netdev=n0,id=net0 -drive file=d.img,if=virtio\n")) == [
        ("virtio-blk", None), ("virtio-net-pci", None)]
    assert _not_shown(_analyse(
        "/usr/bin/kvm -id 100 -name 'vm100,debug-threads=on' -nodefaults "
        "-device 'virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x3' -drive "
        "'file=/dev/pve/vm-100-disk-0,if=none,id=drive-virtio0,format=raw' -device "
        "'virtio-blk-pci,drive=drive-virtio0,id=virtio0,bus=pci.0,addr=0xa' -netdev "
        "'type=tap,id=net0,ifname=tap100i0,vhost=on' -device "
        "'virtio-net-pci,mac=BC:24:11:00:00:01,netdev=net0,bus=pci.0,addr=0x12,id=net0'\n"
    )) == [("virtio-balloon-pci", "0000:00:03.0"), ("virtio-blk-pci", "0000:00:0a.0"),
           ("virtio-net-pci", "0000:00:12.0")]
    out = io.StringIO()
    render([_analyse(LIBVIRT_START)], out, ReportOptions(color=False))
    report = out.getvalue()
    assert "no virtio device found" not in report
    assert "not shown (the log has no line of the guest)" in report


def test_a_host_record_of_the_type_keeps_a_declaration_from_being_listed_twice():
    # QEMU's own trace of a device (a host record, its type unknown) may be the declared
    # one: the declaration is not listed beside it
    result = _analyse(LIBVIRT_START + "virtio_set_status vdev 0x55d0c0a0 val 15\n")
    assert [d.declaration for d in result.model.live_devices()] == [None]


FIXTURES = Path(__file__).parent / "fixtures" / "declared"


def test_devices_the_guests_lines_show_nothing_of_are_listed_as_never_seen():
    # A command line and a guest's first lines, cut before any virtio line (and before the
    # guest lists its virtio-mmio transports): configured, never seen by the guest, listed
    # with no finding (before: not listed at all).
    text = (FIXTURES / "guest-shows-none.log").read_text()
    result = _analyse(text)
    devices = result.model.live_devices()
    assert sorted(d.declaration.driver for d in devices) == [
        "virtio-blk-device", "virtio-net-device", "virtio-rng-device"]
    assert all(d.declaration.unseen and not d.declaration.missing for d in devices)
    assert all(d.sides == {"host"} and d.transport == "mmio" for d in devices)
    assert not result.findings
    assert not any(d.declaration.guest_silent for d in devices)
    # A log of the host alone (no guest line): listed too, not shown (before: none).
    assert len(_not_shown(_analyse(text.splitlines(keepends=True)[0]))) == 3


def test_the_kernel_banner_alone_is_the_guest_speaking():
    # A CI job's `set -x` echo of its QEMU command (under timeout) and a console cut right
    # after the kernel's banner, before "Kernel command line:" (init/version.c
    # linux_banner "Linux version %s (%s@%s) (%s) %s", printed first by start_kernel()):
    # the guest's OS had started, so the declared devices are listed as never seen by it
    # (main listed none: it took the banner for nobody's line). Written from the formats.
    command = ("+ timeout 120 qemu-system-riscv64 -M virt -m 512M -nographic -kernel Image "
               "-append 'console=ttyS0 root=/dev/vda' -drive if=none,id=hd0,file=r.img,"
               "format=raw -device virtio-blk-device,drive=hd0 -device virtio-rng-pci\n")
    banner = ("[    0.000000] Linux version 6.6.0 (builder@host) (riscv64-linux-gnu-gcc (GCC) "
              "13.2.0, GNU ld (GNU Binutils) 2.41) #1 SMP Tue Jan  2 10:00:00 UTC 2024\n")
    result = _analyse(command + banner)
    devices = result.model.live_devices()
    assert sorted((d.declaration.driver, d.transport) for d in devices) == [
        ("virtio-blk-device", "mmio"), ("virtio-rng-pci", "pci")]
    assert all(d.declaration.unseen and not d.declaration.missing for d in devices)
    assert not result.findings
    assert not any(d.declaration.guest_silent for d in devices)
    # The command line alone, or with a banner of another shape (uname's "Linux host
    # 6.6.0 ..." is no kernel speaking): a log with no guest line, its devices not shown.
    for text in (command, command + "Linux version 6.6.0 is installed\n"):
        assert len(_not_shown(_analyse(text))) == 2


def test_a_guest_device_that_may_be_the_declared_one_keeps_it_from_the_unseen():
    text = (FIXTURES / "guest-shows-none.log").read_text() + (
        "[    0.913456] virtio_blk virtio0: [vda] 2048 512-byte logical blocks "
        "(1.05 MB/1.00 MiB)\n")
    result = _analyse(text)
    seen = {d.declaration.driver: d.declaration.unseen for d in result.model.live_devices()
            if d.declaration is not None}
    assert seen == {"virtio-blk-device": False, "virtio-rng-device": True,
                    "virtio-net-device": True}
    (blk,) = [d for d in result.model.live_devices() if d.device_type == "block"]
    assert blk.guest_name == "virtio0" and "guest" in blk.sides
