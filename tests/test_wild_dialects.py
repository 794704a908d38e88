"""Logs from the wild: BSD guests, cloud-hypervisor, Firecracker, Solo5 and EDK2.

Each fixture under tests/fixtures/wild/ was written from the format strings of the system
it imitates (see its grammar's header); its .expected.json says what a reader of the log
knows: the devices (found by any of their names), their type, transport, mode, whether a
driver took them, whether they came up (what --expect-devices counts), their features,
and the findings with the line that proves each.
"""

import functools
import json
import re
from pathlib import Path

import pytest
from each_case import check_each

from virtiodiag.analysis import analyse_blocks
from virtiodiag.model.liveness import came_up
from virtiodiag.spec import feature_bit, normalise_type

WILD = Path(__file__).resolve().parent / "fixtures" / "wild"
CASES = sorted(p.name[:-len(".expected.json")] for p in WILD.glob("*.expected.json"))


def _analyse(name, dialects):
    path = WILD / f"{name}.log"
    return analyse_blocks(str(path), [path.read_bytes()], dialects), path


@functools.cache
def _analysed(name, dialects):
    """``_analyse``, once per process for the four checks of every fixture below (they
    only read the result)."""
    return _analyse(name, dialects)


def _each_fixture(check, dialects) -> None:
    """``check(name, dialects)`` for every fixture: one test a check, each failing
    fixture named (each_case.check_each)."""
    check_each(((name, (name, dialects)) for name in CASES), check)


def _device(model, name):
    # By the log's own name, or by the PCI function of a log that names none (a firmware's
    # "Found PCI device ... in slot=0:3").
    found = [d for d in model.devices
             if f"name:{name}" in d.aliases or f"pci:{name}" in d.aliases]
    assert len(found) == 1, f"{name}: {len(found)} devices carry this name"
    return found[0]


def test_every_dialect_has_a_fixture():
    assert set(CASES) == {"netbsd", "netbsd-dmesg", "netbsd-microvm", "openbsd", "openbsd-7",
                          "openbsd-debug", "freebsd", "freebsd-13", "cloud-hypervisor",
                          "rust-hypervisor-firmware", "firecracker", "firecracker-pci", "solo5",
                          "solo5-manifest", "slof", "edk2-ovmf-debug"}


def test_fixture_is_read_by_its_dialect_and_nothing_is_left_over(dialects):
    _each_fixture(_read_by_its_dialect, dialects)


def _read_by_its_dialect(name, dialects):
    result, _ = _analysed(name, dialects)
    expected = json.loads((WILD / f"{name}.expected.json").read_text())
    model = result.model
    assert model.unrecognised == 0, model.unrecognised_samples
    assert max(model.dialects_seen, key=model.dialects_seen.get) == expected["dialect"]


def test_devices(dialects):
    _each_fixture(_devices, dialects)


def _devices(name, dialects):
    result, _ = _analysed(name, dialects)
    expected = json.loads((WILD / f"{name}.expected.json").read_text())
    model = result.model
    live = [d for d in model.devices if d.aliases]
    assert len(live) == len(expected["devices"]), [d.aliases for d in live]
    for want in expected["devices"]:
        device = _device(model, want["name"])
        for other in want.get("also", []):
            assert f"name:{other}" in device.aliases, (want["name"], other, device.aliases)
        if "type" in want:
            assert device.device_type == want["type"], want["name"]
        if "transport" in want:
            assert device.transport == want["transport"], want["name"]
        if "address" in want:
            assert device.address == want["address"], want["name"]
        if "mode" in want:
            assert device.mode == want["mode"], (want["name"], device.mode_reason)
        if "bound" in want:
            assert device.bound == want["bound"], want["name"]
        if "driver_ok" in want:
            assert device.reached_driver_ok == want["driver_ok"], want["name"]
        if "driver_ok_state" in want:  # reached / implied (and by which line) / not-shown
            assert device.driver_ok.state.value == want["driver_ok_state"], want["name"]
        if "up" in want:
            assert came_up(device) == want["up"], want["name"]
        for key in ("features_accepted", "features_offered"):
            if key in want:
                assert getattr(device, key) == int(want[key], 16), (want["name"], key)


