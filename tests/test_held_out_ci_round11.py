"""Formats from the eleventh judging round, CI job logs and crash reports (2026-12-04),
written from their sources; the held-out logs that showed them are listed in
docs/held-out-logs.md (their text is not here).

* GitHub CLI's ``gh run view --log`` / ``--log-failed`` (cli/cli pkg/cmd/run/view/view.go
  displayRunLog(): ``fmt.Sprintf("%s\\t%s\\t", job.Name, step.Name)`` before each line of
  the step's log, which the Actions service stamps ``2024-05-01T12:00:00.1234567Z``): the
  guest's lines were found only by the search for a kernel time stamp inside a line, and
  the job, step and stamp before it were left as an unfinished fragment joined to the next
  line's text (a false "unrecognised virtio line").
* A fragment of a line cut where a record starts inside it is joined to the next line
  when that continues the guest's unfinished line; a CI runner stamps every line, so the
  continuation is the text after the next line's own stamp, and a kernel record behind
  that stamp is no continuation. The next line's stamp was glued to the fragment.
* A name shaped like a QEMU trace event followed by " -- " is a shell trace's (SPDK's
  autotest PS4, test/common/autotest_common.sh: ``${test_domain} -- ${BASH_SOURCE}@
  ${LINENO} -- $``, its test names full of "virtio_..."): no trace record starts there
  (no format in QEMU's trace-events starts with dashes). Each such line was cut in two.
* LAVA's job log (KernelCI, LKFT; lava_common/log.py YAMLLogger.log_message() and dump():
  ``yaml_safe_dump({"dt", "lvl", "msg"}, default_flow_style=True, default_style='"')``, one
  record a line, each a list item ``- `` (YAMLListFormatter)): the console's text is the
  double-quoted ``msg`` with YAML's escapes. A line's closing ``"}`` stayed on the text,
  so a probe failure's line was not read: exit 0 on a failing boot.
* drivers/base/core.c device_release(): WARN "Device '%s' does not have a release()
  function, it is broken and must be fixed." of a virtio device freed as it went away
  (LKL's virtio-mmio registered it with no release callback): unread, exit 0 and VD020.
Lines written from those format strings, with made-up values."""

import format_tables
from virtiodiag.sources import envelope
from virtiodiag.sources.framing import split_records, strip_prefixes

BLK = "virtio_blk virtio1: [vda] 2097152 512-byte logical blocks (1.07 GB/1.00 GiB)"
NET_FAIL = "virtio_net virtio0: probe with driver virtio_net failed with error -22"


def _run(text, dialects):
    return format_tables.analyse_text("job.log", text, dialects)


def test_gh_run_view_prefix_goes_and_the_runners_stamp_is_the_time():
    line = f"boot (x86_64, q35)\tRun the guest\t2024-05-01T10:00:07.2500000Z [    7.250000] {BLK}"
    assert strip_prefixes(line) == (BLK, 7.25, "boot")
    text, time, clock = strip_prefixes(f"boot\tRun the guest\t2024-05-01T10:00:07.2500000Z {BLK}")
    assert (text, clock) == (BLK, "wall") and abs(time - 36007.25) < 1e-6


def test_tabs_without_the_runners_stamp_stay():
    # a table's cells, a tab-separated report: no time stamp after the second tab
    for line in ("virtio0\tnet\tok", "a\tb\tc virtio_blk virtio1: x", "cat -A\tx\t12:00 y"):
        assert strip_prefixes(line)[0] == line


def test_a_gh_run_view_log_is_read_whole(dialects):
    """Every line of the job's step read; nothing left over as an unrecognised line (the
    job, step and stamp were a fragment glued to the next line)."""
    prefix = "vm-test (ubuntu-24.04)\tBoot QEMU\t2024-05-01T10:00:0{}.1234567Z "
    result = _run(prefix.format(1) + "[    0.812345] " + BLK + "\n"
                  + prefix.format(2) + "[    0.912345] " + NET_FAIL + "\n", dialects)
    assert sorted(d.device_type for d in result.model.live_devices()) == ["block", "net"]
    assert [f.rule for f in format_tables.errors(result)] == ["VD015"]
    assert result.model.unrecognised == 0


