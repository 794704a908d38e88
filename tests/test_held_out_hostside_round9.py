"""Host-side formats of the ninth judging round (2026-12-04), written from the projects'
sources with made-up values:

* cloud-hypervisor's log head "LEVEL:FILE:LINE -- ", FILE being Rust's file!() of the
  logging crate: relative to the workspace ("virtio-devices/src/thread_helper.rs") only
  when the VMM is built from its own checkout; a build from another directory layout
  (a packaging tree, a vendored copy, a Nix store path) prints that path before it. A
  held-out vsock worker's "{name} thread panicked" under such a path exited 0.
* bhyve usr.sbin/bhyve/pci_emul.c pci_parse_slot() (xhyve, HyperKit and illumos's bhyve
  copied it): "Invalid PCI slot info field \\"%s\\"" and "pci slot %d:%d: unknown device
  \\"%s\\"", after which bhyve exits. A held-out SmartOS zone whose ninth virtio-net-viona
  function was refused exited 0 (VD020).
* ACRN's device model (devicemodel/hw/pci/core.c): init_pci() "pci init %s" and "pci %s init
  failed", deinit_pci() "pci deinit %s", in the service VM's kernel log after "acrn_dm: ".
  A held-out launch listing three virtio emulations gave VD020 and no device.
* QEMU's "block I/O error in device '%s': %s (%d)" (block.c of RHEL 6-7's qemu-kvm) and
  block/qapi.c "Can't list snapshots of device '%s'" (relayed by libvirt from QMP), the
  drive being libvirt's "drive-virtio-disk<N>": a held-out failed migration whose disk
  image gave EIO exited 0 (VD020)."""

import format_tables


def _run(text, dialects):
    return format_tables.analyse_text("host.log", text, dialects)


