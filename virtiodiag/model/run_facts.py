"""How a ``virtiodiag run`` ended and QEMU's own view of the devices then (``Model.run``).

A fact about the run the model was built from, read by the rules over QEMU's view and by
the reports (JSON ``run`` and ``qemu_view``); ``launch/session.py`` records it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtiodiag.plain import Plain

if TYPE_CHECKING:
    from virtiodiag.launch.qmp import Snapshot


class RunFacts(Plain):
    """How a run ended (stop, why, exit status, seconds, the arguments virtiodiag added)
    and the QMP snapshot taken then."""

    FIELDS = ("stop", "why", "exit_status", "seconds", "added", "qemu_view")

    def __init__(self, stop: str, why: str, exit_status: int | None, seconds: float,
                 added: list[str], qemu_view: Snapshot | None = None):
        self.stop = stop
        self.why = why
        self.exit_status = exit_status
        self.seconds = seconds
        self.added = added  # what virtiodiag added to the command line
        self.qemu_view = qemu_view

    @classmethod
    def recorded(cls, snapshot: Snapshot) -> RunFacts:
        """For QMP replies recorded earlier (the rules' fixtures): the view alone."""
        return cls(snapshot.when, "recorded", None, 0.0, [], snapshot)

    def to_dict(self) -> dict:
        return {"stop": self.stop, "why": self.why, "exit_status": self.exit_status,
                "seconds": round(self.seconds, 3), "added_arguments": self.added}
