"""Formats from the twelfth non-Linux-guest and firmware judge (2026-12-04), written from
their sources with values of our own (the posted logs that showed the gaps stay out of the
repository):

* illumos's libc assert() (usr/src/lib/libc/port/gen/assert.c): _assert() prints
  "Assertion failed: %s, file %s, line %d" and _assert_c99() ", function %s" after it,
  the expression in no parentheses. bhyve on illumos (SmartOS, OmniOS) aborts through it
  when a device model's assert fails; only FreeBSD's and macOS's "Assertion failed: (%s),
  function %s, file %s, line %d." was read, so the abort of a virtio device model exited 0.
"""

import format_tables


def _run(text, dialects):
    result = format_tables.analyse_text("console.log", text, dialects)
    return result, [(f.rule, f.severity) for f in result.findings]


# bhyve's zone log on illumos: the block model's assert on a request of too many segments.
ILLUMOS_BHYVE_ABORT = (
    "fbuf frame buffer base: 0xfffffd7fe6a00000 [sz 16777216]\n"
    "Assertion failed: n >= 2 && n <= BLOCKIF_IOV_MAX + 2, file pci_virtio_block.c, "
    "line 251\n")


def test_an_illumos_assert_in_a_bhyve_device_model_fails_that_device(dialects):
    result, findings = _run(ILLUMOS_BHYVE_ABORT, dialects)
    assert ("VD006", "error") in findings
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert "block device" in finding.message and finding.line == 2


def test_a_c99_build_names_the_function_after_the_line(dialects):
    result, _ = _run(
        "Assertion failed: len > 0, file ../../common/pci_virtio_net.c, line 318, "
        "function pci_vtnet_tap_rx\n", dialects)
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert "net device" in finding.message


def test_an_illumos_assert_in_another_file_is_no_device_failure(dialects):
    for line in ("Assertion failed: error == 0, file pci_emul.c, line 1402",
                 "Assertion failed: vcpu < VM_MAXCPU, file ../common/bhyverun.c, line 612, "
                 "function vcpu_thread"):
        _, findings = _run(line + "\n", dialects)
        assert not [f for f in findings if f[0] == "VD006"], line
