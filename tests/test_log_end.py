"""A log that simply stops mid-handshake is cut off, as a killed run is; a run that went
on after the device's last step is a hung driver (model/ending.py, rule VD003)."""

import pytest

from virtiodiag.analysis import Analysis

from conftest import SAMPLES, analyse_json, shared_dialects
from each_case import by_folder, check_each, log_name

DIALECTS = shared_dialects()

A = "virtio_set_status vdev 0x5636e552ac20 val {}\n"
B = "virtio_set_status vdev 0x5636e552b3d0 val {}\n"


def _analysed(data: bytes):
    """The finished analysis of ``data``, read as one block of a log that ends there."""
    analysis = Analysis("log", DIALECTS)
    analysis.feed_block(data)
    analysis.close_input()
    return analysis.finish()


# The rest of a boot after a log's last virtio line: the guest went on.
BOOT_WENT_ON = b"".join(b"[    %d.0] systemd[1]: Started unit.\n" % n for n in range(3))


def _findings(text: str, truncated: bool = False):
    data = text.encode() if not truncated else text.rstrip("\n").encode()
    return {f.rule: f.message for f in _analysed(data).findings}


def test_a_trace_that_stops_at_features_ok_says_the_log_ends_there():
    found = _findings("".join(A.format(v) for v in (0, 1, 3, 11)))
    assert "the log ends at FEATURES_OK (line 4)" in found["VD003"]
    assert "cut off" in found["VD003"] and "hung" not in found["VD003"]


def test_a_log_cut_inside_its_last_line_says_so():
    found = _findings("".join(A.format(v) for v in (0, 1, 3, 11)), truncated=True)
    assert "its last line is unfinished" in found["VD003"]


def test_a_log_that_stops_at_acknowledge_is_cut_off_not_a_missing_driver():
    found = _findings(A.format(0) + A.format(1))
    assert "VD004" not in found
    assert "the log ends at ACKNOWLEDGE" in found["VD003"]


def test_another_device_finishing_later_shows_the_driver_hung():
    text = "".join(A.format(v) for v in (1, 3, 11)) + "".join(B.format(v) for v in (1, 3, 11, 15))
    found = _findings(text)
    assert "the run went on (qemu-dev2 reached DRIVER_OK, line 7)" in found["VD003"]
    assert "hung" in found["VD003"]


def test_qemu_stopping_the_machine_is_a_normal_end():
    # hw/virtio/virtio.c virtio_vmstate_change re-writes the current status at VM stop
    found = _findings(A.format(0) + A.format(1) + A.format(1))
    assert "VD003" not in found
    assert "no driver bound" in found["VD004"]


def test_the_guest_powering_off_is_a_normal_end():
    found = _findings(A.format(1) + "[    7.930956] reboot: Power down\n")
    assert "VD003" not in found and "no driver bound" in found["VD004"]
    found = _findings("".join(A.format(v) for v in (1, 3, 11)) + "[    9.1] reboot: Power down\n")
    assert "the run went on (the guest ended the run, line 4)" in found["VD003"]


def test_many_lines_after_the_last_step_show_the_run_went_on():
    tail = [f"[    {n}.0] systemd[1]: Started unit {n}.\n" for n in range(3)]
    found = _findings("".join(A.format(v) for v in (1, 3, 11)) + "".join(tail))
    assert "3 more lines follow" in found["VD003"]
    # two lines that say nothing (a prompt, the CI's "operation was canceled") are a tail
    found = _findings("".join(A.format(v) for v in (1, 3, 11)) + "".join(tail[:2]))
    assert "the log ends at FEATURES_OK" in found["VD003"]


def test_the_real_cut_off_capture_says_the_log_ends_at_features_ok():
    for log in ("trace.log", "combined.log"):
        report = analyse_json(SAMPLES / "cutoff-mid-init" / log)
        (cut,) = [f for f in report["findings"] if f["rule"] == "VD003"]
        assert "the log ends at FEATURES_OK" in cut["message"], log


def test_the_real_unbound_device_is_not_called_cut_off():
    # no-net-driver: the guest went on (sysfs dump, power-off); trace.log alone ends with
    # QEMU's re-write of the status at exit
    for log in ("trace.log", "combined.log", "console.log"):
        report = analyse_json(SAMPLES / "no-net-driver" / log)
        assert "VD003" not in {f["rule"] for f in report["findings"]}, log
        assert "VD004" in {f["rule"] for f in report["findings"]}, log


