"""One physical device, one device in the report: over every sample log, every fixture log
and every text case of the rule fixtures.

A report lists a device twice when two records of one device were never joined. Nothing
in a report says so by itself, so these are the facts that give it away:

* two devices with the same transport address, or the same name the guest gave them
  (``virtio1``, ``vtnet0``, ``virtio-blk#1``): the model joins records by these names, so a
  repeat means a join was undone or bypassed;
* a log that holds QEMU's trace: the trace shows every virtio device of the machine
  (QEMU resets each at machine reset and names it by its vdev pointer), so every device
  but an empty slot must carry exactly one vdev pointer. A guest-side or firmware device
  with none was left beside the QEMU record of the same device (or is one QEMU never had);
  one with two joined two of QEMU's devices into one;
* a Linux ``virtioN`` with no address beside a device of a compatible type that has an
  address and no ``virtioN`` name: Linux's virtioN sits on one of the enumerated
  functions, and the unjoined pair is the same device.
"""

from pathlib import Path

import pytest

from virtiodiag.analysis import Analysis
from virtiodiag.model.discovery import transport_probe_failed
from virtiodiag.dialects import load_dialects
from virtiodiag.model.identity import VIRTIO_N

from conftest import analysed
from each_case import by_folder, check_each, grouped, log_name
from test_rules import ALL_CASES

REPO = Path(__file__).resolve().parents[1]
LOGS = sorted([*REPO.glob("samples/*/*.log"), *REPO.glob("tests/fixtures/*/*.log")])
TEXT_CASES = [c for c in ALL_CASES if not c.uses_events]


def _model(name: str, data: bytes, dialects):
    analysis = Analysis(name, dialects)
    analysis.feed_block(data)
    analysis.close_input()
    return analysis.finish().model


def _repeated(values):
    seen, twice = set(), set()
    for value in values:
        (twice if value in seen else seen).add(value)
    return twice


def twice_listed(model) -> list[str]:
    """Why the model lists one physical device twice (empty: it does not)."""
    devices = [d for d in model.live_devices() if not d.is_empty_slot]
    problems = []
    for where in _repeated((d.transport, d.address) for d in devices if d.address):
        problems.append(f"two devices at {where[0]} {where[1]}")
    for name in _repeated(d.guest_name for d in devices if d.guest_name):
        problems.append(f"two devices named {name}")
    pointers = {d.id: [a for a in d.aliases if a.startswith("vdev:")] for d in devices}
    if any(pointers.values()):
        for device in devices:
            count = len(pointers[device.id])
            if count != 1:
                problems.append(f"{device.id} ({'/'.join(sorted(device.sides))}) carries "
                                f"{count} of the trace's vdev pointers")
    loose_names = [d for d in devices if not d.address
                   and d.guest_name and VIRTIO_N.match(d.guest_name)]
    for loose in loose_names:
        for other in devices:
            # A transport whose own probe failed registered no virtioN (it is a second
            # device, not the loose one's other record). Two loose virtioN that both fit
            # it: one of them is its other record, the log does not say which (fixture
            # linux-6.x-s390-ccw-two-drivers-one-failure), so none is joined.
            if (other.address and not (other.guest_name and VIRTIO_N.match(other.guest_name))
                    and not transport_probe_failed(other)
                    and _fit(loose, other)
                    and not any(g is not loose and _fit(g, other) for g in loose_names)):
                problems.append(f"{loose.guest_name} (no address) beside {other.id} "
                                "(an address, no virtioN name)")
    return problems


def _fit(loose, other) -> bool:
    return (loose.device_type is None or other.device_type is None
            or loose.device_type == other.device_type)


# One test a folder of logs, one a rule's fixture cases, each failing case named
# (each_case.check_each): the checks are cheaper than a test of their own.
@pytest.mark.parametrize("paths", by_folder(LOGS))
def test_no_log_lists_one_device_twice(paths):
    check_each(((log_name(path), (path,)) for path in paths), _lists_each_device_once)


def _lists_each_device_once(path):
    model = analysed(path).model  # `analyze PATH`'s model, analysed once per session
    assert twice_listed(model) == [], [d.id for d in model.live_devices()]


@pytest.mark.parametrize("cases", grouped(TEXT_CASES, key=lambda case: case.code))
def test_no_rule_fixture_lists_one_device_twice(cases, dialects):
    check_each(((case.id, (case, dialects)) for case in cases), _fixture_lists_each_device_once)


def _fixture_lists_each_device_once(case, dialects):
    text = "\n".join(case.lines) + "\n"
    model = _model(f"{case.code}.txt", text.encode(), dialects)
    assert twice_listed(model) == [], [d.id for d in model.live_devices()]


def test_the_check_sees_a_device_listed_twice(dialects):
    # The check itself: a quiet console's virtio1 and a trace whose two devices Linux's
    # order cannot tell apart (no enumeration line, two acknowledgements at once) stay
    # apart, and the check says so.
    text = ("virtio_set_status vdev 0x5620aa000100 val 1\n"
            "virtio_set_status vdev 0x5620aa000200 val 1\n"
            "[    1.2] virtio_blk virtio1: [vda] 2048 512-byte logical blocks\n"
            "[    1.3] virtio_blk virtio7: [vdb] 2048 512-byte logical blocks\n")
    problems = twice_listed(_model("twice.log", text.encode(), dialects))
    assert any("carries 0 of the trace's vdev pointers" in p for p in problems), problems


def test_the_check_sees_an_address_listed_twice(dialects):
    model = _model("one.log", b"pci 0000:00:03.0: [1af4:1041] type 00 class 0x020000\n",
                   dialects)
    (device,) = model.live_devices()
    assert twice_listed(model) == []
    device.aliases.append("pci:extra")  # as if a second record of 00:03.0 stayed apart
    copy = type(device)(ordinal=2)
    copy.aliases.append("name:copy")
    copy.transport, copy.address = device.transport, device.address
    model.devices.append(copy)
    assert twice_listed(model) == ["two devices at pci 0000:00:03.0"]


def test_the_teach_your_log_example_lists_its_device_once():
    example = REPO / "docs" / "examples"
    dialects = load_dialects(extra=[str(example / "vnet.lark")])
    model = _model("vnet-boot.log", (example / "vnet-boot.log").read_bytes(), dialects)
    assert len(model.live_devices()) == 1 and twice_listed(model) == []
