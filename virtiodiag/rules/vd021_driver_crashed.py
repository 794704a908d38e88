"""driver-crashed: the kernel crashed (Oops, BUG, WARNING, lockup) in a virtio driver.

**What it detects.** A kernel crash report (``BUG: kernel NULL pointer dereference``,
``Unable to handle kernel ...``, ``Oops:``, ``general protection fault``, ``kernel BUG
at``, ``WARNING: CPU: 0 PID: 1 at ...``) whose call trace holds a virtio driver's
function (``virtnet_probe``, ``init_vqs [virtio_net]``, ``virtblk_probe``,
``vp_find_vqs``, ``virtio_dev_probe`` ...) while that driver probes a device. The
finding is on the device being probed (the one of the driver's type with no sign of
DRIVER_OK yet), with the crash line as evidence and the frame that names the driver.
A crash in a probe that no device of the log fits is reported for the run, and so is one
outside any probe whose RIP/pc or trace names a virtio driver's function (``kernel BUG at
drivers/net/virtio_net.c`` with ``pc : virtnet_send_command``) or whose kworker was running a
virtio driver's work item (``Workqueue: events_freezable virtio_mem_run_wq``: the fault is in
code that work called, such as the memory hot-add path), or whose fault is in the DMA-mapping
layer (``BUG: KASAN: ... in swiotlb_bounce``, kernel/dma/) with a virtio frame below it
(``vring_map_one_sg``, a driver's function first: the buffer was that code's) or in the
scatterlist helpers (``mempool_alloc`` under ``sg_alloc_table_chained``, every frame down to
the driver's ``virtblk_prep_rq`` a helper's: the table of its request), as are the
reports of a CPU or task stuck there (``watchdog: BUG: soft lockup``, ``INFO: task ... blocked for
more than``, ``rcu: INFO: ... detected stalls``). A call trace whose report's first line is
not in the log (a paste or journal excerpt cut above it) and whose first frames are the
scheduler's (``__switch_to``, ``__schedule``, ``schedule``) is a task asleep in the virtio
driver's function it holds: a warning for the run, as why it was printed (the hung-task
detector, sysrq) is cut away with that line. Shapes of
every era: x86 ``[<ffffffff...>] f+0x../0x..`` frames (3.x), `` f+0x../0x.. [module]``
(4.15+), arm64 ``pc : f+0x..`` and riscv64 ``epc : f+0x..`` lines, arm's ``PC is at
f+0x..`` and its frames ``f from g+0x..`` (5.16+) and ``[<c0..>] (f) from [<c0..>] (g+0x..)``.

**Bad**::

    BUG: kernel NULL pointer dereference, address: 0000000000000008
    RIP: 0010:virtnet_probe+0x3a2/0x6d0 [virtio_net]
    Call Trace:
     virtio_dev_probe+0x19b/0x2a0 [virtio]

**Good**::

    virtio_net virtio0 enp0s3: renamed from eth0

**Why it matters.** The probe never returned: DRIVER_OK was never set, the device is
unusable, and a WARNING may be the only line that says why (a queue the driver could not
set up, a feature it did not expect). Everything the log shows later about the device is
a consequence.

Linux's ``Kernel panic - not syncing: %s`` is a crash report of its own: its call trace
(printed unless an Oops just printed one) places it like an Oops's, and a reason that
starts with a virtio driver's name (``virtio_blk: ...``) makes it that driver's, and the
device of its type still short of DRIVER_OK the one it was bringing up.
FreeBSD's and DragonFly's panics (``Fatal trap 12: page fault while in kernel mode``,
``panic: ...``, ddb's ``vtnet_rxq_eof() at vtnet_rxq_eof+0x3c1/frame ...``) are read too;
their ``current process = 12 (irq284: virtio_pci3)`` names the thread that was running, and
a virtio device's own interrupt thread (or its driver's taskqueue, ``vtnet0 rxq 0``) makes
the crash that device's.

**How to fix.** Read the crash's first frames: the function and the offset name the line
of the driver that faulted (``scripts/faddr2line``; ``addr2line -C`` on the image for a
C++ kernel's frame, OSv's); a unikernel's abort names the source line itself (Solo5,
Hermit). Compare what the device offered (queues, sizes, features) with what the driver
assumed at that line.
"""

