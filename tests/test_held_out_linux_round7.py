"""Formats from the seventh Linux-guest judge (2026-12-03), written from their sources; the
held-out logs that showed them are listed in docs/held-out-logs.md (their text is not here).

* drivers/net/virtio_net.c virtnet_xdp_set(), netdev_warn when an XDP program is attached:
  "request %i queues but max is %i" (4.10 to 5.11, the program refused with -ENOMEM), "XDP
  request %i queues but max is %i. XDP_TX and XDP_REDIRECT will operate in a slower locked
  tx mode." (5.12+), "XDP requires MTU less than %lu". Held-out logs of each were read as
  the interface's plain line: the warning was dropped without a word.
* dracut's initqueue timeout (modules.d/98dracut-systemd/dracut-initqueue.sh: warn
  "dracut-initqueue: timeout, still waiting for following initqueue hooks:", then
  "$_f: \"$(cat "$_f")\"" per hook; wait_for_dev() names each hook "devexists-" and the
  device's path with "/" as "\x2f"): a held-out guest with only a virtio-scsi HBA waited
  for /dev/vda4 and gave exit 0 with no finding.
* systemd src/core/device.c "Timed out waiting for device %s." and job.c "Job %s/%s timed
  out." for /dev/virtio-ports/NAME (qemu-guest-agent's port), under a journalctl prefix
  whose month the locale writes in lower case ("%b": "jan", "okt."): a held-out journal
  gave VD020 (a format not read) and no word about the port.
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


DRACUT_TIMEOUT = (
    "[  141.006212] dracut-initqueue[402]: Warning: dracut-initqueue: timeout, still waiting "
    "for following initqueue hooks:\n"
    "[  141.011840] dracut-initqueue[402]: Warning: /lib/dracut/hooks/initqueue/finished/"
    "devexists-\\x2fdev\\x2fvdb2.sh: \"[ -e \"/dev/vdb2\" ]\"\n")


def test_dracut_timeout_for_a_disk_no_virtio_device_has_is_a_run_level_error(dialects):
    """The initramfs waits for /dev/vdb2 and the log's only virtio device is a SCSI HBA:
    root-not-mounted (VD024), an error naming the path the hook spells."""
    result = _run("[    2.104512] virtio_scsi virtio0: 2/0/0 default/read/poll queues\n"
                  "[    2.110987] scsi host2: Virtio SCSI HBA\n" + DRACUT_TIMEOUT, dialects)
    (hit,) = [f for f in result.findings if f.rule == "VD024"]
    assert hit.severity == "error" and hit.line == 4
    assert "/dev/vdb2" in hit.message and "no virtio block device" in hit.message
    assert result.model.root_mount.timed_out


def test_dracut_timeout_for_a_partition_of_a_virtio_disk_is_on_that_disk(dialects):
    """The disk registered without the partition the hook waits for: the error is on the
    virtio block device that has the disk."""
    result = _run("[    1.880004] virtio_blk virtio2: [vdb] 41943040 512-byte logical blocks "
                  "(21.5 GB/20.0 GiB)\n" + DRACUT_TIMEOUT, dialects)
    (hit,) = [f for f in result.findings if f.rule == "VD024"]
    (device,) = result.model.live_devices()
    assert hit.severity == "error" and hit.device_identity == device.identity


def test_dracut_timeout_then_the_disk_registering_is_no_failure(dialects):
    """The disk came after the warning (a slow host): dracut went on, nothing to report."""
    result = _run(DRACUT_TIMEOUT + "[  150.331093] virtio_blk virtio2: [vdb] 41943040 "
                  "512-byte logical blocks (21.5 GB/20.0 GiB)\n", dialects)
    assert result.model.root_mount is None
    assert [f for f in result.findings if f.rule == "VD024"] == []


PORT_TIMEOUT = (
    "okt. 14 08:02:31 guest systemd[1]: dev-virtio\\x2dports-org.qemu.guest_agent.0.device: "
    "Job dev-virtio\\x2dports-org.qemu.guest_agent.0.device/start timed out.\n"
    "okt. 14 08:02:31 guest systemd[1]: Timed out waiting for device "
    "/dev/virtio-ports/org.qemu.guest_agent.0.\n"
    "okt. 14 08:02:31 guest systemd[1]: Dependency failed for QEMU Guest Agent.\n")


def test_a_virtio_port_systemd_waited_for_in_vain_is_a_warning(dialects):
    """The guest agent's port never appeared: one warning (VD006, port_missing), no device
    made up for it (the VM may have no virtio-serial device at all), every line read."""
    result = _run(PORT_TIMEOUT, dialects)
    assert result.model.devices == []
    (hit,) = result.findings
    assert (hit.rule, hit.severity, hit.line) == ("VD006", "warning", 2)
    assert "virtio-serial port" in hit.message and "org.qemu.guest_agent.0" in hit.message
    # the port by its name, and the option that gives the guest that port
    assert "port org.qemu.guest_agent.0 a unit" in hit.message
    assert "-device virtserialport,chardev=ID,name=org.qemu.guest_agent.0" in hit.hint
    assert "name='org.qemu.guest_agent.0'" in hit.hint


def test_a_lower_case_month_is_a_journal_prefix(dialects):
    """journalctl's "%b" in a locale that writes it in lower case: the time and the
    "HOST TAG[PID]: " header go, the kernel's line is read."""
    result = _run("okt. 14 08:01:02 guest kernel: virtio_net virtio0 enp1s0: renamed from "
                  "eth0\njan 31 11:56:04 guest kernel: virtio_blk virtio1: [vda] 2097152 "
                  "512-byte logical blocks (1.07 GB/1.00 GiB)\n", dialects)
    assert sorted(d.id for d in result.model.live_devices()) == ["virtio0", "virtio1"]
    assert result.model.unrecognised == 0
