"""Which unrecognised lines are virtio driver or device messages (sources/looking.py):
decided by the line's shape (its subject names a virtio driver or device), from the
published formats; unrecognised-virtio-lines reports only those."""

from __future__ import annotations

import pytest

from conftest import shared_dialects
from each_case import check_each
from virtiodiag.sources.looking import looks_virtio, looks_virtio_message

MESSAGES = [
    "virtio_net virtio0: some message",                      # Linux dev_printk
    "virtio-pci 0000:00:03.0: enabling device (0000 -> 0003)",
    "virtio_mmio a000000.virtio_mmio: odd",
    "virtio-mmio: Registering device virtio-mmio.0",           # pr_fmt
    "virtio_crypto virtio0: will run requests pump with realtime priority",
    "virtqueue callback for 00000000d1c2 (00000000e4a1)",      # virtio_ring pr_debug
    "virtio_set_status vdev 0x1 val 1",                        # QEMU trace events
    "vhost_vdpa_set_status dev 0x1 status 1",
    "virtqueue_fill vq 0x1 elem 0x2 len 0 idx 0",
    "qemu-system-x86_64: virtio: zero sized buffers are not allowed",
    "qemu-system-x86_64: virtio-net header incorrect",
    "vtnet0: <VirtIO Networking Adapter> on virtio_pci0",      # FreeBSD
    "virtio_pci0: <VirtIO PCI Network adapter> port 0xc000-0xc03f irq 11",
    "vioif0 at virtio0: features: 0x10",                       # NetBSD
    "ld0 at virtio1: Features: 0x0",
    "virtio0 at pci0 dev 3 function 0",
    "virtio0: Network device (rev. 0x00)",
    "vio0 at virtio0: address 52:54:00:12:34:56",              # OpenBSD
    "<err> virtio_pci: no common configuration capability",    # Zephyr
    "VirtioNetInitialize: failed",                             # EDK2
    "cloud-hypervisor: 1ms: <vcpu0> INFO:virtio-devices/src/transport/pci_device.rs:1103 -- x",
    "[anonymous-instance:fc_vmm:WARN:src/devices/src/virtio/net/device.rs:457] x",
]

MENTIONS = [
    "virtiodiag-init: kernel 6.1.0-56-amd64, cmdline: console=ttyS0",
    "virtiodiag-init: insmod /lib/modules/6.1/kernel/drivers/virtio/virtio_ring.ko ... ok",
    "=== virtiodiag: virtio drivers bound ===",
    "virtio0: driver=virtio_net",                              # a sysfs dump: key=value
    "virtio1: driver=none",
    "0000:00:03.0: vendor=0x1af4 device=0x1000 irq=11 driver=virtio-pci",
    "febf0000-febf3fff : virtio-pci-modern",                   # /proc/iomem
    "Kernel command line: console=ttyS0 virtio_pci.force_legacy=1",
    "=> virtio scan",                                          # U-Boot prompt
    "Device 0: 1af4 VirtIO Block Device",                      # U-Boot `virtio info`
    "Module virtio_net is blacklisted",
    "alg: self-tests for rsa using virtio-crypto-rsa failed (rc=-22)",
    "[drm] Initialized virtio_gpu 0.1.0 0 for 0000:00:02.0 on minor 0",
    "grep: /sys/bus/virtio/devices/*/vendor: No such file or directory",
    "virtio_net.ko loaded",
    "cloud-hypervisor: 1ms: <vmm> INFO:vmm/src/device_manager.rs:2401 -- Creating virtio-block",
]


# The board QEMU's riscv64 -M virt is (its device tree's model "riscv-virtio,qemu"), as
# OpenSBI, U-Boot and Linux print it: no virtio device, so no sign of an unread format.
BOARD_NAMES = [
    "Platform Name             : riscv-virtio,qemu",           # OpenSBI banner
    "Model: riscv-virtio,qemu",                                # U-Boot
    "[    0.000000] Machine model: riscv-virtio,qemu",         # Linux
    "OF: fdt: Machine model: riscv-virtio,qemu",
]


@pytest.mark.parametrize("line", BOARD_NAMES)
def test_the_riscv_virt_board_name_is_not_a_virtio_line(line):
    assert not looks_virtio(line)
    assert looks_virtio(line + " virtio_mmio 10008000.virtio_mmio")  # a device beside it


# One test each list, each line that fails named (each_case.check_each).
def test_virtio_driver_and_device_messages():
    check_each(((line, (line,)) for line in MESSAGES), _a_virtio_message)


def _a_virtio_message(line):
    assert looks_virtio(line) and looks_virtio_message(line)


def test_lines_that_only_mention_virtio():
    check_each(((line, (line,)) for line in MENTIONS), _only_a_mention)


def _only_a_mention(line):
    assert looks_virtio(line) and not looks_virtio_message(line)


def test_counted_alike_with_and_without_the_trace_memo(tmp_path):
    """QEMU-prefixed lines take a memoised path (analysis.py): same counts as the plain one."""
    from virtiodiag.analysis import RuleSettings
    from virtiodiag.runner import analyse_path

    lines = []
    for n in range(6):
        lines.append(f"4242@1700000000.{n:06d}:vhost_made_up_event dev 0x1 n 1")
        lines.append(f"4242@1700000001.{n:06d}:virtiodiag: echo {n}")  # a mention only
    log = tmp_path / "trace.log"
    log.write_text("\n".join(lines) + "\n")
    result = analyse_path(str(log), shared_dialects(), RuleSettings())
    model = result.model
    assert (model.unrecognised, model.unrecognised_messages) == (12, 6)
    assert model.first_unrecognised_message == (1, "vhost_made_up_event dev 0x1 n 1")
    [finding] = [f for f in result.findings if f.rule == "VD016"]
    assert finding.message.startswith("6 line(s) look like virtio driver or device messages")