from virtiodiag.model.crashes import ended_crash
from virtiodiag.rules._common import quoted
from virtiodiag.rules.base import Hit

CODE = "VD021"
NAME = "driver-crashed"
SEVERITY = "error"
SUMMARY = "A kernel Oops/BUG/WARNING/lockup in a virtio driver (in its probe or later)"
SPEC = "3.1.1"
OPTIONS: dict[str, object] = {}
# Live where that is decidable: a crash is judged with its whole report (the frame that
# names the driver may be any line of the trace), so it is shown when the line that ends
# the report is read ("---[ end trace ]---" after an Oops, a BUG or a WARNING, "---[ end
# Kernel panic ...]---"), if it is a virtio driver's crash of no device: one outside a
# probe (where it faulted, a driver's work item) or a probe's that no device seen before
# it fits (later lines only take devices out). The rest waits for the end of the stream:
# a report with no line that ends it (a soft lockup, a hung task, a panic cut before its
# end line, ddb's trace, a unikernel's abort end with whatever line comes next); a probe's
# crash of a device (it is the device of the driver's type still short of DRIVER_OK when
# the log ends: in a log of many boots a later boot's DRIVER_OK takes the device out, and
# the crash is then the run's); a BSD thread's or queue's unit (its record may be joined
# with another's at the end). model/crashes.py ended_crash.
LIVE_EVENTS = {"oops"}

_HINT = ("the frame names the function and offset that faulted (scripts/faddr2line); "
         "compare what the device offered with what the driver assumed there")
_HINT_WORK = ("the kworker was running the driver's work item and faulted in code that work "
              "called (the RIP/pc line): read the trace from the work function down to the "
              "fault for what the driver asked of the kernel there (memory it plugged, a "
              "buffer it handed on)")
_HINT_HUNG = ("a blocked task waits in the driver's path: find what it waits for (a request "
              "or command the device never completed, a queue frozen for a removal); check "
              "the device's back-end on the host (I/O thread, vhost) for the request it lost")
# What the report's first line says happened (model.records.Crash.what).
_WHAT = {"bug": "a BUG or a bad memory access", "oops": "an Oops", "warning": "a WARNING",
         "lockup": "a soft lockup", "hung": "a task blocked too long",
         "stall": "an RCU stall", "panic": "a kernel panic",
         "asleep": ("its stack starts in the scheduler; the report's first line, which "
                    "says why it was printed (a hung task, sysrq), is not in the log")}


def _work_item(crash) -> bool:
    """The driver's frame is the kworker's "Workqueue:" line, not a function of the trace."""
    return bool(crash.frame.get("work")) and not crash.frame.get("function")


def _where(crash) -> str:
    if crash.helper and crash.helper_layer == "scatterlist":
        return (f"the scatterlist helpers ({crash.helper}), building a request's "
                f"scatterlist for {crash.function}"
                + (f" [{crash.module}]" if crash.module else ""))
    if crash.helper:
        return (f"the DMA layer ({crash.helper}), mapping a buffer for {crash.function}"
                + (f" [{crash.module}]" if crash.module else ""))
    if _work_item(crash) and crash.what != "hung":
        return f"a work item of {_driver(crash)} ({crash.function})"
    if crash.function is None and crash.thread:
        return f"its own thread ({quoted(crash.thread)})"
    if crash.function is None and crash.event.get("message") is None:
        return _driver(crash)  # an abort that names only the driver's source file
    if crash.function is None:  # a panic whose reason names the driver, with no trace
        return f"{_driver(crash)} (the panic's reason: {quoted(crash.event.get('message'))})"
    return f"{crash.function}" + (f" [{crash.module}]" if crash.module else "")


_HINT_DMA = ("the DMA layer faulted on a buffer the driver's frame handed it (a mapping, a "
             "swiotlb bounce copy): check the length and address of what the driver queued "
             "there, and on a guest that bounces every buffer (swiotlb, a confidential VM) "
             "the lengths the device wrote back")


