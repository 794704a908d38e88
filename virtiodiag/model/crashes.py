"""Kernel crash reports tied to the device whose driver was probing when it happened.

An Oops, BUG or WARNING whose call trace holds a virtio driver's function (virtnet_probe,
init_vqs [virtio_net], virtblk_probe, vp_find_vqs ...) happened in that driver; when the
trace runs through a probe (``*_probe``, ``virtio_dev_probe``, ``really_probe``) the
driver was probing a device, so the crash is that device's: its probe never returned and
DRIVER_OK was never set. Which device: the one of the driver's type that has no sign of
DRIVER_OK yet, in the order the log found them; a crash no device fits stays run-wide.
A crash (or a soft lockup, hung task, RCU stall) in a virtio driver's function outside a
probe (virtnet_send_command from "ip", a driver's work item) is the driver's too: it stays
run-wide, with the frame that names the driver; it changes no device's DRIVER_OK. A fault
anywhere under a kworker whose work item is a virtio driver's ("Workqueue: events_freezable
virtio_mem_run_wq") is that driver's too: the work called the code that faulted. Where a
fault or a spinning CPU is, is its first frame (RIP/pc); a blocked task is not running
any frame: the whole stack it sleeps in is where it waits, so a hung task whose stack (or
whose kworker's work item, "Workqueue: ... virtscsi_handle_event [virtio_scsi]") holds a
virtio driver's function is stuck in that driver. Frames that come with no report open (its
first line cut from a paste) are a stack of their own: one that starts in the scheduler is a
task asleep there, and in the virtio driver's function it holds (model/headless_stacks.py).
"""

from __future__ import annotations

from virtiodiag.events import Event
from virtiodiag.model.driver_ok import DriverOk
from virtiodiag.model.crash_helpers import helper_caller
from virtiodiag.model.crash_units import queue_owner, thread_owner
from virtiodiag.model.device import Device, Model
from virtiodiag.model.records import Crash