# kernel/module/main.c print_modules(): "Modules linked in:" then " %s%s" per module
# (taint flags after a name), " [last unloaded: %s]"; a console, a mail or a paste wraps it
# into lines of module names only (a paste may end each with "\").
MODULE_LISTS = [
    "Modules linked in: virtio_net net_failover failover virtio_blk virtio_pci",
    "failover virtio_crypto crypto_engine virtio_mmio virtio_pci",
    "virtio_ring virtio",
    "libcrc32c crct10dif_ce ghash_ce sha2_ce sha1_ce virtio_net \\",
    "sr_mod virtio_net(OE) failover [last unloaded: hwpoison_inject]",
]


@pytest.mark.parametrize("line", MODULE_LISTS)
def test_a_crash_reports_module_list_is_not_about_a_device(line):
    assert not looks_virtio(line)


@pytest.mark.parametrize("line", ["vio0 at virtio0", "vioblk0 at virtio1",
                                  "virtio_set_status vdev 0x1 val 1",
                                  "virtio virtio0 virtio1",
                                  "virtio something else nobody prints"])
def test_a_line_naming_a_device_is_no_module_list(line):
    """Nor is a sentence of plain words: a wrapped module list has names joined by '_'."""
    assert looks_virtio(line)


def test_a_sentence_starting_with_virtio_reaches_the_analysis(tmp_path):
    """A driver of a system virtiodiag has no grammar for may begin its sentences with
    "Virtio" (Hermit's "Virtio networkd driver ...", hobby kernels' "Virtio probing ...").
    The scanner's prefilter searched "virtio" and "VirtIO" only, so such a log gave an empty
    report with no devices-missing warning, as if it had no virtio line: a pass."""
    from virtiodiag.analysis import RuleSettings
    from virtiodiag.runner import analyse_path

    log = tmp_path / "rtos.log"
    log.write_text("Virtio probing 0x10001000...not connected.\n"
                   "Virtio probing 0x10008000...block device...setup failed.\n"
                   "boot: init started\n")
    result = analyse_path(str(log), shared_dialects(), RuleSettings())
    assert result.model.unrecognised == 2
    [finding] = [f for f in result.findings if f.rule == "VD020"]
    assert finding.line == 1


def _uncached(monkeypatch):
    """Both tests as they are without their memo (functools.lru_cache's ``__wrapped__``)."""
    from virtiodiag.sources import looking

    monkeypatch.setattr(looking, "looks_virtio", looks_virtio.__wrapped__)
    monkeypatch.setattr(looking, "looks_virtio_message", looks_virtio_message.__wrapped__)


def test_the_remembered_answers_are_the_tests_own():
    """Asked again (remembered), each text gets its own answer: texts that share all but
    their end (a module list and a device line, a mention and a message) asked in turn."""
    texts = MESSAGES + MENTIONS + BOARD_NAMES + MODULE_LISTS
    texts += [text + " virtio_mmio 10008000.virtio_mmio" for text in texts]
    looks_virtio.cache_clear()
    looks_virtio_message.cache_clear()
    for _ in range(2):
        for text in texts + texts[::-1]:
            assert looks_virtio(text) is looks_virtio.__wrapped__(text), text
            assert looks_virtio_message(text) is looks_virtio_message.__wrapped__(text), text
    assert looks_virtio.cache_info().hits and looks_virtio_message.cache_info().hits


def test_a_line_decoded_every_time_is_counted_as_without_the_memo(tmp_path, monkeypatch):
    """A line the line memo cannot keep (an init script's line cut by a kernel line: its
    second record's time differs each time) is decoded, and its texts asked, every time:
    the same report with the answers remembered as without."""
    from virtiodiag.analysis import RuleSettings
    from virtiodiag.reports import get_reporter
    from virtiodiag.options import ReportOptions
    from virtiodiag.runner import analyse_path

    lines = []
    for n in range(6):
        # this project's guest init (samples/), its line cut by the kernel's
        lines.append("virtiodiag-init: insmod /lib/modules/6.1/kernel/drivers/net/"
                     f"virtio_net.ko ... [    2.{n:06d}] tsc: Refined TSC clocksource")
        # a line that starts as a sysfs dump's (a mention) or as a message, in turn
        lines.append("virtio0: driver=virtio_net queue=1" + (" is odd" if n % 2 else "")
                     + f" [    3.{n:06d}] tsc: Refined TSC clocksource")
    log = tmp_path / "cut.log"
    log.write_text("\n".join(lines) + "\n")

    def report() -> str:
        import io

        result = analyse_path(str(log), shared_dialects(), RuleSettings())
        out = io.StringIO()
        get_reporter("json").render([result], out, ReportOptions())
        return out.getvalue()

    looks_virtio.cache_clear()
    remembered = report()
    assert looks_virtio.cache_info().hits, "no text was asked twice"
    _uncached(monkeypatch)
    assert report() == remembered
    assert '"unrecognised_virtio_lines":12,"unrecognised_virtio_messages":6' in remembered
