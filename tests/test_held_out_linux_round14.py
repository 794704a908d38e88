"""Formats from the fourteenth Linux-guest judge (2026-12-04: x86 guests with kernels 3.x and
4.x), written from their sources with made-up values (the logs under fixtures/linux_round14/);
the held-out logs that showed them are listed in docs/held-out-logs.md (their text is not
here).

* A virtio_blk disk named by its driver's capacity line (drivers/block/virtio_blk.c, 3.x and
  4.x: "[%s] %llu %d-byte logical blocks (%s/%s)", dev_notice() of the virtio device, the
  disk's name in brackets) whose record is joined afterwards with its PCI transport's record
  (drivers/pci/msi.c of 3.x "irq %d for MSI/MSI-X", the one virtio-pci function of the log):
  the joined record kept no disk name, so a later line that names only the disk (a jbd2
  journal thread "jbd2/vda2-8" blocked past kernel/hung_task.c's timeout) found no device and
  made a second block device of its own, "vda", beside the real one."""

import json
from pathlib import Path

from conftest import invoke_cli

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "linux_round14"


def _analyse(name: str):
    proc = invoke_cli("analyze", str(FIXTURES / name), "--format", "json")
    return proc.returncode, json.loads(proc.stdout)


def test_a_joined_disk_keeps_its_name_for_the_journal_hang_of_its_disk():
    """One virtio block device at 0000:00:05.0, driven; its journal thread's hang and its
    I/O errors are its own failures: no second device named after the disk."""
    code, report = _analyse("rhel7-msix-blk-journal-hang.log")
    assert code == 1
    (device,) = report["devices"]
    assert (device["type"], device["transport"], device["address"],
            device["reached_driver_ok"]) == ("block", "pci", "0000:00:05.0", "yes")
    assert [(f["rule"], f["device"], f["line"]) for f in report["findings"]] == [
        ("VD006", device["id"], 9), ("VD006", device["id"], 17)]
