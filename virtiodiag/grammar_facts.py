"""What a grammar tells the model about its lines, by its ``//@`` directives.

The registry reads them once per grammar (dialects/registry.py); the model reads them by
the dialect of each event (``Model.grammar_of``) and never by the dialect's name, so a
renamed grammar means the same (docs/grammar-contract.md lists the directives).
"""

from __future__ import annotations

from typing import Protocol

from virtiodiag.plain import Plain


class _Groups(Protocol):
    def group(self, group: int, /) -> str | None: ...


class NamePattern(Protocol):
    """``re.Pattern``, or the linear-time pattern a user grammar's regex compiles to
    (dialects/linear.py)."""

    def match(self, text: str, /) -> _Groups | None: ...


class GrammarFacts(Plain):
    """One grammar's declarations about its lines.

    ``side``: who prints them (``//@ side:`` guest, host or firmware). ``speaker``: the
    guest program printing them (``//@ speaker:``), for who made each attempt.
    ``bind_implies_driver_ok``: its ``device_bind`` lines of a device driver are printed
    only once the driver's probe returned, which set DRIVER_OK; the value says so for
    the report (``//@ bind_implies_driver_ok:``). ``irq_implies_driver_ok``: its
    ``irq_setup`` lines are printed by the transport once the device driver's attach
    finished, right before it sets DRIVER_OK (``//@ irq_implies_driver_ok:``).
    ``default_transport``: a device its lines find sits on this transport (pci or mmio)
    unless a line of the run shows another (``//@ default_transport:``, Firecracker's
    virtio-mmio unless it runs with --enable-pci).
    ``child_slot``: it lists a driver tree,
    and a device name matching this pattern is a driver below the transport listed with
    ``slot`` equal to the pattern's first group (``//@ child_slot:``).
    ``quiet_drivers``: the device drivers of the system printing these lines print nothing
    when they take a device (an RTOS whose drivers speak only of errors), so a device its
    lines find and no line shows driven may well be: the value says why, for the report
    (``//@ quiet_drivers:``).
    """

    FIELDS = ("side", "speaker", "bind_implies_driver_ok", "child_slot",
              "irq_implies_driver_ok", "default_transport", "quiet_drivers")

    def __init__(self, side: str = "guest", speaker: str | None = None,
                 bind_implies_driver_ok: str | None = None,
                 child_slot: NamePattern | None = None,
                 irq_implies_driver_ok: str | None = None,
                 default_transport: str | None = None,
                 quiet_drivers: str | None = None):
        self.side = side
        self.speaker = speaker
        self.bind_implies_driver_ok = bind_implies_driver_ok
        self.child_slot = child_slot
        self.irq_implies_driver_ok = irq_implies_driver_ok
        self.default_transport = default_transport
        self.quiet_drivers = quiet_drivers

    @property
    def firmware(self) -> bool:
        return self.side == "firmware"

    def slot_of_child(self, name: str) -> str | None:
        """The ``slot`` of the transport a driver named ``name`` sits below, when this
        grammar lists a driver tree and the name is one of its drivers'."""
        found = self.child_slot.match(name) if self.child_slot is not None else None
        return found.group(1) if found is not None else None


GUEST = GrammarFacts()  # a dialect that declares nothing: a guest's lines
