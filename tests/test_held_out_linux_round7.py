"""Formats from the seventh Linux-guest judge (2026-12-03), written from their sources; the
held-out logs that showed them are listed in docs/held-out-logs.md (their text is not here).

* drivers/net/virtio_net.c virtnet_xdp_set(), netdev_warn when an XDP program is attached:
  "request %i queues but max is %i" (4.10 to 5.11, the program refused with -ENOMEM), "XDP
  request %i queues but max is %i. XDP_TX and XDP_REDIRECT will operate in a slower locked
  tx mode." (5.12+), "XDP requires MTU less than %lu". Held-out logs of each were read as
  the interface's plain line: the warning was dropped without a word.
Lines written from those format strings, with made-up values."""

import format_tables


def _run(text, dialects):
    return format_tables.analyse_text("guest.log", text, dialects)


def test_xdp_queue_shortfall_is_a_warning_on_a_driven_net_device(dialects):
    """5.12+'s wording: the program runs in the locked mode; the device works (DRIVER_OK
    implied: only a registered interface takes an XDP program), the shortfall a warning."""
    result = _run("[   61.204118] virtio_net virtio3 enp7s0: XDP request 8 queues but max is 4. "
                  "XDP_TX and XDP_REDIRECT will operate in a slower locked tx mode.\n", dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "net" and device.driver_ok_implied is not None
    assert [(f.rule, f.severity) for f in result.findings] == [("VD006", "warning")]
    assert "[xdp]" in result.findings[0].message
    assert result.model.unrecognised == 0


def test_old_xdp_refusal_and_mtu_refusal_are_warnings_too(dialects):
    """4.x's "request %i queues but max is %i" (the program refused) and the MTU check:
    the XDP program did not attach, the device is not in question."""
    result = _run("virtio_net virtio0 eth1: request 6 queues but max is 3\n"
                  "virtio_net virtio0 eth1: XDP requires MTU less than 3506\n", dialects)
    (device,) = result.model.live_devices()
    assert device.driver_ok_implied is not None
    assert {(f.rule, f.severity) for f in result.findings} == {("VD006", "warning")}
    assert all("[xdp]" in f.message for f in result.findings)


def test_an_interface_line_without_xdp_words_stays_the_interface(dialects):
    """The interface's other lines are still its registration, with no finding."""
    result = _run("virtio_net virtio0 eth1: renamed from eth0\n"
                  "virtio_net virtio0 eth1: entered promiscuous mode\n", dialects)
    (device,) = result.model.live_devices()
    assert device.driver_ok_implied is not None and result.findings == []
