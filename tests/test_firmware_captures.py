"""Real firmware logs captured by scripts/capture-firmware.sh (see each NOTES.md).

samples/seabios-virtio-pci: SeaBIOS 1.16.2 debug console + QEMU trace; samples/
uboot-virtio-pci: U-Boot 2023.01 console + QEMU trace. No expected.json (the sample
harness wants a Linux guest's trace/console/combined triple): the facts are asserted
here.
"""

from conftest import SAMPLES, analyse_json

SEABIOS = SAMPLES / "seabios-virtio-pci"
UBOOT = SAMPLES / "uboot-virtio-pci"


def _names(report):
    return sorted(f["name"] for f in report["findings"])


def _by_address(report):
    return {d["address"]: d for d in report["devices"] if d["address"]}


def test_seabios_log_alone_names_every_virtio_function_and_the_ones_it_drove():
    report = analyse_json(SEABIOS / "seabios.log")
    devices = _by_address(report)
    # "PCI: init bdf=00:08.0 id=1af4:1000" (pciinit.c) enumerates all seven functions
    assert sorted(devices) == [f"0000:00:0{n}.0" for n in range(3, 10)]
    assert {a: devices[a]["type"] for a in devices} == {
        "0000:00:03.0": "block", "0000:00:04.0": "block", "0000:00:05.0": "block",
        "0000:00:06.0": "scsi", "0000:00:07.0": "scsi", "0000:00:08.0": "net",
        "0000:00:09.0": "net"}
    # disable-modern=on keeps the transitional PCI id (1af4:1001): driven legacy
    assert devices["0000:00:05.0"]["mode"] == "transitional-used-as-legacy"
    # the PCI id says transitional (1af4:1001) or modern-only (1af4:1042); SeaBIOS says
    # it drove each modern
    assert {a: devices[a]["mode"] for a in devices if a not in ("0000:00:05.0",
                                                                  "0000:00:08.0")} == {
        "0000:00:03.0": "transitional-used-as-modern", "0000:00:04.0": "modern",
        "0000:00:06.0": "transitional-used-as-modern", "0000:00:07.0": "modern",
        "0000:00:09.0": "modern"}
    # SeaBIOS has no virtio-net driver: enumerated, not driven, and no finding for it
    assert devices["0000:00:08.0"]["reached_driver_ok"] == "not shown"


def test_seabios_combined_lists_each_device_once_joined_to_qemus():
    # combined.log: SeaBIOS's debug console and QEMU's trace on one fd. Five devices are
    # joined in acknowledgement order (SeaBIOS writes ACKNOWLEDGE|DRIVER, 3, at once);
    # the two NICs SeaBIOS never drives are joined because QEMU resets each one right
    # after SeaBIOS's "PCI: init" line for it (virtio_write_config on the command write).
    report = analyse_json(SEABIOS / "combined.log")
    devices = _by_address(report)
    assert len(report["devices"]) == 7 and sorted(devices) == [
        f"0000:00:0{n}.0" for n in range(3, 10)]
    assert all(set(d["sides"]) == {"firmware", "host"} for d in report["devices"])
    assert all(devices[f"0000:00:0{n}.0"]["matched_by"].startswith("probably 0000:00:0")
               for n in range(3, 10))
    writes = {a: [w for w in d["status_writes"] if w] for a, d in devices.items()}
    assert writes["0000:00:05.0"][:2] == [3, 7]  # the legacy one
    assert all(writes[f"0000:00:0{n}.0"][:3] == [3, 11, 15] for n in (3, 4, 6, 7))
    assert writes["0000:00:08.0"] == writes["0000:00:09.0"] == []
    assert sum(d["reached_driver_ok"] == "yes" for d in report["devices"]) == 5
    assert _names(report) == ["legacy-fallback"]


def test_seabios_found_line_is_its_driver_binding_not_an_undriven_device():
    # "found virtio-blk at 00:03.0" is printed by SeaBIOS's driver as it takes the
    # device: no device-not-driven ("load virtio_pci") on a firmware log.
    report = analyse_json(SEABIOS / "seabios.log")
    assert _names(report) == ["legacy-fallback"]
    (finding,) = report["findings"]
    assert finding["line"] == 85  # pci dev 00:05.0 using legacy (0.9.5) virtio mode


def test_seabios_scsi_lun_lines_are_read():
    report = analyse_json(SEABIOS / "seabios.log")
    assert "unrecognised-virtio-lines" not in _names(report)


def test_seabios_trace_status_writes():
    report = analyse_json(SEABIOS / "trace.log")
    writes = sorted([w for w in d["status_writes"] if w] for d in report["devices"])
    # two NICs (no SeaBIOS driver), legacy blk 3,7 (+ exit re-write), modern 3,11,15
    assert writes.count([]) == 2
    assert [3, 7, 7] in writes
    assert sum(1 for w in writes if w[:3] == [3, 11, 15]) == 4
    assert _names(report) == ["legacy-fallback"]


def test_seabios_combined_finds_the_legacy_device_without_false_findings():
    report = analyse_json(SEABIOS / "combined.log")
    names = _names(report)
    assert "device-not-driven" not in names and "status-order" not in names
    assert "legacy-fallback" in names


def test_uboot_trace_drives_without_acknowledge_after_its_reset():
    # U-Boot 2023.01 virtio_uclass_child_pre_probe: reset, then DRIVER alone (2).
    for log in ("trace.log", "combined.log"):
        report = analyse_json(UBOOT / log)
        driven = [d for d in report["devices"] if d["status_writes"]]
        assert len(driven) == 4, log
        assert all(d["reached_driver_ok"] == "yes" for d in driven), log
        found = [f for f in report["findings"] if f["name"] == "status-order"]
        assert len(found) == 4, log
        assert all("DRIVER without ACKNOWLEDGE" in f["message"] for f in found), log
        legacy = [d for d in driven if d["mode"] == "legacy"]
        assert len(legacy) == 2, log  # transitional devices on U-Boot's virtio-pci.l
        assert _names(report).count("legacy-fallback") == 2, log


def test_uboot_dm_tree_child_rows_name_the_bound_devices():
    # release build: no debug() lines; `dm tree` child rows are the only device lines
    report = analyse_json(UBOOT / "console.log")
    assert sorted((d["id"], d["type"]) for d in report["devices"]) == [
        ("virtio-blk#0", "block"), ("virtio-blk#1", "block"),
        ("virtio-net#2", "net"), ("virtio-net#3", "net")]
    # the commands typed ("=> virtio info") are counted as not understood, but are not a
    # virtio driver's message: no finding (their "Device 0: 1af4 VirtIO Block Device"
    # output is read: tests/test_uboot_block_numbers.py)
    assert report["stats"]["unrecognised_virtio_lines"] > 0
    assert report["stats"]["unrecognised_virtio_messages"] == 0
    # The transport rows say which virtio-pci driver took each device: the two
    # transitional devices on virtio-pci.l are driven legacy, as trace.log shows (the same
    # two legacy-fallback findings); each bound child implies DRIVER_OK.
    modes = {d["id"]: d["mode"] for d in report["devices"]}
    assert modes == {"virtio-blk#0": "legacy", "virtio-blk#1": "modern",
                     "virtio-net#2": "legacy", "virtio-net#3": "modern"}
    assert all(d["transport"] == "pci" for d in report["devices"])
    assert all(d["driver_ok"]["state"] == "implied" for d in report["devices"])
    assert sorted(_names(report)) == ["legacy-fallback", "legacy-fallback"]
