"""Accepted features are named after the device type's own table (spec 5.x, Linux uapi)."""

from conftest import SAMPLES, analyse_json
from virtiodiag import spec


def test_real_block_and_console_features_are_named():
    report = analyse_json(SAMPLES / "multi-device" / "combined.log")
    by_type = {d["type"]: d for d in report["devices"]}
    # Linux 6.1's virtio_blk accepted these of QEMU 7.2's offer (sysfs features line).
    assert {"SEG_MAX", "BLK_SIZE", "FLUSH", "TOPOLOGY", "DISCARD", "WRITE_ZEROES",
            "VERSION_1"} <= set(by_type["block"]["features_accepted_names"])
    assert "MULTIPORT" in by_type["console"]["features_accepted_names"]
    assert not any(n.startswith("bit") for n in by_type["block"]["features_accepted_names"])


def test_a_bit_is_named_by_its_device_type_only():
    bits = 1 << 5 | 1 << 32
    assert spec.feature_names(bits, "net") == ["MAC", "VERSION_1"]
    assert spec.feature_names(bits, "block") == ["RO", "VERSION_1"]
    assert spec.feature_names(bits, "rng") == ["bit5", "VERSION_1"]  # rng defines none
    assert spec.feature_names(bits, None) == ["bit5", "VERSION_1"]
