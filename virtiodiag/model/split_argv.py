"""A VMM's argv printed one word a line (grammars/android_emulator.lark): the option and
its value are two events, paired here before model/declared.py reads what they declare.

The Android emulator's -verbose run prints each QEMU argument as "emulator: argv[NN] =
"..."", so "-device" and "virtio-blk-pci,drive=system" are lines NN and NN+1. A word is
kept until the next one arrives; when its index is the next index, the two are one option
and its value, declared at the value's line. A gap in the numbering (lines cut from the
paste) pairs nothing: the value of a lost option is no declaration.
"""

from __future__ import annotations

from virtiodiag.events import Event


class SplitArgv:
    """The last argv word seen, waiting for the next index's (``Model.split_argv``)."""

    def __init__(self) -> None:
        self.last: tuple[int, str] | None = None

    def pair(self, event: Event) -> tuple[str, str] | None:
        """(the previous word, this one) when they are consecutive arguments, else None;
        run_wide.py gives the pair to model/declared.py."""
        index = event.get("argv_index")
        if not isinstance(index, int):
            return None
        word = str(event.get("arg") or "")
        last, self.last = self.last, (index, word)
        if last is not None and last[0] == index - 1:
            return (last[1], word)
        return None
