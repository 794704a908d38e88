"""A kernel that cannot mount its root file system is a typed fact of the model
(model/root_mount.py) and an error (VD024) on the virtio block device whose disk it names,
else run-wide. Before, these lines were read by no grammar (Linux's panic aside, a crash
report of no virtio driver): such a guest gave exit 0 with no finding. The lines are
written from the format strings: Linux init/do_mounts.c, FreeBSD sys/kern/vfs_mountroot.c,
NetBSD and OpenBSD sys/kern/init_main.c."""

from __future__ import annotations

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects

LINUX = """\
[    0.000000] Kernel command line: console=ttyS0 root=/dev/vda1 rw
[    1.201000] virtio-pci 0000:00:04.0: enabling device (0000 -> 0003)
[    1.260000] virtio_blk virtio1: [vda] 20971520 512-byte logical blocks (10.7 GB/10.0 GiB)
"""
OPEN_FAILED = """\
[    1.806115] VFS: Cannot open root device "vda1" or unknown-block(253,1): error -6
[    1.806200] Please append a correct "root=" boot option; here are the available partitions:
[    1.806902] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(253,1)
"""
NO_FS = """\
[    1.806115] No filesystem could mount root, tried:  ext3 ext2 ext4 vfat
[    1.806902] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(253,1)
"""
FREEBSD = """\
virtio_pci0: <VirtIO PCI (modern) Network adapter> mem 0xc1000000-0xc1003fff irq 10 at device 3.0 on pci0
virtio_pci1: <VirtIO PCI (modern) Block adapter> mem 0xc1004000-0xc1007fff irq 11 at device 4.0 on pci0
vtbd0: <VirtIO Block Adapter> on virtio_pci1
vtbd0: 20480MB (41943040 512 byte sectors)
Mounting from ufs:/dev/vtbd0p2 failed with error 22: invalid superblock.
mountroot>
"""


def _analyse(text: str):
    return analyse_blocks("root.log", [text.encode()], shared_dialects())


def _root(result):
    return [f for f in result.findings if f.rule == "VD024"]


def test_linux_root_fact_joins_the_panic_and_the_virtio_disk():
    result = _analyse(LINUX + OPEN_FAILED)
    fact = result.model.root_mount
    assert (fact.root, fact.disk, fact.error) == ("vda1", None, -6)
    assert fact.panic is not None and fact.panic.payload.detail == "panic"
    assert fact.device is not None and fact.device.address == "0000:00:04.0"
    (hit,) = _root(result)
    assert hit.severity == "error" and hit.line == 4
    assert hit.device_identity == fact.device.identity
    assert "vda1" in hit.message and "error -6" in hit.message
    assert [r["line"] for r in hit.related] == [6]
    assert len(result.model.crashes) == 1  # the panic is still one crash report


def test_linux_no_file_system_names_the_command_line_root():
    result = _analyse(LINUX + NO_FS)
    fact = result.model.root_mount
    assert fact.root == "/dev/vda1" and fact.device is not None
    (hit,) = _root(result)
    assert hit.line == 4 and "/dev/vda1" in hit.message


def test_freebsd_mount_failure_is_the_vtbd_device_s():
    result = _analyse(FREEBSD)
    fact = result.model.root_mount
    assert (fact.disk, fact.error) == ("/dev/vtbd0p2", 22)
    assert fact.device is not None and fact.device.address == "0000:00:04.0"
    (hit,) = _root(result)
    assert hit.line == 5 and hit.device_identity == fact.device.identity


def test_a_disk_no_virtio_device_has_is_a_run_level_error():
    result = _analyse('VFS: Cannot open root device "sda1" or unknown-block(0,0): error -6\n')
    (hit,) = _root(result)
    assert hit.device in (None, "-") and "sda1" in hit.message


def test_netbsd_and_openbsd_failures_are_errors():
    (hit,) = _root(_analyse("ld0 at virtio1: Virtio Block Device\ncannot mount root, "
                            "error = 19\n"))
    assert hit.line == 2 and "error 19" in hit.message
    result = _analyse("panic: cannot mount root\n")
    assert len(_root(result)) == 1 and len(result.model.crashes) == 1


def test_waiting_for_the_disk_is_no_failure():
    result = _analyse("Mounting from ufs:/dev/vtbd0p2 failed with error 19; retrying for 3 "
                      "more seconds\n")
    assert result.model.root_mount is None and not _root(result)


# NetBSD sys/kern/kern_subr.c setroot_root() aprint_normal("root on %s", ...) "%c", then
# setroot_dump() " dumps on %s" "%c" "\n"; sys/kern/vfs_mount.c vfs_mountroot()
# printf("vfs_mountroot: can't open root device\n"); setroot_ask()'s "root device
# (default %s%c): " prompt. Two virtio disks, so the one the kernel chose is told apart.
NETBSD = """\
[   1.0000000] ld0 at virtio1: Virtio Block Device
[   1.0000000] ld1 at virtio2: Virtio Block Device
[   1.5000000] boot device: ld1
[   1.5000000] root on ld1a dumps on ld1b
[   1.5100000] vfs_mountroot: can't open root device
[   1.5100000] cannot mount root, error = 6
[   1.5100000] root device (default ld1a):
"""


def test_netbsd_failure_is_on_the_disk_the_kernel_chose():
    result = _analyse(NETBSD)
    fact = result.model.root_mount
    assert fact is not None and fact.failed.payload.detail == "open_failed"
    assert (fact.root, fact.error) == ("ld1a", 6)
    (hit,) = _root(result)
    assert hit.line == 5 and "ld1a" in hit.message and "error 6" in hit.message
    assert fact.device is not None and hit.device_identity == fact.device.identity
    assert "ld1" in {alias.removeprefix("name:") for alias in fact.device.aliases}


def test_the_chosen_root_alone_is_no_failure():
    # OpenBSD setroot(): "root on %s%c", the disk's DUID " (%s.%c)", " swap on %s%c",
    # " dump on %s%c"
    result = _analyse("root on sd0a (6d3c2f1e0a9b8c7d.a) swap on sd0b dump on sd0b\n")
    assert result.model.root_mount is None and not _root(result)
    assert result.model.root_chosen is not None
