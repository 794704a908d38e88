"""Formats from the fifth judge of the stacks around a Linux guest (2026-12-03), written from
their sources; the rows of docs/format-coverage.md check each line's event, these tests the
findings the lines give together.

* QEMU's start-up error against a command-line option (util/qemu-error.c error_vprintf():
  argv[0]'s basename and ":", the location "-device <value>: ", then the message, here
  qdev_device_add()'s "'%s' is not a valid device model name"). argv[0] is whatever the
  program was started as; a plain lower-case word ("toplevel", QEMU built into the NVDLA
  virtual platform) was taken for a command line, and a held-out refusal of
  virtio-9p-device exited 0.
* Linux audit records (kernel/auditsc.c) of a vhost-user back-end daemon ended by a signal
  (ANOM_ABEND) or killed by its seccomp filter (SECCOMP, code KILL_PROCESS): the device has
  no back-end any more. Read by the new grammar linux_audit.lark.
* vfkit (pkg/vf/virtio.go), the VMM of podman machine's applehv provider: "Adding virtio-blk
  device (imagePath: %s)" and the like, one line per device it creates. Read by the new
  grammar vfkit.lark.
Lines written from those format strings, with made-up values."""

import format_tables


def _run(text, dialects):
    return format_tables.analyse_text("host.log", text, dialects)


def test_a_refused_virtio_device_under_any_program_name_is_an_error(dialects):
    for program in ("toplevel", "vm", "qemu-system-riscv64"):
        result = _run(f"{program}: -device virtio-rng-device,rng=r0: 'virtio-rng-device' is not "
                      "a valid device model name\n", dialects)
        (finding,) = format_tables.errors(result)
        assert finding.rule == "VD006" and "virtio-rng-device" in finding.message, program


def test_a_c_function_line_is_still_not_a_program_name(dialects):
    # hw/virtio/virtio.c virtio_queue_notify ... the -d guest_errors lines start with the
    # C function's name; one that goes on with a number is no command-line location.
    result = _run("virtio_net_guest_notifier_mask: bogus vq index ignored\n", dialects)
    assert result.model.unrecognised == 0
    assert not any("-device" in f.message for f in result.findings)


# kernel/auditsc.c audit_core_dumps() (AUDIT_ANOM_ABEND) and audit_seccomp() (AUDIT_SECCOMP),
# each after audit_log_task()'s "auid=%u uid=%u gid=%u ses=%u[ subj=%s] pid=%d comm=%s exe=%s".
# A held-out Kata run on ppc64le: virtiofsd killed by its seccomp filter (SIGSYS), then the
# guest's mount of the shared directory failing with ENODEV; it exited 0 (VD020 only).
_ABEND = ('type=ANOM_ABEND msg=audit(1700000000.123:45): auid=4294967295 uid=0 gid=0 '
          'ses=4294967295 pid=4242 comm="{comm}" exe="{exe}" sig=31 res=1\n')


def test_a_vhost_user_back_end_killed_by_a_signal_fails_its_device(dialects):
    result = _run(_ABEND.format(comm="virtiofsd", exe="/usr/libexec/virtiofsd"), dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "fs device" in finding.message
    # comm is cut to 15 characters; exe names the device type.
    result = _run(_ABEND.format(comm="vhost-device-vs", exe="/usr/bin/vhost-device-vsock"),
                  dialects)
    (finding,) = format_tables.errors(result)
    assert "vsock device" in finding.message


def test_another_programs_crash_or_a_logged_seccomp_call_is_no_device_error(dialects):
    result = _run(_ABEND.format(comm="bash", exe="/usr/bin/bash")
                  + 'audit: type=1326 audit(1700000000.123:44): auid=4294967295 uid=0 gid=0 '
                  'ses=4294967295 pid=4242 comm="virtiofsd" exe="/usr/libexec/virtiofsd" sig=0 '
                  'arch=c000003e syscall=46 compat=0 ip=0x7f0000001234 code=0x7ffc0000\n',
                  dialects)
    assert format_tables.errors(result) == []


def test_vfkit_adding_its_devices_lists_them_with_no_finding(dialects):
    # vfkit pkg/vf/virtio.go AddToVirtualMachineConfig(): logrus "Adding virtio-%s device ...".
    # A held-out podman machine (applehv) log's five lines were VD020, no device.
    result = _run("INFO[0000] Adding virtio-blk device (imagePath: /var/vm/disk.raw)\n"
                  "INFO[0000] Adding virtio-rng device\n"
                  "INFO[0000] Adding virtio-vsock device\n"
                  "INFO[0000] Adding virtio-serial device (logFile: vm.log)\n"
                  "INFO[0000] Adding virtio-net device (nat: false macAddress: [52:54:00:1:2:3])\n",
                  dialects)
    assert sorted(d.device_type for d in result.model.devices) == [
        "block", "console", "net", "rng", "vsock"]
    assert [f for f in result.findings if f.severity in ("error", "warning")] == []
