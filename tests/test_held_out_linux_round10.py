"""Formats from the tenth Linux-guest judge (2026-12-04), written from their sources; the
held-out logs that showed them are listed in docs/held-out-logs.md (their text is not here).

* arch/arm/kernel/traps.c dump_backtrace_entry(): a 32-bit arm kernel's call trace is one
  line a frame, the function and the caller it returns to: printk("%s %ps from %pS\\n")
  since 5.16, printk("%s[<%08lx>] (%ps) from [<%08lx>] (%pS)\\n") with
  CONFIG_BACKTRACE_VERBOSE and before 5.16 (%pS for both in 3.x). A held-out arm guest's
  Oops under virtio_blk's request path was read without a frame: exit 0.
* lib/scatterlist.c, lib/sg_pool.c and mm/mempool.c build the table of a request a driver
  hands the device (virtio_blk's virtblk_map_data() calls sg_alloc_table_chained()): a
  fault there, every frame down to the driver's a helper's, is in the driver's request, as
  a fault in the DMA layer under a driver's frame already was.
Lines written from those format strings, with made-up values."""

import format_tables


def _run(text, dialects):
    return format_tables.analyse_text("guest.log", text, dialects)


# An arm guest whose request path faulted in the mempool under the scatterlist helpers,
# in the 5.16+ frame shape: "where from caller+off/size".
ARM_REQUEST_OOPS = (
    "[    2.104512] virtio_blk virtio2: [vda] 1048576 512-byte logical blocks (537 MB/512 MiB)\n"
    "[    2.118302] 8<--- cut here ---\n"
    "[    2.118910] Unable to handle kernel NULL pointer dereference at virtual address 00000014\n"
    "[    2.119622] Internal error: Oops: 17 [#1] SMP ARM\n"
    "[    2.120015] CPU: 0 PID: 61 Comm: kworker/0:1H Not tainted 6.1.12 #3\n"
    "[    2.120433] Workqueue: kblockd blk_mq_run_work_fn\n"
    "[    2.120801] PC is at mempool_alloc+0x44/0x1c8\n"
    "[    2.121133] LR is at __sg_alloc_table+0x7c/0x150\n"
    "[    2.123950]  mempool_alloc from __sg_alloc_table+0x7c/0x150\n"
    "[    2.124377]  __sg_alloc_table from sg_alloc_table_chained+0x64/0xb8\n"
    "[    2.124802]  sg_alloc_table_chained from virtblk_prep_rq+0x1e8/0x33c\n"
    "[    2.125230]  virtblk_prep_rq from virtio_queue_rq+0x4c/0x2f0\n"
    "[    2.125655]  virtio_queue_rq from blk_mq_dispatch_rq_list+0x3f4/0xa60\n"
    "[    2.126081]  blk_mq_dispatch_rq_list from __blk_mq_sched_dispatch_requests+0xe4/0x150\n"
    "[    2.126510]  process_one_work from worker_thread+0x2c8/0x5b0\n"
    "[    2.126932] ---[ end trace 0000000000000000 ]---\n")


def test_arm_frames_put_a_scatterlist_fault_in_the_block_drivers_request(dialects):
    """5.16+ shape: the frames are read (the function before " from "), and the fault in
    mempool_alloc, reached only through the scatterlist helpers from virtblk_prep_rq, is
    the block driver's crash: an error (it was unread: exit 0)."""
    result = _run(ARM_REQUEST_OOPS, dialects)
    (crash,) = [f for f in result.findings if f.rule == "VD021"]
    assert crash.severity == "error"
    assert "scatterlist helpers (mempool_alloc)" in crash.message
    assert "virtblk_prep_rq" in crash.message and "block driver" in crash.message
    assert "seg_max" in crash.hint
    assert result.model.unrecognised == 0


