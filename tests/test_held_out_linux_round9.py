"""Formats from the ninth Linux-guest judge (2026-12-04), written from their sources; the
held-out logs that showed them are listed in docs/held-out-logs.md (their text is not here).

* drivers/net/virtio_net.c virtnet_xdp_set()'s refusals of an XDP program, given to user
  space through netlink (NL_SET_ERR_MSG_MOD: "virtio_net: " then the reason) and printed
  there: iproute2 "Error: %s.", libbpf "libbpf: Kernel error message: %s", or the text
  alone. Held-out logs of each were read as an error of no device (exit 1 on a healthy
  device), as QEMU's monitor refusing something, or not at all (VD020).
* ethtool -i (ethtool.c dump_drvinfo(): "driver: %.*s" first, then "bus-info: ..."):
  "driver: virtio_net" was unread, so its device stayed "not shown" or unknown.
* SLOF's virtio-blk driver (lib/libvirtio/virtio-blk.c): puts("virtioblk_transfer: Access
  beyond end of device!"), after boot.fs's "Trying to load:  from: <path> ... ", and
  "virtio-blk: Unaligned sector size %d": a ppc64 guest whose firmware could not load from
  its disk gave exit 0 and VD020.
Lines written from those format strings, with made-up values."""

import format_tables


def _run(text, dialects):
    return format_tables.analyse_text("guest.log", text, dialects)


def test_xdp_refusal_alone_is_a_warning_on_a_driven_net_device(dialects):
    """libbpf's wording, and no other line: the interface exists (only a registered one is
    offered an XDP program), so a net device past DRIVER_OK with a warning, exit 0."""
    result = _run("libbpf: Kernel error message: virtio_net: Can't set XDP while host is "
                  "implementing GRO_HW/CSUM, disable GRO_HW/CSUM first\n", dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "net" and device.driver_ok_implied is not None
    assert [(f.rule, f.severity) for f in result.findings] == [("VD006", "warning")]
    assert "[xdp_refused]" in result.findings[0].message
    assert "CTRL_GUEST_OFFLOADS" in result.findings[0].hint
    assert result.model.unrecognised == 0


def test_iproute2_and_bare_refusals_join_the_one_net_device(dialects):
    """iproute2's "Error: ...." and the bare text, after the interface's own line: both are
    that device's warnings (not QEMU's monitor, not an error of no device)."""
    result = _run("virtio_net virtio0 ens4: renamed from eth0\n"
                  "Error: virtio_net: XDP expects header/data in single page, "
                  "any_header_sg required.\n"
                  "virtio_net: Too few free TX rings available\n", dialects)
    (device,) = result.model.live_devices()
    assert device.guest_name == "virtio0"
    assert {(f.rule, f.severity, f.device) for f in result.findings} == {
        ("VD006", "warning", device.id)}
    assert all("[xdp_refused]" in f.message for f in result.findings)


def test_other_virtio_net_errors_stay_the_drivers(dialects):
    """A driver error that is no XDP refusal keeps its reading (an error)."""
    result = _run("virtio_net: eth0: rx error: 3 buffers out of 1 missing\n", dialects)
    assert [(f.rule, f.severity) for f in result.findings] == [("VD006", "error")]
    assert "[driver]" in result.findings[0].message


ETHTOOL_I = ("driver: virtio_net\nversion: 1.0.0\nfirmware-version: \n"
             "expansion-rom-version: \nbus-info: 0000:00:07.0\nsupports-statistics: yes\n")


def test_ethtool_driver_row_drives_the_listed_net_function(dialects):
    """lspci names the function, ethtool -i its driver: the one net device is past
    DRIVER_OK, no device-not-driven."""
    result = _run("00:07.0 Ethernet controller: Red Hat, Inc. Virtio network device\n"
                  + ETHTOOL_I, dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "net" and device.driver_ok_implied is not None
    assert "ethtool" in device.driver_ok_implied_why
    assert result.findings == []


def test_ethtool_alone_is_a_net_device_of_its_own(dialects):
    result = _run(ETHTOOL_I, dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "net" and device.driver_ok_implied is not None
    assert result.findings == [] and result.model.unrecognised == 0


def test_slof_read_past_the_end_is_an_error_of_a_block_device(dialects):
    """SLOF's refusal, on the load line and alone: one error group of a block device (a
    record of its own: SLOF reads only from a disk its driver set up)."""
    result = _run("Trying to load:  from: /pci@800000020000000/scsi@5 ... virtioblk_transfer: "
                  "Access beyond end of device!\n"
                  "virtioblk_transfer: Access beyond end of device!\n", dialects)
    (device,) = result.model.live_devices()
    (hit,) = result.findings
    assert device.device_type == "block" and hit.device == device.id
    assert (hit.rule, hit.severity) == ("VD006", "error")
    assert "[beyond_capacity] (2 times)" in hit.message
    assert "endianness" in hit.hint


def test_slof_unaligned_block_size_is_an_error(dialects):
    result = _run("virtio-blk: Unaligned sector size 520\n", dialects)
    (hit,) = result.findings
    assert (hit.rule, hit.severity) == ("VD006", "error") and "[block_size]" in hit.message
