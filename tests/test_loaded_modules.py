"""A pasted list of loaded kernel modules (lsmod, cat /proc/modules) beside a guest's console:
each line is a driver present in the kernel, never a device. Before grammars/linux_modules.lark
every virtio module's line was an unrecognised virtio line (VD016), and a log holding only the
list gave devices-missing (VD020, "a log format virtiodiag does not read").

Lines written from the printing code, with made-up values:
* kernel/module/procfs.c m_show(): "%s %u", print_unload_info()'s " %i " and "%s," per user
  (or "-"), " %s" Live/Loading/Unloading, " 0x%px", taint flags;
* kmod tools/lsmod.c _do_lsmod(): the header, then "%-19s %8ld  %d" and the holders;
* busybox modutils/lsmod.c (pretty 2.6 output): "%-19s %8s %2s %s", users without the
  trailing comma."""

import json

import format_tables
from virtiodiag.reports.model_dict import run_dict

_KMOD = ("Module                  Size  Used by\n"
         "virtio_net             65536  0\n"
         "net_failover           24576  1 virtio_net\n"
         "failover               16384  1 net_failover\n"
         "virtio_blk             28672  2\n"
         "virtio_pci             32768  0\n"
         "virtio_pci_modern_dev    20480  1 virtio_pci\n"
         "virtio_ring            45056  3 virtio_net,virtio_blk,virtio_pci\n"
         "virtio                 16384  3 virtio_net,virtio_blk,virtio_pci\n")

_PROC = ("9pnet_virtio 24576 0 - Live 0x0000000000000000\n"
         "9pnet 118784 1 9pnet_virtio, Live 0x0000000000000000\n"
         "virtio_console 40960 0 - Loading 0x0000000000000000 (E)\n"
         "virtio_mmio 20480 - - Live 0x0000000000000000\n")

_BUSYBOX = ("Module                  Size  Used by    Not tainted\n"
            "virtio_scsi            24576  0 \n"
            "virtio_ring            36864  2 virtio_scsi,virtio_mmio\n")


def _run(text, dialects):
    return format_tables.analyse_text("guest.log", text, dialects)


def test_a_module_list_alone_is_read_and_makes_no_device(dialects):
    for text, names in ((_KMOD, ["virtio_net", "net_failover", "virtio_blk", "virtio_pci",
                                 "virtio_pci_modern_dev", "virtio_ring", "virtio"]),
                        (_PROC, ["9pnet_virtio", "9pnet", "virtio_console", "virtio_mmio"]),
                        (_BUSYBOX, ["virtio_scsi", "virtio_ring"])):
        result = _run(text, dialects)
        model = result.model
        assert model.unrecognised == 0, model.unrecognised_samples
        assert model.live_devices() == []
        assert [f.rule for f in result.findings] == []  # no VD016, no VD020
        assert model.modules.names() == names


def test_the_list_keeps_each_module_s_count_users_and_state(dialects):
    modules = _run(_PROC + _KMOD, dialects).model.modules.by_name
    assert modules["9pnet"].users == ["9pnet_virtio"] and modules["9pnet"].state == "Live"
    assert modules["virtio_console"].state == "Loading"
    assert modules["virtio_mmio"].refcount is None  # "-": no CONFIG_MODULE_UNLOAD
    assert modules["virtio_ring"].users == ["virtio_net", "virtio_blk", "virtio_pci"]
    assert modules["virtio_ring"].refcount == 3 and modules["virtio_ring"].state is None


# Linux guest lines (drivers/virtio/virtio_pci_common.c, drivers/net/virtio_net.c) of one
# net device; the module list after them adds no device and changes none.
_CONSOLE = ("virtio-pci 0000:00:03.0: enabling device (0000 -> 0003)\n"
            "virtio_net virtio0 eth0: renamed from eth0\n")


def test_beside_a_console_the_devices_are_the_console_s(dialects):
    alone = _run(_CONSOLE, dialects)
    both = _run(_CONSOLE + _KMOD + _PROC, dialects)
    assert [d.identity for d in both.model.live_devices()] == \
        [d.identity for d in alone.model.live_devices()]
    assert [f.rule for f in both.findings] == [f.rule for f in alone.findings]
    report = json.loads(json.dumps(run_dict(both)))
    assert [m["module"] for m in report["modules_loaded"]] == both.model.modules.names()
    assert report["modules_loaded"][0] == {"module": "virtio_net", "line": 4, "refcount": 0,
                                           "users": []}
    assert "modules_loaded" not in json.loads(json.dumps(run_dict(alone)))


def test_a_later_listing_wins(dialects):
    text = "virtio_net 65536 0 - Loading 0x0000000000000000\n" \
           "virtio_net 65536 1 - Live 0x0000000000000000\n"
    (module,) = _run(text, dialects).model.modules.by_name.values()
    assert module.state == "Live" and module.event.line == 2