def test_a_console_that_stops_right_after_enumerating_a_device_is_cut_off():
    (finding,) = _analysed(b"[    0.41] pci 0000:00:03.0: [1af4:1041] type 00 class 0x020000\n"
                           ).findings
    assert finding.rule == "VD004" and finding.severity == "info"
    assert "the log ends at line 1, before any driver took it" in finding.message
    # the same line followed by the rest of a boot: the driver is missing
    (finding,) = _analysed(b"[    0.41] pci 0000:00:03.0: [1af4:1041] type 00 class 0x020000\n"
                           + BOOT_WENT_ON).findings
    assert finding.severity == "warning" and "never driven" in finding.message


def test_a_console_cut_right_after_the_transport_enabled_a_function_says_the_transport_took_it():
    # drivers/virtio/virtio_pci_common.c virtio_pci_probe() -> pci_enable_device(), whose
    # drivers/pci/pci.c do_pci_enable_device() prints "enabling device (%04x -> %04x)" under
    # the transport's name: virtio-pci took the function; no device driver shows after it.
    (finding,) = _analysed(b"[   10.97] virtio-pci 0000:00:06.0: enabling device (0000 -> 0002)\n"
                           ).findings
    assert finding.rule == "VD004" and finding.severity == "info"
    # before: "... before any driver took it", and a fix saying the transport never probed
    assert "the virtio transport took it (line 1)" in finding.message
    assert "before a device driver bound" in finding.message

# A console cut while Linux's PCI core was still scanning the bus: drivers bind to the
# functions only after the scan and the BAR assignment (pci_bus_add_devices()), so the
# functions found are cut off, not left without a driver. Written from drivers/pci/probe.c
# pci_setup_device() "[%04x:%04x] type %02x class %#08x", __pci_read_base() "reg 0x%x: %pR"
# (6.8+: "%s %pR") and drivers/pci/setup-res.c pci_assign_resource() "BAR %d: assigned %pR"
# (6.8+: "%s %pR: assigned").
SCAN_OLD = (b"[    1.42] pci 0000:00:02.0: [1af4:1003] type 00 class 0x078000\n"
            b"[    1.42] pci 0000:00:02.0: reg 0x10: [io  0x0000-0x003f]\n"
            b"[    1.42] pci 0000:00:02.0: reg 0x20: [mem 0x00000000-0x00003fff 64bit pref]\n"
            b"[    1.43] pci 0000:00:03.0: [1af4:1001] type 00 class 0x010000\n"
            b"[    1.43] pci 0000:00:03.0: reg 0x10: [io  0x0000-0x007f]\n"
            b"[    1.43] pci 0000:00:03.0: reg 0x20: [mem 0x00000000-0x00003fff 64bit pref]\n"
            b"[    1.44] pci 0000:00:02.0: BAR 4: assigned [mem 0x8000004000-0x8000007fff 64bit pref]\n"
            b"[    1.44] pci 0000:00:03.0: BAR 4: assigned [mem 0x8000008000-0x800000bfff 64bit pref]\n"
            b"[    1.44] pci 0000:00:03.0: BAR 1: assigned [mem 0x10082000-0x10082fff]\n")
SCAN_NEW = (b"[    0.52] pci 0000:00:02.0: [1af4:1042] type 00 class 0x010000 conventional PCI endpoint\n"
            b"[    0.52] pci 0000:00:02.0: BAR 1 [mem 0x00000000-0x00000fff]\n"
            b"[    0.52] pci 0000:00:02.0: BAR 4 [mem 0x00000000-0x00003fff 64bit pref]\n"
            b"[    0.53] pci 0000:00:02.0: BAR 4 [mem 0x8000000000-0x8000003fff 64bit pref]: assigned\n")


@pytest.mark.parametrize("text, devices", [(SCAN_OLD, 2), (SCAN_NEW, 1)], ids=["3.x-6.7", "6.8+"])
def test_a_console_cut_in_the_pci_scan_is_cut_off_not_a_missing_driver(text, devices):
    result = _analysed(text)
    assert len(result.model.live_devices()) == devices  # the BAR lines make no device
    assert [(f.rule, f.severity) for f in result.findings] == [("VD004", "info")] * devices
    lines = text.count(b"\n")
    assert all(f"the log ends at line {lines}, while the PCI core was still scanning" in f.message
               for f in result.findings)
    # the scan followed by the rest of a boot with no virtio driver: never driven
    assert [(f.rule, f.severity) for f in _analysed(text + BOOT_WENT_ON).findings] == [
        ("VD004", "warning")] * devices


