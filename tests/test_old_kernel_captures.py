"""Real logs of scripts/capture-old.sh: Debian 11's Linux 5.10 on x86_64 (and arm64), and
s390x's virtio-ccw transport (Debian 12's 6.1), each under Debian 12's QEMU 7.2.

test_samples.py checks their expected.json like every sample's; these are the facts that
needed a fix when the logs were first seen (each NOTES.md says what the right diagnosis is).
"""

from conftest import SAMPLES, analyse_json

X86_510 = SAMPLES / "x86-linux510-multi"
LEGACY_510 = SAMPLES / "x86-linux510-legacy-mixed"


def test_linux_510_legacy_devices_are_legacy_and_the_modern_only_rng_modern():
    # "virtio-pci 0000:00:03.0: virtio_pci: leaving for legacy driver" (5.10 virtio_pci
    # holds both interfaces) for the five disable-modern=on functions.
    report = analyse_json(LEGACY_510 / "console.log")
    modes = {d["address"]: d["mode"] for d in report["devices"]}
    assert modes == {"0000:00:03.0": "legacy", "0000:00:04.0": "legacy",
                     "0000:00:05.0": "modern", "0000:00:06.0": "legacy",
                     "0000:00:07.0": "legacy", "0000:00:08.0": "legacy"}
    balloon = [f for f in analyse_json(LEGACY_510 / "combined.log")["findings"]
               if f["rule"] == "VD012" and f["device"] == "pci-0000:00:08.0"]
    assert [f["severity"] for f in balloon] == ["warning"]
