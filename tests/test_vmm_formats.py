"""VMM formats added from the held-out VMM logs, written from the VMMs' sources:
Firecracker's API answer as a client prints it ({"fault_message": "..."}, curl or the Go
SDK's HTTP dump), its v1.x creation errors ("<Device> config error: Could not create the
network device: ...", v1.0-1.3 "Could not create Network Device: ..."), its v0.1x API log
("Sent synchronous Put request ...", "Received Success on synchronous Put request ...")
and v0.17-0.2x "[<instance>] The API server received a synchronous Put request on ...";
cloud-hypervisor lines pasted without their "cloud-hypervisor: TIME: " head, and
thread_helper.rs's v4x "Error running worker: ..."; kvmtool's messages (util/util.c "  Warning: "
and "  Fatal: " prefixes, guest_compat.c's "KVM compatibility warning" naming a virtio device the
guest never initialized, virtio/net.c's tap and vhost failures); crosvm's log ("[TIME LEVEL
module] ...": virtio_pci_device.rs "failed to activate device: ..." and "{label} activate
failed: ...", a device module's errors). tests/fixtures/formats/vmm.tsv has one
line per format; the rows below check what the model makes of them together.
"""

import format_tables
import pytest

from virtiodiag.analysis import analyse_blocks


def _run(text, dialects):
    return analyse_blocks("vmm.log", [text.encode()], dialects)


_TABLE = format_tables.rows("vmm.tsv")


@pytest.mark.parametrize("rows", format_tables.by_dialect(_TABLE))
def test_each_published_format_becomes_its_typed_event(rows, dialects):
    format_tables.assert_each_read_as(dialects, rows)


@pytest.mark.parametrize("text, kind, line", [
    # curl's view of InstanceStart refused (v0.1x: the vsock device could not be created)
    ("HTTP/1.1 400 Bad Request\nContent-Type: application/json\n\n{\n"
     "  \"fault_message\": \"Cannot create vsock device. VhostOpen(VhostOpen(Os { code: 2 }))\"\n"
     "}\n", "vsock", 5),
    # a client printing the API's error alone (v1.x)
    ("Error: Network config error: Could not create the network device: Open tap device "
     "failed: Error while creating ifreq structure: Resource busy (os error 16).\n", "net", 1),
    # the Go SDK's debug dump of the HTTP answer, inside logfmt
    ('time="2024-01-02T03:04:05Z" level=debug msg="HTTP/1.1 400 \\r\\nContent-Type: '
     'application/json\\r\\n\\r\\n{\\"fault_message\\":\\"Could not create Network Device: '
     'TapOpen(IoctlError(Os { code: 16 }))\\"}\\n"\n', "net", 1),
], ids=["curl-json", "config-error", "sdk-http-dump"])
def test_firecracker_refusing_to_create_a_device_fails_that_type(text, kind, line, dialects):
    result = _run(text, dialects)
    (finding,) = [f for f in result.findings if f.rule == "VD015"]
    assert (finding.severity, finding.line) == ("error", line)
    assert f"{kind} device" in finding.message and "create" in finding.message


@pytest.mark.parametrize("text, name, kind", [
    ('2018-11-28T10:00:00.000000001 [anonymous-instance:INFO:api_server/src/http_service.rs:521]'
     ' Sent synchronous Put request "/drives/rootfs" with body "{}"\n'
     '2018-11-28T10:00:00.000000002 [anonymous-instance:INFO:api_server/src/http_service.rs:529]'
     ' Received Success on synchronous Put request "/drives/rootfs" with body "{}"\n',
     "rootfs", "block"),
    ('2019-08-19T15:06:00.757889752 [anonymous-instance] The API server received a synchronous '
     'Put request on "/network-interfaces/eth0" with body "{}".\n', "eth0", "net"),
    # v0.15-0.18 http_service.rs: the request done, and the requests on paths that are no
    # device (boot source, machine configuration, actions) around it
    ('2019-08-19T15:06:00.700000000 [anonymous-instance] The API server received a synchronous '
     'Put request on "/boot-source" with body "{}".\n'
     '2019-08-19T15:06:00.700000001 [anonymous-instance] The synchronous Put request on '
     '"/machine-config" with body "{}" was executed successfully. Status code: 204 No Content.\n'
     '2019-08-19T15:06:00.800000000 [anonymous-instance] The synchronous Put request on '
     '"/network-interfaces/eth0" with body "{\\n  \\"iface_id\\": \\"eth0\\"\\n}" was executed '
     'successfully. Status code: 204 No Content.\n'
     '2019-08-19T15:06:00.800000001 [anonymous-instance] loop process - 1 events, 299.414\u00b5s\n',
     "eth0", "net"),
], ids=["v0.1x", "v0.17", "v0.17-done"])
def test_old_firecracker_api_logs_name_the_devices_the_vm_gets(text, name, kind, dialects):
    result = _run(text, dialects)
    (device,) = result.model.devices
    assert (device.id, device.device_type, device.transport) == (name, kind, "mmio")
    assert not [f for f in result.findings if f.severity in ("error", "warning")]