def test_a_cloud_hypervisor_source_path_under_another_directory_still_names_the_device(
        dialects):
    result = _run("cloud-hypervisor: 12.5s: <_vsock3> ERROR:pkg/ch-src/virtio-devices/src/"
                  "thread_helper.rs:50 -- _vsock3 thread panicked\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and finding.device == "_vsock3"
    assert "[panic]" in finding.message
    assert result.model.unrecognised == 0


def test_an_absolute_source_path_of_the_device_manager_lists_the_device(dialects):
    result = _run("cloud-hypervisor: 0.3s: <vmm> INFO:/build/source/vmm/src/device_manager.rs:"
                  "2604 -- Creating virtio-block device: DiskConfig { path: Some(\"os.raw\"), "
                  "readonly: false, id: Some(\"_disk2\") }\n", dialects)
    assert [d.aliases for d in result.model.devices] == [["name:_disk2"]]
    assert format_tables.errors(result) == []


def test_a_path_prefix_alone_does_not_make_a_line_cloud_hypervisors(dialects):
    """The head ("cloud-hypervisor: TIME:") is what names the VMM; a prefixed path on a
    line without it is not read."""
    result = _run("<_net1_qp0> ERROR:pkg/ch-src/virtio-devices/src/net.rs:10 -- net: boom\n",
                  dialects)
    assert format_tables.errors(result) == []


def test_bhyve_refusing_a_virtio_slot_option_is_a_probe_failure_of_that_type(dialects):
    result = _run("Invalid PCI slot info field \"0:5:9,virtio-net-viona,vnic9\"\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD015" and "net device" in finding.message
    assert "refused the device's options" in finding.message
    unknown = _run("pci slot 7:0: unknown device \"virtio-9p\"\n", dialects)
    (finding,) = format_tables.errors(unknown)
    assert finding.rule == "VD015" and "9p device" in finding.message


def test_bhyve_refusing_the_slot_of_another_emulation_is_no_virtio_failure(dialects):
    for line in ("Invalid PCI slot info field \"3,ahci-hd,/vm/g0.img\"\n",
                 "Invalid PCI slot info field \"40\"\n",
                 "pci slot 2:0: unknown device \"e1000x\"\n"):
        result = _run(line, dialects)
        assert format_tables.errors(result) == [], line
        assert result.model.unrecognised == 0, line


def test_acrn_device_model_lists_the_virtio_devices_it_made(dialects):
    result = _run("[  12.000100] acrn_dm: pci init hostbridge\n"
                  "[  12.000200] acrn_dm: pci init virtio-blk\n"
                  "[  12.000300] acrn_dm: pci init virtio-rnd\n", dialects)
    assert sorted(d.device_type for d in result.model.devices) == ["block", "rng"]
    assert result.findings == []


def test_acrn_device_model_failing_a_virtio_init_is_that_devices_probe_failure(dialects):
    result = _run("pci init virtio-net\npci virtio-net init failed\n", dialects)
    (finding,) = format_tables.errors(result)
    # the device the init line made
    assert finding.rule == "VD015" and finding.device == "virtio-net"
    assert [d.device_type for d in result.model.devices] == ["net"]


def test_acrn_deinit_at_shutdown_is_no_failure(dialects):
    result = _run("acrn_dm: pci deinit virtio-net\nacrn_dm: pci deinit virtio-console\n",
                  dialects)
    assert format_tables.errors(result) == [] and result.model.unrecognised == 0


def test_a_block_io_error_of_libvirts_virtio_drive_is_that_disks_back_end_error(dialects):
    result = _run("2019-03-02T10:11:12.123456Z qemu-kvm: block I/O error in device "
                  "'drive-virtio-disk2': No space left on device (28)\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and finding.device == "virtio-disk2"
    assert "[backend_io]" in finding.message
    assert [d.device_type for d in result.model.devices] == ["block"]
    relayed = _run("error: internal error: unable to execute QEMU command 'query-block': "
                   "Can't list snapshots of device 'drive-virtio-disk0': Input/output error\n",
                   dialects)
    (finding,) = format_tables.errors(relayed)
    assert finding.device == "virtio-disk0" and "[backend_io]" in finding.message


def test_a_block_io_error_of_another_drive_is_no_virtio_devices(dialects):
    result = _run("qemu-kvm: block I/O error in device 'drive-ide0-0-0': Input/output error "
                  "(5)\n", dialects)
    assert format_tables.errors(result) == [] and result.model.devices == []


def test_an_error_that_names_only_a_virtio_drivers_type_says_that_type(dialects):
    """xhyve's and HyperKit's virtio-net model (pci_virtio_net_vmnet.c) prints "virtio_net:
    Could not create vmnet interface, permission denied or no entitlement?": the driver's
    name says the device's type (a net device), though no device is named."""
    result = _run("virtio_net: Could not create vmnet interface, permission denied or no "
                  "entitlement?\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "an unnamed net device" in finding.message


def test_kata_agent_timing_out_on_a_hotplugged_virtio_disk_is_that_functions_error(dialects):
    """The Kata agent's wait_for_uevent() "Timeout after {:?} waiting for uevent {:?}" (its
    matcher's Debug: the type and the PCI path it waits for), relayed by containerd in
    logrus's error= field behind msg="container create failed"."""
    line = ('time="2026-01-05T10:00:00.000000001Z" level=error msg="container create failed" '
            'container=c0ffee error="rpc error: code = Internal desc = Timeout after 3s '
            'waiting for uevent VirtioBlkPciMatcher { rex: Regex(\\"^/devices/pci0000:00/'
            '0000:00:02.0/0000:01:07.0/virtio[0-9]+/block/\\") }\\n\\nStack backtrace:\\n'
            '   0: <unknown>" name=containerd-shim-v2 source=virtcontainers\n')
    result = _run(line, dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "[hotplug_timeout]" in finding.message
    assert finding.device == "pci-0000:01:07.0"
    assert [d.device_type for d in result.model.devices] == ["block"]


def test_kata_agent_waiting_for_a_scsi_lun_or_a_nic_names_their_types(dialects):
    scsi = _run("Timeout after 3s waiting for uevent ScsiBlockMatcher { search: "
                "\"/0:0:0:3/block/\" }\n", dialects)
    (finding,) = format_tables.errors(scsi)
    assert "scsi device" in finding.message
    nic = _run("Timeout after 3s waiting for uevent NetPciMatcher { devpath: "
               "\"/devices/pci0000:00/0000:00:02.0/0000:01:02.0\" }\n", dialects)
    (finding,) = format_tables.errors(nic)
    assert finding.device == "pci-0000:01:02.0"
    assert [d.device_type for d in nic.model.devices] == ["net"]


def test_kata_agent_waiting_for_a_vfio_or_pmem_device_is_no_virtio_devices(dialects):
    result = _run("Timeout after 3s waiting for uevent VfioMatcher { syspath: "
                  "\"/devices/virtual/vfio/12\" }\n", dialects)
    assert format_tables.errors(result) == []


def test_a_logfmt_record_without_an_error_field_reads_as_before(dialects):
    """msg alone stays the text (the error field is added only when there is one)."""
    result = _run('time="2026-01-05T10:00:00Z" level=info msg="qemu-system-x86_64: -device '
                  'virtio-9p-pci,fsdev=x: \'virtio-9p-pci\' is not a valid device model name" '
                  'source=virtcontainers\n', dialects)
    (finding,) = format_tables.errors(result)
    assert "QEMU refused virtio-9p-pci" in finding.message


def test_dpdk_refusing_a_virtio_user_vdev_is_that_ports_probe_failure(dialects):
    """DPDK's EAL (eal_common_devargs.c rte_devargs_parse() "failed to parse device
    \\"%s\\"", eal_common_options.c "Unable to parse device '%s'"): a virtio-user --vdev no
    bus knows (the virtio PMD not built in, not loaded), so the port was never made."""
    result = _run("EAL: Detected CPU lcores: 4\n"
                  "EAL: failed to parse device \"net_virtio_user2\"\n"
                  "EAL: Unable to parse device 'net_virtio_user2,path=/run/vu2.sock'\n",
                  dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD015" and finding.device == "virtio_user2"
    assert [d.device_type for d in result.model.devices] == ["net"]


def test_dpdk_refusing_another_vdev_is_no_virtio_devices(dialects):
    result = _run("EAL: failed to parse device \"net_pcap0\"\n", dialects)
    assert format_tables.errors(result) == [] and result.model.devices == []
