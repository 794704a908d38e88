"""Who was driving the machine at each point of a log: its firmware or its OS.

A log that holds firmware lines (SeaBIOS, U-Boot) and an OS's (Linux, a BSD) shows two
drivers handling the same devices one after the other: the firmware first, then the OS,
again at each reboot. A host line (QEMU's trace) does not say which of them wrote a
status; the guest lines around it do. The eras are the points where the side of the
guest's lines changed (firmware <-> OS), as each line's grammar declares it
(``//@ side:``). A host event belongs to the era of the last guest line before it; before
the first guest line, to the first one's era when that is the firmware's (U-Boot prints
after driving its devices).

Two stretches are either's (``GAP``): between a firmware's last line and the OS's first
(a firmware may drive a device after its last line, and a quiet OS's handshakes come long
before its first line), and before an OS's first line (a firmware that printed nothing,
SeaBIOS without its debug port, drives the boot disk there too). There the handshake's
own first write tells them apart (``handshake_side``): an OS writes ACKNOWLEDGE alone
first (Linux's register_virtio_device, the BSDs' attach), SeaBIOS ACKNOWLEDGE|DRIVER (3).

A guest that restarts the machine (Linux's ``reboot: Restarting system``) begins a new
boot in the same log: the firmware runs again, then the OS. From the restart on the log
is read as from its start (``REBOOT``): the stretch before the next guest line is the
firmware's when the firmware speaks next, else either's; and "the OS drives a device
once" holds per boot.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from virtiodiag import spec
from virtiodiag.events import Event

FIRMWARE = "firmware"
OS = "guest"
GAP = "gap"
REBOOT = "reboot"  # an era that begins where the guest restarted the machine
ERA_LIMIT = 4096  # changes kept; past it the last era is taken to go on (counted)


class Eras:
    """The side speaking (firmware or OS) from each change on, in log order."""

    def __init__(self) -> None:
        self.starts: list[int] = []  # seq of the first line of each era
        # seq of its last line; the last era's while it goes on is ``last``'s (see end)
        self.ends: list[int] = []
        self.sides: list[str] = []
        self.dropped = 0
        self.last: Event | None = None  # the latest guest-side event
        self.reboots: list[int] = []  # seq of each restart (REBOOT era), in log order
        # The side of the last era while ``last`` is its latest line (None: no era yet, or
        # past ERA_LIMIT): a line of this side only moves ``last`` (Attribution.feed).
        self.current: str | None = None
        # model/last_seen.LastSeen: lines it holds are applied before the eras change
        # (``last`` may be one of them), and it follows which side speaks after.
        self.watcher: Any = None

    def saw(self, event: Event, side: str) -> None:
        """A guest-side line (``side``: firmware or guest). Attribution.feed inlines the
        common case (``side`` is ``current``: only ``last`` moves): change both together."""
        if side == self.current:
            self.last = event
            return
        watcher = self.watcher
        if watcher is not None:
            watcher.settle()
        self._change(event, side)
        if watcher is not None:
            watcher.follow(self.current)

    def _change(self, event: Event, side: str) -> None:
        if self.current is not None:
            self.ends[-1] = self.last.seq  # type: ignore[union-attr]  # the era's last line
        self.last = event
        seq = event.seq
        if self.sides and self.sides[-1] == side:  # past ERA_LIMIT: the last era goes on
            self.ends[-1] = seq
            return
        if len(self.starts) >= ERA_LIMIT:
            self.dropped += 1
            self.current = None
            return
        self.starts.append(seq)
        self.ends.append(seq)
        self.sides.append(side)
        self.current = side

    def rebooted(self, event: Event) -> None:
        """The guest restarted the machine at ``event`` (its own line, already seen)."""
        watcher = self.watcher
        if watcher is not None:
            watcher.settle()
        self._restart(event)
        if watcher is not None:
            watcher.follow(self.current)

    def _restart(self, event: Event) -> None:
        if self.current is not None:
            self.ends[-1] = self.last.seq  # type: ignore[union-attr]
        if len(self.starts) >= ERA_LIMIT:
            self.dropped += 1
            self.current = None
            return
        self.starts.append(event.seq)
        self.ends.append(event.seq)
        self.sides.append(REBOOT)
        self.reboots.append(event.seq)
        self.current = REBOOT

    def end(self, index: int) -> int:
        """The seq of era ``index``'s last line."""
        if self.current is not None and index == len(self.sides) - 1:
            return self.last.seq  # type: ignore[union-attr]  # the era goes on
        return self.ends[index]

    def os_spoke_after(self, seq: int) -> bool:
        """Whether the OS's own lines follow ``seq``: a firmware's line there did not end
        the boot (its boot manager went on to a loader that started the OS)."""
        index = bisect_right(self.starts, seq)
        return OS in self.sides[index:]

    def boot_of(self, seq: int) -> int:
        """How many restarts come before ``seq`` (0: the log's first boot)."""
        return bisect_right(self.reboots, seq)

    def side_at(self, seq: int) -> str | None:
        """FIRMWARE, OS, GAP (see the module), or None when no guest line was seen."""
        if not self.sides:
            return None
        index = bisect_right(self.starts, seq) - 1
        if index < 0 or self.sides[index] == REBOOT:
            # Before a boot's first guest line: the firmware's when it speaks first.
            following = self.sides[index + 1] if index + 1 < len(self.sides) else None
            return FIRMWARE if following == FIRMWARE else GAP
        side = self.sides[index]
        if side == FIRMWARE and seq > self.end(index) and index + 1 < len(self.sides):
            return GAP
        return side

    def handshake_side(self, seq: int, first_value: int) -> str | None:
        """Whose handshake began at ``seq`` with the write ``first_value`` (the first
        non-zero status after a reset): FIRMWARE, OS, or None (no guest line seen)."""
        side = self.side_at(seq)
        if side == GAP:
            return OS if first_value == spec.ACKNOWLEDGE else FIRMWARE
        return side

    def handshake_sides(self, starts: list[tuple[int, int]]) -> list[str | None]:
        """``handshake_side`` of each handshake of one device, given (seq, first value)
        of each in log order. A handshake in a GAP that begins with ACKNOWLEDGE alone is
        still the firmware's when the device has a later one in the OS's own era: a
        silent firmware may begin with ACKNOWLEDGE too (OVMF's VirtioPciDeviceDxe writes
        1, 3, 7 without a word on a release build), and the OS drives a device once."""
        sides = [self.handshake_side(seq, value) for seq, value in starts]
        later_os = False
        boot = None
        for index in range(len(starts) - 1, -1, -1):
            seq = starts[index][0]
            if self.reboots and self.boot_of(seq) != boot:
                boot, later_os = self.boot_of(seq), False  # the OS drives it once per boot
            strict = self.side_at(seq)
            if strict == GAP and sides[index] == OS and later_os:
                sides[index] = FIRMWARE
            later_os = later_os or strict == OS
        return sides
