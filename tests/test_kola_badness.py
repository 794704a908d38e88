"""CoreOS's kola test harness (coreos-assembler mantle/kola/harness.go) reports what its
CheckConsole() found in a test machine's console as "Found %s on machine %s console",
the badness being "%s (%s)": the check's name and its pattern's group. For "kernel
warning" the pattern is `WARNING: CPU: \\d+ PID: \\d+ at (.+)`, so the line carries the
WARNING's place: source file and line, function+offset/size, module. A CI log of kola
shows only that line (the console is kept apart); before, it was read by no grammar and
gave "no virtio device recognised" (VD020). The lines are written from those formats."""

from __future__ import annotations

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects


def _analyse(text: str):
    return analyse_blocks("kola.log", [text.encode()], shared_dialects())


def test_a_kola_kernel_warning_in_a_virtio_driver_is_that_driver_s_crash():
    text = ("--- FAIL: ext.config.selinux.enforcing (88.12s)\n"
            "        harness.go:1735: Found kernel warning (drivers/virtio/virtio_ring.c:2153 "
            "vring_create_virtqueue+0x4c/0x80 [virtio_ring]) on machine 0b7c1e2a console\n")
    result = _analyse(text)
    (hit,) = [f for f in result.findings if f.rule == "VD021"]
    assert hit.line == 2 and "vring_create_virtqueue" in hit.message
    assert not [f for f in result.findings if f.rule == "VD020"]


def test_a_kola_warning_outside_virtio_blames_no_virtio_driver():
    text = ("    harness.go:1735: Found kernel warning (fs/ext4/inode.c:3841 "
            "ext4_set_page_dirty+0x44/0x60 [ext4]) on machine 0b7c1e2a journal\n")
    result = _analyse(text)
    assert not [f for f in result.findings if f.rule == "VD021"]
