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
