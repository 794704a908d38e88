"""QEMU's messages as they reach a reader through other tools, written from the format
strings: util/qemu-error.c's "<argv[0]>: <option>: <message>", the JSON form of -device
that libvirt 7.0+ gives QEMU 6.0+, libvirt's "qemu unexpectedly closed the monitor" error
as virsh and virt-install print it (program, option and message each on its own line), a
line broken with a trailing backslash, net/tap.c's "vhost-net requested but could not be
initialized", migration/savevm.c's "error while loading state for instance 0x%x of
device '%s'" and vmstate.c's "Failed to load %s:%s", and libvirt's "unable to execute
QEMU command '%s': %s" around a QMP device_add error.
"""

import pytest

from virtiodiag.analysis import Analysis, analyse_blocks
from virtiodiag.dialects.decoder import Caches
from virtiodiag.model.failures import refusal_groups


def _run(text, dialects):
    return analyse_blocks("wrapped.log", [text.encode()], dialects)


# libvirt's error, as a test harness printed it: the program, the option and QEMU's text
# each on a line of their own, indented.
LIBVIRT_WRAPPED = (
    "error: Failed to start domain 'vm7'\n"
    "error: internal error: QEMU unexpectedly closed the monitor (vm='vm7'):\n"
    "  2024-03-05T08:09:10.111213Z qemu-system-x86_64:\n"
    "  -device {\"driver\":\"virtio-scsi-pci\",\"id\":\"scsi0\",\"bus\":\"pci.0\",\"addr\":\"0x4\"}:\n"
    "  PCI: slot 4 function 0 not available for virtio-scsi-pci, in use by "
    "virtio-blk-pci,id=(null)\n"
    "error: exit\n")

# The reader broke the long line by hand; the middle line names nothing a trigger finds.
BACKSLASH_WRAPPED = (
    "qemu-system-aarch64: -device virtio-blk-device,drive=hd0, \\\n"
    "    serial=d0,num-queues=4,queue-size=2048: Property \\\n"
    "    'virtio-blk-device.queue-size' value out of range\n")


@pytest.mark.parametrize("text, facts, line", [
    (LIBVIRT_WRAPPED, ("virtio-scsi-pci", "scsi", "pci", "scsi0"), 3),
    (BACKSLASH_WRAPPED, ("virtio-blk-device", "block", "mmio", None), 1),
], ids=["libvirt-json-device", "backslash"])
def test_a_qemu_refusal_broken_over_lines_is_one_refusal_of_the_named_device(
        text, facts, line, dialects):
    result = _run(text, dialects)
    (group,) = refusal_groups(list(result.model.config_refusals))
    refused, events = group
    assert len(events) == 1
    assert (refused.model, refused.device_type, refused.transport, refused.device_id) == facts
    assert refused.reason and refused.reason.endswith(
        ("in use by virtio-blk-pci,id=(null)", "value out of range"))
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert (finding.severity, finding.line) == ("error", line)
    assert not [f for f in result.findings if f.rule in ("VD016", "VD020")]


def test_the_same_lines_fed_one_at_a_time_give_the_same_report(dialects):
    """A pipe: the head arrives before the lines that complete it."""
    whole = _run(LIBVIRT_WRAPPED, dialects)
    analysis = Analysis("wrapped.log", dialects)
    analysis.feed_all(line.encode() + b"\n" for line in LIBVIRT_WRAPPED.splitlines())
    piped = analysis.finish()
    assert [(f.rule, f.line, f.message) for f in piped.findings] == [
        (f.rule, f.line, f.message) for f in whole.findings]


def test_no_cache_changes_a_joined_message(dialects):
    text = LIBVIRT_WRAPPED + LIBVIRT_WRAPPED  # the second time, every memo is warm
    cached = _run(text, dialects)
    analysis = Analysis("wrapped.log", dialects, caches=Caches(False, False, False, False))
    analysis.feed_all([text.encode()])
    plain = analysis.finish()
    assert [(f.rule, f.line, f.message) for f in cached.findings] == [
        (f.rule, f.line, f.message) for f in plain.findings]
    assert len(refusal_groups(list(cached.model.config_refusals))) == 1


def test_a_head_nothing_completes_is_read_as_far_as_it_goes(dialects):
    """The head alone at the end of the input, and a head followed by a QEMU line of its
    own: each line is still read, none is lost into another."""
    alone = _run("qemu-system-x86_64: -device virtio-net-pci,netdev=n0:\n", dialects)
    assert alone.model.records == 1
    text = ("qemu-system-x86_64:\n"
            "qemu-system-x86_64: -device virtio-rng-pci,id=rng0: Bus 'pci.5' not found\n")
    result = _run(text, dialects)
    ((refused, events),) = refusal_groups(list(result.model.config_refusals))
    assert (refused.model, refused.reason) == ("virtio-rng-pci", "Bus 'pci.5' not found")
    assert [e.line for e in events] == [2]


def test_vhost_net_that_could_not_start_fails_the_net_device(dialects):
    result = _run("2016-10-05T08:19:47.042107Z qemu-kvm: -netdev tap,id=net0,vhost=on,fd=3: "
                  "vhost-net requested but could not be initialized\n"
                  "2016-10-05T08:19:47.043419Z qemu-kvm: -netdev tap,id=net0,vhost=on,fd=3: "
                  "Device 'tap' could not be initialized\n", dialects)
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert finding.severity == "error" and finding.line == 1
    assert "net device" in finding.message and "[vhost]" in finding.message


def test_a_migrated_virtio_device_that_does_not_load_fails_at_its_address(dialects):
    result = _run("qemu-system-x86_64: get_pci_config_device: Bad config data: i=0x10 read: "
                  "21 device: 1 cmask: ff wmask: c0 w1cmask:0\n"
                  "qemu-system-x86_64: Failed to load PCIDevice:config\n"
                  "qemu-system-x86_64: error while loading state for instance 0x0 of device "
                  "'0000:00:06.0/virtio-rng'\n"
                  "qemu-system-x86_64: load of migration failed: Invalid argument\n", dialects)
    (device,) = result.model.devices
    assert (device.transport, device.address, device.device_type) == ("pci", "0000:00:06.0",
                                                                       "rng")
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert finding.line == 3 and "[migration]" in finding.message


def test_a_section_of_no_virtio_device_is_read_and_left_alone(dialects):
    result = _run("qemu-kvm: Failed to load e1000e:parent_obj\n"
                  "qemu-kvm: error while loading state for instance 0x0 of device "
                  "'0000:00:02.0/e1000e'\n", dialects)
    assert not result.model.devices and not result.findings
    assert result.model.records == 2


def test_a_hot_plug_qemu_refused_is_a_refusal_the_guest_runs_on_without(dialects):
    result = _run("error: Failed to attach device from net.xml\n"
                  "error: internal error: unable to execute QEMU command 'device_add': "
                  "Property 'virtio-blk-pci.packed' not found\n", dialects)
    ((refused, _events),) = refusal_groups(list(result.model.config_refusals))
    assert (refused.model, refused.device_type, refused.transport, refused.hotplug) == (
        "virtio-blk-pci", "block", "pci", True)
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert "refused to hot-plug" in finding.message
    assert "guest runs on without it" in finding.message
    other = _run("error: internal error: unable to execute QEMU command 'device_add': Bus "
                 "'pci.9' not found\n", dialects)
    assert not other.model.config_refusals and not other.findings