def test_findings_and_their_evidence(dialects):
    _each_fixture(_findings_and_evidence, dialects)


def _findings_and_evidence(name, dialects):
    result, path = _analysed(name, dialects)
    expected = json.loads((WILD / f"{name}.expected.json").read_text())
    lines = path.read_text().splitlines()
    model = result.model
    got = [(f.rule, f.line) for f in result.findings if f.rule != "VD016"]
    assert got == [(f["rule"], f["line"]) for f in expected["findings"]]
    for finding, want in zip([f for f in result.findings if f.rule != "VD016"],
                             expected["findings"], strict=True):
        assert finding.evidence in lines[finding.line - 1], finding
        if want["device"] is None:
            assert finding.device == "-", finding
        else:
            assert finding.device == _device(model, want["device"]).id, finding


_FEATURES = re.compile(r"features: (0x[0-9a-f]+) ?<([^>]*)>")


@pytest.mark.parametrize("name", ["netbsd", "netbsd-microvm", "freebsd"])
def test_feature_names_as_printed_map_to_the_spec_bits_of_the_value(name, dialects):
    """NetBSD prints snprintb names (V1, INDIRECT_DESC, MAC), FreeBSD CamelCase ones
    (RingIndirectDesc, CtrlVq): each maps to the spec bit set in the printed value."""
    result, path = _analyse(name, dialects)
    checked = 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        m = _FEATURES.search(line)
        if not m:
            continue
        device = next(d for d in result.model.devices
                      if any(e.line == number for e in d.timeline))
        bits = {feature_bit(n, device.device_type) for n in m.group(2).split(",")}
        assert None not in bits, line
        assert sum(1 << b for b in bits) == int(m.group(1), 16), line
        checked += 1
    assert checked >= 1


def test_bsd_type_names_are_understood():
    for text, kind in (("memory balloon", "balloon"), ("SCSI host", "scsi"),
                       ("9P Transport", "9p"), ("Storage", "block"), ("entropy", "rng"),
                       ("drives", "block"), ("network-interfaces", "net")):
        assert normalise_type(text) == kind, text


def _analyse_text(text, dialects, name="inline.log"):
    return analyse_blocks(name, [text.encode()], dialects).model


@pytest.mark.parametrize("line, unit", [
    ("virtio0 at pci0 dev 3 function 0", "virtio0"),                                  # NetBSD
    ('virtio0 at pci0 dev 3 function 0 "Qumranet Virtio Network" rev 0x00', "virtio0"),  # OpenBSD
    ("virtio_pci0: <VirtIO PCI Network adapter> port 0xc040-0xc05f irq 11 at device 3.0 "
     "on pci0", "virtio_pci0"),                                                         # FreeBSD
    ("Solo5: PCI:00:03: virtio-net device, base=0xc000, irq=11", "PCI:00:03"),        # Solo5
])
def test_a_bsd_attach_line_gives_the_pci_function(line, unit, dialects):
    """The attach line names the PCI function: the device carries its BDF (the alias a
    Linux log's 0000:00:03.0 would join) and keeps the log's own unit as its name."""
    model = _analyse_text(line + "\n", dialects)
    (device,) = model.live_devices()
    assert device.transport == "pci" and device.address == "0000:00:03.0"
    assert "pci:0000:00:03.0" in device.aliases
    assert device.id == unit


def test_a_bsd_pci_function_behind_a_bridge_is_not_given_a_guessed_bus_number(dialects):
    model = _analyse_text("virtio1 at pci2 dev 12 function 3\n", dialects)
    (device,) = model.live_devices()
    assert device.address == "pci2:0c.3"  # pci2 is autoconf's unit, not bus 2
    assert not any(a.startswith("pci:0000:") for a in device.aliases)


def test_devices_of_these_logs_are_named_by_the_log_not_after_qemu(dialects):
    _each_fixture(_named_by_the_log, dialects)


def _named_by_the_log(name, dialects):
    result, _ = _analysed(name, dialects)
    for device in result.model.live_devices():
        assert not device.id.startswith("qemu-dev"), (device.id, device.aliases)
    assert not any("kept apart" in note for note in result.model.matching_notes)


