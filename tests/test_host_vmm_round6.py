"""Host-side formats from the sixth host judge (2026-12-03), written from their sources.

* cloud-hypervisor's logger (Logger::log, its own module since v48) writes the time since
  start as seconds right-aligned in ten columns: "cloud-hypervisor: {:>10.6?}s: <{thread}>
  {level}:{file}:{line} -- {message}". A held-out v49 log ("cloud-hypervisor:   0.006930s:
  ... Creating virtio-block device: ...") was VD020 with no device before.
* Rust's panic message names the VMM's source file; cloud-hypervisor's devices lived in the
  vm-virtio crate before its 2020 rename to virtio-devices ("thread 'vcpu0' panicked at
  'Failed to activate device: BadActivate', vm-virtio/src/transport/pci_device.rs:910:21"
  was a note and exit 0).
* Firecracker v0.1x api_server/src/request/sync/net.rs Error::OpenTap answers a PUT
  /network-interfaces with 400 {"fault_message": "Could not open TAP device."}; the Go
  SDK's go-swagger client prints a 4xx as "[PUT /network-interfaces/{iface_id}][400]
  putGuestNetworkInterfaceByIdBadRequest  &{FaultMessage:<fault>}", the fault being
  whatever the API refused (a body it would not deserialise: "missing field `state`").
  Both exited 0 with no finding.
* Firecracker's metrics (src/vmm/src/logger/metrics.rs, one serde_json line a flush, its
  first member "utc_timestamp_ms"; "block_<drive id>" and "net_<iface id>" members since
  v1.6, devices/virtio/{block,net}/metrics.rs flush_metrics(), beside each type's
  aggregate): each member is a record (sources/framing.py); a non-zero "activate_fails"
  is a failed activation, another non-zero "*_fails" counter a device error. A metrics
  line was VD020 ("format not read") and its failures missed.
Lines written from those format strings, with made-up values."""

import format_tables

from virtiodiag.analysis import analyse_blocks


def _run(text, dialects):
    return analyse_blocks("host.log", [text.encode()], dialects)


def _devices(result):
    return {(d.id, d.device_type) for d in result.model.live_devices()}


def test_cloud_hypervisor_s_right_aligned_time_is_read(dialects):
    text = ("cloud-hypervisor:   0.006930s: <vmm> INFO:vmm/src/device_manager.rs:2604 -- "
            'Creating virtio-block device: DiskConfig { path: Some("/img/os.raw"), '
            'readonly: false, id: Some("_disk0"), pci_segment: 0 }\n'
            "cloud-hypervisor:  12.345678s: <vcpu0> INFO:virtio-devices/src/transport/"
            "pci_device.rs:1246 -- _virtio-pci-_disk0: Needs activation; writing to "
            "activate event fd\n")
    result = _run(text, dialects)
    (device,) = result.model.live_devices()
    assert (device.id, device.device_type) == ("_disk0", "block")
    assert device.driver_ok.state.value in ("reached", "implied")
    assert not format_tables.errors(result)


def test_the_right_aligned_time_through_the_journal(dialects):
    # the journal keeps the logger's message, spaces and all, after "cloud-hypervisor[PID]: "
    text = ("Aug 21 13:22:51 host cloud-hypervisor[925]:   1.133731s: <vcpu2> INFO:"
            "virtio-devices/src/transport/pci_device.rs:1222 -- _virtio-pci-_fs3: Needs "
            "activation; writing to activate event fd\n")
    result = _run(text, dialects)
    assert _devices(result) == {("_fs3", "fs")}


