"""A log pasted through grep, with its command line: what the filter may have left out.

The command line is the shell's ("$ dmesg | grep mem", "# dmesg | egrep 'a|b'"); the
device lines are FreeBSD's attach lines (virtio_pci.c "VirtIO PCI %s adapter") with values
of our own. The class comes from a posted FreeBSD 10.2 "dmesg -a | grep mem" whose three
virtio functions virtiodiag called never driven: grep had kept only the lines with "mem".
"""

import pytest

from virtiodiag.analysis import analyse_blocks


ATTACH = ("virtio_pci0: <VirtIO PCI Network adapter> port 0xc040-0xc05f "
          "mem 0xfebd1000-0xfebd1fff irq 11 at device 3.0 on pci0\n"
          "virtio_pci1: <VirtIO PCI Block adapter> port 0xc000-0xc03f "
          "mem 0xfebd2000-0xfebd2fff irq 10 at device 4.0 on pci0\n"
          # the last line: a device the log ends on is "cut off", whatever the filter
          "virtio_pci2: <VirtIO PCI Balloon adapter> port 0xc060-0xc07f "
          "mem 0xfebd3000-0xfebd3fff irq 11 at device 5.0 on pci0\n")


def _not_driven(text, dialects):
    result = analyse_blocks("pasted.log", [text.encode()], dialects)
    return sorted((f.device, f.severity) for f in result.findings
                  if f.rule == "VD004" and f.device != "virtio_pci2")


@pytest.mark.parametrize("command, severity", [
    # grep kept the lines with "mem": the children's "vtnet0: ... on virtio_pci0" need not.
    ("$ dmesg -a | grep mem\n", "info"),
    ("root@vm:~ # dmesg | grep -i 'irq 1'\n", "info"),
    # Every child's attach line names its transport ("on virtio_pci0"): grep would have
    # kept it, so its absence still says no driver took the device.
    ("$ dmesg | grep virtio\n", "warning"),
    ("% dmesg | egrep 'vtnet|virtio_pci'\n", "warning"),
    # A pattern we cannot read as words: the log may show all it needs.
    ("$ dmesg | grep '[0-9]'\n", "warning"),
    ("", "warning"),
])
def test_a_filter_the_drivers_lines_need_not_pass_makes_not_driven_unknowable(
        command, severity, dialects):
    assert _not_driven(command + ATTACH, dialects) == [("virtio_pci0", severity),
                                                       ("virtio_pci1", severity)]


def test_only_the_filter_before_the_device_counts(dialects):
    # The same output later pasted whole: the second command filters nothing after it.
    text = ATTACH + "$ dmesg | grep mem\n"
    assert _not_driven(text, dialects) == [("virtio_pci0", "warning"),
                                           ("virtio_pci1", "warning")]