def test_bsd_units_found_on_fdt_are_linked_by_their_attach_lines(dialects):
    """OpenBSD arm64 'virtio0 at fdt0: ...' has no address: the attach line still names
    the unit, so Linux's probe-order joining has nothing to say about it."""
    model = _analyse_text("virtio0 at fdt0: Virtio Network Device\n"
                          "vio0 at virtio0: address 52:54:00:12:34:56\n"
                          "virtio1 at fdt0: Virtio Block Device\nvioblk0 at virtio1\n", dialects)
    assert [d.id for d in model.live_devices()] == ["virtio0", "virtio1"]
    assert model.matching_notes == []


@pytest.mark.parametrize("name, unit, interface", [
    ("netbsd", "virtio0", "vioif0"),    # 'vioif0: Ethernet address ...': the subject is the interface
    ("openbsd", "virtio0", "vio0"),     # 'vio0 at virtio0: address ...'
])
def test_a_bsd_interface_line_names_the_interface_that_implies_driver_ok(name, unit,
                                                                         interface, dialects):
    analysis, _ = _analyse(name, dialects)
    device = _device(analysis.model, unit)
    assert device.driver_ok_implied_why == f"the driver registered network interface {interface}"


@pytest.mark.parametrize("log, unit, line", [
    ("virtio0 at pci0 dev 3 function 0\nvirtio0: network device (id 1, rev. 0x01)\n"
     "vioif0 at virtio0: features: 0x100000020<V1,MAC>\n"
     "vioif0: Ethernet address 52:54:00:12:34:56\n", "virtio0", 4),                   # NetBSD
    ('virtio0 at pci0 dev 3 function 0 "Qumranet Virtio 1.x Network" rev 0x01\n'
     "vio0 at virtio0: address 52:54:00:12:34:56\n", "virtio0", 2),                  # OpenBSD
    ("virtio_pci0: <VirtIO PCI (modern) Network adapter> irq 11 at device 3.0 on pci0\n"
     "vtnet0: <VirtIO Networking Adapter> on virtio_pci0\n"
     "vtnet0: Ethernet address: 52:54:00:12:34:56\n", "virtio_pci0", 2),             # FreeBSD: the bind line
])
def test_a_bsd_child_that_attached_implies_driver_ok(log, unit, line, dialects):
    """The child's attach writes DRIVER_OK at its end (virtio_child_attach_finish,
    virtio_attach_finish, vtpci_probe_and_attach_child): the line that shows the attach
    got through implies it; a failure line of the device afterwards makes it not reached, at
    the failure's line (the attach did not return success)."""
    model = _analyse_text(log, dialects)
    (device,) = model.live_devices()
    assert device.id == unit
    assert device.driver_ok.state.value == "implied" and device.driver_ok.line == line
    failed = _analyse_text(log + f"{unit}: failed to allocate interrupts\n"
                           if unit == "virtio0" else log + "vtnet0: cannot allocate queues\n",
                           dialects)
    (device,) = failed.live_devices()
    assert device.driver_ok.state.value == "not-reached" and device.probe_failures
    assert device.driver_ok.line == log.count("\n") + 1


def test_a_legacy_only_freebsd_driver_is_legacy_and_not_a_fallback(dialects):
    """FreeBSD 9-12's virtio_pci ('VirtIO PCI Network adapter', no '(modern)') drives only
    the legacy interface: the device is legacy by that evidence; VD001 says so as info, not
    as a fallback, unless the device is shown offering VERSION_1."""
    log = ("virtio_pci0: <VirtIO PCI Network adapter> port 0xc040-0xc05f irq 11 at device 3.0 "
           "on pci0\nvtnet0: <VirtIO Networking Adapter> on virtio_pci0\n")
    path = WILD.parent / "inline.log"
    result = analyse_blocks(str(path), [log.encode()], dialects)
    (device,) = result.model.live_devices()
    assert device.mode == "legacy"
    assert [e.kind for e in device.interface[1]] == ["legacy_only_driver"]
    (finding,) = [f for f in result.findings if f.rule == "VD001"]
    assert finding.severity == "info" and "not a fallback" in finding.message
    modern = analyse_blocks(str(path), [log.replace("PCI Network", "PCI (modern) Network")
                                        .encode()], dialects)
    assert modern.model.live_devices()[0].mode != "legacy"
    assert not [f for f in modern.findings if f.rule == "VD001"]


