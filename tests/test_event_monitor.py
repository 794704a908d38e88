"""cloud-hypervisor's --event-monitor file: pretty-printed JSON events, one per object.

event_monitor/src/lib.rs event_log() sends serde_json::to_string_pretty() of its Event
(``{"timestamp": {"secs", "nanos"}, "source", "event", "properties"}``, two spaces per
level); a device's activate() sends ("virtio-device", "activated", "id", id), its reset()
("virtio-device", "reset", "id", id). tests/fixtures/event_monitor/events.log was written
for this test in that shape (a blank line after each event). The reader joins each object
onto one line (sources/encodings.py); grammars/cloud_hypervisor.lark reads a virtio
device's as it reads the same event logged on one line."""

from pathlib import Path

from conftest import analyse_json

from virtiodiag.sources.reader import open_binary

EVENTS = Path(__file__).resolve().parent / "fixtures" / "event_monitor" / "events.log"


def _read(path, size=7):
    stream = open_binary(str(path))
    chunks = []
    while True:
        chunk = stream.read(size)  # small reads: objects cut across them
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_each_event_is_one_line_at_its_first_lines_number():
    text = _read(EVENTS).decode()
    lines = text.split("\n")
    assert text.count("\n") == EVENTS.read_bytes().count(b"\n")  # every line keeps its number
    assert lines[20] == ('{"timestamp": {"secs": 0,"nanos": 912345678},"source": '
                         '"virtio-device","event": "activated","properties": {"id": "_disk0"}}')
    assert lines[0].endswith('"event": "starting","properties": null}')
    assert lines[21:32] == [""] * 11


def test_the_devices_activations_and_resets_are_read():
    report = analyse_json(EVENTS)
    devices = {d["id"]: d for d in report["devices"]}
    assert set(devices) == {"_disk0", "_net1"}
    assert devices["_disk0"]["driver_ok"]["state"] == "reached"
    assert devices["_disk0"]["driver_ok"]["line"] == 21
    assert [e["line"] for e in devices["_disk0"]["timeline"]] == [21, 55]
    assert devices["_net1"]["driver_ok"]["line"] == 33
    assert report["findings"] == [] and report["stats"]["lines"] == 66
    assert "event-monitor" in report["stats"]["encoding"]


def test_an_object_cut_by_the_end_of_the_file_is_kept_as_its_lines(tmp_path):
    cut = tmp_path / "cut.log"
    whole = EVENTS.read_bytes()
    cut.write_bytes(whole[:whole.index(b'"_net1"')])
    text = _read(cut).decode()
    assert text.count("\n") == cut.read_bytes().count(b"\n")
    assert text.endswith('  "properties": {\n    "id": ')


def test_other_json_is_read_as_it_is(tmp_path):
    other = tmp_path / "other.log"
    other.write_bytes(b'{\n  "name": "x",\n  "value": 1\n}\n')
    assert _read(other) == other.read_bytes()