def test_a_cloud_hypervisor_line_without_its_head_is_still_its_devices_line(dialects):
    result = _run("<vcpu0> INFO:virtio-devices/src/transport/pci_device.rs:1222 -- "
                  "_virtio-pci-_net2: Needs activation; writing to activate event fd\n"
                  "<_net2_qp0> ERROR:virtio-devices/src/thread_helper.rs:55 -- Error running "
                  "worker: HandleEvent(Error processing TX queue)\n", dialects)
    (device,) = result.model.devices
    assert (device.id, device.device_type, device.transport) == ("_net2", "net", "pci")
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert (finding.severity, finding.line, finding.device) == ("error", 2, "_net2")



@pytest.mark.parametrize("text", [
    # kvmtool before 2023: guest_compat.c printf
    "  # KVM compatibility warning.\n\tvirtio-9p device was not detected.\n"
    "\tWhile you have requested a virtio-9p device, the guest kernel did not initialize it.\n"
    "\tPlease make sure that the guest kernel was compiled with CONFIG_NET_9P_VIRTIO=y "
    "enabled in .config.\n",
    # later: through pr_warning
    "  Warning: KVM compatibility warning.\n    virtio-9p device was not detected.\n"
    "    While you have requested a virtio-9p device, the guest kernel did not initialize it.\n"
    "    Please make sure that the guest kernel was compiled with CONFIG_NET_9P_VIRTIO=y "
    "enabled in .config.\n",
], ids=["printf", "pr_warning"])
def test_kvmtool_naming_a_device_the_guest_never_set_up_is_a_device_with_no_driver(
        text, dialects):
    result = _run(text, dialects)
    (finding,) = [f for f in result.findings if f.rule == "VD015"]
    assert (finding.severity, finding.line) == ("error", 2)
    assert "9p device" in finding.message and "no driver" in finding.message
    assert not [f for f in result.findings if f.rule in ("VD016", "VD020")]


@pytest.mark.parametrize("guest, transport", [
    # --enable-pci (v1.13+) at the default level: no host line says PCI, the guest does
    (["[    0.401000] virtio-pci 0000:00:01.0: enabling device (0000 -> 0002)",
      "[    0.412000] virtio_blk virtio0: 1/0/0 default/read/poll queues",
      "[    0.413000] virtio_blk virtio0: [vda] 2097152 512-byte logical blocks (1.07 GB/1.00 "
      "GiB)"], "pci"),
    (["[    0.210000] virtio-mmio: Registering device virtio-mmio.0 at 0xd0000000-0xd0000fff, "
      "IRQ 5.",
      "[    0.412000] virtio_blk virtio0: [vda] 2097152 512-byte logical blocks (1.07 GB/1.00 "
      "GiB)"], "mmio"),
], ids=["pci", "mmio"])
def test_firecracker_devices_sit_on_the_transport_the_guest_shows(guest, transport, dialects):
    host = ['2025-09-10T08:02:11.120331201 [anonymous-instance:main] Running Firecracker '
            'v1.13.1',
            '2025-09-10T08:02:11.121400032 [anonymous-instance:fc_api] The API server received '
            'a Put request on "/drives/rootfs" with body "{}".']
    result = _run("\n".join(host + guest) + "\n", dialects)
    devices = result.model.live_devices()
    assert [(d.device_type, d.transport) for d in devices] == [("block", transport)]
    assert not [f for f in result.findings if f.severity in ("error", "warning")]