def test_arm_verbose_frames_of_a_probe_make_the_probed_devices_crash(dialects):
    """The verbose shape (and every kernel before 5.16): "[<addr>] (f [m]) from [<addr>]
    (g+0x..)". The fault is in a library function, but the trace runs through
    virtnet_probe: the net device being probed crashed there."""
    result = _run(
        "[    1.402210] pci 0000:00:01.0: [1af4:1000] type 00 class 0x020000\n"
        "[    1.530114] Unable to handle kernel NULL pointer dereference at virtual address 00000000\n"
        "[    1.530702] Internal error: Oops: 817 [#1] SMP ARM\n"
        "[    1.531101] PC is at __memzero+0x24/0x80\n"
        "[    1.531377] LR is at 0x0\n"
        "[    1.533010] [<c03a1f24>] (__memzero) from [<bf00a1c8>] (init_vqs+0x9c/0x2f0 [virtio_net])\n"
        "[    1.533602] [<bf00a1c8>] (init_vqs [virtio_net]) from [<bf00b3d0>] (virtnet_probe+0x2d4/0x6a8 [virtio_net])\n"
        "[    1.534190] [<bf00b3d0>] (virtnet_probe [virtio_net]) from [<c04a1b10>] (virtio_dev_probe+0x1a0/0x23c)\n"
        "[    1.534777] [<c04a1b10>] (virtio_dev_probe) from [<c04f2e6c>] (really_probe+0x1f0/0x3a4)\n"
        "[    1.535361] ---[ end trace 5e1a7c3d0b2f9a41 ]---\n", dialects)
    (device,) = result.model.live_devices()
    (crash,) = [f for f in result.findings if f.rule == "VD021"]
    assert crash.severity == "error" and "while its driver probed" in crash.message
    assert "init_vqs [virtio_net]" in crash.message and crash.device == device.id


def test_3x_frames_with_offsets_on_both_sides_are_read(dialects):
    """3.x printed %pS for the function too: "(f+0x../0x.. [m]) from ..."."""
    line = ("[<bf01a2c4>] (virtblk_probe+0x1c/0x2a0 [virtio_blk]) from [<c04a1b10>] "
            "(virtio_dev_probe+0x1a0/0x23c [virtio])")
    format_tables.assert_read_as(dialects, "linux-oops", "trace_frame", line)


def test_a_scatterlist_fault_reached_through_other_code_is_not_the_drivers(dialects):
    """The chain from the fault down to the virtio frame must be the helpers' alone: here a
    network protocol's function built the table on a packet virtnet_poll had received, so
    the fault is that code's, not virtio_net's (a guard: "any virtio frame below" would
    blame the driver)."""
    result = _run(
        "[    3.200100] Unable to handle kernel NULL pointer dereference at virtual address 00000014\n"
        "[    3.200501] Internal error: Oops: 17 [#1] SMP ARM\n"
        "[    3.200902] PC is at mempool_alloc+0x44/0x1c8\n"
        "[    3.201803]  mempool_alloc from __sg_alloc_table+0x7c/0x150\n"
        "[    3.202204]  __sg_alloc_table from esp_input+0x1a8/0x3c0\n"
        "[    3.202605]  esp_input from xfrm_input+0x4f0/0xd20\n"
        "[    3.203006]  xfrm_input from netif_receive_skb+0x6c/0x110\n"
        "[    3.203407]  netif_receive_skb from virtnet_poll+0x2a4/0x5d0\n"
        "[    3.203808]  virtnet_poll from __napi_poll+0x34/0x1c0\n"
        "[    3.204209] ---[ end trace 0000000000000000 ]---\n", dialects)
    assert [f for f in result.findings if f.rule == "VD021"] == []
    assert result.model.unrecognised == 0


def test_a_second_disks_errors_make_a_device_of_their_own(dialects):
    """block/blk-core.c's "end_request: I/O error, dev %s, sector %llu" (3.x; "blk_update_request:
    I/O error, dev ..." and "I/O error, dev ..." later) of two disks: virtio_blk names each
    disk once ("vd" and its index), so vdc's errors are not vdb's device's; they were left
    to no device ("the device of disk vdc")."""
    result = _run("[  812.100201] end_request: I/O error, dev vdb, sector 20480\n"
                  "[  812.100877] end_request: I/O error, dev vdb, sector 20488\n"
                  "[  812.204410] end_request: I/O error, dev vdc, sector 1024\n"
                  "[  812.204993] Buffer I/O error on device vdc1, logical block 64\n",
                  dialects)
    devices = result.model.live_devices()
    assert sorted(d.disk for d in devices) == ["vdb", "vdc"]
    assert {f.device for f in result.findings if f.rule == "VD006"} == {d.id for d in devices}


def test_a_root_panics_disk_number_names_the_listed_virtio_disk(dialects):
    """init/do_mounts.c: "No filesystem could mount root, tried: ..." names no disk, the
    panic after it names its number ("VFS: Unable to mount root fs on unknown-block(%u,%u)")
    and block/genhd.c printk_all_partitions() printed the same number in hex just before
    ("fd00 ... vda driver: virtio_blk"). The disk answered: the finding names it and says
    the file system is what failed (it said no virtio block device had the disk)."""
    result = _run("[    0.912001] List of all partitions:\n"
                  "[    0.912210] fd00         2097152 vda  driver: virtio_blk\n"
                  "[    0.912422] No filesystem could mount root, tried: \n"
                  "[    0.912630]  squashfs\n"
                  "[    0.912841] \n"
                  "[    0.913050] Kernel panic - not syncing: VFS: Unable to mount root fs "
                  "on unknown-block(253,0)\n", dialects)
    (device,) = result.model.live_devices()
    (root,) = [f for f in result.findings if f.rule == "VD024"]
    assert root.device == device.id and root.severity == "error"
    assert "read its root disk vda (this virtio block device)" in root.message
    assert "no virtio block device" not in root.message
    assert "rootfstype=" in root.hint


