"""Joining two records of one device keeps its queues' counts and lists bounded
(model/identity.Identities.merge).

The benchmark's 200 MB sparse log (its generator mixes every sample's lines) once met a
device record joined into another twice: the second join found the target holding the
very Queue object the first had moved, added its counts to themselves and extended its
lists with themselves (``list +=`` past History's bound), doubling them at every repeat:
12 GB before the kernel killed the run."""

from virtiodiag.model.device import Device, Model
from virtiodiag.model.identity import Identities
from virtiodiag.model.records import HISTORY_LIMIT


def _device(model: Model, ordinal: int, alias: str, entries: int) -> Device:
    device = Device(ordinal=ordinal)
    device.aliases.append(alias)
    model.devices.append(device)
    queue = device.queue(0)
    queue.notifies = 5
    for n in range(entries):
        queue.config_while_ready.append(n)
    return device


def test_a_queue_the_target_already_holds_is_counted_once():
    model = Model("run.log")
    identities = Identities(model)
    target, other = _device(model, 1, "virtio0", 0), _device(model, 2, "virtio1", 3)
    del target.queues[0]
    identities.merge(target, other)
    assert target.queues[0] is other.queues[0]  # moved, shared with the old record
    for _ in range(10):  # the old record joined again: nothing is counted twice
        identities.merge(target, other)
    assert target.queues[0].notifies == 5
    assert list(target.queues[0].config_while_ready) == [0, 1, 2]


def test_joined_queue_lists_stay_bounded():
    model = Model("run.log")
    identities = Identities(model)
    target = _device(model, 1, "virtio0", HISTORY_LIMIT)
    other = _device(model, 2, "virtio1", HISTORY_LIMIT)
    identities.merge(target, other)
    queue = target.queues[0]
    assert queue.notifies == 10
    assert len(queue.config_while_ready) <= HISTORY_LIMIT
    assert queue.config_while_ready[-1] == HISTORY_LIMIT - 1  # the latest are kept


def test_every_name_of_a_joined_record_leads_to_the_record_it_joined():
    """A device known by more names than a bounded history keeps (here 40 vdev pointers and
    BDFs) is joined into another: every one of its names must then lead to the live record.
    When the alias list was a History, names from its middle were dropped from the list but
    stayed in the index pointing at the old record, and the next line naming one joined the
    old record again (its shared queues counted twice per repeat: 12 GB on a 200 MB log)."""
    model = Model("run.log")
    identities = Identities(model)
    names = [f"ptr:0x{n:x}" for n in range(40)]
    old = identities.device_for(names)
    live = identities.device_for(["virtio0"])
    assert old is not None and live is not None and old is not live
    assert old.aliases == names
    identities.merge(live, old)
    assert all(identities.by_alias[name] is live for name in names)
    assert identities.device_for([names[12]]) is live
    assert old.aliases == [] and model.live_devices() == [live]
