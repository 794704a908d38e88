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
  made a second block device of its own, "vda", beside the real one.
* xhyve's run script (machyve/xhyve xhyverun.sh, the template its users copy and post beside
  their Linux guests' consoles) keeps each device's bhyve-style -s option in a shell variable
  its xhyve line expands: NET="-s 2:0,virtio-net", IMG_HDD="-s 4,virtio-blk,..."; a "#"
  before the name leaves the template's device out. A held-out script of an Ubuntu 18.04
  guest gave VD020 (lines that look like virtio, no device) where it declared two.
* XFS's mount notices (fs/xfs/xfs_log.c xfs_log_mount() "Mounting V%d Filesystem", after the
  superblock was read; "Ending clean mount"), "XFS (%s): " before them: RHEL and CentOS 7's
  default file system on a virtio disk, read as ext4's "mounted filesystem" is.
* e2fsck's console report (e2fsprogs e2fsck/unix.c "%s: clean, %u/%u files, %llu/%llu
  blocks", e2fsck/journal.c "%s: recovering journal") of /dev/vdaN, which initramfs-tools
  prints on a quiet console: a held-out Ubuntu 16.04 console showed only these of its disk
  and listed no device."""

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


def test_xhyves_run_script_variables_declare_their_slots():
    """NET and IMG_HDD declare a net and a block device at their slots; the commented-out
    CD-ROM and virtio-rnd declare nothing, nor does the hostbridge and lpc variable."""
    code, report = _analyse("xhyverun-script-vars.log")
    assert code == 0
    assert sorted((d["type"], d["transport"], d["address"]) for d in report["devices"]) == [
        ("block", "pci", "0000:00:04.0"), ("net", "pci", "0000:00:02.0")]
    assert report["findings"] == []


def test_xfs_mounts_show_the_virtio_disks_it_read():
    """RHEL and CentOS 7's default file system: XFS's "Mounting V5 Filesystem" (after the
    superblock was read) and "Ending clean mount" of vda1 and vdb are the kernel reading two
    virtio disks, as ext4's "mounted filesystem" is."""
    code, report = _analyse("centos7-xfs-mounts.log")
    assert code == 0
    assert sorted((d["id"], d["type"], d["reached_driver_ok"]) for d in report["devices"]) == [
        ("vda", "block", "yes"), ("vdb", "block", "yes")]
    assert report["findings"] == []


def test_e2fscks_report_on_the_console_shows_the_virtio_disk_it_read():
    """initramfs-tools prints e2fsck's "%s: recovering journal" and "%s: clean, ..." of
    /dev/vda1 on a quiet console that shows no line of virtio_blk: the disk was read."""
    code, report = _analyse("ubuntu1604-fsck-console.log")
    assert code == 0
    assert [(d["id"], d["type"], d["reached_driver_ok"]) for d in report["devices"]] == [
        ("vda", "block", "yes")]
    assert report["findings"] == []