# Module (as printed in "[module]") -> device type; the virtio core modules map to None
# (any virtio device).
MODULE_TYPES = {
    "virtio_net": "net", "virtio_blk": "block", "virtio_console": "console",
    "virtio_scsi": "scsi", "virtio_balloon": "balloon", "virtio_rng": "rng",
    "virtio_input": "input", "virtio_gpu": "gpu", "virtio-gpu": "gpu", "virtiofs": "fs",
    "9pnet_virtio": "9p", "vmw_vsock_virtio_transport": "vsock", "virtio_crypto": "crypto",
    "virtio_iommu": "iommu", "virtio_mem": "mem", "virtio_snd": "sound",
    "virtio_pmem": "pmem", "virtio": None, "virtio_ring": None, "virtio_pci": None,
    "virtio_mmio": None, "virtio_pci_modern_dev": None, "virtio_pci_legacy_dev": None,
}
# Function-name prefixes of the same drivers (built-in drivers print no module).
PREFIX_TYPES = (
    # Functions of the drivers whose names carry no driver prefix, where a built-in
    # driver's frame prints no [module] (drivers/block/virtio_blk.c's blk-mq operations,
    # drivers/net/virtio_net.c's receive and transmit paths, drivers/char/virtio_console.c's
    # port file operations, drivers/virtio/virtio_balloon.c's inflate and deflate); only
    # names no other driver of the kernel uses. Before ("virtio_", None): the core's.
    ("virtio_queue_rq", "block"), ("virtio_commit_rqs", "block"),
    ("add_recvbuf_", "net"), ("try_fill_recv", "net"), ("receive_mergeable", "net"),
    ("skb_recv_done", "net"), ("skb_xmit_done", "net"), ("free_old_xmit", "net"),
    ("port_fops_", "console"), ("wait_port_writable", "console"),
    ("control_work_handler", "console"), ("fill_balloon", "balloon"),
    ("leak_balloon", "balloon"), ("update_balloon_", "balloon"),
    ("virtnet_", "net"), ("virtio_net_", "net"), ("virtblk_", "block"),
    ("virtcons_", "console"), ("virtio_cons", "console"), ("virtscsi_", "scsi"),
    ("virtballoon_", "balloon"), ("virtio_balloon", "balloon"), ("virtrng_", "rng"),
    ("virtinput_", "input"), ("virtio_gpu_", "gpu"), ("virtio_fs_", "fs"),
    ("p9_virtio_", "9p"), ("virtio_vsock_", "vsock"), ("virtio_transport_", "vsock"),
    ("virtcrypto_", "crypto"), ("viommu_", "iommu"), ("virtio_mem_", "mem"),
    ("virtsnd_", "sound"), ("virtio_pmem", "pmem"),
    # FreeBSD's and DragonFly's drivers (sys/dev/virtio; virtio_gpu.c's vtgpu, the 9P
    # transport p9fs/virtio_p9fs.c's vt9p), in their ddb and stack(9) frames
    ("vtnet_", "net"), ("vtblk_", "block"), ("vtscsi_", "scsi"), ("vtballoon_", "balloon"),
    ("vtrnd_", "rng"), ("vtcon_", "console"), ("vtgpu_", "gpu"), ("vt9p_", "9p"),
    ("vtpci_", None), ("vtmmio_", None),
    # OSv's C++ drivers (drivers/virtio-*.cc, namespace virtio; the ring and the transports
    # are its virtio::vring and virtio::virtio_driver)
    ("virtio::net::", "net"), ("virtio::blk::", "block"), ("virtio::scsi::", "scsi"),
    ("virtio::rng::", "rng"), ("virtio::fs::", "fs"), ("virtio::", None),
    # SerenityOS's C++ drivers (Kernel/Bus/VirtIO, Kernel/Devices/GPU/VirtIO, Kernel/Net)
    ("Kernel::VirtIOGraphicsAdapter::", "gpu"), ("Kernel::Graphics::VirtIOGPU", "gpu"),
    ("Kernel::VirtIOGPU", "gpu"), ("Kernel::VirtIONetworkAdapter::", "net"),
    ("Kernel::VirtIONetAdapter::", "net"), ("Kernel::VirtIOBlockDevice::", "block"),
    ("Kernel::VirtIO::Console", "console"), ("Kernel::VirtIO::RNG", "rng"),
    ("Kernel::VirtIO::", None),
    ("virtio_", None), ("vp_", None), ("vm_", None), ("vring_", None), ("virtqueue_", None),
)

# The virtio drivers' source files (a decoded frame's "f (file:line)", a sanitizer's or
# "kernel BUG at"'s location) -> device type; "" for the core (virtio.c, virtio_ring.c,
# the PCI and MMIO transports: any device). Matched on whole path components, so an
# absolute path (decode_stacktrace.sh without a base path) reads the same.
SOURCE_TYPES = (
    ("drivers/net/virtio_net.c", "net"), ("drivers/block/virtio_blk.c", "block"),
    ("drivers/char/virtio_console.c", "console"), ("drivers/scsi/virtio_scsi.c", "scsi"),
    ("drivers/virtio/virtio_balloon.c", "balloon"), ("drivers/virtio/virtio_mem.c", "mem"),
    ("drivers/virtio/virtio_input.c", "input"), ("drivers/char/hw_random/virtio-rng.c", "rng"),
    ("drivers/gpu/drm/virtio/", "gpu"), ("fs/fuse/virtio_fs.c", "fs"),
    ("net/9p/trans_virtio.c", "9p"), ("net/vmw_vsock/virtio_transport", "vsock"),
    ("drivers/crypto/virtio/", "crypto"), ("drivers/iommu/virtio-iommu.c", "iommu"),
    ("sound/virtio/", "sound"), ("drivers/nvdimm/virtio_pmem.c", "pmem"),
    ("drivers/nvdimm/nd_virtio.c", "pmem"), ("drivers/virtio/", ""),
)


def source_type(source: object) -> str | None:
    """The device type of the virtio driver a kernel source path ("file:line") belongs to,
    "" for the virtio core's files, None for a file of no virtio driver."""
    if not isinstance(source, str):
        return None
    path = "/" + source.split(":", 1)[0]
    return next((kind for key, kind in SOURCE_TYPES if "/" + key in path), None)


FRAMES_PER_CRASH = 64


