"""The one Transformer every grammar shares: parse-tree callbacks -> Payload.

Applied inline by the LALR parser (``Lark(..., transformer=...)``), so no tree is
built. The grammar decides what a line means by naming its rules after event kinds;
this module only converts the text of the named terminals into field values.
"""

from __future__ import annotations

from lark import Token, Transformer, Tree

from virtiodiag.events import KINDS, Payload

# Fields whose text stays text even when it looks like a number (names, pointers, BDFs).
TEXT_FIELDS = frozenset({
    "device", "address", "netdev", "driver", "test", "verdict", "message", "names", "reason",
    "bitstring", "mac", "vq", "mode", "transport", "device_type", "attr", "value_text",
    "handler", "old_name", "dst", "op", "slot_name", "vector_name", "param", "function",
    "module", "program",
})


class Field:
    """Result of a non-event sub-rule: its name and the text it covered."""

    __slots__ = ("name", "text")

    def __init__(self, name: str, text: str):
        self.name = name
        self.text = text


def convert(name: str, text: str):
    """Turn a terminal's text into a field value, by the field's name and shape."""
    if name.endswith("_hex"):
        digits = text[2:] if text[:2] in ("0x", "0X") else text
        try:
            return name[:-4], int(digits, 16)
        except ValueError:
            return name[:-4], text
    if name in TEXT_FIELDS:
        return name, text
    if text[:2] in ("0x", "0X"):
        try:
            return name, int(text, 16)
        except ValueError:
            return name, text
    stripped = text[1:] if text[:1] in "+-" else text
    if stripped.isdigit():
        return name, int(text)
    return name, text


def _collect(children, fields: list):
    for child in children:
        if isinstance(child, Token):
            fields.append(convert(child.type.lower().lstrip("_"), str(child)))
        elif isinstance(child, Field):
            fields.append(convert(child.name, child.text))
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
        texts = []
        for child in children:
            if isinstance(child, Token):
                texts.append(str(child))
            elif isinstance(child, Field):
                texts.append(child.text)
        return Field(name, " ".join(texts))