def test_a_journal_thread_blocked_on_a_virtio_disk_is_its_stalled_io(dialects):
    """kernel/hung_task.c "INFO: task %s:%d blocked for more than %ld seconds." of fs/jbd2's
    "jbd2/%s" thread (j_devname "%pg-%lu": jbd2/vdc1-8), with no virtio frame in its
    stack: the journal waits for I/O the virtio disk vdc did not complete. That disk's
    device error; it was no finding at all (exit 0)."""
    result = _run("[ 1451.220113] INFO: task jbd2/vdc1-8:517 blocked for more than 120 seconds.\n"
                  "[ 1451.220402]       Not tainted 5.10.0-21-amd64 #1 Debian 5.10.162-1\n"
                  "[ 1451.220690] \"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.\n"
                  "[ 1451.220981] task:jbd2/vdc1-8     state:D stack:    0 pid:  517 ppid:     2 flags:0x00004000\n"
                  "[ 1451.221270] Call Trace:\n"
                  "[ 1451.221402]  __schedule+0x282/0x870\n"
                  "[ 1451.221555]  schedule+0x46/0xb0\n"
                  "[ 1451.221699]  io_schedule+0x42/0x70\n"
                  "[ 1451.221840]  bit_wait_io+0xd/0x50\n"
                  "[ 1451.221981]  jbd2_journal_commit_transaction+0x9a3/0x1ad0 [jbd2]\n"
                  "[ 1451.222270]  kjournald2+0xab/0x270 [jbd2]\n"
                  "[ 1451.222410]  kthread+0x11b/0x140\n", dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "block" and device.disk == "vdc"
    (stall,) = [f for f in result.findings if f.rule == "VD006"]
    assert stall.device == device.id and stall.severity == "error"
    assert "[hung]" in stall.message and "hung-task timeout" in stall.hint
    assert [f for f in result.findings if f.rule == "VD021"] == []


def test_a_hung_task_of_no_virtio_disk_stays_quiet(dialects):
    """The same report of a SCSI disk's journal (jbd2/sda3-8) or of a worker names no virtio
    disk: no device, no finding."""
    for task in ("jbd2/sda3-8", "kworker/u8:2"):
        result = _run(f"INFO: task {task}:390 blocked for more than 120 seconds.\n"
                      "Call Trace:\n __schedule+0x239/0x6f0\n schedule+0x32/0x80\n", dialects)
        assert result.model.live_devices() == [] and result.findings == []


def test_the_task_naming_line_heads_a_report_after_one_that_names_none(dialects):
    """A paste that starts with the report's title (no task: "INFO: task $NAME:$PID ...")
    before the report itself: the line that names the task is the head."""
    result = _run("INFO: task $NAME:$PID blocked for more than 120 seconds\n"
                  "INFO: task xfsaild/vdb1:833 blocked for more than 120 seconds.\n"
                  "Call Trace:\n __schedule+0x239/0x6f0\n schedule+0x32/0x80\n", dialects)
    (device,) = result.model.live_devices()
    assert device.disk == "vdb"
    assert [f.rule for f in result.findings] == ["VD006"]


def test_an_fbdev_emulation_failure_is_a_warning_on_a_driven_gpu(dialects):
    """drivers/gpu/drm/drm_fb_helper.c drm_fbdev_client_hotplug(): drm_err(dev, "fbdev:
    Failed to setup generic emulation (ret=%d)"), after the driver registered its DRM device
    (past virtio_gpu's virtio_device_ready()): the GPU was driven, its console emulation
    failed. It was an error of a device not shown driven."""
    result = _run("[   14.120331] virtio_gpu virtio1: [drm] *ERROR* fbdev: Failed to setup "
                  "generic emulation (ret=-12)\n", dialects)
    (device,) = result.model.live_devices()
    assert device.device_type == "gpu" and device.driver_ok_implied is not None
    (finding,) = result.findings
    assert (finding.rule, finding.severity) == ("VD006", "warning")
    assert "[fbdev]" in finding.message and "framebuffer console" in finding.hint
