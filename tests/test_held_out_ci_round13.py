"""Formats from the thirteenth judging round, guests of Rust VMMs (2026-12-04), written
from their sources; the held-out logs that showed them are listed in docs/held-out-logs.md
(their text is not here).

* libkrun's virtio-mmio transport (src/devices/src/virtio/mmio.rs) logs through
  env_logger under the target "devices::virtio::mmio[{device_name()}]": the bracket names
  the device ("console", "fs", "block", "virtio_rng", "net_windows" ...). Its
  InterruptTransport reaches the device only in activate(), which set_device_status()
  calls on the driver's DRIVER_OK write, so "interrupt: signal_used_queue" is an activated
  device's line. A muvm debug run of nothing but those lines read as no device at all.
* cloud-hypervisor's own command line (src/main.rs's clap options, vmm/src/config.rs's
  *Config::SYNTAX), which its bug template asks for and launchers log: --disk, --net, --fs
  and --pmem take one or more values, one device each, --vsock, --rng, --balloon and
  --console one (--rng alone its default source, --console off none). Printed one option a
  line, as a quoted argv or as Rust's Command Debug, it declared nothing: the report of a
  guest cut off early had no device at all.
Lines written from those format strings, with made-up values."""

from pathlib import Path

import format_tables
from conftest import invoke_cli

LIBKRUN = "tests/fixtures/guests_round13/libkrun-mmio-debug.log"


def _run(text, dialects):
    return format_tables.analyse_text("vmm.log", text, dialects)


def _devices(result):
    return sorted((d.device_type, d.transport, d.reached_driver_ok)
                  for d in result.model.live_devices())


def test_libkrun_mmio_targets_name_their_devices_and_activation(dialects):
    result = _run(Path(LIBKRUN).read_text(), dialects)
    assert _devices(result) == [("block", "mmio", True), ("console", "mmio", True),
                                ("fs", "mmio", True)]
    assert result.findings == [] and result.model.unrecognised == 0


def test_a_device_only_given_its_irq_line_is_found_not_driven(dialects):
    result = _run("[2026-03-11T09:14:02Z DEBUG devices::virtio::mmio[virtio_rng]] "
                  "set_irq_line: 36\n", dialects)
    assert _devices(result) == [("rng", "mmio", False)]


def test_a_failed_signal_is_that_devices_error(dialects):
    result = _run("[2026-03-11T09:14:03Z DEBUG devices::virtio::mmio[net]] interrupt: "
                  "signal_used_queue\n"
                  "[2026-03-11T09:14:04Z WARN  devices::virtio::mmio[net]] Failed to signal "
                  "used queue: Os { code: 9, kind: Uncategorized, message: \"Bad file "
                  "descriptor\" }\n", dialects)
    assert _devices(result) == [("net", "mmio", True)]
    assert result.findings and {f.device for f in result.findings} == {"virtio-net"}


def test_the_libkrun_debug_log_exits_0_with_its_three_devices():
    proc = invoke_cli("analyze", LIBKRUN)
    assert proc.returncode == 0 and "3 devices, 3 reached DRIVER_OK" in proc.stdout


# cloud-hypervisor's command line (src/main.rs's clap options, vmm/src/config.rs SYNTAX)
CH_COMMAND = "tests/fixtures/guests_round13/ch-command-bug-template.log"


def _declared(result):
    return sorted((d.device_type, d.id) for d in result.model.live_devices())


def test_a_ch_command_one_option_a_line_declares_each_device(dialects):
    result = _run(Path(CH_COMMAND).read_text(), dialects)
    assert _declared(result) == [("block", "disk"), ("block", "disk@6"), ("fs", "shared0"),
                                 ("net", "net"), ("rng", "rng")]
    assert result.findings == []


def test_a_quoted_argv_gives_each_disk_value_its_device(dialects):
    result = _run('"target/release/cloud-hypervisor" "--cpus" "boot=1" "--kernel" "Image" '
                  '"--disk" "path=os.img" "path=seed.img,readonly=on" '
                  '"--vsock" "cid=3,socket=v.sock,id=vsock0"\n', dialects)
    assert _declared(result) == [("block", "disk"), ("block", "disk@1"),
                                 ("vsock", "vsock0")]


def test_options_without_the_program_before_them_declare_nothing(dialects):
    result = _run("virt-install --name g1 --memory 2048 \\\n"
                  "  --disk path=/var/lib/libvirt/images/g1.qcow2,size=20 \\\n"
                  "  --rng /dev/urandom\n", dialects)
    assert result.model.live_devices() == []


def test_the_ch_command_log_exits_0_with_its_declared_devices():
    proc = invoke_cli("analyze", CH_COMMAND)
    assert proc.returncode == 0 and "5 devices" in proc.stdout
