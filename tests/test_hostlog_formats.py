"""Host-side formats added from the held-out host and hypervisor logs of 2026-12-03
(judge-jhv), written from the projects' sources: QEMU's vhost-net without vhost support
(vhost_net_init()'s "vhost-net support is not compiled in") and its refusal relayed by a Go
caller with ": unknown" after it; vhost.c's memory-table errors
(vhost_region_add_section()); a vhost device model's own "vhost-<type>: " errors, also
located in a -readconfig file ("<prog>:<file>:<line>: "). tests/fixtures/formats/
hostlogs.tsv has one line per format; the tests below check the findings they give."""

import format_tables
import pytest



def _run(text, dialects):
    return format_tables.analyse_text("host.log", text, dialects)


_errors = format_tables.errors


_TABLE = format_tables.rows("hostlogs.tsv")


@pytest.mark.parametrize("rows", format_tables.by_dialect(_TABLE))
def test_each_published_format_becomes_its_typed_event(rows, dialects):
    format_tables.assert_each_read_as(dialects, rows)


def test_vhost_net_without_vhost_support_fails_the_net_device(dialects):
    """A QEMU built without vhost-net asked for vhost=on prints vhost_net_init()'s stub
    message, then net/tap.c's refusal, which containerd relays with ": unknown" after it.
    Neither line was read: exit 0 with only 'a format virtiodiag does not read'."""
    result = _run("qemu-system-arm: -netdev tap,id=n0,vhost=on,vhostfds=3,fds=4: vhost-net "
                  "support is not compiled in\n"
                  "qemu-system-arm: -netdev tap,id=n0,vhost=on,vhostfds=3,fds=4: vhost-net "
                  "requested but could not be initialized: unknown.\n", dialects)
    errors = _errors(result)
    assert [f.line for f in errors] == [1, 2]
    assert all(f.rule == "VD006" and "net device" in f.message for f in errors)
    assert "back-end" in errors[0].hint


def test_a_memory_section_left_out_of_the_vhost_table_is_a_back_end_error(dialects):
    """vhost.c drops a guest memory section it cannot align with the previous one (the
    back-end cannot reach buffers there): the repeated line was read as nothing."""
    result = _run("qemu-system-x86_64: vhost_region_add_section:Section rounded to 0 prior "
                  "to previous c0000\n" * 2, dialects)
    (finding,) = _errors(result)
    assert finding.rule == "VD006" and "(2 times)" in finding.message


def test_a_vhost_device_models_own_error_names_its_type_in_a_config_file(dialects):
    """With -readconfig QEMU locates the error in the file ("<prog>:<file>:<line>: "); the
    message's "vhost-vsock: " names the device's type. Before, the path and line were read
    as the message and the finding named 'a device the line does not name'."""
    result = _run("qemu-system-x86_64:/srv/vm/qemu.conf:128: vhost-vsock: unable to set "
                  "guest cid: Address already in use\n", dialects)
    (finding,) = _errors(result)
    assert "vsock device" in finding.message


def test_the_barrier_lines_of_an_activation_show_the_guest_set_driver_ok(dialects):
    """cloud-hypervisor's VMM thread prints "{id}: Waiting for barrier" and "{id}: Barrier
    released" only while it activates a device the guest set DRIVER_OK on; "Device does not
    need activation" is its pass over every other device. An excerpt with the VMM's lines
    and not the vCPU's "Needs activation" left the console 'not shown'."""
    result = _run(
        "cloud-hypervisor: 402.35ms: <vmm> INFO:virtio-devices/src/transport/pci_device.rs:698"
        " -- _virtio-pci-_disk0: Device does not need activation\n"
        "cloud-hypervisor: 402.49ms: <vmm> INFO:virtio-devices/src/transport/pci_device.rs:694"
        " -- _virtio-pci-__console: Waiting for barrier\n"
        "cloud-hypervisor: 402.50ms: <vmm> INFO:virtio-devices/src/transport/pci_device.rs:696"
        " -- _virtio-pci-__console: Barrier released\n", dialects)
    reached = {d.id: d.reached_driver_ok for d in result.model.devices}
    assert reached == {"_disk0": False, "__console": True}
    assert not _errors(result)


def test_a_reset_of_an_active_device_alone_is_a_warning(dialects):
    """mmio.rs reset() (Firecracker, libkrun) warns when the driver resets a device still
    active: a guest shutting down does it. It was an error, so a healthy libkrun run (four
    such lines at shutdown) gated with exit 1; the refused handshake after a reset Firecracker
    could not do is still an error."""
    result = _run("[2025-02-09T21:20:06Z WARN  devices::virtio::mmio] reset device while "
                  "it's still in active state\n" * 4, dialects)
    assert not _errors(result)
    (finding,) = result.findings
    assert finding.rule == "VD006" and finding.severity == "warning"
    result = _run("[vm:fc_vcpu 0] reset device while it's still in active state\n"
                  "[vm:fc_vcpu 0] ack virtio features in invalid state 0x8f\n", dialects)
    assert [f.line for f in _errors(result)] == [2]


