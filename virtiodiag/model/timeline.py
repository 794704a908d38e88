"""A device's timeline, bounded: the entries kept for the report (the first ones, how the
device was found and first driven, and the latest ones), a part of model/device.py's
Device kept here as a mixin."""

from __future__ import annotations

from virtiodiag.events import Event

# Entries kept per device: the first TIMELINE_HEAD (how the device was found and first
# driven) and the latest ones (the current attempt, what a bad final state is about);
# the ones between are counted (timeline_dropped). A handshake is 10-40 entries, so this
# holds the first attempt and the last few whole, and memory stops growing once a device
# has been through a few boots of a long log.
TIMELINE_LIMIT = 100
TIMELINE_HEAD = 40


class DeviceTimeline:
    """Adds an event to a device's timeline within the bound, and says where it dropped."""

    timeline: list[Event]
    timeline_dropped: int

    def add_timeline(self, event: Event) -> None:
        timeline = self.timeline
        if len(timeline) >= TIMELINE_LIMIT:
            del timeline[TIMELINE_HEAD]  # the oldest entry after the head
            self.timeline_dropped += 1
        timeline.append(event)

    def insert_timeline(self, event: Event) -> None:
        """Add an event known only at the end of the run at its place in log order."""
        timeline = self.timeline
        place = next((i for i, e in enumerate(timeline) if e.seq > event.seq), len(timeline))
        timeline.insert(place, event)
        if len(timeline) > TIMELINE_LIMIT:
            del timeline[TIMELINE_HEAD]
            self.timeline_dropped += 1

    @property
    def timeline_gap_after(self) -> int | None:
        """Index in ``timeline`` after which ``timeline_dropped`` entries were left out."""
        return TIMELINE_HEAD if self.timeline_dropped else None
