"""legacy-fallback: a device was driven through the legacy (pre-1.0) interface.

**What it detects.** Any of: Linux's ``virtio_pci: leaving for legacy driver``; a status
sequence that reaches DRIVER_OK without ever setting FEATURES_OK; virtio-mmio Version 1
or a GuestPageSize write; accepted features without VIRTIO_F_VERSION_1 (bit 32); a
transitional PCI device driven in legacy mode. The message names the evidence that decided.
A driver that has only the legacy interface (FreeBSD 9-12's virtio_pci) is reported as
info, not a fallback, unless a line shows the device offering VERSION_1. Linux's "leaving
for legacy driver" says the *device* has no modern capability (virtio_pci_modern's probe
finds no common configuration); Linux had nothing to fall back from, so that case is a
warning (1.x was not used), not an error, unless a line shows the device offering VERSION_1.
So is a guest's legacy PCI driver saying it took a device (FreeBSD 13+ "VirtIO PCI (legacy)
... adapter", SeaBIOS "using legacy (0.9.5) virtio mode", U-Boot's ``virtio-pci.l`` transport
in ``dm tree``): legacy drivers attach only the
transitional/legacy ids 0x1000-0x103f, which exist so that they match (spec 4.1.2.3), and
FreeBSD's modern driver leaves transitional ids to it by default
(hw.virtio.pci.transitional=0): the system's policy, not a failed modern attempt.

**Bad**::

    [    0.901234] virtio-pci 0000:00:04.0: virtio_pci: leaving for legacy driver
    virtio_set_status vdev 0x55d0a7b3c010 val 1
    virtio_set_status vdev 0x55d0a7b3c010 val 3
    virtio_set_status vdev 0x55d0a7b3c010 val 7

**Good**::

    virtio_set_status vdev 0x55d0a7b3c010 val 1
    virtio_set_status vdev 0x55d0a7b3c010 val 3
    virtio_set_status vdev 0x55d0a7b3c010 val 11
    virtio_set_status vdev 0x55d0a7b3c010 val 15

**Why it matters.** A VirtIO 1.0 driver that silently falls back to the legacy handshake
negotiates no VERSION_1: guest-endian rings, 4 KiB queue alignment, the 10-byte net
header and no FEATURES_OK check. Drivers written for 1.0 then hang or corrupt data in
ways that look random (spec 2.2.3, 3.1.2, 6.1).

**How to fix.** Require VIRTIO_F_VERSION_1 and abort (set FAILED) when the device does
not offer it; give QEMU ``disable-legacy=on`` (PCI) or ``-global
virtio-mmio.force-legacy=false`` (MMIO) so the device offers the modern interface; set
``allow_legacy = true`` in the rule options if legacy is intended.
"""

from virtiodiag.model.attempts import (
    DEFAULT,
    DRIVER_HAS_NO_OTHER,
    LEGACY_TRANSPORT_DRIVER,
    MODERN_BAR_UNASSIGNED,
    NO_MODERN_INTERFACE,
    VERSION1_NOT_OFFERED,
    driver_took,
    legacy_cause,
    unassigned_bar,
)
from virtiodiag.rules.base import Hit

CODE = "VD001"
NAME = "legacy-fallback"
SEVERITY = "error"
SUMMARY = "A device was driven through the legacy interface instead of VirtIO 1.x"
SPEC = "2.2.3, 3.1.2, 6.1"
OPTIONS = {"allow_legacy": False}
LIVE_EVENTS = {"legacy_fallback", "status_write", "mmio_guest_page", "features_accepted",
               "sysfs_attr"}