def on_crash_head(model: Model, event: Event) -> None:
    """The first line of a crash report (an oops event) starts a report; "BUG:" then
    "Oops:" (FreeBSD's "Fatal trap" then "panic:") before any function frame head one."""
    if event.payload.detail == "end":
        model.crash_ended = True
        return
    crashes = model.crashes
    if (crashes and not any(f.get("function") for f in crashes[-1][1])
            and event.payload.detail != "warning"):
        head = crashes[-1][0]
        if (event.get("task") is not None and head.payload.detail == "hung"
                and head.get("task") is None):
            # The hung-task line that names the task, after a line of the report that
            # names none (its "echo 0 > ..." hint, a paste's title): the better head.
            crashes[-1] = (event, crashes[-1][1])
        return
    frames = []
    if event.get("function"):
        frames.append(event)  # WARNING ... at FILE:LINE function+0x..
    crashes.append((event, frames))
    model.crash_ended = False


def on_crash_frame(model: Model, event: Event) -> None:
    crashes = model.crashes
    if crashes and not model.crash_ended:
        if len(crashes[-1][1]) < FRAMES_PER_CRASH:
            crashes[-1][1].append(event)
        return
    # No report open: a call trace whose first line the log does not hold (a paste or a
    # journal excerpt cut above it); its frames, while they come one after another.
    stacks = model.headless_stacks
    following = stacks and model.headless_last_seq == event.seq - 1
    model.headless_last_seq = event.seq
    if not following:
        stacks.append((event, [event]))
    elif len(stacks[-1][1]) < FRAMES_PER_CRASH:
        stacks[-1][1].append(event)


def driver_of(frame: Event) -> tuple[bool, str | None]:
    """(is a virtio driver's frame, the device type it drives or None for the core)."""
    module = frame.get("module")
    if isinstance(module, str) and module in MODULE_TYPES:
        return True, MODULE_TYPES[module]
    kind = source_type(frame.get("source"))
    if kind is not None:  # a decoded frame: its own source file says whose it is
        return True, kind or None
    function = str(frame.get("function") or frame.get("work") or "")
    for prefix, kind in PREFIX_TYPES:
        if function.startswith(prefix):
            if kind is None and module:
                return False, None  # vm_* of another module (vm_mmap ...)
            return True, kind
    return False, None


def in_probe(frames: list[Event]) -> bool:
    for frame in frames:
        function = str(frame.get("function") or "")
        if function.endswith("_probe") or function in ("really_probe", "virtio_dev_probe",
                                                        "driver_probe_device", "init_vqs"):
            return True
        if function.endswith("::initialize"):  # SerenityOS: a driver's init is its probe
            return True
    return False


def attribute_crashes(model: Model) -> None:
    for oops, frames in model.crashes:
        judged = judge_crash(model, oops, frames)
        if judged is None:
            continue
        how, device, crash = judged
        if device is None:
            model.unattributed_crashes.append(crash)
        elif how == "runner":
            if device.crash_report is None:
                device.crash_report = crash
                device.add_timeline(oops)
        elif device.crash is None:
            device.crash, device.crash_report = oops, crash
            device.add_timeline(oops)


def ended_crash(model: Model) -> Crash | None:
    """Read live: the crash report the line just read ended ("---[ end trace ]---" after an
    Oops, a BUG or a WARNING; "---[ end Kernel panic ...]---") when it is a virtio driver's
    crash of no device, judged as the end of the log will judge it: its frames are all read,
    and no later line can give it a device (a probe's crash goes to a device of the driver's
    type seen before it and still short of DRIVER_OK: later lines only take devices out).
    None for a report still open, one of no virtio driver, and one the log's devices may
    claim: a probe's crash of a device (a later boot's DRIVER_OK of that device, in a log
    of many boots, takes it out, so whose it is is known at the end), a BSD thread's or
    queue's (its unit's record may be joined with another's at the end)."""
    if not model.crash_ended or not model.crashes:
        return None
    oops, frames = model.crashes[-1]
    judged = judge_crash(model, oops, frames)
    if judged is None or judged[1] is not None:
        return None
    return judged[2]


