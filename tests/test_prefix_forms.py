"""The prefixes journals, dmesg's options, syslog daemons, serial-capture tools and CI
runners put before a console line (tests/fixtures/prefixes/README.md names each format
string): every fixture is the same Linux console behind one prefix form, and each gives
the report the bare console gives (expected.json), with every virtio line understood."""

import json
from pathlib import Path

import pytest

from conftest import invoke_cli
from virtiodiag.sources.framing import clean, strip_prefixes

FORMS = Path(__file__).parent / "fixtures" / "prefixes"
CASES = sorted(p.stem for p in FORMS.glob("*.log"))
BODY = "virtio_blk virtio1: [vda] 20971520 512-byte logical blocks (10.7 GB/10.0 GiB)"


def _report(path: Path) -> dict:
    proc = invoke_cli("analyze", "--format", "json", path)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", CASES)
def test_each_prefix_form_gives_the_bare_consoles_report(name):
    expected = json.loads((FORMS / "expected.json").read_text())
    report = _report(FORMS / f"{name}.log")
    got = sorted((d["type"], d["address"], d["driver_ok"]["state"], d["mode"])
                 for d in report["devices"])
    want = sorted((d["type"], d["address"], d["driver_ok"], d["mode"])
                  for d in expected["devices"])
    assert got == want
    serious = {f["rule"] for f in report["findings"] if f["severity"] in ("error", "warning")}
    assert serious == set(expected["findings"])
    assert not [f for f in report["findings"] if f["rule"] == "VD016"]


def test_there_is_a_fixture_per_form_and_nothing_else():
    assert len(CASES) >= 24 and all((FORMS / f"{c}.log").stat().st_size for c in CASES)


@pytest.mark.parametrize("prefix, time, clock", [
    ("[Wed May  1 10:00:07 2024] ", 36007.0, "wall"),                 # dmesg -T
    ("2024-05-01T10:00:07,250000+02:00 ", 36007.25, "wall"),          # dmesg --time-format iso
    ("kern  :err   : [    7.250000] ", 7.25, "boot"),                 # dmesg -x
    ("[    7.250000 <    0.000100>] ", 7.25, "boot"),                 # dmesg -d
    ("May 01 10:00:07.250000 vm1 kernel: ", 36007.25, "wall"),        # journalctl short-precise
    ("Wed 2024-05-01 10:00:07 CEST vm1 kernel: ", 36007.0, "wall"),   # short-full
    ("[    7.250000] vm1 kernel: ", 7.25, "boot"),                     # short-monotonic
    ("1714557607.250000 vm1 kernel: ", 36007.25, "wall"),              # short-unix (UTC day)
    ("2024-05-01T10:00:07.250000+02:00 vm1 kernel: [    7.25] ", 7.25, "boot"),  # rsyslog
    ("Wed May  1 10:00:07 2024 kern.info kernel: ", 36007.0, "wall"),  # busybox logread
    ("May  1 10:00:07 obsd /bsd: ", 36007.0, "wall"),                  # OpenBSD syslogd
    ("[2024-05-01T10:00:07.250Z] ", 36007.25, "wall"),                 # Jenkins timestamper
    ("[10:00:07.250] ", 36007.25, "wall"),                             # tio
    ("10:00:07 ", 36007.0, "wall"),                                    # timestamper, ts
    ("10:00:07,250 CRIT kernel:", 36007.25, "wall"),                   # Anaconda's syslog
    ("[7.250000 0.000100] [    7.250000] ", 7.25, "boot"),             # grabserial
    ("05-01 10:00:07.250     0     0 I         : ", 36007.25, "wall"),  # logcat, no tag
    ("I0501 10:00:07.250000    2163 vm_console.go:96] SB[vm-1] [CNL] ", 36007.25, "wall"),
])
def test_prefix_goes_and_its_time_stays(prefix, time, clock):
    text, got_time, got_clock = strip_prefixes(prefix + BODY)
    assert text == BODY and got_clock == clock and got_time == pytest.approx(time)


