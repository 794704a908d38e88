"""FreeBSD's WITNESS lock order reversals (sys/kern/subr_witness.c witness_checkorder():
witness_output("lock order reversal:\\n"), " 1st %p %s (%s) @ %s:%d\\n", " 2nd ...",
" 3rd ...", then witness_debugger()'s backtrace, "KDB: stack backtrace:" and ddb's frames).
A virtio driver names its locks after its device (if_vtnet.c "%s-rx%d" of
device_get_nameunit()): a reversal of such a lock is a warning of that device, no failure of
its handshake. tests/fixtures/wild/freebsd-witness-lor.log is written from those formats
(a healthy boot with a LOR in vtnet0's receive path)."""

from pathlib import Path

from conftest import run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "wild" / "freebsd-witness-lor.log"


def test_a_lor_of_a_virtio_lock_is_a_warning_of_its_device(dialects):
    import format_tables

    result = format_tables.analyse_text("boot.log", FIXTURE.read_text(), dialects)
    (lor,) = [f for f in result.findings if f.line == 13]
    assert lor.rule == "VD006" and lor.severity == "warning"
    net = next(d for d in result.model.live_devices() if d.id == lor.device)
    assert net.device_type == "net" and net.driver_ok.state.name == "IMPLIED"
    # the other lock (the network stack's) is no device's finding, the trace no crash
    assert [f.line for f in result.findings if f.severity != "info"] == [13]


def test_a_healthy_boot_with_a_lor_passes_unless_the_gate_is_warnings():
    assert run_cli("analyze", FIXTURE).returncode == 0
    assert run_cli("analyze", "--fail-on", "warning", FIXTURE).returncode == 1
