"""Envelopes: JSON lines and Kubernetes CRI records are opened before dialects see a line."""

from virtiodiag.analysis import analyse_blocks
from conftest import shared_dialects
from virtiodiag.sources.envelope import cri_continuation, maybe_wrapped, unwrap

PROBE = "virtio_net virtio0: probe with driver virtio_net failed with error -22"


def _run(text: str):
    return analyse_blocks("envelope.log", [text.encode()], shared_dialects())


def test_message_fields_in_order_of_preference():
    assert unwrap('{"msg":"a","message":"b"}').text == "a"
    assert unwrap('{"level":"info","message":"b"}').text == "b"
    assert unwrap('{"MESSAGE":"c","PRIORITY":"6"}').text == "c"
    assert unwrap('{"log":"d\\n","stream":"stdout"}').text == "d"  # Docker json-file
    assert unwrap('{"level":"info","other":"x"}') is None  # no message field
    assert unwrap('{"msg": 12}') is None


def test_envelope_time_is_kept_as_wall_clock_seconds():
    env = unwrap('{"msg":"x","timestamp":"2024-05-01T10:00:02.500000Z"}')
    assert env.time == 36002.5
    env = unwrap('{"MESSAGE":"x","__REALTIME_TIMESTAMP":"1714557600000000"}')
    assert env.time == 36000.0  # journald: microseconds since the epoch


def test_journald_message_as_byte_array():
    assert unwrap('{"MESSAGE":[118,105,114,116,105,111,255]}').text == "virtio\ufffd"


def test_cri_full_and_partial_records():
    env = unwrap("2024-05-01T10:00:01.123456789Z stdout F " + PROBE)
    assert (env.text, env.partial, env.stream, env.kind) == (PROBE, False, "stdout", "cri")
    env = unwrap("2024-05-01T10:00:01.1Z stderr P first half")
    assert env.partial and env.stream == "stderr" and env.text == "first half"
    assert cri_continuation("2024-05-01T10:00:01.2Z stderr F second", "stderr") == "second"
    assert cri_continuation("2024-05-01T10:00:01.2Z stdout F second", "stderr") is None


def test_cri_around_json_is_opened_twice():
    env = unwrap('2024-05-01T10:00:01Z stdout F {"msg":"inner","level":"info"}')
    assert env.text == "inner" and env.kind == "cri+json" and env.time == 36001.0


def test_lines_that_are_no_envelope_pass_untouched():
    for line in (PROBE, "{not json", '{"msg":"x"} trailing', "[1,2,3]",
                 "2026-11-24T01:35:12.1234567Z [    1.5] virtio_net: x",  # a CI stamp
                 "1234@1700000000.1:virtio_set_status vdev 0x1 val 1"):
        assert unwrap(line) is None, line
    assert not maybe_wrapped(PROBE) and not maybe_wrapped("[    1.0] x")


def test_wrapped_lines_give_the_same_findings_with_the_original_text_as_evidence():
    plain = _run(f"[    2.000000] {PROBE}\n")
    wrapped = _run('{"component":"virt-launcher","level":"info","msg":"[    2.000000] '
                   + PROBE + '","timestamp":"2024-05-01T10:00:00Z"}\n')
    assert [(f.rule, f.evidence) for f in plain.findings] == \
        [(f.rule, f.evidence) for f in wrapped.findings] == [("VD015", PROBE)]
    # the kernel's own stamp is the innermost time: it wins over the envelope's
    assert wrapped.findings[0].time == 2.0


def test_partial_cri_line_is_joined_and_read_once():
    half = len(PROBE) // 2
    text = (f"2024-05-01T10:00:01Z stdout P {PROBE[:half]}\n"
            f"2024-05-01T10:00:01Z stdout F {PROBE[half:]}\n")
    result = _run(text)
    assert [(f.rule, f.line, f.evidence) for f in result.findings] == [("VD015", 1, PROBE)]
    assert result.findings[0].time == 36001.0  # the envelope's time: the text has none
    assert result.model.unrecognised == 0 and result.model.lines == 2