@pytest.mark.parametrize("line, body", [
    # dev_dbg with "+pmfl" and with "+ptmfl": the driver and device follow the prefix
    ("virtio_pci:vp_modern_probe:520: virtio-pci 0000:00:03.0: virtio_pci: leaving for legacy "
     "driver", "virtio-pci 0000:00:03.0: virtio_pci: leaving for legacy driver"),
    ("[1] virtio_blk:init_vq:1012: virtio_blk virtio1: 4/0/0 default/read/poll queues",
     "virtio_blk virtio1: 4/0/0 default/read/poll queues"),
    # a built-in file's pr_debug: the text names its subject
    ("[1] dd:really_probe:580: bus: 'virtio': really_probe: probing driver virtio_net with "
     "device virtio0", "bus: 'virtio': really_probe: probing driver virtio_net with device virtio0"),
    # a virtio module's pr_debug: its module is the only name of its source, kept
    ("virtio_ring:vring_interrupt:2460: virtqueue interrupt with no work for 00000000a1b2c3d4",
     "virtio_ring: virtqueue interrupt with no work for 00000000a1b2c3d4"),
    ("virtio_net:receive_mergeable:1301: eth0: rx error: 3 buffers out of 1 missing",
     "virtio_net: eth0: rx error: 3 buffers out of 1 missing"),
])
def test_dynamic_debug_prefix_goes(line, body):
    assert strip_prefixes(line) == (body, None, None)


def test_buildkite_time_stamp_goes_whole():
    assert clean(b"\x1b_bk;t=1714557607250\x07[    7.25] " + BODY.encode()).startswith("[ ")


@pytest.mark.parametrize("line", [
    BODY,
    "virtio_net virtio0 enp0s3: renamed from eth0",    # a driver's name is no syslog tag
    "virtio-pci 0000:00:03.0: enabling device (0000 -> 0003)",
    "00:03.0 Ethernet controller: Red Hat, Inc. Virtio network device",  # lspci
    "Solo5: PCI:00:02: virtio-net device, base=0xc000, irq=10",
    "vtnet0: <VirtIO Networking Adapter> on virtio_pci0",
    "qemu-system-x86_64: -device virtio-net-pci,netdev=n0: Property 'x' not found",
    "virtio_mmio_write: write to non-legacy register (0x44) in legacy mode",
    "virtio_mmio: unknown parameter 'device' ignored",
    "[drm:virtio_gpu_init [virtio_gpu]] *ERROR* failed to find virt queues",
    "[drm] pci: virtio-vga detected at 0000:00:02.0",                # a tag, not a driver's line
    "[anonymous-instance:main] Running Firecracker v1.7.0",          # Firecracker's own log
    "[<ffffffff813e1a2b>] virtio_dev_probe+0xeb/0x150",               # an Oops frame (3.x)
    "[fc-7:main:ERROR:src/firecracker/src/main.rs:96] RunWithoutApiError error: Failed",
])
def test_a_line_without_prefix_is_left_alone(line):
    assert strip_prefixes(line) == (line, None, None)


@pytest.mark.parametrize("line, body", [
    # logcat of the kernel buffer: logd cut the line at its first colon into tag and text
    ("05-01 10:00:07.250     0     0 I virtio-pci 0000: 00:04.0: enabling device (0000 -> 0003)",
     "virtio-pci 0000:00:04.0: enabling device (0000 -> 0003)"),
    ("05-01 10:00:07.250     0     0 E virtio_net virtio0: probe with driver virtio_net failed "
     "with error -22", "virtio_net virtio0: probe with driver virtio_net failed with error -22"),
    ("05-01 10:00:07.250     0     0 I printk  : legacy console [ttyAMA0] enabled",
     "printk: legacy console [ttyAMA0] enabled"),
    ("05-01 10:00:07.250     0     0 I ARMH0011: 00: ttyAMA0 at MMIO 0x9000000 (irq = 12)",
     "ARMH0011:00: ttyAMA0 at MMIO 0x9000000 (irq = 12)"),
    ("05-01 10:00:07.250     0     0 I         : [drm] Initialized virtio_gpu 0.1.0 0 for "
     "0000:00:04.0 on minor 0", "[drm] Initialized virtio_gpu 0.1.0 0 for 0000:00:04.0 on minor 0"),
])
def test_logcat_puts_the_kernel_line_back_together(line, body):
    assert strip_prefixes(line)[0] == body
