"""A unikernel's or teaching kernel's own abort in its virtio driver is a crash or a failed
probe of that driver, though it prints no call trace.

Written from the formats in the systems' sources, with values of our own (the classes come
from posted Solo5 and xv6 logs that virtiodiag passed with exit 0, held out of the
repository):
- Solo5's 2015-2016 kernel/kernel.h PANIC(): printf("PANIC: %s:%d\\n", __FILE__, __LINE__)
  then the message (assert(): "assertion failed: \\"%s\\""); bindings/abort.c (and
  kernel/abort.c from 2017) _assert_fail() / _abort(): "Solo5: ABORT: %s:%s: Assertion
  `%s' failed" and "Solo5: ABORT: %s:%s: %s"; kernel/abort.c's first version (late 2016)
  wrote the same without the "Solo5: " prefix through low_level_puts(), then "Halted".
- xv6-riscv kernel/printf.c panic() "panic: %s" with kernel/virtio_disk.c
  virtio_disk_init()'s reasons ("could not find virtio disk", "virtio disk FEATURES_OK
  unset", "virtio disk max queue too short" ...).
"""


from virtiodiag.analysis import analyse_blocks


def _run(text, dialects):
    result = analyse_blocks("abort.log", [text.encode()], dialects)
    return result, [(f.rule, f.severity, f.line) for f in result.findings]


SOLO5_OLD = """\
virtio_config: device_id=1, interrupt_line=b
Found virtio network device with MAC: 52 54 00 0a 0b 0c
net queue size is 256/256
Hello, World
PANIC: virtio/virtio.c:612
assertion failed: "len <= *n"
"""


def test_solo5_panic_in_its_virtio_driver_is_a_crash(dialects):
    result, findings = _run(SOLO5_OLD, dialects)
    assert findings == [("VD021", "error", 5)]
    assert "virtio/virtio.c:612" in result.findings[0].message


def test_the_panic_line_alone_is_a_crash(dialects):
    # A log cut to the panic (as posted): no device, still the driver's crash.
    _, findings = _run("PANIC: virtio/virtio.c:612\n", dialects)
    assert findings == [("VD021", "error", 1)]


SOLO5_ABORT = """\
Solo5: PCI:00:03: virtio-net device, base=0xc000, irq=11
Solo5: PCI:00:03: configured, mac=52:54:00:0a:0b:0c, features=0x10f10020
Solo5: ABORT: virtio/virtio_net.c:201: Assertion `len <= PKT_BUFFER_LEN' failed
"""


def test_solo5_abort_names_the_driver_by_its_source_file(dialects):
    result, findings = _run(SOLO5_ABORT, dialects)
    assert findings == [("VD021", "error", 3)]
    assert "virtio net driver" in result.findings[0].message


def test_an_abort_outside_the_virtio_driver_is_not_its(dialects):
    text = SOLO5_ABORT.replace("virtio/virtio_net.c:201", "cpu_x86_64.c:180")
    _, findings = _run(text, dialects)
    assert findings == []


def test_solo5_2016_abort_without_the_prefix_is_the_drivers_crash(dialects):
    # Before the log prefix: the net driver's assertion that a device was configured,
    # on a host that offered none, with no device line before it.
    text = ("multiboot: Using memory: 0x100000 - 0x8000000\n"
            "ABORT: virtio/virtio_net.c:310: Assertion `net_configured' failed\n"
            "Halted\n")
    result, findings = _run(text, dialects)
    assert findings == [("VD021", "error", 2)]
    assert "virtio net driver" in result.findings[0].message
    assert "net_configured" in result.findings[0].message


def test_a_bare_abort_of_another_program_is_not_read(dialects):
    # kvm-unit-tests' report_abort() and other harnesses write "ABORT: " too.
    text = "ABORT: pci-test: unexpected BAR size 0x1000\nABORT: lib/alloc.c:42: out of memory\n"
    _, findings = _run(text, dialects)
    assert [f for f in findings if f[0] == "VD021"] == []


def test_xv6_finds_no_virtio_disk(dialects):
    result, findings = _run("panic: could not find virtio disk\nbacktrace:\n0x0000000080200aa0\n",
                            dialects)
    assert findings == [("VD015", "error", 1)]
    assert result.model.devices == [] or all(
        d.device_type == "block" for d in result.model.devices)


def test_xv6_queue_too_short_is_its_disks_failed_probe(dialects):
    _, findings = _run("panic: virtio disk max queue too short\n", dialects)
    assert findings == [("VD015", "error", 1)]


def test_xv6_features_not_kept(dialects):
    result, findings = _run("panic: virtio disk FEATURES_OK unset\n", dialects)
    assert findings == [("VD015", "error", 1)]
    assert "did not keep FEATURES_OK" in result.findings[0].message