def test_libkrun_console_without_a_terminal_is_no_device_error(dialects):
    """libkrun's console port asks its host side for the terminal size and, when that is
    a file or a pipe, logs an ERROR and goes on with 0x0: a guest that works (the krunkit
    report) gated with exit 1."""
    result = _run("[2025-07-23T20:05:32Z ERROR devices::virtio::console::device] Couldn't get "
                  "terminal dimensions: ENODEV: No such device\n" * 2, dialects)
    assert result.findings == []
    assert result.model.unrecognised == 0


def test_a_legacy_driver_refused_by_libvhost_user_is_the_fs_devices_error(dialects):
    """The C virtiofsd's fv_panic() relays libvhost-user's refusal of features without
    VIRTIO_F_VERSION_1: the guest's driver went legacy. It was 'a device the line does not
    name' with the generic back-end hint."""
    result = _run("fv_panic: libvhost-user: virtio legacy devices aren't supported by "
                  "libvhost-user\n", dialects)
    (finding,) = _errors(result)
    assert "fs device" in finding.message
    assert "VIRTIO_F_VERSION_1" in finding.hint and "disable-legacy=on" in finding.hint


def test_a_global_property_qemu_cannot_apply_to_a_virtio_model_is_a_refusal(dialects):
    """object_apply_global_props() prepends "can't apply global %s.%s=%s: " to the error
    and QEMU exits (a -global an older QEMU lacks, "virtio-mmio.force-legacy"): the line was
    a note and the run exit 0. The warning form (QEMU goes on) stays a note."""
    result = _run("qemu-system-riscv64: can't apply global virtio-mmio.force-legacy=false: "
                  "Property '.force-legacy' not found\n", dialects)
    (finding,) = _errors(result)
    assert "virtio-mmio" in finding.message and "never created" in finding.message
    result = _run("qemu-system-x86_64: warning: can't apply global virtio-net-pci.x-y=on: "
                  "Property '.x-y' not found\n", dialects)
    assert not _errors(result)


def test_crosvm_per_os_module_path_names_the_device_and_the_tap(dialects):
    """crosvm's devices::virtio::sys::unix::net (older trees): its error was 'a device the
    line does not name' with the rings hint; now the net device's tap."""
    result = _run("[2023-05-20T16:53:31.538355063+04:00 ERROR devices::virtio::sys::unix::net] "
                  "net: tx: failed to write frame to tap: Input/output error (os error 5)\n",
                  dialects)
    (finding,) = _errors(result)
    assert "net device" in finding.message and "tap" in finding.hint


def test_cloud_hypervisor_lines_before_the_thread_name_are_read(dialects):
    """cloud-hypervisor's early logger wrote no <thread>: every such line was unread (VD020
    'a format virtiodiag does not read' on a Kata guest console)."""
    result = _run("cloud-hypervisor: 1.2ms: INFO:virtio-devices/src/transport/pci_device.rs:1023"
                  " -- _virtio-pci-_rng: Needs activation; writing to activate event fd\n"
                  "cloud-hypervisor: 81.5ms: DEBUG:virtio-devices/src/device.rs:334 -- "
                  "Resuming virtio-vsock\n", dialects)
    assert result.model.unrecognised == 0
    (device,) = result.model.devices
    assert (device.id, device.reached_driver_ok) == ("_rng", True)
    assert not result.findings


def test_a_config_byte_access_is_a_register_access(dialects):
    """pci_common_config.rs's byte-wide accessors say "invalid virtio config byte read|write":
    read like the word and dword ones (a read answered with 0 is a warning, a dropped write an
    error), where both were the generic WARN line's untyped error."""
    result = _run("cloud-hypervisor: 2.1ms: <vcpu1> WARN:virtio-devices/src/transport/"
                  "pci_common_config.rs:151 -- pci: invalid virtio config byte write: 0x15\n"
                  "cloud-hypervisor: 2.2ms: <vcpu1> WARN:virtio-devices/src/transport/"
                  "pci_common_config.rs:140 -- invalid virtio config byte read: 0x15\n",
                  dialects)
    assert [(f.line, f.severity) for f in result.findings] == [(1, "error"), (2, "warning")]
    assert ["[register]" in result.findings[0].message,
            "[register_read]" in result.findings[1].message] == [True, True]
