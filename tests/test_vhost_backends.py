"""vhost-user back-ends' own logs beside their VMM's (held-out host-side logs of
2026-12-03, second round): virtiofsd's start-up warnings, its --syslog journal lines, the
connection it accepts (the virtio-fs device exists), and QEMU's vhost errors, which name no
device, given to the one device a back-end showed. Every line here is written from the
projects' format strings: the Rust virtiofsd (src/main.rs main(), initialize_logging(),
src/limits.rs setup_rlimit_nofile()), the C virtiofsd (QEMU tools/virtiofsd/fuse_virtio.c
virtio_session_mount()), QEMU hw/virtio/vhost-user.c (vhost_user_write(),
vhost_user_read_header(), "Failed to set msg fds.") and hw/virtio/vhost.c
(vhost_virtqueue_stop() "vhost VQ %u ring restore failed: %d", vhost_dev_start())."""

import format_tables



def _run(text, dialects):
    return format_tables.analyse_text("host.log", text, dialects)


_errors = format_tables.errors

# The Rust virtiofsd's env_logger lines of a healthy start: limits.rs lowers its own
# open-file limit to the hard limit and says so at WARN, main.rs warns of a deprecated
# option form, then the VMM connects.
_HEALTHY_START = (
    "[2025-01-02T03:04:05Z WARN  virtiofsd::limits] Failure when trying to set the limit to "
    "1000000, the hard limit (4096) of open file descriptors is used instead.\n"
    "[2025-01-02T03:04:05Z WARN  virtiofsd] Use of deprecated option format '-o': Please "
    "specify options without it (e.g., '--cache auto' instead of '-o cache=auto')\n"
    "[2025-01-02T03:04:05Z INFO  virtiofsd] Waiting for vhost-user socket connection...\n"
    "[2025-01-02T03:04:06Z INFO  virtiofsd] Client connected, servicing requests\n")


def test_virtiofsds_start_up_warnings_leave_a_healthy_fs_device(dialects):
    """Every WARN line of virtiofsd was read as its back-end failing: a VM that booted and
    used its share gated with exit 1, the fs device unlisted. The warnings are about the
    daemon's own set-up; "Client connected" shows the VMM opened the device's connection."""
    result = _run(_HEALTHY_START, dialects)
    assert _errors(result) == [] and result.findings == []
    (device,) = result.model.live_devices()
    assert device.device_type == "fs"


def test_virtiofsds_syslog_lines_in_the_journal_are_its_fs_devices(dialects):
    """With --syslog the Rust daemon's message alone follows the journal's tag; the
    framing removed the tag, so "Waiting for daemon failed: ..." was read by no dialect and
    the run passed with a devices-missing warning."""
    result = _run(
        "Mar 04 10:00:00 host virtiofsd[4242]: Waiting for vhost-user socket connection...\n"
        "Mar 04 10:00:01 host virtiofsd[4242]: Client connected, servicing requests\n"
        "Mar 04 10:00:09 host virtiofsd[4242]: Waiting for daemon failed: HandleRequest("
        "ReqHandlerError(Custom { kind: Other, error: \"bad request\" }))\n", dialects)
    (finding,) = _errors(result)
    assert finding.rule == "VD006" and finding.line == 3
    (device,) = result.model.live_devices()
    assert device.device_type == "fs" and device.errors


def test_a_relayed_journal_line_of_virtiofsd_is_read_once(dialects):
    """A journal relayed by another syslog repeats the host and tag ("host virtiofsd[1]:
    host virtiofsd[2]: ..."): both go, the speaker stays."""
    result = _run("Mar 04 10:00:00 host virtiofsd[12]: host virtiofsd[11]: Failure when "
                  "trying to set the limit to 1000000, the hard limit (1024) of open file "
                  "descriptors is used instead.\n", dialects)
    assert result.findings == [] and result.model.unrecognised == 0


def test_the_c_daemons_accepted_connection_is_an_fs_device(dialects):
    """fuse_virtio.c's "Received vhost-user socket connection" was a note: a debug log of
    a daemon serving its guest showed no device at all."""
    result = _run("[2022-01-25 21:30:55.948856+0000] [ID: 00000042] virtio_session_mount: "
                  "Waiting for vhost-user socket connection...\n"
                  "[2022-01-25 21:30:58.173424+0000] [ID: 00000042] virtio_session_mount: "
                  "Received vhost-user socket connection\n"
                  "[2022-01-25 21:30:58.175048+0000] [ID: 00000001] virtio_loop: Entry\n",
                  dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "fs" and result.findings == []


_QEMU_VHOST_USER_ERRORS = (
    "qemu-system-x86_64: Failed to write msg. Wrote -1 instead of 20.\n"
    "qemu-system-x86_64: Failed to set msg fds.\n"
    "qemu-system-x86_64: vhost VQ 0 ring restore failed: -22: Invalid argument (22)\n"
    "qemu-system-x86_64: Error starting vhost: 22\n")


def test_qemus_vhost_errors_are_the_fs_devices_when_it_is_the_only_device(dialects):
    """QEMU's vhost-user errors name no device; beside virtiofsd's connection they were
    four errors of 'a device the line does not name' and an fs device with no error."""
    result = _run(_HEALTHY_START + _QEMU_VHOST_USER_ERRORS, dialects)
    (device,) = result.model.live_devices()
    assert len(device.errors) == 4 and result.model.unattributed_errors == []
    assert {f.device for f in _errors(result)} == {device.id}
    assert [e.line for e in device.timeline][-4:] == [5, 6, 7, 8]


def test_qemus_vhost_errors_stay_unattributed_beside_another_device(dialects):
    """A guest's NIC beside the fs device: its vhost-net back-end prints nothing, so the
    errors could be either device's and stay 'a device the line does not name'."""
    result = _run(_HEALTHY_START + "virtio_net virtio0 eth0: renamed from veth0\n"
                  + _QEMU_VHOST_USER_ERRORS, dialects)
    assert len(result.model.live_devices()) == 2
    assert len(result.model.unattributed_errors) == 4


def test_a_back_ends_typed_error_gathers_qemus_untyped_ones_into_its_device(dialects):
    """No line shows the fs device's connection, but virtiofsd's own error names its type:
    QEMU's untyped vhost-user errors beside it were 'a device the line does not name' and
    the log showed no device at all."""
    result = _run(_QEMU_VHOST_USER_ERRORS + "[2025-01-02T03:04:09Z ERROR virtiofsd] Waiting "
                  "for daemon failed: HandleRequest(InvalidParam)\n", dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "fs" and len(device.errors) == 5
    assert result.model.unattributed_errors == []
    assert [e.line for e in device.timeline] == [1, 2, 3, 4, 5]


def test_typed_vhost_errors_alone_or_of_two_types_make_no_device(dialects):
    """Nothing to gather: a typed error alone keeps its wording; two types name no one
    device."""
    alone = _run("qemu-system-x86_64: vhost-vsock: unable to set guest cid: Address already "
                 "in use\n", dialects)
    assert alone.model.live_devices() == []
    two = _run(_QEMU_VHOST_USER_ERRORS + "qemu-system-x86_64: vhost-vsock: unable to set "
               "guest cid: Address already in use\n[2025-01-02T03:04:09Z ERROR virtiofsd] "
               "Waiting for daemon failed: HandleRequest(InvalidParam)\n", dialects)
    assert two.model.live_devices() == [] and len(two.model.unattributed_errors) == 6
