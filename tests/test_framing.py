"""Prefixes, escapes and QEMU records that start in the middle of a console line."""

import pytest

from virtiodiag.sources.framing import clean, split_records, strip_prefixes


def test_kernel_prefix_keeps_boot_time():
    text, time, clock = strip_prefixes("[    1.234567] virtio_net virtio0: x")
    assert text == "virtio_net virtio0: x" and time == 1.234567 and clock == "boot"


def test_qemu_tid_prefix_and_iso_prefix():
    assert strip_prefixes("41234@1700000000.123456:virtio_set_status vdev 0x1 val 15")[1:] == (
        1700000000.123456, "host")
    text, _time, clock = strip_prefixes("2026-02-13T10:15:30.123456Z virtio_set_status vdev 0x1 val 1")
    assert text.startswith("virtio_set_status") and clock == "wall"


def test_ci_prefix_then_kernel_prefix():
    text, time, clock = strip_prefixes(
        "2026-11-24T01:35:12.1234567Z [    1.5] virtio_net: probe of virtio0 failed with error -19")
    assert text.startswith("virtio_net:") and time == 1.5 and clock == "boot"


def test_trace_record_inside_firmware_banner():
    raw = b"SeaBIOS (version 1.16.2)\x1b[2J\x1b[0;1mBooting from ROM..12@1.5:virtio_set_status vdev 0x55 val 0\r"
    records = split_records(clean(raw))
    assert [r.fragment for r in records] == [True, False]
    assert records[1].text == "virtio_set_status vdev 0x55 val 0" and records[1].clock == "host"


def test_trace_format_repeating_its_name_is_not_split():
    records = split_records("virtio_mmio_read virtio_mmio_read offset 0x70")
    assert len(records) == 1


def test_linux_driver_names_are_not_split():
    for line in ("virtio_net virtio0: probe with driver virtio_net failed with error -22",
                 "virtio-pci 0000:00:04.0: virtio_pci: leaving for legacy driver"):
        assert len(split_records(line)) == 1


def test_kernel_message_inside_an_unfinished_console_line():
    # Real (samples/net-mq-no-ctrl-vq/console.log): /init printed "insmod X... " and the
    # driver's probe message came before its "ok".
    line = ("virtiodiag-init: insmod /lib/modules/6.1.0-57-amd64/kernel/drivers/net/virtio_net.ko"
            " ... [    7.432350] virtio_net virtio0: device advertises feature"
            " VIRTIO_NET_F_MQ but not VIRTIO_NET_F_CTRL_VQ")
    records = split_records(line)
    assert [r.fragment for r in records] == [True, False]
    assert records[0].text.endswith("virtio_net.ko ...")
    assert records[1].text.startswith("virtio_net virtio0: device advertises")
    assert (records[1].time, records[1].clock) == (7.43235, "boot")


def test_brackets_that_are_no_kernel_time_stamp_are_not_split():
    for line in ("virtio_blk virtio1: [vda] 2048 512-byte logical blocks (1.05 MB/1.00 MiB)",
                 "pci 0000:00:03.0: [1af4:1000] type 00 class 0x020000",
                 "pci 0000:00:03.0: reg 0x10: [io  0xc000-0xc01f]",
                 "virtio_net virtio0: x [1.5] y", "virtio_net virtio0: x [ 12.34567] y"):
        assert len(split_records(line)) == 1, line


def test_carriage_return_redraw():
    assert clean(b"progress 10%\rprogress 100%\r\n") == "progress 100%"


def test_block_prefilter_with_and_without_re2_finds_the_same_lines(monkeypatch):
    import random

    from virtiodiag.dialects import load_dialects
    from virtiodiag.sources import scanner as scanner_module

    triggers = load_dialects().trigger_bytes
    rng = random.Random(3)
    pool = [b"noise line %d" % i for i in range(50)] + [
        b"[    1.0] virtio_net virtio0: x", b"BSP_IntSrcEn(irq=48)", b"TEST t: PASS",
        b"pci 0000:00:03.0: [1af4:1000] type 00", b"qemu-system-x86_64: Looped descriptor",
        b"vtnet0: <VirtIO Networking Adapter> on virtio_pci0", b"vp write  febf4014 (1) <- 0xb"]
    data = b"\n".join(rng.choice(pool) for _ in range(20000)) + b"\n"

    def scan():
        s = scanner_module.LineScanner(triggers=triggers)
        out = [c for i in range(0, len(data), 65536) for c in s.feed(data[i:i + 65536])]
        return out + list(s.close()), s.lines

    fast = scan()
    monkeypatch.setattr(scanner_module, "_compile_block_search", lambda alternation: None)
    slow = scan()
    assert fast == slow and fast[1] == 20000
    # ... and the lines a plain per-line test finds (every built-in trigger, the next
    # occurrence of each kept in a heap by bytes.find's path): asked once for each of the
    # pool's 57 lines, not for each of the 20,000 (3 s of the test's 4).
    holds = {line: any(t in line for t in triggers) for line in pool}
    expected = [(n, line) for n, line in enumerate(data.split(b"\n")[:-1], 1)
                if holds[line]]
    assert [(n, raw) for n, raw, _ in slow[0]] == expected