def test_a_fragment_continues_after_the_next_lines_stamp(dialects):
    """A QEMU trace record inside a stamped console line: the guest's unfinished text
    goes on after the next line's own stamp, not with it."""
    result = _run(
        "2024-05-01T10:00:01.1000000Z loading virtio modules... "
        "virtio_set_status vdev 0x55d0c0a1e2f0 val 15\n"
        "2024-05-01T10:00:01.2000000Z done, 2 modules\n", dialects)
    assert result.model.unrecognised_samples == [
        (1, "loading virtio modules...done, 2 modules")]


def test_a_fragment_is_not_joined_to_a_stamped_kernel_record(dialects):
    result = _run(
        "2024-05-01T10:00:01.1000000Z loading virtio modules... "
        "virtio_set_status vdev 0x55d0c0a1e2f0 val 15\n"
        "2024-05-01T10:00:01.2000000Z [    0.912345] " + NET_FAIL + "\n", dialects)
    assert result.model.unrecognised_samples == [(1, "loading virtio modules...")]
    assert [f.rule for f in format_tables.errors(result)] == ["VD015"]


def test_a_shell_trace_naming_a_virtio_test_is_not_cut():
    line = ("00:09:51.661   14:54:16 vhost_qemu.vhost_virtio_scsi_restart -- "
            "vhost/common.sh@71 -- # echo -e 'INFO: running run.sh'")
    (record,) = split_records(line)
    assert record.text.startswith("vhost_qemu.vhost_virtio_scsi_restart -- ")
    # a trace record inside a line is still cut there
    cut = split_records("loading... virtio_queue_notify vdev 0x5 n 0 vq 0x6")
    assert [r.text for r in cut] == ["loading...", "virtio_queue_notify vdev 0x5 n 0 vq 0x6"]


def test_a_lava_record_is_opened_with_yamls_escapes():
    got = envelope.unwrap('- {"dt": "2024-05-01T10:00:07.250000", "lvl": "target", "msg": '
                          '"\\e[0;31m[    7.25] ' + NET_FAIL + ' \\"x\\" \\\\ \\x41\\u00e9\\e[0m"}')
    assert got.text == "\x1b[0;31m[    7.25] " + NET_FAIL + ' "x" \\ A\u00e9\x1b[0m'
    assert abs(got.time - 36007.25) < 1e-6 and got.kind == "lava"
    # a result's mapping is no console text; a line only shaped like a list item is no record
    assert envelope.unwrap('- {"dt": "2024-05-01T10:00:08.1", "lvl": "results", "msg": '
                           '{"case": "login-action", "result": "pass"}}') is None
    assert envelope.unwrap("- {dt: virtio0}") is None


def test_a_lava_job_log_gates_on_the_consoles_failure(dialects):
    record = '- {{"dt": "2024-05-01T10:00:0{}.250000", "lvl": "target", "msg": "{}"}}\n'
    result = _run(record.format(1, "[    0.812345] " + BLK)
                  + record.format(2, "[    0.912345] " + NET_FAIL), dialects)
    assert sorted(d.device_type for d in result.model.live_devices()) == ["block", "net"]
    assert [f.rule for f in format_tables.errors(result)] == ["VD015"]
    assert result.model.unrecognised == 0


def test_a_virtio_device_freed_without_a_release_function_is_a_teardown_warning(dialects):
    result = _run(
        "[   21.000000] ------------[ cut here ]------------\n"
        "[   21.000001] WARNING: CPU: 0 PID: 52 at drivers/base/core.c:2532 device_release+0x80/0x90\n"
        "[   21.000002] Device 'virtio2' does not have a release() function, it is broken and must"
        " be fixed. See Documentation/core-api/kobject.rst.\n", dialects)
    (device,) = result.model.live_devices()
    assert "name:virtio2" in device.aliases
    (finding,) = [f for f in result.findings if f.rule == "VD006"]
    assert finding.severity == "warning" and "release() callback" in finding.hint
    assert not format_tables.errors(result)
