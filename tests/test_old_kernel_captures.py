"""Real logs of scripts/capture-old.sh: Debian 11's Linux 5.10 on x86_64 (and arm64), and
s390x's virtio-ccw transport (Debian 12's 6.1), each under Debian 12's QEMU 7.2.

test_samples.py checks their expected.json like every sample's; these are the facts that
needed a fix when the logs were first seen (each NOTES.md says what the right diagnosis is).
"""

from conftest import SAMPLES, analyse_json

CCW = SAMPLES / "s390x-ccw-virtio"
X86_510 = SAMPLES / "x86-linux510-multi"
LEGACY_510 = SAMPLES / "x86-linux510-legacy-mixed"
CCW_DEVICES = {"0.0.0001": "net", "0.0.0002": "block", "0.0.0003": "rng", "0.0.0004": "scsi",
               "0.0.0005": "balloon"}


def test_ccw_devices_are_placed_by_their_sysfs_links():
    # console.log 203: "virtio0 -> ../../../devices/css0/0.0.0001/0.0.0002/virtio0": the
    # ccw device 0.0.0002 (below subchannel 0.0.0001) is the transport virtio0 sits on.
    for log in ("console.log", "combined.log"):
        report = analyse_json(CCW / log)
        placed = {d["address"]: d for d in report["devices"]}
        assert {a: d["type"] for a, d in placed.items()} == CCW_DEVICES, log
        assert {d["transport"] for d in placed.values()} == {"ccw"}
        assert all(d["matched_by"] == "sysfs link" for d in placed.values()
                   if "host" not in d["sides"]), log
    console = {d["address"]: d["guest_name"] for d in analyse_json(CCW / "console.log")["devices"]}
    assert console["0.0.0002"] == "virtio0" and console["0.0.0001"] == "virtio2"


def test_the_scsi_hosts_line_is_the_one_scsi_devices_own():
    # console.log 164 "scsi host0: Virtio SCSI HBA" comes before anything names the ccw
    # device (the sysfs dump, line 206): it was a sixth device of its own.
    report = analyse_json(CCW / "console.log")
    scsi = [d for d in report["devices"] if d["type"] == "scsi"]
    assert len(scsi) == 1 and scsi[0]["address"] == "0.0.0004"
    assert any("virtio3: the only scsi device" in n and "line 164" in n
               for n in report["matching_notes"]), report["matching_notes"]


def test_each_ccw_device_is_both_sides_once_in_the_combined_stream():
    report = analyse_json(CCW / "combined.log")
    assert len(report["devices"]) == 5
    for device in report["devices"]:
        assert set(device["sides"]) == {"guest", "host"}
        assert [w for w in device["status_writes"] if w] == [1, 3, 11, 15, 15]


def test_qemus_ccw_lines_place_the_traced_devices_without_the_guest():
    # trace.log 2 "virtio_ccw_new_device VIRTIO-CCW: add subchannel fe.0.0001, devno 0x0002",
    # 23-25 "fe.0.0001: interpret command 0x31" (WRITE_STATUS) then "virtio_set_status vdev
    # 0x564609233700 val 1": that vdev is ccw device 0.0.0002, which Linux calls 0.0.0002.
    report = analyse_json(CCW / "trace.log")
    placed = {d["address"]: d for d in report["devices"]}
    assert set(placed) == set(CCW_DEVICES)
    assert {d["transport"] for d in placed.values()} == {"ccw"}
    assert placed["0.0.0002"]["type"] == "block" and placed["0.0.0003"]["type"] == "rng"
    assert all([w for w in d["status_writes"] if w] == [1, 3, 11, 15, 15]
               for d in placed.values())
    (kick,) = [f for f in report["findings"] if f["rule"] == "VD012"]
    assert kick["device"] == "ccw-0.0.0005"  # the balloon's stats queue, as on the console
    # combined.log: the same joins, and each guest device meets its traced one by address
    combined = analyse_json(CCW / "combined.log")
    assert {d["address"]: d["type"] for d in combined["devices"]} == CCW_DEVICES


def test_linux_510s_rng_kick_before_driver_ok_is_said_to_be_the_kernels():
    # trace.log 960-965: status 11, "virtio_queue_notify ... n 0", QEMU's
    # "virtio_rng_guest_not_ready", then status 15.
    for folder, severity in ((X86_510, "error"), (LEGACY_510, "error"),
                             (SAMPLES / "arm64-linux510-pci", "error")):
        report = analyse_json(folder / "combined.log")
        (rng,) = [f for f in report["findings"]
                  if f["rule"] == "VD012" and f["device"] == "pci-0000:00:05.0"]
        assert rng["severity"] == severity
        assert "virtio_rng" in rng["hint"] and "virtio_device_ready" in rng["hint"]


def test_linux_510_legacy_devices_are_legacy_and_the_modern_only_rng_modern():
    # "virtio-pci 0000:00:03.0: virtio_pci: leaving for legacy driver" (5.10 virtio_pci
    # holds both interfaces) for the five disable-modern=on functions.
    report = analyse_json(LEGACY_510 / "console.log")
    modes = {d["address"]: d["mode"] for d in report["devices"]}
    assert modes == {"0000:00:03.0": "legacy", "0000:00:04.0": "legacy",
                     "0000:00:05.0": "modern", "0000:00:06.0": "legacy",
                     "0000:00:07.0": "legacy", "0000:00:08.0": "legacy"}
    balloon = [f for f in analyse_json(LEGACY_510 / "combined.log")["findings"]
               if f["rule"] == "VD012" and f["device"] == "pci-0000:00:08.0"]
    assert [f["severity"] for f in balloon] == ["warning"]
