"""Host-side formats from the fourth host judge (2026-12-03), written from their sources.

* Firecracker src/vmm/src/devices/virtio/block/virtio/request.rs (v1.x) error!("Failed to
  execute {:?} virtio block request: {:?}", request type, error), v0.2x device.rs
  "Failed to execute virtio block request: {:?}", "Received unsupported virtio block
  request: {}", "Failed to write virtio block status: {:?}": the guest got IOERR or
  UNSUPP. Logged without the origin (the default), the line names the block device only
  by its words. A held-out snapshot restore's three such lines passed (VD020, exit 0).
* Firecracker v0.1x logger: "[<id>:<LEVEL>:<file>:<line>]" with an empty id
  ("[:ERROR:devices/src/virtio/net.rs:305] Failed to write to tap"); v0.2x's API log at
  INFO with its origin and no thread ("[anonymous-instance:INFO:src/api_server/src/
  parsed_request.rs:124] The API server received a Patch request on \"/drives/ID\" ...");
  v0.11-0.14 api_server "Cannot open TAP device. Invalid name/permissions. {}".
* crosvm before 2022, sys_util/src/syslog.rs log(): "[{priority}:{file}:{line}] {message}"
  on stderr ("[WARNING:devices/src/virtio/gpu/virtio_gpu.rs:752] ..."): a file under
  devices/src/virtio/<type>/ names the device type as the env_logger module path does. Not
  Firecracker's "[<id>:<level>:...]": an id is never a syslog priority word.
* A guest's type-only error (Linux's "[drm:virtio_gpu_dequeue_ctrl_func [virtio_gpu]]
  *ERROR* response 0x1200 (command 0x208)") with a VMM's log of exactly one device of that
  type: that device's; and a device that answered a command of the driver was driven
  (used buffers only after DRIVER_OK, spec 3.1.1), not "never driven" (VD004 before).
* QEMU's monitor answering "info virtio" (hw/virtio/virtio-hmp-cmds.c hmp_virtio_query(),
  7.2+): "%s [%s]" per device, its QOM path and name. A held-out Termux session's list of
  seven devices was VD020 ("a format not read").
* cloud-hypervisor event_monitor/src/lib.rs event_log()'s info! line quoted without its
  "cloud-hypervisor: TIME: <THREAD> INFO:FILE:LINE -- " head, as PR #7512 shows it
  ("Event: source = virtio-device event = activated id = _disk0"): VD020 before.
Lines written from those format strings, with made-up values."""

import format_tables

from virtiodiag.analysis import analyse_blocks


def _run(text, dialects):
    return analyse_blocks("host.log", [text.encode()], dialects)


def test_failed_block_requests_fail_the_block_device(dialects):
    line = ("2024-05-01T10:00:00.000000001 [vm-9:main] Failed to execute Out virtio block "
            "request: FileEngine(Sync(Transfer(IOError(Os { code: 9 }))))\n")
    result = _run(line * 3, dialects)
    (finding,) = format_tables.errors(result)
    assert (finding.rule, finding.line) == ("VD006", 1)
    assert "block device" in finding.message and "(3 times)" in finding.message
    assert result.model.unrecognised == 0


def test_an_unsupported_request_is_the_block_device_s_error(dialects):
    result = _run("[vm-9:fc_vmm] Received unsupported virtio block request: 11\n", dialects)
    (finding,) = format_tables.errors(result)
    assert "block device" in finding.message


def test_the_v01x_logger_s_empty_instance_id_is_read(dialects):
    result = _run("[:ERROR:devices/src/virtio/net.rs:305] Failed to write to tap\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "net device" in finding.message


def test_a_v02x_drive_patched_after_a_snapshot_load_is_a_block_device(dialects):
    result = _run(
        "Running Firecracker v0.21.0\n"
        "2020-07-07T06:22:00.382275333 [anonymous-instance:INFO:src/api_server/src/"
        "parsed_request.rs:124] The API server received a Put request on \"/snapshot/load\" "
        "with body \"{}\".\n"
        "2020-07-07T06:22:00.395767151 [anonymous-instance:INFO:src/api_server/src/"
        "parsed_request.rs:124] The API server received a Patch request on \"/drives/scratch7\""
        " with body \"{}\".\n", dialects)
    (device,) = result.model.live_devices()
    assert (device.id, device.device_type) == ("scratch7", "block")
    assert result.findings == []


def test_the_v01x_tap_refusal_broken_over_two_lines_fails_the_net_device(dialects):
    result = _run("[PUT /network-interfaces/{iface_id}][400] putGuestNetworkInterfaceByIdBad"
                  "Request  &{FaultMessage:Cannot open TAP device. Invalid name/permissions. "
                  "CreateTap(\nOs { code: 1, kind: PermissionDenied })}\n", dialects)
    (finding,) = format_tables.errors(result)
    assert (finding.rule, finding.line) == ("VD015", 1)
    assert "net device" in finding.message


def test_old_crosvm_syslog_lines_name_their_device_type(dialects):
    result = _run("[INFO:devices/src/virtio/net.rs:120] net device up\n"
                  "[ERROR:devices/src/virtio/net.rs:412] net: tx: failed to write frame to "
                  "tap: Input/output error (os error 5)\n", dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "net"
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "[tap]" in finding.message


def test_a_syslog_priority_is_no_firecracker_instance(dialects):
    payload = dialects.parse("[ERROR:devices/src/virtio/block.rs:630] failed executing disk "
                             "request: Io(Os { code: 5 })")
    assert (payload.dialect, payload.kind) == ("crosvm", "device_error")


def test_a_guest_gpu_answer_joins_the_vmm_s_one_gpu_and_shows_it_driven(dialects):
    result = _run("[2024-05-30T01:48:08Z DEBUG devices::virtio::gpu::device] virtio_gpu: "
                  "set_shm_region\n"
                  "[drm:virtio_gpu_dequeue_ctrl_func [virtio_gpu]] *ERROR* response 0x1200 "
                  "(command 0x208)\n", dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "gpu" and device.driver_ok_implied is not None
    assert [f.rule for f in result.findings] == ["VD006"]
    assert result.findings[0].device == device.id


_INFO_VIRTIO = """(qemu) info virtio
/machine/peripheral-anon/device[2]/virtio-backend [virtio-net]
/machine/peripheral/disk1/virtio-backend [virtio-blk]
/machine/peripheral/fs0/virtio-backend [vhost-user-fs]
/machine/peripheral-anon/device[0] [virtio-rng]
(qemu)
"""


def test_qemu_s_info_virtio_lists_its_devices(dialects):
    result = _run(_INFO_VIRTIO, dialects)
    devices = {d.id: d.device_type for d in result.model.live_devices()}
    assert devices == {"/machine/peripheral-anon/device[2]": "net",
                       "/machine/peripheral/disk1": "block", "/machine/peripheral/fs0": "fs",
                       "/machine/peripheral-anon/device[0]": "rng"}
    assert result.findings == [] and result.model.unrecognised == 0


def test_an_activation_event_quoted_without_its_head_is_read(dialects):
    result = _run("Event: source = virtio-device event = activated id = _disk3\n"
                  "Event: source = virtio-device event = reset id = _disk3\n", dialects)
    (device,) = result.model.live_devices()
    assert (device.id, device.device_type) == ("_disk3", "block")
    assert result.findings == [] and result.model.unrecognised == 0