def test_mixed_file_wrapped_and_plain_lines():
    text = ('{"log":"virtio_blk virtio1: [vda] 2048 512-byte logical blocks\\n",'
            '"stream":"stdout","time":"2024-05-01T10:00:02Z"}\n'
            f"{PROBE}\n"
            '{"MESSAGE":"virtio_net virtio0 eth0: renamed from enp0s3"}\n')
    result = _run(text)
    names = {d.id for d in result.model.devices}
    assert names == {"virtio0", "virtio1"}
    assert [f.line for f in result.findings if f.rule == "VD015"] == [2]
    assert result.model.unrecognised == 0


def test_escaped_control_characters_inside_json_are_cleaned():
    result = _run('{"msg":"\\u001b[31m' + PROBE + '\\u001b[0m"}\n')
    assert [f.evidence for f in result.findings] == [PROBE]


def test_wild_logs_inside_envelopes_read_as_the_bare_logs():
    """cloud-hypervisor's log in journalctl -o json, Firecracker's in a CRI container log,
    a NetBSD console in KubeVirt's virt-launcher records: the same devices and findings
    (same lines) as the bare fixtures."""
    import json
    from pathlib import Path

    wild = Path(__file__).resolve().parent / "fixtures" / "wild"
    wrappers = {
        "cloud-hypervisor": lambda line: json.dumps(
            {"MESSAGE": line, "_COMM": "cloud-hyperviso",
             "__REALTIME_TIMESTAMP": "1714557600000000"}),
        "firecracker": lambda line: f"2024-05-01T10:00:00.000000001Z stderr F {line}",
        "netbsd": lambda line: json.dumps(
            {"component": "virt-launcher", "level": "info", "msg": line,
             "timestamp": "2024-05-01T10:00:00.000000Z"}),
    }
    for name, wrap in wrappers.items():
        bare = (wild / f"{name}.log").read_text()
        wrapped = "\n".join(wrap(line) for line in bare.splitlines()) + "\n"
        plain, boxed = _run(bare), _run(wrapped)
        assert [(f.rule, f.line, f.evidence) for f in boxed.findings] == \
            [(f.rule, f.line, f.evidence) for f in plain.findings], name
        assert sorted(d.id for d in boxed.model.live_devices()) == \
            sorted(d.id for d in plain.model.live_devices()), name
        assert boxed.model.unrecognised == plain.model.unrecognised == 0, name


def test_kubevirt_relays_seabios_with_its_own_tag():
    """virt-launcher's "[SeaBios]:" tag goes; SeaBIOS's line is read by its dialect."""
    line = ('{"component":"virt-launcher","level":"info","msg":"[SeaBios]: found virtio-blk '
            'at 00:04.0","pos":"libvirt_helper.go:200","timestamp":"2024-05-01T10:00:00Z"}')
    assert unwrap(line).text == "found virtio-blk at 00:04.0"
    result = _run(line + "\n")
    [device] = result.model.live_devices()
    assert device.address == "0000:00:04.0" and device.bound
    assert result.model.dialects_seen == {"seabios": 1}


# logfmt as Go's logrus TextFormatter writes it (time="RFC 3339" level=... msg="..." k=v,
# values quoted with strconv.Quote escapes), and Kata's relay of the guest console
# (msg="reading guest console" ... vmconsole="<line>"): written from those formats.
def _logfmt(message: str, field: str = "msg", time: str = "2024-05-01T10:00:03.5+02:00"):
    quoted = message.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    extra = 'msg="reading guest console" ' if field == "vmconsole" else ""
    return (f'time="{time}" level=debug {extra}{field}="{quoted}" name=containerd-shim-v2 '
            'pid=4242 sandbox=s1 source=virtcontainers subsystem=qemu')


