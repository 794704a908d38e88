"""The model's per-payload memos give what computing each event afresh gives."""

from virtiodiag.events import Event, Payload
from virtiodiag.model import ModelBuilder
from virtiodiag.model import run_wide


def _cmdline(words, line):
    return Event(Payload("linux-cmdline", "cmdline", (("param", tuple(words)),)), "x.log",
                 line, " ".join(words), seq=line)


def test_command_line_parameters_with_and_without_the_memo(monkeypatch):
    first = ["root=/dev/vda", "virtio_pci.force_legacy=1", "vhost.x=2", "virtio=3"]
    second = ["quiet", "virtio_blk.queue_depth=64", "virtio_pci.force_legacy=0"]
    lines = [first, second, first, second, second, first]

    def params(limit):
        monkeypatch.setattr(run_wide, "CMDLINE_MEMO_LIMIT", limit)
        builder = ModelBuilder("x.log")
        seen = []
        payloads = {}
        for n, words in enumerate(lines, 1):
            # the same Payload object for the same text, as the dialects hand them out
            event = _cmdline(words, n)
            payload = payloads.setdefault(tuple(words), event.payload)
            event.payload = payload
            builder.feed(event)
            seen.append((dict(builder.model.virtio_params), builder.model.cmdline.line))
        return seen

    remembered, cleared_each_time = params(256), params(1)
    assert remembered == cleared_each_time
    assert remembered[-1][0] == {"virtio_pci.force_legacy": "1", "vhost.x": "2",
                                 "virtio_blk.queue_depth": "64"}


def test_bsd_pci_addresses_with_and_without_the_memo():
    from virtiodiag.model import identity

    cases = [(("pci_slot", 3), ("pci_function", 0), ("pci_bus", "pci0")),
             (("pci_slot", 3), ("pci_function", 1), ("pci_bus", "pci2")),
             (("pci_slot", 4), ("pci_function", 0), ("pci_bus", 1)),
             (("pci_slot", 5),), (("device", "PCI:00:06"),), (("bus_slot", "0:3"),),
             (("device", "virtio0"),)]
    events = [Event(Payload("bsd", "device_found", fields), "x.log", n, "", seq=n)
              for n, fields in enumerate(cases * 2, 1)]
    fresh = [identity._bsd_pci_address(e.payload.by_name) for e in events]
    assert fresh[:5] == ["0000:00:03.0", "pci2:03.1", "0000:01:04.0", "0000:00:05.0",
                         "0000:00:06.0"]
    for _ in range(2):  # filling the memo, then from it
        assert [identity.bsd_pci_address(e) for e in events] == fresh
