"""QEMU's vhost errors located at a back-end's option, with no later line: the declared
virtio device that used that back-end is the one that failed.

QEMU sets up its -chardev and -netdev back-ends before any device and exits when one
fails; the error is located at the option (util/qemu-error.c print_loc(): "<prog>:
-netdev ...: "): net/tap.c "vhost-net requested but could not be initialized" and "tap:
open vhost char device failed: %s", hw/virtio/vhost-user.c "Failed to read msg header.
Read %d instead of %d. Original request %d." (through net/vhost-user.c at -netdev
vhost-user), chardev/char-socket.c via util/qemu-sockets.c "Failed to connect to '%s'".
The command line names the device whose netdev= or chardev= is the option's id. Lines
written from those format strings, with made-up ids and paths."""

import pytest

import format_tables

QEMU = "qemu-system-x86_64"
CASES = {
    "tap-vhost-init": (
        f"{QEMU} -m 1G -netdev tap,id=hn0,vhost=on -device virtio-net-pci,netdev=hn0,id=nic0\n"
        f"{QEMU}: -netdev tap,id=hn0,vhost=on: vhost-net requested but could not be "
        "initialized\n", "nic0"),
    "tap-vhost-open": (
        f"{QEMU} -m 1G -netdev tap,id=hn0,vhost=on -device virtio-net-pci,netdev=hn0,id=nic0\n"
        f"{QEMU}: -netdev tap,id=hn0,vhost=on: tap: open vhost char device failed: No such "
        "file or directory\n", "nic0"),
    "vhost-user-msg-header": (
        f"{QEMU} -m 1G -chardev socket,id=c0,path=vu.sock -netdev vhost-user,id=n0,chardev=c0 "
        "-device virtio-net-pci,netdev=n0,id=nic1\n"
        f"{QEMU}: -netdev vhost-user,id=n0,chardev=c0: Failed to read msg header. Read 0 "
        "instead of 12. Original request 1.\n", "nic1"),
    "chardev-refused": (
        f"{QEMU} -m 1G -chardev socket,id=c1,path=/run/x/vhost-fs.sock "
        "-device vhost-user-fs-pci,chardev=c1,tag=myfs,id=fs0\n"
        f"{QEMU}: -chardev socket,id=c1,path=/run/x/vhost-fs.sock: Failed to connect to "
        "'/run/x/vhost-fs.sock': Connection refused\n", "fs0"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_back_ends_vhost_error_names_the_device_that_used_it(case, dialects):
    text, device_id = CASES[case]
    result = format_tables.analyse_text("qemu.log", text, dialects)
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert finding.device == device_id and finding.severity == "error"
    assert finding.line == 2
    assert not result.model.unattributed_errors


def test_a_back_end_no_virtio_device_used_stays_the_runs(dialects):
    """An e1000's tap: no virtio device's back-end; the error stays the run's."""
    text = (f"{QEMU} -m 1G -netdev tap,id=hn0,vhost=on -device e1000,netdev=hn0,id=nic0\n"
            f"{QEMU}: -netdev tap,id=hn0,vhost=on: vhost-net requested but could not be "
            "initialized\n")
    result = format_tables.analyse_text("qemu.log", text, dialects)
    assert all(f.device == "-" for f in result.findings if f.rule == "VD006")