def test_re2_block_search_returns_spans_for_the_built_in_triggers():
    """The scanner calls RE2's wrapped Match for the spans, a third cheaper than the public
    search(); a probe checks the binding first, and a probe that the triggers themselves
    broke ("-device" found in "-" + the last one) sent every run to search() unnoticed."""
    pytest.importorskip("re2")
    from virtiodiag.dialects import load_dialects
    from virtiodiag.sources import looking
    from virtiodiag.sources import scanner as scanner_module

    triggers = scanner_module.minimal_triggers(
        list(load_dialects().trigger_bytes) + list(looking.TRIGGERS))
    assert b"-device" in triggers
    search = scanner_module._compile_block_search(triggers)
    assert search is not None and search.__name__ == "searcher_by_spans"
    block = b"noise\n-device e1000\nmore noise\npci 0000:00:03.0: [1af4:1000]\nend\n"
    first = search(block, len(block))
    for pos in range(len(block)):  # the first trigger at or after pos, as find sees it
        found = [at for word in triggers if (at := block.find(word, pos)) >= 0]
        assert first(pos, len(block))[0][0] == min(found, default=-1)
    assert first(0, len(block))[0][0] == 6
    assert first(7, len(block))[0][0] == block.find(b"1af4")


def test_midline_finder_agrees_with_the_regex_search_it_replaces():
    """_first_midline is an optimisation of _MIDLINE.search(body, 1): same answer on every
    line of the real samples and on lines built to stress the digit-run and overlap cases."""
    import random
    from pathlib import Path

    from virtiodiag.sources.framing import _MIDLINE, _first_midline

    def reference(body):
        found = _MIDLINE.search(body, 1)
        return found.start() if found else None

    bodies = set()
    for log in Path(__file__).resolve().parent.parent.glob("samples/**/*.log"):
        for raw in log.read_bytes().splitlines():
            bodies.add(strip_prefixes(clean(raw))[0])
    pieces = ["virtio_", "virtio_net_x ", "virtio_notify vdev", "qemu-", "qemu-system-x86_64: ",
              "qemu-kvm: ", "@", "12", "345@", "6.7", ":", "0.5:", " ", "x", "virtio0",
              "failed", "eth0:", "\u0661\u0662@1.2:z", "\u00b2@1.2:z", "\u00b2", "1@1.5:virtio_set_status v",
              "[", "]", "] ", "[    7.432350] ", "[12.345678] x", "[ 1.5] ", "[\u0661.123456] z",
              "[    0.\u0662\u0663\u0664\u0665\u0666\u0667] z"]
    rng = random.Random(6)
    for _ in range(30000):
        bodies.add("".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))))
    assert len(bodies) > 15000
    for body in bodies:
        assert _first_midline(body) == reference(body), body


def test_a_split_line_counts_once_as_not_understood(tmp_path):
    """VD016 says "N line(s)": the two records of one split line are one line."""
    import json

    from conftest import run_cli

    log = tmp_path / "split.log"
    log.write_text("loading virtio stuff ... [    7.432350] virtio zzz qqq unknown\n"
                   "virtio something else nobody prints\n")
    proc = run_cli("analyze", "--format", "json", str(log))
    findings = [f for f in json.loads(proc.stdout)["findings"] if f["rule"] == "VD016"]
    assert [f["message"] for f in findings] == [
        "2 line(s) look like virtio driver or device messages but matched no grammar, "
        "first at line 1"]


def test_a_line_set_in_bold_when_pasted_reads_as_printed():
    """A reporter's Markdown bold around a pasted line ("**...**") goes, prefix and all;
    a banner drawn with stars (Zephyr's "*** Booting Zephyr OS ... ***") and a spaced
    "** note **" are the line's own text."""
    text, time, clock = strip_prefixes("**[    1.250000] virtio_blk virtio0: [vda] 2048 "
                                       "512-byte logical blocks**")
    assert (text, time, clock) == ("virtio_blk virtio0: [vda] 2048 512-byte logical blocks",
                                   1.25, "boot")
    assert strip_prefixes("*** Booting Zephyr OS build v3.6.0 ***")[0] == \
        "*** Booting Zephyr OS build v3.6.0 ***"
    assert strip_prefixes("** note **")[0] == "** note **"