def test_crosvm_failing_to_activate_a_device_fails_it_and_its_module_names_the_type(dialects):
    text = ("[2024-07-27T18:08:00.444004939+00:00 INFO  crosvm::crosvm::sys::linux] crosvm "
            "entering multiprocess mode\n"
            "[2024-07-27T18:08:00.444020599+00:00 ERROR devices::virtio::virtio_pci_device] "
            "virtio-block activate failed: failed to clone interrupt_evt: Too many open files "
            "(os error 24)\n"
            "[2024-07-27T18:08:01.100000000+00:00 ERROR devices::virtio::gpu] failed to open "
            "display: unsupported by the implementation\n")
    result = _run(text, dialects)
    by_type = {d.device_type: d for d in result.model.live_devices()}
    assert by_type["block"].transport == "pci"
    rules = sorted((f.rule, f.line) for f in result.findings if f.severity == "error")
    assert rules == [("VD006", 3), ("VD015", 2)]
    quiet = _run("[2026-05-17T06:38:07.467433820+00:00 ERROR crosvm] exiting with error 1: "
                 "\"/var/empty\" is not a directory, cannot create jail\n", dialects)
    assert not quiet.findings and not quiet.model.devices


def test_a_vsock_connection_reset_is_a_warning_not_a_failed_device(dialects):
    """Firecracker's vsock/csm/ (one guest<->host stream) and vsock/unix/ (the host-side
    sockets) log a connection the VMM resets; the device goes on serving the others. A
    healthy run with such lines passes (it failed with a device error before)."""
    text = (
        '2021-07-15T23:42:30.000000000 [vm-1:fc_api:INFO:src/api_server/src/parsed_request.rs:50]'
        ' The API server received a Put request on "/vsock" with body "{}".\n'
        '2021-07-15T23:42:32.073125943 [anonymous-instance:main:WARN:src/devices/src/virtio/vsock/'
        'csm/connection.rs:240] vsock: unexpected EWOULDBLOCK while reading from backing stream: '
        'lp=2000, pp=593102777, err=Os { code: 11 }\n'
        '2021-07-15T23:42:33.000000000 [vm-1:fc_vmm] vsock: error writing to local stream '
        '(lp=2001, pp=593102778): Os { code: 32 }\n')
    result = _run(text, dialects)
    (device,) = result.model.devices
    assert device.device_type == "vsock"
    found = [(f.rule, f.severity, f.line) for f in result.findings]
    assert found == [("VD006", "warning", 2), ("VD006", "warning", 3)]
    # the device's own queue errors stay errors
    queue = _run(text + '2021-07-15T23:42:34.000000000 [vm-1:fc_vmm] vsock: RX queue error: '
                        'BufDescMissing\n', dialects)
    assert [f.line for f in queue.findings if f.severity == "error"] == [4]


def test_virtiofsd_failing_is_an_error_of_the_fs_device(dialects):
    """virtiofsd's own log (Rust: env_logger "[TIME LEVEL virtiofsd] ..."; C: fv_panic) is
    the vhost-user back-end of the run's fs device: its ERROR is that device's error, and
    the hint sends the reader to the back-end, not to the driver's rings. QEMU's
    "Unexpected end-of-file before all data were read" (vhost-user.c reading the back-end's
    channel) is a vhost error too. Both were not read before (exit 0)."""
    text = (
        'cloud-hypervisor: 5.0ms: <vmm> INFO:vmm/src/device_manager.rs:2500 -- Creating '
        'virtio-fs device: FsConfig { tag: "myfs", socket: "/run/virtiofsd.sock", num_queues: 1, '
        'queue_size: 512, id: Some("_fs0"), pci_segment: 0 }\n'
        '[2023-08-02T19:33:01Z ERROR virtiofsd] Waiting for daemon failed: '
        'HandleRequest(InvalidParam)\n')
    result = _run(text, dialects)
    (device,) = result.model.devices
    assert (device.id, device.device_type) == ("_fs0", "fs")
    (finding,) = [f for f in result.findings if f.severity == "error"]
    assert (finding.rule, finding.line, finding.device) == ("VD006", 2, "_fs0")
    assert "back-end" in finding.hint and "ring addresses" not in finding.hint
    eof = _run("qemu-system-x86_64: Unexpected end-of-file before all data were read\n",
               dialects)
    assert [f.rule for f in eof.findings if f.severity == "error"] == ["VD006"]


