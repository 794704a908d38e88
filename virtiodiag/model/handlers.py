"""Per-kind state changes: what one event, once attributed to a device, changes in it.

One method per event kind (``on_<kind>``), looked up in ``Handlers.by_kind``. The notify and
interrupt kinds share one (``on_notification``, model/queues.py), which is also the flood
fast path (ModelBuilder.flood): called without an Event, it counts the line or, when the
line must be recorded (a first notify...), changes nothing and returns False.
"""

from __future__ import annotations

from collections.abc import Callable

from virtiodiag import limits, spec
from virtiodiag.events import Event
from virtiodiag.model.handover import OTHER_DRIVER
from virtiodiag.model.attempts import LEGACY, MODERN, STRONG, WEAK, FeatureValue
from virtiodiag.model.device import TIMELINE_LIMIT, Device, Model
from virtiodiag.model.discovery import (found_by_refusal, imply_driver_ok, infer_type,
                                        on_device_bind, on_device_found)
from virtiodiag.model.identity import Identities, bsd_pci_address
from virtiodiag.model.mmio import MmioDecoder
from virtiodiag.model.queues import QueueHandlers
from virtiodiag.model.sysfs import read_attribute
from virtiodiag.model.records import StatusChange

# Kinds whose lines come in floods: their handler records what matters (a first kick, a
# first used buffer) on the timeline itself.
FLOOD_KINDS = frozenset({"notify", "interrupt", "queue_io"})
# Details of lines that name a PCI function any device may sit on (an IOMMU's fault, the PCI
# core's resource assignment): about a virtio device only when the log has one there.
# The rest of a FreeBSD attach line that other output cut ("-0x800002fff at device 5.0 on
# pci0"): the place of the device announced just before, or of no virtio device.
ATTACH_LINE_REST = "attach_line_rest"
KNOWN_DEVICES_ONLY = frozenset({"dma_fault", "bar_unassigned", "pci_resource",
                                OTHER_DRIVER, ATTACH_LINE_REST})