def test_logfmt_message_time_and_go_escapes():
    env = unwrap(_logfmt('qemu-system-x86_64: Error starting vhost: 22'))
    assert env.text == "qemu-system-x86_64: Error starting vhost: 22" and env.kind == "logfmt"
    assert env.time == 36003.5
    assert unwrap('level=info msg="a \\x1b[0m \\"b\\" \\\\ c"').text == 'a \x1b[0m "b" \\ c'
    assert unwrap(_logfmt("[    1.0] " + PROBE, "vmconsole")).text == "[    1.0] " + PROBE
    assert unwrap('time="2024-05-01T10:00:00Z" level=info other=x') is None  # no message
    assert unwrap("timeout waiting for virtio0") is None and unwrap("level 3 virtio") is None


def test_a_logfmt_record_cut_inside_its_message_keeps_the_message_so_far():
    """A paste or a terminal that ended inside the quoted msg: what arrived is still read;
    a complete record with a quoted message after other fields is unchanged."""
    whole = _logfmt("qemu-system-x86_64: -device vhost-user-fs-pci,chardev=c1,tag=t: Failed "
                    "to read msg header. Read 0 instead of 12. Original request 1.\n"
                    "qemu-system-x86_64: vhost_backend_init failed")
    cut = whole[:whole.index("vhost_backend_init") - 1]
    assert unwrap(cut).text == ("qemu-system-x86_64: -device vhost-user-fs-pci,chardev=c1,"
                                "tag=t: Failed to read msg header. Read 0 instead of 12. "
                                "Original request 1.\nqemu-system-x86_64:")
    assert unwrap(whole).text.endswith("vhost_backend_init failed")
    result = _run(cut + "\n")
    assert [f.rule for f in result.findings if f.severity == "error"] == ["VD006"]


def test_kata_logfmt_log_reads_as_the_console_and_qemu_inside_it():
    console = ["[    0.910311] virtio_blk virtio1: [vda] 2048 512-byte logical blocks",
               "[    1.204455] " + PROBE]
    text = "".join(_logfmt(line, "vmconsole") + "\n" for line in console)
    # QEMU's stderr relayed in one msg, two lines joined by \n; and behind a journal prefix
    text += _logfmt("qemu-system-x86_64: Failed to set msg fds.\n"
                    "qemu-system-x86_64: vhost_set_vring_call failed: Invalid argument (22)"
                    ) + "\n"
    text += "May 01 10:00:04 host1 kata[4242]: " + _logfmt("[    1.5] virtio_net virtio0 "
                                                           "eth0: renamed from enp0s3") + "\n"
    result = _run(text)
    assert {d.id for d in result.model.live_devices()} == {"virtio0", "virtio1"}
    assert [(f.rule, f.line) for f in result.findings if f.rule == "VD015"] == [("VD015", 2)]
    vhost = sorted(f.message for f in result.findings if f.rule == "VD006")
    assert len(vhost) == 2 and "msg fds" in vhost[0] and "vhost_set_vring_call" in vhost[1]
    assert result.model.unrecognised == 0


def test_a_kernel_stamp_in_a_prefixed_logfmt_message_does_not_cut_the_record():
    # kata-proxy's journal: "<syslog prefix> time=... msg=\"[    1.574434] virtio-pci ...\\n\""
    # (the guest's console line with its own six-digit stamp, and Go's escaped newline)
    message = "[    1.574434] virtio-pci 0000:01:09.0: virtio_pci: leaving for legacy driver\n"
    text = "Jul 08 09:40:06 host1 kata-proxy[18094]: " + _logfmt(message) + "\n"
    result = _run(text)
    assert [d.address for d in result.model.live_devices()] == ["0000:01:09.0"]
    assert [f.rule for f in result.findings if f.severity == "warning"] == ["VD001"]
    assert result.model.unrecognised == 0