def test_every_scan_path_finds_each_candidate_line_once_whatever_the_block_cuts(
        monkeypatch):
    # The scanner searches a block up to its last newline and keeps the rest (the carry)
    # for the next block without copying it off: a trigger in that rest must be found once,
    # with its whole line, in the next block. Checked against a plain per-line search for
    # each way of scanning: RE2, bytes.find, a dense block split in lines, and a regex.
    import random
    import re

    from virtiodiag.sources import scanner as scanner_module

    triggers = (b"virtio", b"vtnet", b"BSP_Int")
    rng = random.Random(11)
    sparse_pool = [b"noise line %d" % i for i in range(40)] + [
        b"[    1.0] virtio_net virtio0: x", b"vtnet0: <VirtIO Networking Adapter>",
        b"BSP_IntSrcEn(irq=48)", b"a long noise line " * 20]
    dense_pool = [b"virtio_notify vdev 0x1 vq 0x2", b"x", b"vtnet0: up"]

    def lines_of(pool, count):
        return [rng.choice(pool) for _ in range(count)]

    lines = lines_of(sparse_pool, 30000) + lines_of(dense_pool, 5000) + lines_of(
        sparse_pool, 5000)
    data = b"\n".join(lines) + b"\nvirtio at the end, no newline"
    lines.append(b"virtio at the end, no newline")
    expected = [(n, line) for n, line in enumerate(lines, 1) if any(t in line for t in triggers)]
    cuts = set(rng.sample(range(1, len(data)), 300))
    # A line the blocks share is looked at on its own (scanner._frame_after_carry): cuts
    # inside a trigger, just after and just before a newline, and blocks holding one
    # newline only.
    at = data.find(b"BSP_Int", 100_000)
    newline = data.find(b"\n", 200_000)
    cuts |= {at + 3, newline, newline + 1, newline + 2, data.find(b"\n", newline + 1) + 1}
    cuts = sorted(cuts)

    def scan(scanner):
        out = []
        for start, stop in zip([0] + cuts, cuts + [len(data)], strict=True):
            out += scanner.feed(data[start:stop])
        out += scanner.close()
        for n, _raw, following in out:
            assert following is None or following == lines[n]  # the next line, whole
        assert scanner.lines == len(lines) and scanner.truncated_last_line
        return [(n, raw) for n, raw, _ in out]

    assert scan(scanner_module.LineScanner(triggers=triggers)) == expected  # RE2
    pattern = re.compile(b"|".join(triggers))
    assert scan(scanner_module.LineScanner(trigger_re=pattern)) == expected
    monkeypatch.setattr(scanner_module, "_compile_block_search", lambda alternation: None)
    assert scan(scanner_module.LineScanner(triggers=triggers)) == expected  # bytes.find


def test_a_dense_block_finds_by_its_last_trigger_the_lines_the_regex_finds():
    """A dense block (most lines candidates) is split in lines; a line holding the
    trigger the regex found last is a candidate without the regex (scanner._scan_dense).
    With the built-in triggers (digit-led ones among them, which the regex matches
    without their digit) and lines switching between triggers, in runs and one by one,
    the candidates are the lines a substring test finds."""
    import random

    from virtiodiag.dialects.registry import load_dialects
    from virtiodiag.sources import looking
    from virtiodiag.sources import scanner as scanner_module

    triggers = scanner_module.minimal_triggers([*load_dialects().trigger_bytes,
                                                *looking.TRIGGERS])  # as Analysis does
    assert b"irtio" in triggers and b"9 vd" in triggers
    pool = [b"2001@1700000000.000001:virtio_notify vdev 0x55d0 vq 0x7f00",
            b"[    3.5] sd 2:0:0:0: [sda] 368 vda blocks", b"0000:00:04.0 1af4:1001",
            b"vtnet0: link state changed to UP", b"noise 2:0:9 without any trigger",
            b"[    1.1] nvme 9 vd", b"[    2.0] mount x vda1 (no digit before)", b"x"]
    rng = random.Random(3)
    lines = []
    for _ in range(3000):
        word = rng.choice(pool)
        lines += [word] * rng.choice((1, 1, 2, 40))
    data = b"\n".join(lines) + b"\n"
    holds = {line: any(t in line for t in triggers) for line in pool}  # once a pool line
    expected = [(n, line) for n, line in enumerate(lines, 1) if holds[line]]
    assert len(expected) * 2 > len(lines)  # dense: after the first block, split in lines
    scanner = scanner_module.LineScanner(triggers=triggers)
    out = []
    for start in range(0, len(data), 4096):
        out += scanner.feed(data[start:start + 4096])
    out += scanner.close()
    assert [(n, raw) for n, raw, _ in out] == expected
    assert scanner.lines == len(lines)