# The run-level "cut off" fact of the JSON report (schema v3): model/ending.log_cut_off.
REPO_LOGS = sorted([*SAMPLES.glob("*/*.log"), *(SAMPLES.parent / "tests" / "fixtures").glob(
    "*/*.log")])


def _cut_off(text: str):
    from virtiodiag.reports.model_dict import cut_off_dict

    return cut_off_dict(_analysed(text.encode()).model)


def test_the_json_says_a_log_that_stops_mid_handshake_was_cut_off():
    for log in ("trace.log", "combined.log"):
        report = analyse_json(SAMPLES / "cutoff-mid-init" / log)
        (cut,) = [f for f in report["findings"] if f["rule"] == "VD003"]
        assert report["cut_off"] == {"how": "stops", "line": report["stats"]["lines"],
                                     "devices": [cut["device"]]}, log
    assert _cut_off("".join(A.format(v) for v in (0, 1, 3, 11))) == {
        "how": "stops", "line": 4, "devices": ["qemu-dev1"]}


def test_the_json_says_a_killed_run_was_cut_off_at_the_kill():
    report = analyse_json(SAMPLES.parent / "tests" / "fixtures" / "linux-eras"
                          / "qemu-vhost-killed.log")
    (cut,) = [f for f in report["findings"] if f["rule"] == "VD003"]
    kill = cut["related"][0]["line"]
    assert report["cut_off"] == {"how": "killed", "line": kill, "devices": [cut["device"]]}


def test_a_run_that_went_on_or_ended_is_not_cut_off():
    hung = "".join(A.format(v) for v in (1, 3, 11)) + "".join(B.format(v) for v in (1, 3, 11, 15))
    assert _cut_off(hung) is None
    assert _cut_off("".join(A.format(v) for v in (1, 3, 11, 15))) is None
    assert _cut_off("".join(A.format(v) for v in (1, 3, 11)) + "[    9.1] reboot: Power down\n") is None


def test_a_console_that_stops_after_enumerating_a_device_was_cut_off():
    line = "[    0.41] pci 0000:00:03.0: [1af4:1041] type 00 class 0x020000\n"
    assert _cut_off(line) == {"how": "stops", "line": 1, "devices": ["pci-0000:00:03.0"]}
    rest = "".join(f"[    {n}.0] systemd[1]: Started unit.\n" for n in range(3))
    assert _cut_off(line + rest) is None


@pytest.mark.parametrize("paths", by_folder(REPO_LOGS))
def test_the_cut_off_devices_are_those_the_findings_call_cut_off(paths):
    check_each(((log_name(path), (path,)) for path in paths), _cut_off_as_the_findings_say)


def _cut_off_as_the_findings_say(path):
    report = analyse_json(path)
    called = sorted({f["device"] for f in report["findings"]
                     if (f["rule"] == "VD003" and ("was killed at" in f["message"]
                                                   or "the log ends at" in f["message"]))
                     or (f["rule"] == "VD004"
                         and "nothing after shows the run going on" in f["message"])})
    cut = report["cut_off"]
    assert sorted(cut["devices"] if cut else []) == called


def test_a_function_virtio_pci_left_for_its_legacy_driver_was_driven():
    # drivers/virtio/virtio_pci_modern.c: dev_info(..., "virtio_pci: leaving for legacy
    # driver\n") and -ENODEV, then virtio_pci_probe() calls virtio_pci_legacy_probe(),
    # which prints nothing; virtio_net prints nothing on success either (a quiet console).
    text = ("[    0.41] pci 0000:00:03.0: [1af4:1000] type 00 class 0x020000\n"
            "[    0.42] pci 0000:00:04.0: [1af4:1000] type 00 class 0x020000\n"
            "[    1.03] virtio-pci 0000:00:03.0: virtio_pci: leaving for legacy driver\n"
            "[    5.90] EXT4-fs (vda1): mounted filesystem with ordered data mode\n")
    found = [(f.rule, f.device) for f in _analysed(text.encode()).findings]
    assert ("VD001", "pci-0000:00:03.0") in found
    # the other function has no line after its enumeration: still not driven
    assert [d for rule, d in found if rule == "VD004"] == ["pci-0000:00:04.0"]
