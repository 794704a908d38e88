"""Every value is parsed under its width (issue 15, case 2).

A number wider than its field (a 4,400-digit decimal, a 3,600-digit status, a queue index
over 16 bits, an MMIO selector used as a shift count) makes its line "not understood"
(counted with VD016's lines), never an exception, never an allocation it sizes, never a
time of Infinity in a JSON report.
"""

import json

import pytest

from conftest import run_cli
from virtiodiag.analysis import analyse_blocks

DEV = "0x56388413b6f0"
HUGE = "9" * 4400  # more digits than Python converts (sys.get_int_max_str_digits: 4300)


def _analyse(dialects, *lines: str):
    data = "".join(line + "\n" for line in lines).encode()
    return analyse_blocks("hostile.log", [data], dialects)


def _strict_json(text: str):
    def refuse(constant):
        raise AssertionError(f"JSON holds {constant}")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("line,counted", [
    (f"32461@1796151257.772636:virtio_gpu_features virgl {HUGE}", False),  # a note: no value
    (f"[   14.642616] virtio_crypto virtio{HUGE}: will run requests pump with realtime "
     "priority", True),
    (f"/sys/bus/virtio/devices/virtio0/device:{HUGE}", True),
    (f"23638@1795486780.537452:virtio_set_status vdev {DEV} val {'9' * 3600}", True),
])
def test_an_overlong_number_is_a_line_not_understood(dialects, line, counted):
    result = _analyse(dialects, f"23638@1795486780.537400:virtio_set_status vdev {DEV} val 1",
                      line)
    assert result.model.unrecognised == int(counted)
    if counted:
        assert result.model.unrecognised_samples[0][0] == 2
    from virtiodiag.reports.model_dict import run_dict
    _strict_json(json.dumps(run_dict(result), default=str))


@pytest.mark.parametrize("field,line", [
    ("status", f"23638@1795486780.537452:virtio_set_status vdev {DEV} val 511"),
    ("queue", f"23638@1795486780.537452:virtio_queue_notify vdev {DEV} n 65536 vq 0x7fcf"),
    ("features", "/sys/bus/virtio/devices/virtio0/features:" + "1" * 129),
    ("status", "/sys/bus/virtio/devices/virtio0/status:0x00000100"),
])
def test_a_value_wider_than_its_field_is_not_applied(dialects, field, line):
    first = f"23638@1795486780.537400:virtio_set_status vdev {DEV} val 1"
    result = _analyse(dialects, first, line)
    assert result.model.unrecognised == 1, field
    for device in result.model.devices:
        assert all(change.value <= 0xFF for change in device.status)
        assert all(queue.index <= 0xFFFF for queue in device.queues.values())
        assert (device.features_accepted or 0) < 1 << 128


def test_the_widest_values_of_each_field_still_count(dialects):
    result = _analyse(
        dialects,
        f"23638@1795486780.537400:virtio_set_status vdev {DEV} val 255",
        f"23638@1795486780.537452:virtio_queue_notify vdev {DEV} n 65535 vq 0x7fcf")
    assert result.model.unrecognised == 0
    (device,) = result.model.devices
    assert device.status[-1].value == 0xFF
    assert 65535 in {queue.index for queue in device.queues.values()}


# QEMU traces an MMIO access without its device; the next line naming the device (its
# vdev pointer) attributes the accesses before it.
FLUSH = f"24511@1795487016.750000:virtio_set_status vdev {DEV} val 0"
MMIO_PROBE = [
    "24511@1795487016.732820:virtio_mmio_read virtio_mmio_read offset 0x0",
    "24511@1795487016.733244:virtio_mmio_write_offset virtio_mmio_write offset 0x70 value 0x0",
    "24511@1795487016.733368:virtio_mmio_write_offset virtio_mmio_write offset 0x70 value 0x1",
]


@pytest.mark.parametrize("selector", ["0x40", "0x4000000", "0xffffffff"])
def test_an_mmio_feature_selector_is_no_shift_count(dialects, selector):
    # 165 bytes of log once allocated 1.14 GB (0x4000000 * 32 bits) or ~16 GB (0xffffffff).
    result = _analyse(
        dialects, *MMIO_PROBE,
        f"24511@1795487016.740000:virtio_mmio_write_offset virtio_mmio_write offset 0x24 "
        f"value {selector}",
        "24511@1795487016.740001:virtio_mmio_write_offset virtio_mmio_write offset 0x20 "
        "value 0x1", FLUSH)
    assert result.model.unrecognised == 1
    assert result.model.unrecognised_samples[0][0] == 4
    for device in result.model.devices:
        assert (device.features_accepted or 0) < 1 << 128


def test_mmio_feature_word_one_is_still_read(dialects):
    result = _analyse(
        dialects, *MMIO_PROBE,
        "24511@1795487016.740000:virtio_mmio_write_offset virtio_mmio_write offset 0x24 "
        "value 0x1",
        "24511@1795487016.740001:virtio_mmio_write_offset virtio_mmio_write offset 0x20 "
        "value 0x1", FLUSH)
    assert result.model.unrecognised == 0
    assert [d.features_accepted for d in result.model.devices] == [1 << 32]


@pytest.mark.parametrize("line", [
    "1234@" + "9" * 320 + ".000001:virtio_set_status vdev 0x55 val 1",
    "[" + "9" * 320 + ".000001] virtio_net virtio0: probe with driver virtio_net failed "
    "with error -22",
])
@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_a_huge_time_never_writes_infinity(tmp_path, line, fmt):
    path = tmp_path / "time.log"
    path.write_text("1234@1700000000.000001:virtio_set_status vdev 0x55 val 1\n" + line + "\n")
    proc = run_cli("analyze", "--format", fmt, path)
    assert proc.returncode in (0, 1), proc.stderr
    for text in proc.stdout.decode().splitlines() if fmt == "jsonl" else [proc.stdout]:
        _strict_json(text)