def judge_crash(model: Model, oops: Event, frames: list[Event]
                ) -> tuple[str, Device | None, Crash] | None:
    """Whose crash one report is: ("runner", device, crash) for the device whose thread or
    queue was running, ("device", device, crash) for the device its driver was bringing up,
    (how, None, crash) for a virtio driver's crash of no device; None for a report of no
    virtio driver. Changes nothing (attribute_crashes applies it; ended_crash reads it)."""
    virtio = [(frame, kind) for frame in frames for ok, kind in [driver_of(frame)] if ok]
    owner = thread_owner(model, frames) or queue_owner(model, oops)
    if owner is not None:
        # The device's interrupt handler or taskqueue was running: its crash, outside a
        # probe; a frame of a virtio driver's function, if the trace shows one, says where.
        runner, thread = owner
        where = next((frame for frame, kind in virtio if kind), thread)
        name = thread.get("units") or thread.get("unit")
        irq = thread.get("irq")
        # (a virtqueue's assertion names the queue, no thread: None)
        return "runner", runner, Crash(oops, where, runner.device_type, False,
                                       f"irq{irq}: {name}" if irq is not None else
                                       str(name) if name else None)
    if not virtio:
        named = _driver_in_message(oops)
        if named is None and _names_virtio_source(oops):
            # A panic or abort that names a virtio driver's source file and prints no
            # trace (a unikernel's "PANIC: virtio/virtio.c:843"): that driver's.
            named = _source_type(oops)
        if named is None:
            return None
        # A panic whose reason names a virtio driver ("virtio_blk: ..."), with no call
        # trace of it: the driver's, and a device of its type still short of DRIVER_OK
        # is the one it was bringing up; else the driver's crash, run-wide.
        device = _probed_device(model, named, oops) if named else None
        return "device", device, Crash(oops, oops, named, False)
    # A frame of the driver's own function before the kworker's work item that names it.
    typed = next(((frame, kind) for frame, kind in sorted(
        virtio, key=lambda pair: pair[0].get("function") is None) if kind), None)
    frame, kind = typed if typed is not None else virtio[0]
    probing = in_probe(frames)
    if not probing:
        # Outside a probe only where it faulted counts (the RIP/pc line or the WARNING's
        # own function comes first): a virtnet_poll deep in a network stack's trace is
        # where the packet came from, not what crashed. A blocked task faulted nowhere:
        # its whole stack is where it waits.
        faulted = _faulting_frame(frames)
        if (oops.payload.detail == "hung" or (faulted is not None and driver_of(faulted)[0])
                or _names_virtio_source(oops)):
            return "run", None, Crash(oops, frame, kind, probing)
        caller = (helper_caller(frames, faulted, driver_of) if faulted is not None
                  else None)
        if caller is not None and faulted is not None:
            # A helper faulted on a buffer a virtio driver handed it (swiotlb_bounce
            # copying what vring_map_one_sg mapped, sg_alloc_table_chained building
            # virtblk_prep_rq's table): the driver's buffer, its crash.
            frame, kind, layer = caller
            return "run", None, Crash(oops, frame, kind, False,
                                      helper=str(faulted.get("function")), helper_layer=layer)
        work = _virtio_work_item(frames)
        if work is not None:
            # The kworker was running a virtio driver's work item: whatever it called
            # into faulted on that driver's behalf (virtio_mem_run_wq adding memory).
            return "run", None, Crash(oops, work, driver_of(work)[1], False)
        return None
    return "device", _probed_device(model, kind, oops), Crash(oops, frame, kind, probing)


# FreeBSD's panic path (kern_shutdown.c, kern_kassert): in ddb's trace, the frame after
# the last of them called panic().
_PANIC_PATH = frozenset({"panic", "vpanic", "kassert_panic",
                         # SerenityOS (Kernel/Library/Panic.cpp, AK's VERIFY)
                         "Kernel::__panic", "abort", "abort.localalias"})


def _virtio_work_item(frames: list[Event]) -> Event | None:
    """The report's "Workqueue: <queue> <function>" line (kernel/workqueue.c
    print_worker_info(), printed with every Oops, BUG or WARNING of a kworker) when the work
    function is a virtio driver's: the crash happened inside that driver's work item."""
    return next((frame for frame in frames
                 if frame.get("work") and not frame.get("function") and driver_of(frame)[0]),
                None)


