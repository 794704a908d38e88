"""Formats from the eighth non-Linux-guest judge (2026-12-03), written from their sources with
values of our own (the posted logs that showed the gaps stay out of the repository):

* Rust's std default_hook from Rust 1.92 on prints the thread's OS id after its name:
  "thread '{name}' ({tid}) panicked at {location}:" (library/std/src/panicking.rs). A
  libkrun vCPU thread's panic in its virtio-mmio transport was read as no line at all.
"""

import format_tables


def _run(text, dialects):
    result = format_tables.analyse_text("guest.log", text, dialects)
    return result, [(f.rule, f.severity) for f in result.findings]


def test_a_rust_panic_line_with_the_thread_id_is_the_transport_s_failure(dialects):
    result, findings = _run("Starting VM...\n"
                            "thread 'fc_vcpu 1' (5120) panicked at "
                            "src/devices/src/virtio/mmio.rs:298:26:\n"
                            "Failed to activate device: BadActivate\n", dialects)
    assert findings == [("VD006", "error")]
    assert "virtio-mmio" in result.findings[0].message
    assert result.model.unrecognised == 0
