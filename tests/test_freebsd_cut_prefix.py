"""FreeBSD's virtio_blk refusals read when the excerpt lost their "vtbdN: " prefix.

sys/dev/virtio/block/virtio_blk.c vtblk_attach() prints, with device_printf(),
"host requires unsupported maximum segment size feature" and "fewer than minimum number
of segments allowed: %d" before it gives up, and kern/subr_bus.c device_attach() then
"device_attach: %s%d attach returned %d". Only vtblk prints those two refusals, so a
pasted excerpt that kept the message and lost the "vtbd1: " (the class of a posted
FreeBSD 14 guest under an SPDK vhost-user-blk target, held out of the repository) is
still that driver's refusal. Lines of our own, from the format strings.
"""

from virtiodiag.analysis import analyse_blocks


def _run(text, dialects):
    result = analyse_blocks("freebsd.log", [text.encode()], dialects)
    return result, [(f.rule, f.severity, f.line) for f in result.findings]


def test_a_refusal_without_its_unit_is_still_a_failed_attach(dialects):
    result, findings = _run("host requires unsupported maximum segment size feature\n",
                            dialects)
    assert findings == [("VD015", "error", 1)]
    assert "maximum segment size" in result.findings[0].message


def test_the_refusal_is_the_cause_of_the_unit_the_next_line_names(dialects):
    text = ("vtbd1: <VirtIO Block Adapter> on virtio_pci4\n"
            "fewer than minimum number of segments allowed: 1\n"
            "device_attach: vtbd1 attach returned 22\n")
    result, findings = _run(text, dialects)
    assert findings == [("VD015", "error", 2)]
    assert result.findings[0].device == "vtbd1"
    assert not result.model.unattributed_errors


def test_other_cannot_lines_without_a_unit_are_not_read_as_virtio(dialects):
    # "cannot allocate sglist" is printed by many drivers: without its unit it names none.
    result, findings = _run("cannot allocate sglist\n", dialects)
    assert findings == []
    assert result.model.events == 0
