"""The device index (model/device_index.py) finds what a scan of every device finds: the
look-ups by type and by interface or disk name give the same reports as the scans they
replaced, and an entry holds every device that has the value now, in the model's order."""

import io

import pytest

from virtiodiag.analysis import Analysis, RuleSettings
from virtiodiag.model import device_index
from virtiodiag.model.device import Model
from virtiodiag.model.device_index import DeviceIndex
from virtiodiag.model.identity import Identities
from virtiodiag.options import ReportOptions
from virtiodiag.reports import get_reporter

from conftest import REPO, SAMPLES, report_text, shared_dialects

# Logs whose lines name a device by type or interface only: a SCSI host's "Virtio SCSI
# HBA", "NETDEV WATCHDOG: eth0 (virtio_net)", "I/O error, dev vda", a VMM's type-only line.
LOGS = [SAMPLES / "scsi-balloon-input" / "combined.log",
        SAMPLES / "x86-linux510-multi" / "combined.log",
        SAMPLES / "cloud-multi-device" / "combined.log",
        REPO / "tests" / "fixtures" / "linux-eras" / "linux-5.x-netdev-watchdog.log",
        REPO / "tests" / "fixtures" / "linux-eras" / "linux-3.x-scsi-hosts-quiet-reboot.log"]


def _scanning_report(path) -> str:
    """The JSON report with every look-up given every device of the run (the scan)."""
    analysis = Analysis(str(path), shared_dialects(), RuleSettings())
    index = analysis.builder.model.device_index
    index.of_type = lambda value: index.devices  # type: ignore[method-assign]
    index.named = lambda value: index.devices  # type: ignore[method-assign]
    with open(path, "rb") as handle:
        analysis.feed_all(iter(lambda: handle.read(1 << 16), b""))
    out = io.StringIO()
    get_reporter("json").render([analysis.finish()], out, ReportOptions())
    return out.getvalue()


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.stem if p.stem != "combined"
                         else p.parent.name)
def test_the_index_finds_what_a_scan_of_every_device_finds(path):
    assert _scanning_report(path) == report_text(path)


def _devices(count: int) -> tuple[Model, Identities]:
    model = Model("<test>")
    identities = Identities(model)
    for n in range(count):
        identities.device_for((f"name:dev{n}",))
    return model, identities


def test_an_entry_holds_every_device_with_the_value_now_in_model_order():
    model, identities = _devices(4)
    first, second, third, fourth = model.devices
    fourth.device_type = "net"
    second.device_type = "net"
    third.netdev = "eth0"
    first.disk = "eth0"  # a name is a name, whichever fact holds it
    assert model.device_index.of_type("net") == [second, fourth]
    assert model.device_index.named("eth0") == [first, third]
    third.netdev = "eth1"  # renamed: still filed under eth0, checked by the look-up
    assert third in model.device_index.named("eth0")
    assert model.device_index.named("eth1") == [third]
    identities.merge(first, fourth)  # a joined record's facts go to the record kept
    assert first.device_type == "net"
    assert model.device_index.of_type("net") == [first, second, fourth]
    assert model.device_index.of_type("blk") == []


def test_a_full_table_is_filed_again_from_the_current_values(monkeypatch):
    monkeypatch.setattr(device_index, "INDEX_LIMIT", 3)
    model, _ = _devices(2)
    one, two = model.devices
    for name in ("eth0", "eth1", "eth2"):
        one.netdev = name
    two.disk = "vda"  # the fourth key: the names one no longer has are dropped
    assert set(model.device_index.by_name) == {"eth2", "vda"}
    assert model.device_index.named("eth2") == [one]
    assert model.device_index.named("vda") == [two]
    assert DeviceIndex(model.devices).named("vda") == []  # filed by the setters only
