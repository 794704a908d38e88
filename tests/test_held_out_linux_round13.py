"""Formats from the thirteenth Linux-guest judge (2026-12-04: Linux on arm64 and riscv64),
written from their sources with made-up values (the logs under fixtures/linux_round13/); the
held-out logs that showed them are listed in docs/held-out-logs.md (their text is not here).

* UTM (the QEMU front-end for Apple silicon Macs) writes its QEMU's arguments to the VM's
  debug.log as "Running: " and the words (the program's name left out), and gives a Linux
  guest a display device of its own QEMU fork: "virtio-ramfb" and "virtio-ramfb-gl"
  (hw/display/virtio-ramfb.c, virtio-ramfb-gl.c: TYPE_VIRTIO_RAMFB_BASE is a VirtIOPCIProxy
  holding a virtio-gpu, with a ramfb for the firmware's boot screen). A held-out debug.log of
  an Ubuntu arm64 guest's stalled boot declared no device: the virtio GPU was left out."""

import json
from pathlib import Path

import pytest
from conftest import invoke_cli

from virtiodiag.model.declared import driver_type

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "linux_round13"


def _analyse(name: str):
    proc = invoke_cli("analyze", str(FIXTURES / name), "--format", "json")
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.parametrize("driver", ["virtio-ramfb", "virtio-ramfb-gl"])
def test_utms_virtio_ramfb_is_a_virtio_gpu_on_pci(driver):
    assert driver_type(driver) == ("gpu", "pci")


def test_a_utm_debug_log_declares_its_virtio_ramfb_gl_display():
    code, report = _analyse("utm-virtio-ramfb-gl.log")
    assert code == 0
    assert sorted((d["declared"]["driver"], d["type"], d["transport"])
                  for d in report["devices"]) == [("virtio-net-pci", "net", "pci"),
                                                  ("virtio-ramfb-gl", "gpu", "pci")]
    assert report["findings"] == []


def test_the_declared_virtio_ramfb_is_the_guests_virtio_gpu():
    """The guest's virtio_gpu at 0000:00:01.0 is the one declaration of a gpu: one device,
    declared and driven, not a guest device beside a declaration never seen."""
    code, report = _analyse("utm-virtio-ramfb-guest.log")
    assert code == 0
    (device,) = report["devices"]
    assert (device["type"], device["address"], device["reached_driver_ok"]) == (
        "gpu", "0000:00:01.0", "yes")
    assert device["declared"]["driver"] == "virtio-ramfb"
    assert device["declared"]["seen_by_guest"] is True
    assert report["findings"] == []
