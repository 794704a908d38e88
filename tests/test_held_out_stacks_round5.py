"""Formats from the fifth judge of the stacks around a Linux guest (2026-12-03), written from
their sources; the rows of docs/format-coverage.md check each line's event, these tests the
findings the lines give together.

* QEMU's start-up error against a command-line option (util/qemu-error.c error_vprintf():
  argv[0]'s basename and ":", the location "-device <value>: ", then the message, here
  qdev_device_add()'s "'%s' is not a valid device model name"). argv[0] is whatever the
  program was started as; a plain lower-case word ("toplevel", QEMU built into the NVDLA
  virtual platform) was taken for a command line, and a held-out refusal of
  virtio-9p-device exited 0.
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
