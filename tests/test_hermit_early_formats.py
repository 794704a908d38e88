"""Hermit's early virtio-net driver (libhermit-rs 0.3.4x-0.3.5x, 2020-21): its lines name the
device by its PCI device id, or by nothing, and its refusals say why before the transport
names the device it gave up on.

Written from the format strings of libhermit-rs (values of our own; the classes come from
posted Hermit logs that virtiodiag read as no device at all, held out of the repository):
- src/arch/x86_64/kernel/pci.rs init_drivers(): "Found virtio network device with device
  id {:#x}" for every virtio function (0x1000-0x107f), whatever its type;
- src/drivers/net/virtio_net.rs init_dev() / negotiate_features() / dev_spec_init() /
  init(): "Feature set wanted by network driver are in conformance with specification.",
  "Driver found a subset of features for virtio device {:x}.", "Features have been
  negotiated between network device {:x} and driver.", "Network driver successfully
  initalized virtqueues.", "Device specific initalization for Virtio network defice {:x}
  finished" (then drv_ok(), DRIVER_OK), "Network device with id {:x}, has been initalized by driver!", "Virtio-net
  link is up after initalization.", and the refusal "Device features set, does not satisfy
  minimal features needed. Aborting!" (all sic);
- src/drivers/virtio/transport/pci.rs init_device(): "Virtio network driver initalized with
  Virtio network device." / "Virtio networkd driver could not be initalized with device:
  {:x}", then "Install virtio interrupt handler at line {}".
"""

from virtiodiag.analysis import analyse_blocks

FOUND = "[0][INFO] Found virtio network device with device id 0x1041\n"

HEALTHY = FOUND + """\
[0][INFO] Feature set wanted by network driver are in conformance with specification.
[0][INFO] Driver found a subset of features for virtio device 1041.
[0][INFO] Features have been negotiated between network device 1041 and driver.
[0][INFO] Network driver successfully initalized virtqueues.
[0][INFO] Device specific initalization for Virtio network defice 1041 finished
[0][INFO] Network device with id 1041, has been initalized by driver!
[0][INFO] Virtio-net link is up after initalization.
[0][INFO] Virtio network driver initalized with Virtio network device.
[0][INFO] Install virtio interrupt handler at line 10
"""

REFUSED = FOUND + """\
[0][INFO] Feature set wanted by network driver are in conformance with specification.
[0][ERROR] Device features set, does not satisfy minimal features needed. Aborting!
[0][WARN] Virtio networkd driver could not be initalized with device: 1041
"""


def _run(text, dialects):
    result = analyse_blocks("hermit.log", [text.encode()], dialects)
    return result, [(f.rule, f.severity, f.line) for f in result.findings]


def test_the_early_driver_s_lines_are_one_modern_net_device_that_reached_driver_ok(dialects):
    result, findings = _run(HEALTHY, dialects)
    (device,) = list(result.model.live_devices())
    assert (device.device_type, device.transport, device.pci_device) == ("net", "pci", 0x1041)
    # init_dev() sets DRIVER_OK right after "Device specific initalization ... finished"
    # (drv_ok(), the next statement): that line, before init()'s "has been initalized".
    assert device.driver_ok_implied is not None and device.driver_ok_implied.line == 6
    assert findings == []
    assert result.model.unrecognised == 0


def test_a_refusal_that_names_no_device_is_the_cause_of_the_next_line_s_failure(dialects):
    result, findings = _run(REFUSED, dialects)
    (device,) = list(result.model.live_devices())
    assert device.pci_device == 0x1041
    # One failure of that device, its cause the refusal; nothing left to no device.
    assert findings == [("VD015", "error", 3)]
    assert "features the driver needs" in result.findings[0].message
    assert [e.line for e in device.probe_failures] == [3, 4]
    assert not result.model.unattributed_errors


def test_a_refusal_no_line_names_stays_the_run_s(dialects):
    # The log ends after the refusal: no device is named, none is made up.
    result, findings = _run("[0][ERROR] Device features set, does not satisfy minimal "
                            "features needed. Aborting!\n", dialects)
    assert list(result.model.live_devices()) == []
    assert findings == [("VD015", "error", 1)]


def test_another_dialect_s_failure_right_after_does_not_take_the_reason(dialects):
    text = ("[0][ERROR] Feature negotiation failed with minimal feature set. Aborting!\n"
            "virtio_net: probe of virtio0 failed with error -22\n")
    result, findings = _run(text, dialects)
    assert len(result.model.unattributed_errors) == 1
    assert sorted(findings) == [("VD015", "error", 1), ("VD015", "error", 2)]
