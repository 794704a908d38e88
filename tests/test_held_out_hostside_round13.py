"""QEMU's errors as other programs relay them, from the thirteenth judging round
(2026-12-04), written from the projects' sources with made-up values (the logs under
fixtures/hostside_round13/):

* Kata Containers' runtime (virtcontainers/qemu.go setupVirtioMem()) wraps the error of
  its QMP hot-plug of the memory device in fmt.Errorf("Add %dMB virtio-mem-pci fail
  %s%s"), and containerd and the CRI client add their own ": unknown": held-out Kata
  sandboxes refused "not enough space ...", "Bus '...' does not support hotplugging" and
  "backend memory size must be multiple of 0x200000" showed no device and exited 0.
* QEMU's -device takes its model as the "driver" key (qdev-monitor.c qdev_device_add()),
  which Kata's govmm writes out ("-device driver=virtio-net-ccw,..."): a held-out s390x
  refusal "Device fe.0.0006 already exists" was not read (exit 0).
* A program's argv printed as a list (CPython's subprocess.CalledProcessError "Command
  '%s' returned non-zero exit status %d." with the list's repr; a Vagrant provider's
  "Command: %{command}" with Ruby's Array#inspect) quotes each word and separates them
  with ", ": a held-out vagrant-qemu error declared its two devices unseen (VD020).
* avocado-vt writes each -device as Python's json.dumps() does, a space after every ","
  and ":": the object was cut at its first space and no device was declared."""

import json
from pathlib import Path

from conftest import invoke_cli

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hostside_round13"


def _analyse(name: str):
    proc = invoke_cli("analyze", str(FIXTURES / name), "--format", "json")
    return proc.returncode, json.loads(proc.stdout)


def _errors(report):
    return [f for f in report["findings"] if f["severity"] == "error"]


def test_kata_relaying_qemus_refused_virtio_mem_hotplug_is_the_device_failing():
    code, report = _analyse("kata-virtio-mem-no-space.log")
    assert code == 1
    (finding,) = _errors(report)
    assert finding["rule"] == "VD006" and finding["line"] == 2
    assert "virtio-mem-pci" in finding["message"] and "not enough space" in finding["message"]
    assert ": unknown" not in finding["message"]


def test_kata_virtio_mem_onto_a_bridge_without_hotplug_blames_the_bus():
    code, report = _analyse("kata-virtio-mem-bridge.log")
    assert code == 1
    (finding,) = _errors(report)
    assert finding["rule"] == "VD006" and "does not support hotplugging" in finding["message"]
    assert "pcie-root-port or bridge that supports hotplug" in finding["hint"]


def test_a_device_option_naming_its_model_by_the_driver_key_is_read():
    code, report = _analyse("govmm-driver-key-refused.log")
    assert code == 1
    (finding,) = _errors(report)
    assert finding["rule"] == "VD006"
    assert "virtio-blk-ccw" in finding["message"] and "already exists" in finding["message"]


def test_a_vagrant_argv_list_declares_its_devices():
    code, report = _analyse("vagrant-argv-list.log")
    assert code == 0 and report["findings"] == []
    assert [(d["type"], d["transport"], d["reached_driver_ok"]) for d in report["devices"]] == [
        ("net", "mmio", "not shown"), ("block", "unknown", "not shown")]


def test_a_python_list_repr_of_argv_declares_its_devices():
    code, report = _analyse("python-calledprocesserror.log")
    assert code == 0 and report["findings"] == []
    assert sorted((d["id"], d["type"]) for d in report["devices"]) == [
        ("virtio-blk", "block"), ("virtio-rng-pci", "rng")]


def test_device_json_with_spaces_after_its_separators_is_one_value():
    code, report = _analyse("avocado-spaced-json.log")
    assert code == 0 and report["findings"] == []
    assert [(d["id"], d["type"], d["transport"]) for d in report["devices"]] == [
        ("idQw3rTy", "net", "pci"), ("balloon0", "balloon", "ccw")]


# hw/display/virtio-gpu-gl.c virtio_gpu_gl_device_realize(): error_setg(errp, "opengl is
# not available") when the display gives no GL context. spec reads "virtio-gpu-pci" but
# not the -gl, -rutabaga, vga-gl or multitouch names, which a command line's declaration
# already typed: the refusal said no type or transport.
def test_a_refused_gl_gpu_is_a_gpu_device_on_pci():
    code, report = _analyse("gpu-gl-refused.log")
    assert code == 1
    (finding,) = _errors(report)
    assert finding["rule"] == "VD006"
    assert "virtio-gpu-gl-pci (id video0, a gpu device on virtio-pci)" in finding["message"]
