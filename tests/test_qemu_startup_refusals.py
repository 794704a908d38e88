"""QEMU refusing a virtio device at start-up, and a migration that does not fit a device.

Each log is written from QEMU's format strings: util/qemu-error.c prints an error against a
command-line option as "<argv[0] basename>: <option>: <message>" (argv[0] is whatever a
wrapper's "exec -a NAME" made it), qdev-monitor.c's "Bus '%s' not found" and "No '%s' bus
found for device '%s'", hw/core/qdev.c's "Initialization of device %s failed: %s",
vhost-user.c's "Failed to read msg header. Read %d instead of %d. Original request %d." and
vhost.c's "vhost_backend_init failed: %s", and migration/ram.c's "Size mismatch: %s: 0x%lx
!= 0x%lx" and "Unknown ramblock \"%s\", cannot accept migration" (the RAM block's idstr is
"<qdev path>/<name>", a PCI device's ROM "BDF/<model>.rom"). The rows check the typed
facts the model draws (model, type, transport, id, cause) and the one finding per device.
"""

import pytest

from virtiodiag.analysis import analyse_blocks
from virtiodiag.model.failures import refusal_groups


def _run(text, dialects):
    return analyse_blocks("refusal.log", [text.encode()], dialects)


REFUSALS = [
    # A wrapper renamed argv[0] (exec -a), and journald's prefix before it.
    ("renamed-argv0",
     "Mar 02 10:11:12 host vm-runner[4711]: vmwrap@guest7: -device virtio-balloon,id=bal1,"
     "deflate-on-oom=on: No 'PCI' bus found for device 'virtio-balloon-pci'\n",
     ("virtio-balloon", "balloon", "pci", "bal1", None)),
    ("bus-not-found",
     "qemu-system-aarch64: -device virtio-scsi-pci,id=scsi2,bus=pcie.7,addr=0x2: "
     "Bus 'pcie.7' not found\n",
     ("virtio-scsi-pci", "scsi", "pci", "scsi2", None)),
    ("mmio-model",
     "qemu-system-x86_64: -device virtio-blk-device,drive=hd1: No 'virtio-bus' bus found "
     "for device 'virtio-blk-device'\n",
     ("virtio-blk-device", "block", "mmio", None, None)),
    ("vhost-user-backend",
     "qemu-system-x86_64: -device vhost-user-fs-pci,chardev=char3,tag=share: Failed to read "
     "msg header. Read 0 instead of 12. Original request 1.\n"
     "qemu-system-x86_64: -device vhost-user-fs-pci,chardev=char3,tag=share: "
     "vhost_backend_init failed: Protocol error\n",
     ("vhost-user-fs-pci", "fs", "pci", None, "backend")),
    ("init-failed-rom",
     "qemu-system-x86_64: Initialization of device virtio-net-pci failed: failed to find "
     "romfile \"efi-virtio.rom\"\n",
     ("virtio-net-pci", "net", "pci", None, "rom")),
    # An issue title quotes the message without the program name.
    ("init-failed-bare",
     "Initialization of device virtio-rng-pci failed: something went wrong\n",
     ("virtio-rng-pci", "rng", "pci", None, None)),
]


@pytest.mark.parametrize("name, text, facts", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_device_is_one_finding_naming_its_model_type_and_transport(
        name, text, facts, dialects):
    result = _run(text, dialects)
    groups = refusal_groups(list(result.model.config_refusals))
    assert len(groups) == 1
    refused, events = groups[0]
    assert refused is not None
    assert (refused.model, refused.device_type, refused.transport, refused.device_id,
            refused.cause) == facts
    assert len(events) == text.count("\n")
    found = [f for f in result.findings if f.rule == "VD006"]
    assert [(f.severity, f.line) for f in found] == [("error", 1)]
    model, kind, transport, device_id, _ = facts
    assert f"QEMU refused {model}" in found[0].message
    assert f"a {kind} device on virtio-{transport}" in found[0].message
    if device_id:
        assert f"id {device_id}" in found[0].message
    assert len(found[0].related) == len(events) - 1


def test_each_cause_gets_its_own_way_out(dialects):
    by_name = {name: _run(text, dialects) for name, text, _ in REFUSALS}
    hint = {name: next(f.hint for f in r.findings if f.rule == "VD006")
            for name, r in by_name.items()}
    assert "back-end" in hint["vhost-user-backend"]
    assert "ROM" in hint["init-failed-rom"]
    assert "bus" in hint["bus-not-found"]
    assert "back-end" not in hint["bus-not-found"]


def test_a_device_model_that_is_not_virtio_is_no_refusal_of_ours(dialects):
    result = _run("qemu-system-x86_64: Initialization of device e1000 failed: failed to "
                  "find romfile \"efi-e1000.rom\"\n", dialects)
    assert not result.model.config_refusals
    assert not result.findings


MIGRATION = [
    ("size-mismatch",
     "qemu-system-x86_64: Size mismatch: 0000:00:05.0/virtio-net-pci.rom: 0x40000 != "
     "0x80000: Invalid argument\n"
     "qemu-system-x86_64: error while loading state for instance 0x0 of device 'ram'\n",
     "0000:00:05.0", "net"),
    # QEMU 4.0 and older: "Length mismatch: %s: 0x%lx in != 0x%lx".
    ("length-mismatch",
     "qemu-system-x86_64: Length mismatch: 0000:00:06.0/virtio-blk-pci.rom: 0x20000 in != "
     "0x40000: Invalid argument\n",
     "0000:00:06.0", "block"),
    ("unknown-ramblock",
     "qemu-kvm: Unknown ramblock \"0000:00:07.0/virtio-scsi-pci.rom\", cannot accept "
     "migration\n",
     "0000:00:07.0", "scsi"),
]


@pytest.mark.parametrize("name, text, address, kind", MIGRATION, ids=[r[0] for r in MIGRATION])
def test_a_migration_that_does_not_fit_a_virtio_devices_rom_fails_that_device(
        name, text, address, kind, dialects):
    result = _run(text, dialects)
    (device,) = result.model.devices
    assert (device.transport, device.address, device.device_type) == ("pci", address, kind)
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert finding.severity == "error" and finding.line == 1
    assert "[migration]" in finding.message
    assert "same version" in finding.hint


@pytest.mark.parametrize("line", [
    "qemu-system-x86_64: Unknown ramblock \"0000:00:04.0:02.0/e1000.rom\", cannot accept "
    "migration\n",
    "qemu-system-x86_64: Size mismatch: pc.ram: 0x40000000 != 0x80000000: Invalid argument\n",
    "qemu-system-x86_64: Unknown ramblock \"0000:00:03.0/e1000e.rom\", cannot accept "
    "migration\n",
])
def test_a_ram_block_of_no_virtio_device_is_read_and_left_alone(line, dialects):
    result = _run(line, dialects)
    assert not result.model.devices
    assert not result.findings