_HINT_SG = ("the scatterlist helpers (lib/scatterlist.c, lib/sg_pool.c and the mempool they "
            "allocate from) faulted building the table of a request the driver's frame was "
            "preparing: compare the request's segments with the device's seg_max and "
            "size_max, and check that those pools were set up before the driver's first "
            "request (a driver built into the kernel probes early)")


# A unikernel's abort or panic names the source line, no frame (Solo5, Hermit); a C++
# kernel's frame is a demangled symbol with a decimal offset (OSv, SerenityOS): Linux's
# scripts/faddr2line reads neither.
_HINT_SOURCE = ("the report names the source line where the driver panicked or aborted: read "
                "the driver there (the assertion or bounds check that failed) and compare what "
                "the device offered (queues, sizes, features) with what the driver assumed")
_HINT_CXX = ("the frame names the driver's method and the offset that faulted (addr2line -C "
             "on the kernel image, with the frame's address): compare what the device offered "
             "with what the driver assumed there")


def _hint(crash) -> str:
    if crash.helper and crash.helper_layer == "scatterlist":
        return _HINT_SG
    if crash.helper:
        return _HINT_DMA
    if crash.function is None and crash.source and not crash.thread:
        return _HINT_SOURCE
    if crash.function and "::" in crash.function and crash.what not in ("hung", "asleep"):
        return _HINT_CXX
    if crash.what in ("hung", "asleep"):
        return _HINT_HUNG
    return _HINT_WORK if _work_item(crash) else _HINT


def _when(crash) -> str:
    if crash.in_probe:
        return " while its driver probed this device"
    if crash.thread:
        return f" (its own thread {quoted(crash.thread)} was running)" if crash.function else ""
    return ""


def _what(crash) -> str:
    return _WHAT[crash.what] + (f" at {quoted(crash.source)}" if crash.source else "")


def _driver(crash) -> str:
    kind = crash.driver_type
    return f"the virtio {kind} driver" if kind else "the virtio core"


def _related(crash) -> list:
    label = ("the thread that was running" if crash.function is None and crash.thread
             else "the kworker's work item" if _work_item(crash) else "the driver's frame")
    return [(crash.frame, label)] if crash.frame is not crash.event else []


def check(ctx):
    if not ctx.final:
        crash = ended_crash(ctx.model)
        if crash is not None:
            # (the final pass's key counts the crashes of no device; the line matches them)
            yield _run_hit(crash, len(ctx.model.unattributed_crashes))
        return
    for device in ctx.devices:
        crash = device.crash_report
        if crash is None:
            continue
        yield _device_hit(device, crash)
    for index, crash in enumerate(ctx.model.unattributed_crashes):
        yield _run_hit(crash, index)


def _device_hit(device, crash) -> Hit:
    return Hit(device, crash.event,
               f"{device.id}: the kernel crashed in {_where(crash)}{_when(crash)}: "
               f"{_what(crash)}", _hint(crash), related=_related(crash), key="crash")


def _run_hit(crash, index: int) -> Hit:
    when = ("during a virtio driver's probe" if crash.in_probe
            else "outside a probe" if crash.function is None  # _where named the driver
            or (_work_item(crash) and crash.what != "hung")
            else f"({_driver(crash)}), outside a probe")
    if crash.what == "asleep":
        # A cut report: asleep in the driver is what its frames say, not how long nor
        # whether the hung-task detector or sysrq printed it: a warning.
        return Hit(None, crash.event,
                   f"a call trace shows a task asleep in {_where(crash)} {when}: "
                   f"{_what(crash)}", _hint(crash), related=_related(crash),
                   key=f"crash-{index}", severity="warning")
    what = "reported a CPU or task stuck in" if crash.stuck else "crashed in"
    return Hit(None, crash.event,
               f"the kernel {what} {_where(crash)} {when}: {_what(crash)}",
               _hint(crash), related=_related(crash), key=f"crash-{index}")