def test_minimal_triggers_are_those_no_other_trigger_is_inside():
    """scanner.minimal_triggers keeps a trigger unless another one is a substring of it
    (found by searching the joined list): the same words, in the same order (shortest
    first), as testing each against every other, on the built-in dialects' triggers and on
    random sets of short words over a small alphabet (many containments, a NUL too)."""
    import random

    from virtiodiag.dialects.registry import load_dialects
    from virtiodiag.sources import scanner as scanner_module

    def reference(words):
        ordered = sorted(words, key=lambda w: (len(w), w))
        return tuple(w for w in ordered if not any(o != w and o in w for o in ordered))

    built_in = frozenset(load_dialects().trigger_bytes)
    assert len(scanner_module.minimal_triggers(built_in)) < len(built_in)
    sets = [built_in]
    rng = random.Random(5)
    sets += [frozenset(bytes(rng.choice(b"ab\0c") for _ in range(rng.randint(1, 5)))
                       for _ in range(rng.randint(0, 12))) for _ in range(5_000)]
    for words in sets:
        assert scanner_module._minimal.__wrapped__(words) == reference(words), words


def test_trigger_regex_finds_the_lines_a_substring_test_finds():
    """scanner.trigger_regex (a trie, digit-led triggers searched without their digit and
    checked by a look-behind) says "a trigger is in this line" exactly where a substring
    test does: on every distinct line of the samples with the built-in (minimal)
    triggers, and on random lines against random trigger sets over a small alphabet of
    digits, letters, a space and regex metacharacters (triggers inside each other,
    digit-led ones sharing their tail, triggers at a line's start and end)."""
    import bisect
    import random
    from pathlib import Path

    from virtiodiag.dialects.registry import load_dialects
    from virtiodiag.sources import scanner as scanner_module

    samples = Path(__file__).parent.parent.joinpath("samples")
    lines = sorted({line for path in samples.rglob("*.log")
                    for line in path.read_bytes().split(b"\n")})
    assert len(lines) > 10_000
    joined = b"\n".join(lines)
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def holding(words):  # the lines a trigger is in, by C-speed find over all of them
        found = set()
        for word in words:
            at = joined.find(word)
            while at >= 0:
                found.add(bisect.bisect_right(starts, at) - 1)
                at = joined.find(word, at + 1)
        return found

    words = scanner_module.minimal_triggers(load_dialects().trigger_bytes)
    search = scanner_module.trigger_regex(words).search
    assert {index for index, line in enumerate(lines)
            if search(line) is not None} == holding(words)
    assert scanner_module.trigger_regex((b"0 vd", b"9 vd")).pattern.count(b"(?<=") == 1
    rng = random.Random(11)
    alphabet = b"01 9ab.*("

    def word(low, high):
        return bytes(rng.choice(alphabet) for _ in range(rng.randint(low, high)))

    for _ in range(1_500):
        words = tuple({word(1, 4) for _ in range(rng.randint(1, 8))})
        search = scanner_module.trigger_regex.__wrapped__(words).search
        for _ in range(20):
            line = word(0, 12)
            assert (search(line) is None) == (not any(w in line for w in words)), (words, line)


def test_decoded_kernel_frame_named_like_a_trace_event_is_not_split():
    # scripts/decode_stacktrace.sh parse_symbol() rewrites "%pS" as "function (file:line)":
    # a virtio core function named like a QEMU trace event ("virtio_<word>_<words> ") is
    # followed by its source place, which no trace event's arguments start with
    # (arch/x86/kernel/dumpstack.c show_ip() "RIP: %04x:%pS"; arm64 "pc : %pS").
    for line in ("RIP: 0010:virtio_config_changed (drivers/virtio/virtio.c:148) ",
                 "pc : virtio_check_driver_offered_feature (drivers/virtio/virtio.c:114)",
                 "? virtio_dev_probe (drivers/virtio/virtio.c:305 (discriminator 2))"):
        records = split_records(line)
        assert len(records) == 1 and not records[0].fragment, records
    # A real trace record after a frame-shaped word still starts a record of its own.
    records = split_records("RIP: 0010:f (x.c:1) virtio_set_status vdev 0x55 val 0")
    assert [r.fragment for r in records] == [True, False]
    assert records[1].text == "virtio_set_status vdev 0x55 val 0"
