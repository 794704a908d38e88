"""Events that concern the whole run, not one device, and change only the model's run-level
facts: test verdicts, boots, the kernel command line's virtio module parameters, the devices a
VMM's command line declares, an IOMMU's event records, the kernel modules an lsmod lists, how the
run ended (a kill, the guest's own power-off or restart), the kernel starting init, a root
file system it could not mount, pasted filters and refused configurations. Attribution
routes these kinds here; run-wide kinds that may still name a device (IRQ lines, traffic,
device links, crashes) stay with attribution.
"""

from __future__ import annotations

from collections.abc import Callable

from virtiodiag.events import Event, Payload
from virtiodiag.model.device import Model
from virtiodiag.model.declared import note_declarations
from virtiodiag.model.declared_places import note_pci_bridge
from virtiodiag.model.last_seen import LastSeen, note_last_seen
from virtiodiag.model.root_mount import on_root_mount

CMDLINE_MEMO_LIMIT = 256  # distinct command lines remembered; cleared when full


class RunWide:
    """Applies the run-level events of one run to its model."""

    def __init__(self, model: Model, last_seen: LastSeen | None = None):
        self.model = model
        # the command lines the decoder holds (model/last_seen.py): their parameters are
        # kept by note_params when they settle, and settled before one fed here
        self.last_seen = last_seen
        if last_seen is not None:
            last_seen.note_params = self.note_params
        # id(payload) -> (payload, its virtio module parameters): see on_cmdline
        self._cmdline_memo: dict[int, tuple[object, tuple[tuple[str, str], ...]]] = {}
        # the last device_add of a virtio model a monitor was sent (see on_config_refused)
        self._hotplug_request: Event | None = None

    def by_kind(self) -> dict[str, Callable[[Event, str], None]]:
        """Handler per event kind; each takes (event, side)."""
        return {"test_verdict": self.on_test, "boot": self.on_boot,
                "config_refused": self.on_config_refused, "cmdline": self.on_cmdline,
                "run_end": self.on_run_end, "filter": self.on_filter,
                "userspace": self.on_latest,
                "vmm_cmdline": self.on_vmm_cmdline,
                "pci_bridge": lambda event, side: note_pci_bridge(
                    self.model, event.get("address"), event.get("pci_bus")),
                "pci_scan": self.on_latest,
                "iommu_event": lambda event, side: self.model.iommu_records.feed(event),
                "module_loaded": lambda event, side: self.model.modules.feed(event),
                "root_mount": lambda event, side: on_root_mount(self.model, event)}

    def on_vmm_cmdline(self, event: Event, side: str) -> None:
        """A VMM's command line: the devices it declares (model/declared.py); one printed a
        word a line is paired option with value first (model/split_argv.py). A
        cloud-hypervisor option line declares only after a line that named the program
        (model/declared_ch.py)."""
        detail = event.payload.detail
        if detail == "cloud_hypervisor":
            self.model.ch_command_seen = True
        elif detail == "cloud_hypervisor_options" and not self.model.ch_command_seen:
            return  # no cloud-hypervisor command named before: another program's options
        if event.get("argv_index") is None:
            note_declarations(self.model, event)
            return
        pair = self.model.split_argv.pair(event)
        if pair is not None:
            note_declarations(self.model, event, pair)

    def on_test(self, event: Event, side: str) -> None:
        self.model.tests.append(event)

    def on_latest(self, event: Event, side: str) -> None:
        """A line whose kind only moves its latest (model/last_seen.py): the PCI core
        reading or assigning a BAR while it scans a bus (no device's line: no driver can
        have bound yet; model/ending.py reads whether the guest's lines end among these),
        the kernel starting init (the boot got there)."""
        note_last_seen(self.model, event)

    def on_boot(self, event: Event, side: str) -> None:
        self.model.boots.append(event)

    def on_cmdline(self, event: Event, side: str) -> None:
        """Keep the virtio module parameters (``module.param=value``) of the kernel
        command line; joining.apply_kernel_parameters uses them at the end of the run.
        They depend on the payload alone: remembered per payload (a log of many boots
        prints the same command line each time), like Identities.aliases_for. Held
        command lines (model/last_seen.py) are settled first: the parameters of every
        command line are kept in log order."""
        if self.last_seen is not None:
            self.last_seen.settle()
        self.model.cmdline = event
        self.note_params(event.payload)

    def note_params(self, payload: Payload) -> None:
        """Keep the virtio module parameters of a command line (see on_cmdline)."""
        known = self._cmdline_memo.get(id(payload))
        if known is None or known[0] is not payload:
            words = payload.by_name.get("param")
            words = words if isinstance(words, tuple) else (words,) if words else ()
            params = []
            for word in words:
                name, _, value = str(word).partition("=")
                if name.startswith(("virtio", "vhost")) and "." in name:
                    params.append((name, value))
            if len(self._cmdline_memo) >= CMDLINE_MEMO_LIMIT:
                self._cmdline_memo.clear()
            known = self._cmdline_memo[id(payload)] = (payload, tuple(params))
        for name, value in known[1]:
            self.model.virtio_params[name] = value

    def on_run_end(self, event: Event, side: str) -> None:
        if event.payload.detail == "signal":
            self.model.run_end = self.model.run_end or event  # the emulator was killed
            return
        self.model.ending.finished = event  # the guest ended the run (or this boot) itself
        if event.payload.detail == "restart":
            self.model.eras.rebooted(event)  # what follows is the next boot

    def on_filter(self, event: Event, side: str) -> None:
        self.model.filters.append(event)

    def on_config_refused(self, event: Event, side: str) -> None:
        """A configuration QEMU refused. A monitor's device_add of a virtio model is only
        remembered; HMP's "Error: ..." names no device and counts only on the line right
        after such a request, as that request refused (grammars/qemu_monitor.lark)."""
        detail = event.payload.detail
        if detail == "hotplug_request":
            self._hotplug_request = event
            return
        if detail == "monitor_error":
            request, self._hotplug_request = self._hotplug_request, None
            if request is None or event.line != request.line + 1:
                return  # the answer to no device_add of a virtio model
            payload = event.payload
            event = Event(Payload(payload.dialect, payload.kind,
                                  (*payload.fields, ("option", request.get("option"))),
                                  "hotplug"),
                          event.path, event.line, event.text, time=event.time,
                          clock=event.clock, seq=event.seq)
        self.model.config_refusals.append(event)
