"""devices-missing: the log looks like virtio, but fewer devices came up than expected.

**What it detects.** Two things a gate must never mistake for a clean run:

* the log has lines that look like virtio (``virtio``, ``virtqueue``, ``vhost``,
  ``vsock``, BSD driver instances such as ``vtnet0``, ``vioif0``, ``vio0``, ``ld0 at
  virtio1``) but no virtio device was recognised at all, and nothing else virtio was
  understood either (a run-wide failure such as a QEMU vhost error or a crash in a virtio
  driver shows the log was read): its format is not one virtiodiag reads, and an empty
  report would look like a pass (warning);
* with ``--expect-devices N`` (configuration ``expect-devices = N``, or this rule's
  option ``expect_devices``): fewer than N
  devices came up (error). A device comes up when it reached DRIVER_OK (a status write
  or read that has it, or a device model's activation, which needs it), or, in a log
  that shows no status at all (a BSD guest, a firmware console), when a driver took it
  (an attach, bind or ready line) and the log shows no failure for it (no probe failure,
  no FAILED or DEVICE_NEEDS_RESET status); see ``model.liveness.came_up``. A device that was only
  enumerated does not count, nor a placeholder (device id 0).

**Bad**::

    vtnet0: watchdog timeout on queue 0

**Good**::

    virtio_pci0: <VirtIO PCI (modern) Network adapter> mem 0xfe000000-0xfe003fff irq 11 at device 3.0 on pci0
    vtnet0: <VirtIO Networking Adapter> on virtio_pci0

**Why it matters.** A CI gate on a log in an unknown format (a new guest OS, a VMM's own
log, a collector's envelope) would otherwise pass with an empty report and exit 0.

**How to fix.** Teach virtiodiag the format (``--grammar FILE.lark``), or check why the
devices did not come up (the other findings name the step); set ``--expect-devices`` to
the number of virtio devices the machine has.
"""

from virtiodiag.model.liveness import came_up
from virtiodiag.model.verdicts import format_unread
from virtiodiag.rules._common import synthetic_event
from virtiodiag.rules.base import Hit

CODE = "VD020"
NAME = "devices-missing"
SEVERITY = "warning"
SUMMARY = "Virtio-looking lines but no device recognised, or fewer devices up than expected"
SPEC = "3.1.1"
OPTIONS = {"expect_devices": 0}
LIVE_EVENTS: set[str] = set()


def check(ctx):
    if not ctx.final:
        return
    model = ctx.model
    devices = [d for d in ctx.devices if d.virtio_id != 0 and d.placeholder_event is None]
    first = model.unrecognised_samples[0] if model.unrecognised_samples else None
    if not devices and format_unread(model):
        where = f", first at line {first[0]}" if first else ""
        yield Hit(None, synthetic_event(model.path, first[0], first[1]) if first else None,
                  f"{model.unrecognised} line(s) look like virtio{where}, but no virtio device "
                  "was recognised: this log's format is not one virtiodiag reads, so an empty "
                  "report here does not mean the devices are fine",
                  "add a grammar for the format (--grammar FILE.lark); in a CI gate, set "
                  "--expect-devices to the number of devices the machine has",
                  key="none-recognised")
    expected = ctx.options.get("expect_devices") or 0
    if not isinstance(expected, int) or expected <= 0:
        return
    up = [d for d in devices if came_up(d)]
    if len(up) >= expected:
        return
    down = [d for d in devices if not came_up(d)]
    named = ", ".join(f"{d.id} ({d.device_type or 'virtio'})" for d in down[:6])
    more = f" and {len(down) - 6} more" if len(down) > 6 else ""
    # The evidence: a device's failure (or the line saying no driver matched it), else the
    # line that found a device that never came up, else (nothing recognised) the first
    # line that looked like virtio.
    evidence = next((d.probe_failures[0] if d.probe_failures else d.unclaimed for d in down
                     if d.probe_failures or d.unclaimed is not None), None)
    if evidence is None:
        evidence = next((d.found_event or d.first_event for d in down
                         if (d.found_event or d.first_event) is not None), None)
    if evidence is None and first is not None:
        evidence = synthetic_event(model.path, first[0], first[1])
    yield Hit(None, evidence,
              f"expected at least {expected} virtio device(s) to come up, {len(up)} did "
              f"({len(devices)} recognised"
              + (f"; not up: {named}{more}" if down else "") + ")",
              "the findings above name the step where each device stopped; if the log's "
              "format is not read (devices missing from the table), add a grammar",
              severity="error", key="expected")