def test_qemu_falling_back_on_userspace_virtio_is_a_warning(dialects):
    """hw/net/virtio-net.c: when vhost_net_start() fails QEMU says "unable to start vhost
    net: %d: falling back on userspace virtio" and runs the NIC's datapath itself (also
    "backend does not support LE vnet headers; falling back ..."): the device works on, a
    warning (it was an error: exit 1 for a working NIC). A vhost failure with no fallback
    stays an error."""
    fallback = _run("qemu-system-x86_64: unable to start vhost net: 22: falling back on "
                    "userspace virtio\n", dialects)
    assert [(f.rule, f.severity) for f in fallback.findings] == [("VD006", "warning")]
    assert "the device works" in fallback.findings[0].hint
    failed = _run("qemu-system-x86_64: Error starting vhost: 22\n", dialects)
    assert [(f.rule, f.severity) for f in failed.findings] == [("VD006", "error")]


_CH_RNG = ('cloud-hypervisor: 83.498923ms: <vmm> INFO:vmm/src/device_manager.rs:2552 -- Creating '
           'virtio-rng device: RngConfig { src: "/dev/urandom", iommu: false }\n')


def test_cloud_hypervisor_device_created_by_type_only_is_a_device(dialects):
    """device_manager.rs prints "Creating virtio-rng device: RngConfig { ... }" with no id
    (the id it gives, "_rng" or "__rng" by release, is not printed): the VM has that
    device (it was dropped before: no rng in the report), and it is the one rng device the
    transport's later lines name."""
    alone = _run(_CH_RNG, dialects)
    assert [(d.id, d.device_type) for d in alone.model.devices] == [("virtio-rng", "rng")]
    activated = _run(
        _CH_RNG + 'cloud-hypervisor: 1.532964s: <vcpu1> INFO:virtio-devices/src/transport/'
        'pci_device.rs:1209 -- _virtio-pci-__rng: Needs activation; writing to activate '
        'event fd\n', dialects)
    (device,) = activated.model.live_devices()
    assert (device.id, device.device_type, device.transport) == ("__rng", "rng", "pci")
    assert device.found_event.line == 1


def test_cloud_hypervisor_vsock_connection_reset_is_a_warning(dialects):
    """cloud-hypervisor's vsock device is Firecracker's (virtio-devices/src/vsock/csm/ and
    unix/): a WARN or ERROR there is about one connection, which the device resets while
    it serves the others, a warning (an error before: exit 1 for a working device); the
    device's queue errors stay errors. vhost_user/blk.rs is the block device's."""
    head = "cloud-hypervisor: 12.3s: <_vsock2> "
    text = (head + "WARN:virtio-devices/src/vsock/csm/connection.rs:245 -- vsock: error reading "
            "from backing stream: lp=1073741824, pp=1025, err=Os { code: 104 }\n"
            + head + "WARN:virtio-devices/src/vsock/unix/muxer.rs:346 -- vsock: connection "
            "limit reached; refusing new host connection\n")
    result = _run(text, dialects)
    assert [(f.rule, f.severity) for f in result.findings] == [("VD006", "warning")] * 2
    queue = _run(text + head + "ERROR:virtio-devices/src/vsock/device.rs:220 -- vsock: RX "
                 "queue error: BufDescMissing\n", dialects)
    assert [f.line for f in queue.findings if f.severity == "error"] == [3]
    blk = _run("cloud-hypervisor: 3.1s: <_disk1_q0> ERROR:virtio-devices/src/vhost_user/"
               "blk.rs:290 -- Failed to signal used queue: Bad file descriptor\n", dialects)
    assert [(d.id, d.device_type) for d in blk.model.devices] == [("_disk1", "block")]
