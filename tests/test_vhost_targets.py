"""DPDK's vhost library and the SPDK vhost target (the back-end of a vhost-user-blk,
-scsi or -net device), and cloud-hypervisor's net queue pairs and migration errors: the
held-out host-side logs of 2026-12-03 (second round) showed each of them unread. Every
line is written from the projects' format strings: DPDK lib/vhost/socket.c
vhost_user_add_connection(), vhost_user.c virtio_is_ready(), vhost_user_set_vring_err(),
read_vhost_message() callers, vhost_user_set_vring_num(); SPDK lib/log/log.c spdk_vlog(),
lib/vhost/vhost.c vhost_session_send_event() ("Timeout waiting for event: %s."),
rte_vhost_compat.c / rte_vhost_user.c vhost_session_mem_register(); cloud-hypervisor
net_util/src/queue_pair.rs TxVirtio/RxVirtio::process_desc_chain(), vmm/src/lib.rs
("Migration failed: {e}"). tests/fixtures/formats/vhost-targets.tsv has one line per
format."""

import format_tables
import pytest



def _run(text, dialects):
    return format_tables.analyse_text("host.log", text, dialects)


_errors = format_tables.errors
_TABLE = format_tables.rows("vhost-targets.tsv")


@pytest.mark.parametrize("rows", format_tables.by_dialect(_TABLE))
def test_each_published_format_becomes_its_typed_event(rows, dialects):
    format_tables.assert_each_read_as(dialects, rows)


def test_a_dpdk_vhost_session_with_its_socket_path_is_a_device_the_guest_drove(dialects):
    """DPDK 21.11+ names the vhost-user socket before each message: the socket is the
    device. The rings' set-up and "virtio is now ready for processing." (sent only after
    the front-end started the device on the guest's DRIVER_OK) were unread: 'a format
    virtiodiag does not read', no device."""
    path = "/var/run/spdk/vhost.2"
    result = _run(f"VHOST_CONFIG: ({path}) new device, handle is 0\n"
                  f"VHOST_CONFIG: ({path}) read message VHOST_USER_GET_FEATURES\n"
                  f"VHOST_CONFIG: ({path}) read message VHOST_USER_SET_VRING_ERR\n"
                  f"VHOST_CONFIG: ({path}) not implemented\n"
                  f"VHOST_CONFIG: ({path}) vring kick idx:0 file:51\n"
                  f"VHOST_CONFIG: ({path}) virtio is now ready for processing.\n", dialects)
    (device,) = result.model.live_devices()
    assert device.id == path and device.reached_driver_ok
    assert result.findings == []


def test_a_dpdk_vhost_device_without_a_socket_path_is_named_by_its_handle(dialects):
    """Before 21.11 no line names the socket: "new device, handle is %d" gives the
    library's handle (the vid), the device's only name."""
    result = _run("VHOST_CONFIG: new vhost user connection is 47\n"
                  "VHOST_CONFIG: new device, handle is 1\n"
                  "VHOST_CONFIG: read message VHOST_USER_GET_FEATURES\n", dialects)
    (device,) = result.model.live_devices()
    assert device.id == "handle 1" and result.findings == []


def test_a_dpdk_vhost_error_is_the_back_end_failing_its_device(dialects):
    """No level is printed: the library's error messages say what failed."""
    result = _run("VHOST_CONFIG: (vu-net0) new device, handle is 1\n"
                  "VHOST_CONFIG: (vu-net0) invalid virtqueue size 1000\n", dialects)
    (finding,) = _errors(result)
    assert finding.device == "vu-net0" and finding.line == 2


def test_spdks_vhost_errors_and_warnings(dialects):
    """SPDK's "*ERROR*" of its vhost library is the back-end failing (a controller that
    never started its device); its "*WARNING*" that a guest memory region could not be
    registered (I/O to buffers there may fail) is a warning. Both were unread: exit 0 with
    devices-missing."""
    result = _run("[2024-03-02 10:11:12.131415] vhost.c: 931:vhost_session_send_event: "
                  "*ERROR*: Timeout waiting for event: start session.\n", dialects)
    (finding,) = _errors(result)
    assert finding.rule == "VD006"
    result = _run("rte_vhost_user.c: 310:vhost_session_mem_register: *WARNING*: Failed to "
                  "register memory region 2. Future vtophys translation might fail.\n",
                  dialects)
    assert _errors(result) == []
    (finding,) = result.findings
    assert finding.severity == "warning" and finding.rule == "VD006"