def check(ctx):
    if ctx.options.get("allow_legacy"):
        return
    for device in ctx.devices:
        # The kind the function had when its driver left it (a later boot may put another
        # device in that slot), else the one learnt since.
        kind = device.fallback_kind or device.pci_kind
        if kind == "modern" and device.legacy_fallback is not None:
            yield _stranded(device)
            continue
        cause = legacy_cause(device)  # decided by the model, from its typed evidence
        if cause is None:
            continue
        if device.virtio_id == 0 or not driver_took(device):
            continue  # a placeholder or a device nobody drove: no driver chose legacy
        evidence = device.interface[1]
        if not ctx.final and evidence[0].strength == DEFAULT:
            continue  # only what the device offers so far: the driver may still say more
        first = evidence[0]
        if cause == DRIVER_HAS_NO_OTHER:
            # FreeBSD 9-12: no modern interface was passed over: not a fallback, but the
            # user must know 1.x was not used and why.
            yield Hit(device, first.event,
                      f"{device.id} ({device.device_type or 'virtio'}) was driven in legacy mode "
                      f"by a driver that has no other: {first.wording}; not a fallback",
                      "for VirtIO 1.x run a guest whose driver has a modern interface "
                      "(FreeBSD 13 or later); a modern-only device (disable-legacy=on) is "
                      "not attached by this one", severity="info")
            continue
        if cause == LEGACY_TRANSPORT_DRIVER:
            # That system chose the legacy interface of a device that has one (FreeBSD: its
            # modern driver leaves transitional ids alone unless
            # hw.virtio.pci.transitional=1); no modern attempt failed. 1.x was not used.
            yield Hit(device, first.event,
                      f"{device.id} ({device.device_type or 'virtio'}) was driven in legacy mode "
                      f"by the guest's legacy driver, which takes transitional and legacy-only "
                      f"devices: {first.wording}; no modern attempt failed",
                      "for VirtIO 1.x let the modern driver take transitional devices (FreeBSD: "
                      "hw.virtio.pci.transitional=1 in loader.conf) or make the device "
                      "modern-only (QEMU disable-legacy=on)",
                      severity="warning")
            continue
        if cause == MODERN_BAR_UNASSIGNED:
            bar = unassigned_bar(device)
            yield Hit(device, first.event,
                      f"{device.id} ({device.device_type or 'virtio'}) was driven in legacy mode "
                      f"because {_bar_words(bar)}: virtio_pci found no usable modern capability "
                      "and left the device to the legacy driver",
                      _BAR_HINT + "; until then the device runs legacy",
                      related=[(bar, "the PCI core left the BAR unassigned")] if bar else [])
            continue
        if cause == NO_MODERN_INTERFACE:
            # A legacy-only device, or one QEMU was told to show without its modern
            # capability (disable-modern=on): Linux had no interface to pass over, so this
            # is no driver's fallback; still, 1.x was not used.
            yield Hit(device, first.event,
                      f"{device.id} ({device.device_type or 'virtio'}) offers only the legacy "
                      f"interface (no modern capability) and was driven in legacy mode: "
                      f"{first.wording}; not a driver fallback",
                      "for VirtIO 1.x give the device a modern interface (QEMU: drop "
                      "disable-modern=on, or disable-legacy=on; a hypervisor's setting); a "
                      "driver that requires VIRTIO_F_VERSION_1 would refuse this device",
                      severity="warning")
            continue
        if cause == VERSION1_NOT_OFFERED:
            if not ctx.final:
                # Decided by the features alone showing the interface: a later line of the
                # attempt (the driver's own word, DRIVER_OK without FEATURES_OK) may show
                # it otherwise, and the whole log then words it so.
                continue
            # The driver never saw VERSION_1: nothing shows a modern interface it passed over.
            yield Hit(device, first.event,
                      f"{device.id} ({device.device_type or 'virtio'}) was driven in legacy mode "
                      f"and the device offered no VERSION_1 to its driver: {first.wording}; "
                      "a legacy-only device, or a legacy driver (which reads only feature "
                      "bits 0-31), not a driver passing over VERSION_1",
                      "for VirtIO 1.x give the device a modern interface (QEMU: drop "
                      "disable-modern=on) and drive it with a modern driver (FreeBSD 13+: "
                      "hw.virtio.pci.transitional=1 for transitional devices)",
                      severity="warning")
            continue
        others = [(e.event, e.wording) for e in evidence[1:4]]
        transitional = (" (a transitional device: the driver chose its legacy interface)"
                        if device.pci_kind == "transitional" and not device.legacy_fallback
                        else "")
        yield Hit(device, first.event,
                  f"{device.id} ({device.device_type or 'virtio'}) was driven in legacy mode"
                  f"{transitional}: {first.wording}",
                  "require VIRTIO_F_VERSION_1 and abort without it; configure the device as "
                  "modern (QEMU disable-legacy=on, or virtio-mmio.force-legacy=false)",
                  related=others)


_BAR_HINT = ("give the guest's PCI bus room for the BAR (QEMU puts the modern capabilities in "
             "a 64-bit prefetchable memory BAR, 4): a firmware that assigns 64-bit BARs, a "
             "larger 64-bit PCI hole or a root port's pref64-reserve, or Linux's pci=realloc")


def _bar_words(bar) -> str:
    number = bar.get("bar") if bar is not None else None
    which = f"BAR {number}" if number is not None else "a BAR"
    return (f"the PCI core left its {which} without address space (line {bar.line})"
            if bar is not None else "virtio_pci found no modern capability it could map")


def _stranded(device):
    """A modern-only device (PCI id 0x1040 and up) that virtio_pci left to the legacy
    driver: virtio_pci_legacy_probe() takes only the transitional ids 0x1000-0x103f, so
    the probe ends with -ENODEV, which the driver core does not print: no driver has it."""
    bar = unassigned_bar(device)
    cause = _bar_words(bar) if bar is not None else (
        "virtio_pci found no modern capability it could use (none, or one in a BAR of no "
        "length)")
    return Hit(device, device.legacy_fallback,
               f"{device.id} ({device.device_type or 'virtio'}) is a modern-only device and "
               f"was never driven: {cause}, and the legacy driver it was left to takes only "
               "transitional devices (virtio_pci's probe ended with -ENODEV, which Linux does "
               "not print)",
               _BAR_HINT if bar is not None else
               "check the function's virtio capabilities and the BARs they name (lspci -vv): "
               "each must sit in a BAR the guest assigned",
               related=[(bar, "the PCI core left the BAR unassigned")] if bar is not None else [],
               key="stranded")