class Handlers(QueueHandlers):
    """Applies attributed events to devices (the queue events, kicks and interrupts:
    model/queues.py)."""

    def __init__(self, model: Model, identities: Identities):
        self.model = model
        self.identities = identities
        self.vq_queue: dict[str, tuple[Device, int]] = {}  # virtqueue pointer -> owner
        self._dok_memo: dict[int, tuple[list, int, bool]] = {}
        self.hosts: dict[str, Device] = {}  # Attribution's (on_notification)
        self.held: list[Event] = []
        mmio = MmioDecoder(model)
        self.by_kind: dict[str, Callable[[Device, Event], object]] = {
            "status_write": self.on_status_write, "status_read": self.on_status_read,
            "reset": self.on_reset, "features_offered": self.on_features,
            "features_accepted": self.on_features,
            "features_refused": self.on_features_refused,
            "version1_missing": self.on_version1_missing,
            "legacy_fallback": self.on_legacy_fallback,
            "device_found": on_device_found, "device_bind": self.on_device_bind,
            "driver_ready": self.on_driver_ready, "queue_select": self.on_queue_select,
            "queue_config": self.on_queue_config, "queue_ready": self.on_queue_ready,
            "notify": self.on_notification, "interrupt": self.on_notification,
            "queue_io": self.on_queue_io,
            "irq_setup": self.on_irq, "irq_enable": self.on_irq,
            "net_hdr": self.on_net_hdr, "netdev": self.on_netdev,
            "mac_random": self.on_mac_random, "probe_failed": self.on_probe_failed,
            "device_error": self.on_device_error, "traffic": self.on_traffic,
            "mmio_guest_page": mmio.guest_page, "mmio_access": mmio.access,
            "sysfs_attr": self.on_sysfs, "note": self.on_note,
        }

    def apply(self, device: Device, event: Event, side: str) -> None:
        """Record that ``side`` (guest or host) printed ``event`` about ``device``."""
        payload = event.payload
        device.sides.add(side)
        device.dialects.add(payload.dialect)
        if device.first_event is None:
            device.first_event = event
        device.last_event = event
        event.device_key = device.identity
        kind = payload.kind
        if kind in FLOOD_KINDS:
            self.by_kind[kind](device, event)
            return
        if len(device.timeline) < TIMELINE_LIMIT:  # Device.add_timeline, inlined: per line
            device.timeline.append(event)
        else:
            device.add_timeline(event)
        handler = self.by_kind.get(kind)
        if handler is not None:
            handler(device, event)
        fields = payload.by_name
        irq = fields.get("irq")
        if isinstance(irq, int) and limits.keep_irq(self.model, device, irq):
            device.irq_lines.add(irq)
            self.identities.irq_owner.setdefault(irq, device)
        if device.device_type is None:
            infer_type(device, fields, payload.detail, event)

    def note_irq_line(self, event: Event) -> None:
        """An IRQ set up or enabled, in the run's lists (of a device the log names, or not)."""
        if event.kind == "irq_enable":
            self.model.irq_enables.append(event)
        else:
            self.model.irq_setups.append(event)

    # ---- status and features --------------------------------------------------------------
    def status(self, device: Device, event: Event, value: int, read: bool = False) -> None:
        device.status.append(StatusChange(value, event, read))
        if value == 0 and not read:
            device.reset_seq = event.seq
        device.last_progress = event
        if not read and value & spec.FEATURES_OK:
            device.add_evidence(MODERN, "features_ok_written", STRONG,
                                f"FEATURES_OK written (status 0x{value:02x})", event)
        if (not read and value & spec.DRIVER_OK and not value & spec.FEATURES_OK
                and value & spec.DRIVER):
            attempt = device.current_attempt()
            if not any(s.value & spec.FEATURES_OK for s in attempt):
                device.add_evidence(LEGACY, "driver_ok_without_features_ok", WEAK,
                                    f"DRIVER_OK (0x{value:02x}) set without FEATURES_OK", event)

    def on_status_write(self, device: Device, event: Event) -> None:
        value = event.get("status")
        if not isinstance(value, int):
            bit = spec.STATUS_BY_NAME.get(str(event.get("bit", "")).upper())
            if bit is None:
                return
            current = device.final_status or 0
            value = current | bit
        self.status(device, event, value)

    def on_status_read(self, device: Device, event: Event) -> None:
        value = event.get("status")
        if isinstance(value, int):
            self.status(device, event, value, read=True)

    def on_reset(self, device: Device, event: Event) -> None:
        self.status(device, event, 0)

    def on_features(self, device: Device, event: Event) -> None:
        if event.payload.detail == "features_ok":
            # The driver wrote FEATURES_OK and read it back set (Hermit's "Features have
            # been negotiated"): a driver holds the device, which accepted its features. Not
            # a status value: a line after it that shows the probe finished still implies
            # DRIVER_OK (device_driver_ok() goes by the status values when there are any).
            on_device_bind(device, event, self.model.grammar_of(event))
        bits = event.get("features")
        bitstring = event.get("bitstring")
        if isinstance(bitstring, str) and set(bitstring) <= {"0", "1"}:
            bits = sum(1 << i for i, ch in enumerate(bitstring) if ch == "1")
        names = event.get("names")
        signed = (spec.signed_feature_bits(names, device.device_type)
                  if bits is None and isinstance(names, str) else None)
        if signed is not None:  # every offered feature, "+" for the negotiated (OpenBSD)
            device.features_offered, bits = signed
            device.feature_log.append(FeatureValue("offered", signed[0], event))
        if not isinstance(bits, int):
            return
        word = event.get("word")
        if isinstance(word, int):
            bits <<= 32 * word
        if event.kind == "features_offered":
            device.features_offered = (device.features_offered or 0) | bits if word else bits
            device.feature_log.append(FeatureValue("offered", device.features_offered, event))
            return
        previous = device.features_accepted if isinstance(word, int) and word > 0 else None
        device.features_accepted = (previous or 0) | bits
        device.features_accepted_event = event
        device.feature_log.append(FeatureValue("accepted", device.features_accepted, event))
        if word is None or word >= 1:
            if device.features_accepted >> spec.VERSION_1 & 1:
                device.add_evidence(MODERN, "version1_accepted", STRONG,
                                    "accepted features include VERSION_1 (bit 32)", event)
            elif word is None:
                offered = device.features_offered
                # Offered but not accepted: the driver passed over the modern interface.
                passed_over = (" although the device offered it"
                               if isinstance(offered, int) and offered >> spec.VERSION_1 & 1
                               else "")
                device.add_evidence(LEGACY, "version1_not_accepted", STRONG,
                                    f"accepted features 0x{device.features_accepted:x}"
                                    f" lack VERSION_1 (bit 32){passed_over}", event)

    def on_device_bind(self, device: Device, event: Event) -> None:
        """A driver took the device; an attach line that prints the features the driver
        negotiated (NetBSD's "vioif0 at virtio0: features: 0x...<V1,...>") records them."""
        on_device_bind(device, event, self.model.grammar_of(event))
        if isinstance(event.get("features"), int) or event.get("names") is not None:
            self.on_features(device, event)

    def on_driver_ready(self, device: Device, event: Event) -> None:
        """A driver (or a device model) is done with the device.

        ``host_features``: the device's features as the driver printed them when it was done
        (Solo5). Detail ``activated``: a VMM activated the device (cloud-hypervisor's "Needs
        activation"), which it does only once the guest's status write reached
        ACKNOWLEDGE|DRIVER|FEATURES_OK|DRIVER_OK with no FAILED: that status is recorded.
        """
        self.on_device_bind(device, event)
        offered = event.get("host_features")
        if isinstance(offered, int):
            device.features_offered = offered
            device.feature_log.append(FeatureValue("offered", offered, event))
        if event.payload.detail == "activated":
            self.status(device, event, spec.ACKNOWLEDGE | spec.DRIVER | spec.FEATURES_OK
                        | spec.DRIVER_OK)
        if event.payload.detail == "empty_disk":
            # The driver read a capacity of 0 sectors from the device's configuration
            # (virtio_blk_config.capacity, spec 5.2.4): it went on, with a disk of no size.
            device.empty_disk = device.empty_disk or event

    def on_features_refused(self, device: Device, event: Event) -> None:
        device.features_refused = event
        self.on_status_read(device, event)
        self.failed_in_attach_line(device, event)

    def on_version1_missing(self, device: Device, event: Event) -> None:
        device.version1_missing = event
        # driver_requires: a driver of virtio 1.x devices only refused one without
        # VERSION_1; a legacy transport offers no bit 32 at all, so no mode follows
        if event.payload.detail != "driver_requires":  # only a modern transport asks:
            device.add_evidence(MODERN, "version1_missing", STRONG, "modern: needs VERSION_1",
                                event)
        self.failed_in_attach_line(device, event)

    def failed_in_attach_line(self, device: Device, event: Event) -> None:
        """A failure printed on the child driver's own attach line, which names the driver
        and its transport (OpenBSD's console: "vio0 at virtio0virtio0: Feature negotiation
        failed"): that driver took the device before it failed."""
        if event.get("device") is not None and event.get("address") is not None:
            self.on_device_bind(device, event)

    def on_legacy_fallback(self, device: Device, event: Event) -> None:
        device.legacy_fallback = event
        device.fallback_kind = device.pci_kind
        device.add_evidence(LEGACY, "legacy_driver", STRONG,
                            "the driver left the modern probe for the legacy driver", event)

    def on_note(self, device: Device, event: Event) -> None:
        detail = event.payload.detail
        if detail == "bar_unassigned":  # the PCI core left a BAR unassigned
            device.unassigned_bars.append(event)
        elif detail == ATTACH_LINE_REST and device.address is None:
            address = bsd_pci_address(event)
            if address is not None:
                device.transport, device.address = "pci", address

    def on_sysfs(self, device: Device, event: Event) -> None:
        read_attribute(self.model, device, event, self.status)

    def on_irq(self, device: Device, event: Event) -> None:
        device.irq_events.append(event)
        why = self.model.grammar_of(event).irq_implies_driver_ok
        if why is not None and event.kind == "irq_setup":
            # The transport prints its interrupt line once the device driver's attach
            # finished and sets DRIVER_OK right after (`//@ irq_implies_driver_ok:`,
            # OpenBSD's virtio_attach_finish): the line shows the attach got to its end.
            imply_driver_ok(device, event, why)
        mode = event.get("mode") or event.payload.detail
        if mode:
            device.irq_mode = str(mode).lower()
        count = event.get("count")
        if isinstance(count, tuple):
            count = sum(c for c in count if isinstance(c, int))
        if isinstance(count, int):
            device.interrupt_count = max(device.interrupt_count, 0) + count
        self.note_irq_line(event)

    # ---- the rest ---------------------------------------------------------------------------
    def on_net_hdr(self, device: Device, event: Event) -> None:
        device.net_headers.append(event)
        device.device_type = device.device_type or "net"

    def on_netdev(self, device: Device, event: Event) -> None:
        device.device_type = device.device_type or "net"
        self.on_device_bind(device, event)  # OpenBSD's debug attach line lists features
        if event.get("hdr_len") is not None:
            device.net_headers.append(event)

    def on_mac_random(self, device: Device, event: Event) -> None:
        device.mac_random = event

    def on_probe_failed(self, device: Device, event: Event) -> None:
        if event.payload.detail == "unclaimed":
            # A BSD bus offered the device to every child driver and none matched ("no
            # matching child driver; not configured"): no driver took it, none failed.
            device.unclaimed = device.unclaimed or event
        else:
            device.probe_failures.append(event)
        found_by_refusal(device, event)
        self.failed_in_attach_line(device, event)

    def on_device_error(self, device: Device, event: Event) -> None:
        device.errors.append(event)
        if event.payload.detail == "gpu_response":
            # The device put an answer to one of the driver's commands in the used ring,
            # which it may do only after DRIVER_OK (spec 3.1.1, 5.7.6.7): driven, whatever
            # the answer says.
            imply_driver_ok(device, event, "the device answered a command of the driver "
                            "(a used buffer: after DRIVER_OK)")
        if event.payload.detail == "fbdev":
            # DRM's fbdev client is set up only after the driver registered its DRM device
            # (drm_fbdev_generic_setup(), after drm_dev_register()), past virtio_gpu's
            # virtio_device_ready(): driven, whatever the emulation's failure.
            imply_driver_ok(device, event, "the DRM device was registered (its fbdev "
                            "emulation is set up only after that)")
        if event.payload.detail == "capset_error":
            # virtio_gpu asks for its cap sets only after virtio_device_ready()
            # (virtgpu_kms.c virtio_gpu_init()): driven, and then the device did not answer.
            imply_driver_ok(device, event, "virtio_gpu asked the device for its cap sets, "
                            "which it does only after setting DRIVER_OK")
        if event.payload.detail == "modern_register_on_legacy":
            device.add_evidence(MODERN, "modern_register", STRONG, "the driver used a "
                                "modern-only register on a legacy device", event)

    def on_traffic(self, device: Device, event: Event) -> None:
        device.traffic.append(event)