# FreeBSD's trap entry, the frame stack(9) prints where ddb prints "--- trap ...": the
# frame after it is the code that trapped (amd64 and i386 exception.s calltrap, arm64
# exception.S handle_el1h_sync, riscv exception.S cpu_exception_handler_supervisor).
_TRAP_ENTRY = frozenset({"calltrap", "handle_el1h_sync", "cpu_exception_handler_supervisor"})


def _faulting_frame(frames: list[Event]) -> Event | None:
    """The first frame of the code that faulted: Linux prints it first (RIP/pc); ddb
    prints the trap or panic machinery first, then "--- trap 0xc, ..." or panic()'s
    caller."""
    after = frames
    for index, frame in enumerate(frames):
        if (frame.get("trap") is not None or frame.get("function") in _PANIC_PATH
                or frame.get("function") in _TRAP_ENTRY):
            after = frames[index + 1:]
    return next((frame for frame in after if frame.get("function")), None)


def _driver_in_message(oops: Event) -> str | None:
    """The device type of the virtio driver a panic's reason starts with, as a driver's
    panic("%s: ...", KBUILD_MODNAME) or pr_fmt names it ("virtio_blk: ..."); "" for the
    virtio core's; None when it names none."""
    message = oops.get("message")
    if oops.payload.detail != "panic" or not isinstance(message, str):
        return None
    module = message.split(":", 1)[0].strip()
    if module not in MODULE_TYPES or ":" not in message:
        return None
    return MODULE_TYPES[module] or ""


def _names_virtio_source(oops: Event) -> bool:
    """'kernel BUG at drivers/net/virtio_net.c:1664!' names the driver's own source file; so
    does a unikernel's abort at a file of its virtio driver ('virtio/virtio_net.c:201',
    'bindings/virtio/virtio_blk.c:98'): a directory named virtio or a file virtio*."""
    source = oops.get("source")
    if not isinstance(source, str):
        return False
    if source_type(source) is not None:
        return True
    if source.startswith("drivers/"):
        return "virtio" in source
    path = source.split(":", 1)[0].split("/")
    return "virtio" in path[:-1] or path[-1].startswith("virtio")


# A unikernel's driver directory of one device type, above its virtio directory or file
# (Hermit's src/drivers/net/virtio/mod.rs, src/drivers/fs/virtio_fs.rs).
_TYPE_DIRECTORIES = {"net": "net", "fs": "fs", "block": "block", "blk": "block",
                     "console": "console", "vsock": "vsock", "scsi": "scsi", "gpu": "gpu",
                     "rng": "rng", "entropy": "rng", "balloon": "balloon"}


def _source_type(oops: Event) -> str:
    """The device type of the driver a virtio source file is ('virtio_net.c': net,
    'net/virtio/mod.rs': net), "" for the transport or the rings (any device)."""
    kind = source_type(oops.get("source"))
    if kind is not None:
        return kind
    path = str(oops.get("source")).split(":", 1)[0].split("/")
    name = path[-1].split(".", 1)[0]
    if name in MODULE_TYPES:
        return MODULE_TYPES[name] or ""
    for index, part in enumerate(path[1:], 1):
        if part == "virtio" or part.startswith("virtio_"):
            return _TYPE_DIRECTORIES.get(path[index - 1], "")
    return ""


def _probed_device(model: Model, kind: str | None, oops: Event) -> Device | None:
    candidates = [d for d in model.live_devices()
                  if d.virtio_id != 0 and d.first_event is not None
                  and d.first_event.seq < oops.seq
                  and (kind is None or d.device_type == kind)
                  and d.driver_ok.state not in (DriverOk.REACHED, DriverOk.IMPLIED)]
    if kind is None and len(candidates) > 1:
        # The core's frames alone: the device the log touched last before the crash.
        candidates.sort(key=lambda d: max(e.seq for e in d.timeline if e.seq < oops.seq))
        return candidates[-1]
    return candidates[0] if candidates else None
