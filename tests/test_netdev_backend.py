"""A refused network back-end names the declared NIC that used it.

QEMU sets up every -netdev (and each -nic's own back-end) before it makes any device, and
exits when one fails (net/net.c net_init_clients()). Its error names the back-end only:
net/tap-linux.c tap_open() "could not configure %s (%s)" / "could not open %s" of
/dev/net/tun, net/net.c net_client_init1() "network backend '%s' is not compiled into this
binary" (QEMU 7.x+), hw/net/vhost_net.c "vhost-net requested but could not be initialized",
each after QEMU's "<prog>: <option>: " location. The command line, when the log has it,
says which NIC's netdev= is that back-end's id. Lines written from those formats, values
of our own.
"""

from pathlib import Path

import format_tables

FIXTURES = Path(__file__).parent / "fixtures" / "declared"
TAP = ("qemu-system-x86_64: -netdev tap,id=hostnet0,ifname=tap7,script=no,downscript=no: "
       "could not configure /dev/net/tun (tap7): Operation not permitted\n")


def _run(text, dialects):
    return format_tables.analysed_findings(text, dialects, "qemu.log")


def test_a_refused_tap_names_the_virtio_nic_it_served(dialects):
    text = (FIXTURES / "netdev-tap-refused.log").read_text()
    result, findings = _run(text, dialects)
    assert findings == [("VD006", "error")]
    message = result.findings[0].message
    # the virtio NIC of netdev=hostnet0, not the e1000 of netdev=n1
    assert "virtio-net-pci" in message and "id net0" in message and "lan0" not in message
    assert "-netdev tap,id=hostnet0" in message
    assert "could not configure /dev/net/tun (tap7)" in message
    assert "/dev/net/tun" in result.findings[0].hint
    # the log has no guest line: its virtio devices are listed as declared, not shown
    assert sorted((d.declaration.driver, d.declaration.guest_silent)
                  for d in result.model.live_devices()) == [
        ("virtio-blk", True), ("virtio-net-pci", True)]


def test_a_back_end_no_virtio_nic_uses_is_no_finding(dialects):
    # the e1000's back-end, and the same refusal without the command line: as before
    text = ("+ qemu-system-x86_64 -netdev tap,id=n1 -device e1000,netdev=n1,id=lan0\n"
            "qemu-system-x86_64: -netdev tap,id=n1: could not open /dev/net/tun: "
            "No such file or directory\n")
    assert _run(text, dialects)[1] == []
    assert _run(TAP, dialects)[1] == []


def test_libvirt_json_options_and_a_back_end_not_compiled_in(dialects):
    text = ("-netdev '{\"type\":\"vmnet-shared\",\"id\":\"hostnet0\"}' \\\n"
            "-device '{\"driver\":\"virtio-net-pci\",\"netdev\":\"hostnet0\",\"id\":\"net0\","
            "\"bus\":\"pci.0\",\"addr\":\"0x3\"}' \\\n"
            "qemu-system-aarch64: -netdev {\"type\":\"vmnet-shared\",\"id\":\"hostnet0\"}: "
            "network backend 'vmnet-shared' is not compiled into this binary\n")
    result, findings = _run(text, dialects)
    assert findings == [("VD006", "error")]
    assert "id net0" in result.findings[0].message
    assert "not compiled into this binary" in result.findings[0].message


def test_a_nic_option_s_own_back_end(dialects):
    text = ("+ qemu-system-x86_64 -nic tap,model=virtio-net-pci,script=no -m 512\n"
            "qemu-system-x86_64: -nic tap,model=virtio-net-pci,script=no: could not open "
            "/dev/net/tun: No such file or directory\n")
    result, findings = _run(text, dialects)
    assert findings == [("VD006", "error")]
    assert "network back-end of virtio-net-pci" in result.findings[0].message


def test_a_vhost_net_failure_is_the_nic_whose_back_end_it_is(dialects):
    text = ("+ qemu-system-x86_64 -netdev user,id=n1,restrict=on "
            "-device virtio-net-pci,netdev=n1,id=nic1 "
            "-netdev tap,id=hn0,vhost=on -device virtio-net-pci,netdev=hn0,id=nic0\n"
            "qemu-system-x86_64: -netdev tap,id=hn0,vhost=on: tap: open vhost char device "
            "failed: No such file or directory\n"
            "qemu-system-x86_64: -netdev tap,id=hn0,vhost=on: vhost-net requested but could "
            "not be initialized\n")
    result, findings = _run(text, dialects)
    assert findings == [("VD006", "error"), ("VD006", "error")]
    assert all("declared nic0 (virtio-net-pci)" in f.message for f in result.findings)
    (device,) = result.model.live_devices()
    assert device.declaration.qemu_id == "nic0" and device.declaration.unseen