def test_an_old_cloud_hypervisor_panic_in_vm_virtio_fails_a_device(dialects):
    result = _run("thread 'vcpu0' panicked at 'Failed to activate device: BadActivate', "
                  "vm-virtio/src/transport/pci_device.rs:910:21\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "virtio-pci" in finding.message


def test_a_panic_outside_the_devices_is_still_no_device_failure(dialects):
    # cloud-hypervisor main.rs before v0.7: the VM could not be made (no /dev/kvm access)
    result = _run("thread 'main' panicked at 'Could not boot the VM: "
                  "VmBoot(KvmNew(Error(13)))', src/libcore/result.rs:1188:5\n", dialects)
    assert not format_tables.errors(result)
    assert not result.model.live_devices()


def test_firecracker_s_old_could_not_open_tap_fault_fails_the_net_device(dialects):
    text = ("HTTP/1.1 400 Bad Request\n"
            "Content-Type: application/json\n"
            "\n"
            "{\n"
            '  "fault_message": "Could not open TAP device."\n'
            "}\n")
    result = _run(text, dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD015" and "net device" in finding.message


def test_a_device_configuration_the_api_refused_fails_that_device(dialects):
    cases = {
        "[PUT /network-interfaces/{iface_id}][400] putGuestNetworkInterfaceByIdBadRequest"
        "  &{FaultMessage:missing field `host_dev_name` at line 1 column 40}": "net device",
        "panic: failed to create machine: [PUT /drives/{drive_id}][400] "
        "putGuestDriveByIdBadRequest  &{FaultMessage:unknown field `cache`}": "block device",
        "[PUT /vsock][400] putGuestVsockBadRequest  &{FaultMessage:Invalid guest CID}":
            "vsock device",
    }
    for line, named in cases.items():
        (finding,) = format_tables.errors(_run(line + "\n", dialects))
        assert finding.rule == "VD015" and named in finding.message, line


def test_a_refused_request_that_is_not_a_device_s_is_no_device_failure(dialects):
    # the same client error on /boot-source or /machine-config names no virtio device
    result = _run("[PUT /boot-source][400] putGuestBootSourceBadRequest  "
                  "&{FaultMessage:missing field `kernel_image_path`}\n", dialects)
    assert not format_tables.errors(result)


def test_a_refused_update_leaves_the_device_as_it_was(dialects):
    # Firecracker VmmActionError::OperationNotSupportedPostBoot, and a PATCH of a drive
    for line in ("[PUT /drives/{drive_id}][400] putGuestDriveByIdBadRequest  &{FaultMessage:"
                 "The requested operation is not supported after starting the microVM.}",
                 "[PATCH /drives/{drive_id}][400] patchGuestDriveByIdBadRequest  "
                 "&{FaultMessage:unknown field `rate`}"):
        assert not format_tables.errors(_run(line + "\n", dialects)), line


def _metrics(**members):
    import json

    return json.dumps({"utc_timestamp_ms": 1713524504000, "api_server":
                       {"process_startup_time_us": 120}, **members},
                      separators=(",", ":")) + "\n"


_ZERO_BLOCK = {"activate_fails": 0, "cfg_fails": 0, "execute_fails": 0, "read_count": 40}
_ZERO_NET = {"activate_fails": 0, "tap_write_fails": 0, "tx_count": 5,
             "tap_write_agg": {"min_us": 1, "max_us": 9, "sum_us": 30}}


def test_firecracker_metrics_members_are_records():
    from virtiodiag.sources.framing import split_records

    texts = [r.text for r in split_records(_metrics(block_rootfs=_ZERO_BLOCK).strip())]
    assert texts == ["firecracker metrics: utc_timestamp_ms 1713524504000",
                     'firecracker metrics: api_server {"process_startup_time_us":120}',
                     'firecracker metrics: block_rootfs {"activate_fails":0,"cfg_fails":0,'
                     '"execute_fails":0,"read_count":40}']
    # a line cut short keeps its unfinished last member; nothing raises
    cut = split_records('{"utc_timestamp_ms":1,"block":{"activate_fails":1,"cfg')
    assert cut[-1].text == 'firecracker metrics: block {"activate_fails":1,"cfg'
    # a hostile line of many members gives a bounded number of records
    assert len(split_records('{"utc_timestamp_ms":1,' + '"a":1,' * 5000 + '}')) <= 128


def test_healthy_metrics_show_each_device_and_no_failure(dialects):
    result = _run(_metrics(block_rootfs=_ZERO_BLOCK, block=_ZERO_BLOCK, net_eth0=_ZERO_NET,
                           net=_ZERO_NET, vsock={"activate_fails": 0}), dialects)
    assert _devices(result) == {("rootfs", "block"), ("eth0", "net")}
    assert not [f for f in result.findings if f.severity in ("error", "warning")]


def test_metrics_before_per_device_members_name_no_device(dialects):
    # v1.5 and older: only the aggregates, all zero
    result = _run(_metrics(block=_ZERO_BLOCK, net=_ZERO_NET), dialects)
    assert not result.model.live_devices()
    assert not result.findings


def test_a_failed_activation_counted_in_metrics_fails_the_device(dialects):
    result = _run(_metrics(vsock={"activate_fails": 1, "cfg_fails": 0}), dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD015" and "vsock device" in finding.message


def test_a_device_s_failures_and_its_aggregate_s_are_one_finding(dialects):
    failing = dict(_ZERO_BLOCK, execute_fails=2)
    text = ('[vm7:fc_api] The API server received a Put request on "/drives/rootfs" with '
            'body "{}".\n' + _metrics(block_rootfs=failing, block=failing))
    result = _run(text, dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and finding.device == "rootfs"
    assert _devices(result) == {("rootfs", "block")}


# Firecracker v0.1x-v0.2x vmm_config/drive.rs DriveError, vmm_config/net.rs
# NetworkInterfaceError, vmm_config/vsock.rs VsockError, as curl or the Go SDK prints them:
# the device's configuration refused, the device not made (they were read as nothing).
def test_old_firecracker_refusals_of_a_device_s_configuration(dialects):
    cases = {
        '  "fault_message": "Cannot open block device. Invalid permission/path."':
            "block device",
        "[PUT /drives/{drive_id}][400] putGuestDriveByIdBadRequest  &{FaultMessage:Cannot "
        "open block device. Invalid permission/path.}": "block device",
        '  "fault_message": "Invalid block device path!"': "block device",
        '  "fault_message": "The specified guest MAC address is already in use."':
            "net device",
        '  "fault_message": "The specified guest CID is already in use."': "vsock device",
    }
    for line, named in cases.items():
        (finding,) = format_tables.errors(_run(line + "\n", dialects))
        assert finding.rule == "VD015" and named in finding.message, line


def test_a_refusal_that_names_no_device_is_not_one(dialects):
    for line in ('  "fault_message": "Invalid kernel path!"',
                 '  "fault_message": "The update operation is not allowed after boot."'):
        assert not format_tables.errors(_run(line + "\n", dialects)), line


# Firecracker v1.x devices/virtio/balloon/device.rs and event_handler.rs error! lines, in
# the default log (no origin): read as nothing before.
def test_firecracker_balloon_errors(dialects):
    result = _run("[vm1:fc_vmm] balloon: driver is not compliant, more than one stats buffer "
                  "received\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "balloon" in finding.message
    result = _run("[vm1:fc_vmm] Failed to consume balloon activate event: Os { code: 11 }\n",
                  dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD015"


def test_a_balloon_stats_timer_with_no_buffer_is_a_warning(dialects):
    result = _run("[vm1:fc_vmm] Failed to update balloon stats, missing descriptor.\n",
                  dialects)
    assert not format_tables.errors(result)
    assert [f.severity for f in result.findings if f.rule == "VD006"] == ["warning"]