def test_a_recoverable_tap_write_of_a_cloud_hypervisor_queue_pair_is_a_warning(dialects):
    """queue_pair.rs retries a frame the tap would not take (EAGAIN: the host side is not
    reading): a warning of the net device its thread names. Lines of net_util/ were read
    by no dialect; a failed write or read of the tap is an error."""
    line = ("cloud-hypervisor: 20.1s: <_net1_qp0> WARN:net_util/src/queue_pair.rs:99 -- "
            "net: tx: (recoverable) failed writing to tap: Resource temporarily unavailable "
            "(os error 11)\n")
    result = _run(line * 3, dialects)
    assert _errors(result) == []
    (finding,) = result.findings
    assert finding.severity == "warning" and finding.device == "_net1"
    result = _run("cloud-hypervisor: 20.1s: <_net1_qp0> ERROR:/build/source/net_util/src/"
                  "queue_pair.rs:134 -- net: tx: failed writing to tap: Invalid argument "
                  "(os error 22)\n", dialects)
    (finding,) = _errors(result)
    assert finding.device == "_net1" and "tap" in finding.hint


def test_a_vhost_user_devices_migration_refused_by_cloud_hypervisor(dialects):
    """vmm/src/lib.rs's "Migration failed: ..." naming a vhost-user back-end, pasted
    without the logger's head: unread before (exit 0)."""
    result = _run("ERROR:vmm/src/lib.rs:2035 -- Migration failed: Failed to start migration "
                  "for migratable component: Error starting migration for vhost-user backend: "
                  "MigrationNotSupported\n", dialects)
    (finding,) = _errors(result)
    assert finding.rule == "VD006" and "LOG_ALL" in finding.hint


def test_libvirt_without_vhost_vsock_fails_the_vsock_device(dialects):
    """libvirt's qemuProcessOpenVhostVsock() refuses to start a domain whose vsock device
    has no /dev/vhost-vsock ("unsupported configuration: ..."), relayed by a caller's
    Message='...': unread before (exit 0, devices-missing)."""
    result = _run("Message='unsupported configuration: unable to open vhost-vsock device'\n",
                  dialects)
    (finding,) = _errors(result)
    assert "vsock device" in finding.message


def test_an_spdk_controller_and_its_socket_are_one_device(dialects):
    """SPDK lib/vhost/vhost.c names a controller ("Controller %s: new controller added",
    its errors "Controller %s: ..."), DPDK's lines its socket, <dirname><name>
    (rte_vhost_user.c vhost_register_unix_socket()): one device per socket, each
    controller's lines and errors on it (they were records of their own, or notes)."""
    text = ("[2026-12-04 10:00:00.100211] vhost.c: 746:vhost_dev_register: *NOTICE*: "
            "Controller vhost.0: new controller added\n"
            "[2026-12-04 10:00:00.100342] vhost.c: 746:vhost_dev_register: *NOTICE*: "
            "Controller vhost.1: new controller added\n"
            "VHOST_CONFIG: (run/vhost.0) vhost-user server: socket created, fd: 24\n"
            "VHOST_CONFIG: (run/vhost.1) vhost-user server: socket created, fd: 25\n"
            "VHOST_CONFIG: (run/vhost.0) new device, handle is 0\n"
            "VHOST_CONFIG: (run/vhost.0) virtio is now ready for processing.\n"
            "[2026-12-04 10:00:05.200000] vhost.c:  98:vhost_dev_register: *ERROR*: "
            "Controller vhost.1: Invalid cpumask 0x10\n")
    result = _run(text, dialects)
    devices = {d.id: d for d in result.model.live_devices()}
    assert sorted(devices) == ["run/vhost.0", "run/vhost.1"]
    assert devices["run/vhost.0"].timeline[0].line == 1  # the controller's line
    (hit,) = [f for f in result.findings if f.rule == "VD006"]
    assert hit.device == "run/vhost.1" and hit.line == 7
    # two sockets of one name in two folders: which is the controller's is not told
    result = _run("vhost.c: 746:vhost_dev_register: *NOTICE*: Controller vhost.0: new "
                  "controller added\n"
                  "VHOST_CONFIG: (run/vhost.0) new device, handle is 0\n"
                  "VHOST_CONFIG: (/srv/vhost.0) new device, handle is 1\n", dialects)
    assert sorted(d.id for d in result.model.live_devices()) == [
        "/srv/vhost.0", "run/vhost.0", "vhost.0"]
