"""A boot that never reached init: Linux's kernel_init() prints "Freeing unused kernel ...
memory" and "Run /init as init process" as it starts the first user program; a console
that shows the kernel starting and ends with neither, no crash and no power-off, with a
device left short of DRIVER_OK, says so, naming the last step it shows
(model/boot_stall.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import analyse_json, run_cli

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
STALL = SAMPLES / "riscv64-virt-imsic-qemu72-stall"
FIXTURE = Path(__file__).parent / "fixtures" / "linux-eras" / "linux-6.x-stall-before-init.log"


def test_a_console_that_stops_before_init_says_the_boot_never_reached_it():
    # The real stall: virtio_pci enables the three functions, the console's 8250 is
    # re-registered, and nothing more: /init never ran, no virtio driver was loaded. The
    # net and rng drivers print nothing when they succeed: the block device (00:02.0,
    # enabled at line 262) is the one the log shows left undriven.
    report = analyse_json(STALL / "console.log")
    assert report["cut_off"]["before_init"] == {
        "device": "pci-0000:00:02.0", "step": "enumerated, no device driver bound",
        "line": 262}
    headline = run_cli("analyze", "--no-color", STALL / "console.log").stdout.decode()
    assert "the boot never reached init in this log (it stalled, or the capture stopped): " \
           "last step seen pci-0000:00:02.0 enumerated, no device driver bound (line 262)" \
           in headline.splitlines()[0]


def test_a_killed_stall_names_the_kill_and_the_last_handshake_step():
    report = analyse_json(STALL / "combined.log")
    assert report["cut_off"]["how"] == "killed"
    assert report["cut_off"]["before_init"]["step"] == "status ACKNOWLEDGE"
    headline = run_cli("analyze", "--no-color", STALL / "combined.log").stdout.decode()
    assert "the boot never reached init before the emulator was killed" in headline


def test_the_same_kernel_that_reached_init_makes_no_such_claim():
    report = analyse_json(SAMPLES / "riscv64-virt-imsic-msix" / "console.log")
    assert report["cut_off"] is None
    assert report["stats"]["dialects"]["linux-console"] > 0


@pytest.mark.parametrize("added", [
    "[    5.223509] Run /init as init process\n",
    "[    1.073625] Freeing unused kernel image (initmem) memory: 2688K\n",
    "[    1.073625] Freeing unused kernel memory: 1236K (ffffffff81b2e000 - ffffffff81c63000)\n",
])
def test_a_boot_that_starts_init_is_not_a_stall(tmp_path, added):
    log = tmp_path / "console.log"
    log.write_text(FIXTURE.read_text() + added)
    report = analyse_json(log)
    assert "before_init" not in (report["cut_off"] or {})
    assert "never reached init" not in run_cli("analyze", log).stdout.decode()


def test_the_stall_fixture_names_its_last_step():
    report = analyse_json(FIXTURE)
    # the net function (00:04.0, enabled last) has a driver that prints nothing when it
    # succeeds: the block function is the one shown left undriven
    assert report["cut_off"]["before_init"] == {
        "device": "pci-0000:00:03.0", "step": "enumerated, no device driver bound", "line": 6}


@pytest.mark.parametrize("change", ["filter", "no_cmdline"])
def test_no_claim_when_the_log_cannot_show_init(tmp_path, change):
    """A log piped through grep may have dropped the init lines; a log that does not show
    the kernel starting cannot say how far it got."""
    lines = FIXTURE.read_text().splitlines(keepends=True)
    if change == "filter":
        lines.insert(0, "$ dmesg | grep -i -E 'virtio|pci'\n")
    else:
        lines = [line for line in lines if "command line" not in line.lower()]
    log = tmp_path / "console.log"
    log.write_text("".join(lines))
    assert "before_init" not in (analyse_json(log)["cut_off"] or {})