_CH = "cloud-hypervisor: 1.0ms: <{thread}> {level}:virtio-devices/src/{origin}:10 -- {message}\n"


@pytest.mark.parametrize("thread, device", [
    ("_disk0_q0", "_disk0"), ("_net1_qp1", "_net1"), ("_net1_ctrl", "_net1"),
    ("__rng", "__rng"), ("mydisk_q3", "mydisk"), ("vcpu0", None), ("vmm", None),
])
def test_a_cloud_hypervisor_worker_thread_names_its_device(thread, device, dialects):
    """thread_helper.rs names a device's worker thread after the device id ("{id}_q{n}",
    "{id}_qp{n}", "{id}_ctrl", or the id itself; made-up ids start with "_"): its errors
    are that device's. A line of the VMM's own threads names no device and is reported as
    such, never as some device's: only the type its source file (block.rs) gives."""
    line = _CH.format(thread=thread, level="ERROR", origin="block.rs",
                      message="Request failed: Io(Os { code: 5 })")
    result = analyse_blocks("inline.log", [line.encode()], dialects)
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    if device is None:
        assert result.model.live_devices() == []
        assert finding.message.startswith("an unnamed block device (the line names its type")
    else:
        assert [d.id for d in result.model.live_devices()] == [device]
        assert finding.message.startswith(f"{device}: device error")


def test_cloud_hypervisor_transport_comes_from_the_line(dialects):
    """"_virtio-pci-"/"_virtio-mmio-" ids come from transport/pci_device.rs and
    transport/mmio.rs: the device's transport; an error of those files that names no device
    is an unnamed device of that transport."""
    log = (_CH.format(thread="vcpu0", level="INFO", origin="transport/pci_device.rs",
                      message="_virtio-pci-_disk0: Needs activation; writing to activate "
                              "event fd")
           + _CH.format(thread="vcpu1", level="INFO", origin="transport/mmio.rs",
                        message="_virtio-mmio-__rng: Needs activation; writing to activate "
                                "event fd")
           + _CH.format(thread="vmm", level="ERROR", origin="transport/mmio.rs",
                        message="Queue 1 is not valid; skipping activation"))
    result = analyse_blocks("inline.log", [log.encode()], dialects)
    assert {d.id: d.transport for d in result.model.live_devices()} == {"_disk0": "pci",
                                                                         "__rng": "mmio"}
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert finding.device == "-" and finding.message.startswith("an unnamed virtio-mmio device")


def test_firecracker_errors_go_to_the_device_they_show_or_say_they_cannot(dialects):
    """Firecracker's lines name no device: an error from a device's own sources
    (devices/virtio/net/, block/ ...) or an activation error naming its type belongs to the
    one device of that type the API configured; with two, or from the transport, the
    finding says "an unnamed virtio-mmio device" (every device the log shows is on mmio)."""
    api = ('[vm:fc_api] The API server received a Put request on "/network-interfaces/{}" '
           'with body "{{}}".\n')
    error = ("[vm:fc_vmm:ERROR:src/vmm/src/devices/virtio/net/device.rs:480] Failed to write "
             "to tap: Os { code: 5 }\n")
    one = analyse_blocks("fc.log", [(api.format("eth0") + error).encode()], dialects)
    (finding,) = [f for f in one.findings if f.rule == "VD006"]
    assert finding.device == "eth0"
    two = analyse_blocks("fc.log", [(api.format("eth0") + api.format("eth1") + error).encode()],
                         dialects)
    (finding,) = [f for f in two.findings if f.rule == "VD006"]
    # the source directory (virtio/net/) says the type, not which of the two NICs
    assert finding.device == "-" and finding.message.startswith(
        "an unnamed virtio-mmio net device")
