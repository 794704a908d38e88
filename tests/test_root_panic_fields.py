"""The root panic's disk as the grammar's typed fields, not the model's reading of text.

Linux init/do_mounts.c mount_block_root() (mount_root_generic() since 6.5) ends a root
that no file system mounted with panic("VFS: Unable to mount root fs on %s", b): b is the
disk's name or block/genhd.c __bdevname()'s "unknown-block(%u,%u)" (major, minor).
linux-oops reads it as ``root_disk`` or ``major`` and ``minor``, beside the whole reason
(``message``); model/root_mount.py joins the number with the partition list's devt."""

import json

from conftest import invoke_cli

PANIC = "Kernel panic - not syncing: VFS: Unable to mount root fs on "


def _event(line: str) -> str:
    proc = invoke_cli("parse", line)
    assert proc.returncode == 0, proc.stdout
    (event,) = [row for row in proc.stdout.splitlines() if row.strip().startswith("event:")]
    return event


def test_the_panic_gives_the_disks_number_and_name_as_fields():
    assert "message=VFS: Unable to mount root fs on unknown-block(254,1) major=0xfe minor=0x1" \
        in _event(PANIC + "unknown-block(254,1)")
    assert "root_disk=vda" in _event(PANIC + "vda")
    # (parse shows numbers in hex.) Something else after the number: the reason only, as before
    event = _event(PANIC + "unknown-block(8,0) (again)")
    assert "major" not in event and "root_disk" not in event


# A kernel of another wording whose grammar gives the same fields: the model goes by them.
GRAMMAR = r'''//@ dialect: my-kernel
//@ triggers: ROOTPANIC
//@ sample: ROOTPANIC 254 0 => oops[panic] major=254 minor=0
start: oops
oops: "ROOTPANIC" major minor -> oops__panic
major: NUM
minor: NUM
NUM: /\d+/
%ignore " "
'''

LOG = ("[    0.912001] List of all partitions:\n"
       "[    0.912210] fe00         2097152 vda  driver: virtio_blk\n"
       "[    0.912422] No filesystem could mount root, tried: \n"
       "[    0.912630]  squashfs\n"
       "[    0.913050] ROOTPANIC 254 0\n")


def test_the_model_joins_the_panics_typed_number_with_the_listed_disk(tmp_path):
    grammar = tmp_path / "my_kernel.lark"
    grammar.write_text(GRAMMAR)
    log = tmp_path / "guest.log"
    log.write_text(LOG)
    proc = invoke_cli("analyze", "--format", "json", "--grammar", str(grammar), str(log))
    report = json.loads(proc.stdout)
    (root,) = [f for f in report["findings"] if f["rule"] == "VD024"]
    assert "read its root disk vda" in root["message"]
    assert root["device"] == "vda"
