"""Formats from the fifth non-Linux-guest and host-side judge (2026-12-03), written from their
sources; the rows of docs/format-coverage.md check each line's event, these tests the
findings and devices the lines give together.

* libvmm (github.com/au-ts/libvmm), seL4 Microkit's VMM: src/virtio/block.c LOG_BLOCK_ERR
  printf("VIRTIO(BLOCK)|ERROR: "), LOG_BLOCK_WARN printf("VIRTIO(BLOCK)|WARN: ") (net.c
  "VIRTIO(NET)|ERROR: " and "|WARNING: "), the debug LOG_BLOCK "VIRTIO(BLOCK): ". A held-out
  run's "Data region is full" / "out of resource for request at sector ..." warnings were
  read as nothing (exit 0, no device).
* DPDK lib/vhost/vhost_user.c translate_ring_addresses() logs at WARNING "last_used_idx (%u)
  and vq->used->idx (%u) mismatches; some packets maybe resent for Tx and dropped for Rx"
  and takes the ring's index: it serves on. DPDK prints no level, and the word "mismatches"
  made it a device error. SPDK's own copy of rte_vhost (lib/vhost/rte_vhost/vhost_user.c,
  SPDK 17.x-18.x) prints "%s: read message %s" with the socket's path: it named no device.
* QEMU's command line as libvirt and CI scripts print it, one option a line: "-global
  virtio-mmio.force-legacy=false \\" and "-trace virtio_mmio*" lines were "virtio lines no
  grammar read" (VD020, a warning that the log's format is not read).
* libvirt src/util/virnetdevtap.c virNetDevTapCreate() "Unable to create tap device %s" (the
  virtio NIC's back-end not made), here inside KubeVirt's virt-launcher JSON, whose logger
  (pkg/log/log.go Reason(err)) puts the error in "reason" and only "Received a live
  migration error ..." in "msg": a held-out migration failure was read as nothing (exit 0).
* FreeBSD's loader (stand/common/load_elf_obj.c obj_loadfile(): printf("%s ", filename),
  then "size 0x%lx at 0x%lx"; stand/libsa/twiddle.c's "|/-\\" spinner around it when the
  capture dropped its backspaces): a held-out Junos boot loading virtio*.ko gave VD020.
Lines written from those format strings, with made-up values."""

import format_tables


def _run(text, dialects):
    return format_tables.analyse_text("host.log", text, dialects)


def test_libvmm_block_warnings_warn_on_a_block_device(dialects):
    result = _run("VIRTIO(BLOCK)|WARN: Data region is full\n"
                  "VIRTIO(BLOCK)|WARN: out of resource for request at sector 512, body bytes "
                  "4096, sddf count 1\n" * 2, dialects)
    assert format_tables.errors(result) == []
    warnings = [f for f in result.findings if f.severity == "warning"]
    assert warnings and all(f.rule == "VD006" and "block device" in f.message
                            for f in warnings)
    assert result.model.unrecognised == 0


def test_a_libvmm_device_error_is_an_error_of_its_type(dialects):
    result = _run("VIRTIO(NET)|ERROR: driver sets DriverFeaturesSel to 0x3, which doesn't make "
                  "sense\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "net device" in finding.message


def test_libvmm_debug_lines_are_no_finding(dialects):
    result = _run("VIRTIO(CONSOLE): operation: 0x4\nVMM|VIRTIO(MMIO): set status flag 0x8.\n",
                  dialects)
    assert [f for f in result.findings if f.severity in ("error", "warning")] == []
    assert result.model.unrecognised == 0


def test_dpdk_ring_index_resync_is_a_warning_not_the_device_failing(dialects):
    result = _run("VHOST_CONFIG: (/run/vhost/blk0.sock) new device, handle is 0\n"
                  "VHOST_CONFIG: (/run/vhost/blk0.sock) last_used_idx (0) and vq->used->idx "
                  "(61440) mismatches; some packets maybe resent for Tx and dropped for Rx\n"
                  "VHOST_CONFIG: (/run/vhost/blk0.sock) virtio is now ready for processing.\n",
                  dialects)
    assert format_tables.errors(result) == []
    (warning,) = [f for f in result.findings if f.severity == "warning"]
    assert warning.rule == "VD006" and warning.line == 2


def test_spdk_rte_vhost_copy_names_the_device_by_its_socket(dialects):
    result = _run("VHOST_CONFIG: /var/run/spdk/vhost.3: read message VHOST_USER_SET_VRING_NUM\n"
                  "VHOST_CONFIG: /var/run/spdk/vhost.3: read message VHOST_USER_SET_VRING_KICK\n",
                  dialects)
    assert [d.id for d in result.model.live_devices()] == ["/var/run/spdk/vhost.3"]


def test_global_and_trace_lines_of_a_qemu_command_are_read(dialects):
    result = _run("qemu-system-riscv64 -kernel kernel.bin \\\n"
                  "    -machine virt \\\n"
                  "    -device virtio-blk-device,serial=deadbeef,drive=disk0 \\\n"
                  "    -global virtio-mmio.force-legacy=false \\\n"
                  "    -drive id=disk0,format=raw,if=none,file=disk0.img \\\n"
                  "    -trace virtio_mmio*\n", dialects)
    assert [f.rule for f in result.findings] == []


def test_libvirt_tap_creation_failure_fails_the_net_device(dialects):
    result = _run("error: Failed to start domain 'guest1'\n"
                  "error: Unable to create tap device vnet3: Device or resource busy\n",
                  dialects)
    (finding,) = format_tables.errors(result)
    assert (finding.rule, finding.line) == ("VD006", 2)
    assert "net device" in finding.message and "tap_create" in finding.message


def test_a_kubevirt_record_s_reason_field_is_read(dialects):
    record = ('{"component":"virt-launcher","level":"error","msg":"Received a live migration '
              'error. Will check the latest migration status.","reason":"error encountered '
              'during MigrateToURI3 libvirt api call: virError(Code=38, Domain=0, Message='
              "'Unable to create tap device tap1: Invalid argument')\",\"timestamp\":"
              '"2024-02-23T06:08:28.229919Z"}\n')
    result = _run(record, dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "net device" in finding.message


def test_freebsd_loader_module_lines_are_no_device_and_no_unread_line(dialects):
    result = _run("\\|/-\\|/-\\|/boot/kernel/virtio.ko |size 0x58b8 at 0x3174000\n"
                  "\n"
                  "-\\|/-\\|//boot/kernel/virtio_pci.ko -\\size 0x7318 at 0x3182000\n"
                  "/boot/kernel/if_vtnet.ko size 0x13470 at 0x31bb000\n", dialects)
    assert result.findings == [] and result.model.live_devices() == []
    assert result.model.unrecognised == 0
