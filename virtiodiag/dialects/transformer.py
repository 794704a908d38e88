"""The one Transformer every grammar shares: parse-tree callbacks -> Payload.

Applied inline by the LALR parser (``Lark(..., transformer=...)``), so no tree is
built. The grammar decides what a line means by naming its rules after event kinds;
this module only converts the text of the named terminals into field values.
"""

from __future__ import annotations


from lark import Token, Transformer, Tree

from virtiodiag.cachefiles import compiled
from virtiodiag.events import KINDS, Payload, ValueOutOfRange

# Fields whose text stays text even when it looks like a number (names, pointers, BDFs).
TEXT_FIELDS = frozenset({
    "device", "address", "netdev", "driver", "test", "verdict", "message", "names", "reason",
    "bitstring", "mac", "vq", "mode", "transport", "device_type", "attr", "value_text",
    "handler", "old_name", "dst", "op", "slot_name", "vector_name", "param", "function",
    "module", "program", "source", "pattern", "units", "unit", "work", "blk_vendor", "arg",
    "device_arg", "mmio_base_le",
    "iommu", "client", "port_name", "root_disk",
})


class Field:
    """Result of a non-event sub-rule: its name, the text it covered, where that text
    starts and ends on the line, and the fields of the sub-rules inside it (a panic's
    ``message`` holding the ``major`` and ``minor`` of the disk it names)."""

    __slots__ = ("name", "text", "start", "end", "inner")

    def __init__(self, name: str, text: str, start: int | None = None,
                 end: int | None = None, inner: tuple = ()):
        self.name = name
        self.text = text
        self.start = start
        self.end = end
        self.inner = inner


# Every number a field may hold, in bits (spec 2.1 status byte, 2.6 queue index, 2.2
# feature bits: 128 in virtio 1.2+, 4 words of 32). A value wider than its field is not a
# value of that field: the line is not understood (counted), never used to size anything.
FIELD_BITS = {
    "status": 8, "queue": 16, "size": 16, "hdr_len": 16, "num_buffers": 16, "word": 2,
    "features": 128, "mmio_version": 32, "virtio_id": 32, "irq": 32, "vector": 32,
    "offset": 32, "level": 32, "page_size": 32, "shift": 6, "align": 32, "pfn": 32,
    "ready": 32, "notify_offset": 32, "width": 4,
}
DEFAULT_BITS = 64  # addresses, counters, anything else a grammar may name
# No field text holds a run of more digits than a 128-bit number needs (39 decimal,
# 32 hex + "0x"): longer ones are refused before any conversion (Python refuses to
# convert decimals over 4,300 digits, and a long number costs quadratic time).
# Text fields hold runs of digits up to 128 long (a sysfs `features` string is one 0/1
# character per feature bit).
MAX_DIGITS = 40
BITSTRING_BITS = 128
_LONG_NUMBER = compiled(rf"\d{{{MAX_DIGITS + 1}}}|0[xX][0-9a-fA-F]{{{MAX_DIGITS - 1}}}")
_LONG_TEXT_NUMBER = compiled(
    rf"\d{{{BITSTRING_BITS + 1}}}|0[xX][0-9a-fA-F]{{{BITSTRING_BITS - 1}}}")


def check_width(name: str, value) -> None:
    """Raise ValueOutOfRange when an integer field's value does not fit its width."""
    if isinstance(value, int):
        bits = FIELD_BITS.get(name, DEFAULT_BITS)
        if value >= 1 << bits or value < -(1 << (bits - 1)):
            raise ValueOutOfRange(f"{name}={value:#x} does not fit {bits} bits")


def convert(name: str, text: str):
    """Turn a terminal's text into a field value, by the field's name and shape.

    Raises ValueOutOfRange for a number wider than its field (see FIELD_BITS)."""
    if len(text) > MAX_DIGITS:
        if name in TEXT_FIELDS:
            if len(text) > BITSTRING_BITS and _LONG_TEXT_NUMBER.search(text):
                raise ValueOutOfRange(f"{name}: a number of more than {BITSTRING_BITS} digits")
        elif _LONG_NUMBER.search(text):
            raise ValueOutOfRange(f"{name}: a number of more than {MAX_DIGITS} digits")
    if name == "bitstring" and len(text) > BITSTRING_BITS:
        raise ValueOutOfRange(f"{name}: more than {BITSTRING_BITS} feature bits")
    if name.endswith("_hex"):
        digits = text[2:] if text[:2] in ("0x", "0X") else text
        if len(digits) > MAX_DIGITS:
            raise ValueOutOfRange(f"{name}: a number of more than {MAX_DIGITS} digits")
        try:
            value = int(digits, 16)
        except ValueError:
            return name[:-4], text
        check_width(name[:-4], value)
        return name[:-4], value
    if name in TEXT_FIELDS:
        return name, text
    if text[:2] in ("0x", "0X"):
        try:
            value = int(text, 16)
        except ValueError:
            return name, text
        check_width(name, value)
        return name, value
    stripped = text[1:] if text[:1] in "+-" else text
    if stripped.isascii() and stripped.isdigit():
        value = int(text)
        check_width(name, value)
        return name, value
    return name, text


def _collect(children, fields: list):
    for child in children:
        if isinstance(child, Token):
            fields.append(convert(child.type.lower().lstrip("_"), str(child)))
        elif isinstance(child, Field):
            fields.append(convert(child.name, child.text))
            fields.extend(convert(name, text) for name, text in child.inner)
        elif isinstance(child, Tree):
            _collect(child.children, fields)


def _merge_repeats(fields: list) -> tuple:
    """A field given more than once (one count per CPU column) becomes a tuple."""
    merged: dict[str, object] = {}
    for name, value in fields:
        if name in merged:
            previous = merged[name]
            merged[name] = (previous if isinstance(previous, tuple) else (previous,)) + (value,)
        else:
            merged[name] = value
    return tuple(merged.items())


class EventTransformer(Transformer):
    """Builds a Payload for rules named after an event kind (``kind`` or ``kind__detail``)."""

    def __init__(self, dialect: str):
        super().__init__(visit_tokens=False)
        self.dialect = dialect

    def __default__(self, data, children, meta):
        name = str(data)
        if name.startswith("_"):
            return Tree(data, children, meta)  # inlined rules are spliced by Lark itself
        kind, _, detail = name.partition("__")
        if kind in KINDS:
            fields: list = []
            _collect(children, fields)
            return Payload(self.dialect, kind, _merge_repeats(fields), detail or None)
        for child in children:
            if isinstance(child, Payload):
                return child  # start / grouping rules pass the event through
        if name == "start":
            return None
        # The pieces' text, one blank where the line had blanks between them (the grammars
        # ignore " ") and none where they touch ("unknown-block" "(" "0" ...).
        texts: list[str] = []
        inner: list[tuple[str, str]] = []
        start = end = None
        for child in children:
            if isinstance(child, Token):
                text, first, last = str(child), child.start_pos, child.end_pos
            elif isinstance(child, Field):
                text, first, last = child.text, child.start, child.end
                inner.append((child.name, child.text))
                inner.extend(child.inner)
            else:
                continue
            if texts:
                touching = first is not None and first == end
                texts.append(text if touching else " " + text)
            else:
                texts.append(text)
                start = first
            end = last
        return Field(name, "".join(texts), start, end, tuple(inner))
