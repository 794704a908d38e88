"""Feeding events into the model: the one object a run talks to.

It wires the model's parts together and owns none of their logic: ``identity`` (the
names of devices and joining their records), ``attribution`` (which device and which
side each event is about, and the notify/interrupt flood fast path), ``handlers`` (what
each kind of event changes in its device), ``mmio`` (virtio-mmio register decoding),
``joining`` and ``typed_records`` (the joins made at the end of a run).
"""

from __future__ import annotations

from collections.abc import Mapping

from virtiodiag.grammar_facts import GrammarFacts
from virtiodiag.model.attribution import Attribution
from virtiodiag.model.block_numbers import join_block_numbers
from virtiodiag.model.boot_paths import join_mmio_boot_paths
from virtiodiag.model.device import Model
from virtiodiag.model.discovery import join_declared_types
from virtiodiag.model.handlers import Handlers
from virtiodiag.model.identity import Identities
from virtiodiag.model.crashes import attribute_crashes
from virtiodiag.model.journal_hangs import join_journal_hangs
from virtiodiag.model.headless_stacks import attribute_headless_stacks
from virtiodiag.model.cmdline import declare_cmdline_mmio
from virtiodiag.model.declared import join_declarations
from virtiodiag.model.chardev_users import join_option_errors, resolve_chardev_refusals
from virtiodiag.model.netdev_users import name_backend_errors, resolve_netdev_refusals
from virtiodiag.model.iommu_events import join_iommu_records
from virtiodiag.model.joining import (apply_kernel_parameters, link_guest_names,
                                      match_host_and_guest)
from virtiodiag.model.root_mount import join_root_mount
from virtiodiag.model.slots import mark_empty_slots, mark_unclaimed_windows
from virtiodiag.model.stated_reasons import join_stated_reasons
from virtiodiag.model.storport_resets import join_storport_resets
from virtiodiag.model.typed_records import join_type_only_errors, join_type_only_records
from virtiodiag.model.vhost_backends import join_vhost_errors
from virtiodiag.model.vhost_handles import join_vhost_handles


class ModelBuilder:
    """Consumes events in log order and keeps the model current.

    ``feed(event)`` applies one event and returns its device (or None);
    ``flood(None, None, payload, line)`` (Handlers.on_notification) counts a repeated
    notify/interrupt line without an Event when that changes nothing but counters (returns
    whether it did); ``finish()`` ends the run.
    """

    def __init__(self, path: str, grammars: Mapping[str, GrammarFacts] | None = None):
        """``grammars``: dialect name -> what its grammar's ``//@`` directives declare
        (grammar_facts.py); a dialect not in it declares nothing (a guest's lines)."""
        self.model = Model(path)
        self.model.grammars = dict(grammars or {})
        self.model.dialect_sides = {name: facts.side for name, facts in self.model.grammars.items()}
        self.identities = Identities(self.model)
        self.handlers = Handlers(self.model, self.identities)
        self.attribution = Attribution(self.model, self.identities, self.handlers)
        # Bound once: these run for every line of a trace.
        self.feed = self.attribution.feed
        # Handlers.on_notification, called (None, None, payload, line) for its flood path
        self.flood = self.handlers.on_notification
        self.last_seen = self.attribution.last_seen  # the decoder's holder (last_seen.py)

    def finish(self) -> Model:
        self.last_seen.settle()
        self.attribution.flush_pending(self.attribution.last_host)
        settle_default_transports(self.model)
        declare_cmdline_mmio(self.model, self.identities)
        join_stated_reasons(self.model)
        link_guest_names(self.model, self.identities)
        join_block_numbers(self.model, self.identities)
        join_type_only_records(self.model, self.identities)
        join_declared_types(self.model, self.identities)
        mark_unclaimed_windows(self.model)
        match_host_and_guest(self.model, self.identities)
        join_vhost_handles(self.model, self.identities)
        join_vhost_errors(self.model, self.identities)
        join_type_only_errors(self.model, self.identities, self.handlers)
        join_storport_resets(self.model, self.identities, self.handlers)
        join_mmio_boot_paths(self.model, self.identities)
        apply_kernel_parameters(self.model)
        join_declarations(self.model, self.identities)
        name_backend_errors(self.model)
        join_option_errors(self.model)
        resolve_netdev_refusals(self.model)
        resolve_chardev_refusals(self.model)
        join_iommu_records(self.model, self.identities)
        mark_empty_slots(self.model)
        attribute_crashes(self.model)
        join_journal_hangs(self.model, self.identities)
        attribute_headless_stacks(self.model)
        join_root_mount(self.model)
        return self.model


def settle_default_transports(model: Model) -> None:
    """A device whose lines never showed its transport, found by a grammar that declares
    one (``//@ default_transport:``): the transport its grammar's other lines showed in
    this run, when they showed exactly one, else the declared one (Firecracker's API
    declares devices with no transport; they sit on virtio-mmio unless a PCI transport line
    shows --enable-pci). At Firecracker's default log level no host line shows PCI: the
    guest's own virtio devices of the run then tell, when they all sit on one transport
    (the guest sees what the VMM built)."""
    guest: set[str] | None = None
    for device in model.live_devices():
        found = device.found_event
        if device.transport != "unknown" or found is None:
            continue
        default = model.grammar_of(found).default_transport
        if default is None:
            continue
        shown = model.transports_shown.get(found.dialect, set())
        if not shown:
            if guest is None:
                guest = _guest_transports(model)
            shown = guest
        device.transport = next(iter(shown)) if len(shown) == 1 else default


def _guest_transports(model: Model) -> set[str]:
    """The transports the guest's own lines put its virtio devices on in this run."""
    return {d.transport for d in model.live_devices()
            if d.transport in ("pci", "mmio") and d.found_event is not None
            and model.grammar_of(d.found_event).side == "guest"}

