"""Host-side formats of the tenth judging round (2026-12-04), written from the projects'
sources with made-up values:

* QEMU vl.c QEMU_OPTION_virtfs: -virtfs makes an -fsdev and a "virtio-9p-pci" -device,
  and QEMU locates their errors at the -virtfs option. A held-out lima log of a QEMU built
  without 9p ("-virtfs ...: 'virtio-9p-pci' is not a valid device model name") exited 0.
* QEMU net/tap.c net_init_tap_one(): "tap: open vhost char device failed" (an error in
  1.x-2.x and 8.0+, a warn_report in 7.0-7.2 after which net_client_init1() asserts),
  without a program name when a monitor command (a management layer's netdev_add) caused
  it. A held-out LXD log of it exited 0 (VD020).
* libvirt src/qemu/qemu_validate.c: VIR_ERR_CONFIG_UNSUPPORTED "vsock device is not
  supported with this QEMU binary" and "%s is not supported by this QEMU binary" of the
  virtio input models. A held-out crc log exited 0 (VD020).
* Kata Containers virtcontainers (network.go, tap_endpoint.go): "Could not setup vhost fds
  %s : %s" with os.OpenFile's "open /dev/vhost-net: ..."; podman prints it after "Error: ",
  which the QEMU monitor's dialect took for hmp_handle_error()'s. A held-out log exited 0.
* libvirt src/qemu/qemu_alias.c qemuDomainGetVhostUserChrAlias() "chr-vu-%s" (the chardev of
  a vhost-user device, virtio-fs "fs<N>" or a vhost-user disk) in QEMU's -chardev error or
  qmp_chardev_add()'s "Failed to add chardev '%s': ". A held-out hot-plug of a virtio-fs
  device whose virtiofsd socket QEMU could not reach exited 0 (VD020)."""

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


def test_libvirt_without_the_device_in_its_qemu_is_a_probe_failure_of_that_type(dialects):
    result = _run("error: Failed to start domain 'vm2'\nerror: unsupported configuration: vsock "
                  "device is not supported with this QEMU binary\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD015" and "vsock device" in finding.message
    assert "built without it" in finding.message
    relayed = _run("Failed to create the VM: virError(Code=67, Domain=10, Message='unsupported "
                   "configuration: virtio-keyboard is not supported by this QEMU binary')\n",
                   dialects)
    (finding,) = format_tables.errors(relayed)
    assert finding.rule == "VD015" and "input device" in finding.message


def test_another_unsupported_configuration_names_no_virtio_device(dialects):
    result = _run("error: unsupported configuration: IOMMU device: 'intel' is not supported with "
                  "this QEMU binary\n", dialects)
    assert format_tables.errors(result) == []


def test_katas_vhost_fds_error_is_that_nics_back_end(dialects):
    for line in ("Error: Could not setup vhost fds eth1 : open /dev/vhost-net: permission denied: "
                 "OCI runtime permission denied error\n",
                 'time="2025-01-02T03:04:05Z" level=error msg="Could not setup vhost fds eth1 : '
                 'open /dev/vhost-net: no such device"\n'):
        result = _run(line, dialects)
        (finding,) = format_tables.errors(result)
        assert finding.rule == "VD006" and finding.device == "eth1", line
        assert [d.device_type for d in result.model.devices] == ["net"], line


def test_the_monitors_error_answer_is_still_read_after_a_device_add(dialects):
    result = _run("(qemu) device_add virtio-net-pci,id=net7,bus=pcie.0\n"
                  "Error: Bus 'pcie.0' does not support hotplugging\n", dialects)
    (finding,) = format_tables.errors(result)
    assert "virtio-net-pci" in finding.message


def test_libvirts_vhost_user_chardev_names_its_device(dialects):
    result = _run("qemu-kvm: -chardev socket,id=chr-vu-fs1,path=/run/libvirt/qemu/vm3-fs1.sock: "
                  "Failed to connect to '/run/libvirt/qemu/vm3-fs1.sock': No such file or "
                  "directory\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.device == "fs1"
    assert [d.device_type for d in result.model.devices] == ["fs"]
    hotplug = _run("error: internal error: unable to execute QEMU command 'chardev-add': Failed "
                   "to add chardev 'chr-vu-virtio-disk3': Failed to connect to '/run/blk3.sock': "
                   "Connection refused\n", dialects)
    (finding,) = format_tables.errors(hotplug)
    assert finding.device == "virtio-disk3"
    assert [d.device_type for d in hotplug.model.devices] == ["block"]


def test_another_chardevs_error_names_no_device(dialects):
    result = _run("qemu-kvm: -chardev socket,id=chrtpm,path=/run/swtpm.sock: Failed to connect "
                  "to '/run/swtpm.sock': Permission denied\n", dialects)
    assert [d.name for d in result.model.devices] == []


def test_a_chardev_qemu_could_not_open_is_the_vhost_user_device_that_uses_it(dialects):
    """system/vl.c opens every -chardev before any device; a client socket whose server
    (virtiofsd, a vhost-user target) is not listening makes QEMU exit: the declared device
    whose chardev= is that id never existed."""
    result = _run("+ qemu-system-x86_64 -m 1G -chardev socket,id=vfs1,path=/run/vfs1.sock "
                  "-device vhost-user-fs-pci,chardev=vfs1,tag=data,id=fs4\n"
                  "qemu-system-x86_64: -chardev socket,id=vfs1,path=/run/vfs1.sock: Failed to "
                  "connect to '/run/vfs1.sock': No such file or directory\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "id fs4" in finding.message
    assert "vhost-user-fs-pci" in finding.message


def test_a_chardev_no_virtio_device_uses_is_no_finding(dialects):
    result = _run("+ qemu-system-x86_64 -chardev socket,id=mon1,path=/run/mon.sock "
                  "-mon chardev=mon1 -device virtio-net-pci,id=n1\n"
                  "qemu-system-x86_64: -chardev socket,id=mon1,path=/run/mon.sock: Failed to "
                  "connect to '/run/mon.sock': Connection refused\n", dialects)
    assert format_tables.errors(result) == []
