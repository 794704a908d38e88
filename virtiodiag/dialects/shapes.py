"""Line shapes: lines that differ only in their numbers, parsed once by the grammar.

A dense QEMU trace repeats a few line shapes with changing numbers (request pointers,
sector numbers, queue indexes). Parsing each with Lark costs ~100 µs. A shape is the
line with every number replaced by a placeholder of the same length (so grammars whose
terminals count digits still see the same shape). The grammar parses the first lines of
a shape; from them we learn which field comes from which number, and the template is
trusted only after it has reproduced the grammar's own result on further lines. Any
disagreement retires the shape for good: the grammar stays the only source of meaning.

A shape stands in for the grammar only where that is provably the same (see
``terminal_hazards``): the dialects asked for the line must be shape-safe, no terminal of
theirs telling one digit (or one hex letter) from another, so that lines of one shape,
which differ only in such characters, lex and parse alike; and the same dialects must
want the line (their triggers and match patterns may hold digits). A number keeps its
form in the key: ``0x1f`` and ``1234`` are not one shape.

A field that no single number produced is kept as a constant only when it holds no digit.
Every digit of a line belongs to one of its numbers, so a value such as ``virtio0`` or
``0000:00:03.0`` is made of the line's numbers without being one of them: replaying it
would give every later line of the shape the first line's device. Such shapes always go
to the grammar.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from virtiodiag.cachefiles import compiled
from virtiodiag.dialects.transformer import ValueOutOfRange, convert
from virtiodiag.events import Payload

# A number, captured: split() gives the text between the numbers and the numbers.
NUMBER = compiled(r"(0x[0-9a-fA-F]+|\d+)")
_DIGIT = compiled(r"\d")
VERIFY = 2  # lines a template must reproduce exactly before it is used
SHAPE_LIMIT = 4096


_UNFIT = object()  # a number that does not fit the field: never equal to a value


def _value(name: str, text: str):
    """The field value ``text`` would give, or _UNFIT when it does not fit the field."""
    try:
        return convert(name, text)[1]
    except ValueOutOfRange:
        return _UNFIT


def _made_of_numbers(value) -> bool:
    """Whether a value holds digits, which can only have come from the line's numbers."""
    if value is None or isinstance(value, bool):
        return False
    return _DIGIT.search(str(value)) is not None


class Template:
    __slots__ = ("dialect", "kind", "detail", "names", "sources", "constants", "verified",
                 "dead")

    def __init__(self, payload: Payload, numbers: list[str]):
        self.dialect, self.kind, self.detail = payload.dialect, payload.kind, payload.detail
        self.names = [name for name, _ in payload.fields]
        # For each field: the number slots that could have produced it (narrowed later).
        self.sources: list[set[int]] = []
        self.constants: list[object] = []
        for name, value in payload.fields:
            slots = {i for i, text in enumerate(numbers) if _value(name, text) == value}
            self.sources.append(slots)
            self.constants.append(value)
        self.verified = 0
        self.dead = any(not slots and _made_of_numbers(value)
                        for slots, value in zip(self.sources, self.constants, strict=True))

    def learn(self, payload: Payload | None, numbers: list[str]) -> None:
        """Check a fresh grammar result against the template; narrow or retire it."""
        if (payload is None or payload.kind != self.kind or payload.detail != self.detail
                or [n for n, _ in payload.fields] != self.names):
            self.dead = True
            return
        for index, (name, value) in enumerate(payload.fields):
            slots = {i for i in self.sources[index] if _value(name, numbers[i]) == value}
            if not slots and (value != self.constants[index] or _made_of_numbers(value)):
                self.dead = True
                return
            if self.sources[index] and not slots:
                self.dead = True  # it came from a number before, now it does not
                return
            self.sources[index] = slots
        if all(len(s) <= 1 for s in self.sources):
            self.verified += 1

    @property
    def trusted(self) -> bool:
        return not self.dead and self.verified >= VERIFY

    def build(self, numbers: list[str]) -> Payload:
        """The template's payload for these numbers. Raises ValueOutOfRange when one does
        not fit its field, as the grammar's transformer would (same ``convert``)."""
        fields = []
        for name, slots, constant in zip(self.names, self.sources, self.constants, strict=True):
            if slots:
                fields.append(convert(name, numbers[next(iter(slots))]))
            else:
                fields.append((name, constant))
        return Payload(self.dialect, self.kind, tuple(fields), self.detail)



# Regex idioms that treat every decimal digit alike (and every hex letter alike), and
# repetition counts (digits that are not matched text).
_UNIFORM = compiled(r"\\d|0-9|a-f|A-F|0\[xX\]|0x|0X|\{\d+(,\d*)?\}|\{,\d+\}")
_CLASS = compiled(r"\[(\^?)((?:\\.|[^\]\\])*)\]")


_ESCAPE = compiled(r"\\.")
_RANGE = compiled(r"(.)-(.)")
_HEX_LETTERS = (frozenset("abcdef"), frozenset("ABCDEF"))


@lru_cache(maxsize=512)
def _class_hazard(body: str) -> bool:
    """A character class that holds some hex letters but not all (a-f or A-F). Grammars
    repeat the same classes ([0-9a-f], [a-z_]...): each body is looked at once."""
    body = _ESCAPE.sub("", body)  # escapes (\d, \s, \.) name no hex letter
    ranges = _RANGE.findall(body)
    singles = set(_RANGE.sub("", body))
    for letters in _HEX_LETTERS:
        held = singles & letters
        for start, end in ranges:
            held |= {chr(c) for c in range(ord(start), ord(end) + 1)} & letters
        if held and held != letters:
            return True
    return False


def terminal_hazards(terminals) -> list[str]:
    """Why a grammar's terminals (Lark's TerminalDefs) may tell lines of one shape apart:
    a literal holding a digit, a pattern naming a digit outside the whole-class idioms
    (``\\d``, ``[0-9]``, ``[0-9a-fA-F]``, ``0x``), or a class holding some hex letters but
    not all. [] when there is none: then two lines that differ only in the digits (and
    hex letters) of their numbers lex alike, token for token, and parse alike."""
    return list(each_hazard(terminals))


def shape_safe(terminals) -> bool:
    """``not terminal_hazards(terminals)``, stopping at the first hazard (the decoder
    asks only whether there is one: linux_console's first terminal is one, of 274)."""
    return next(each_hazard(terminals), None) is None


def each_hazard(terminals) -> Iterator[str]:
    """``terminal_hazards``, one at a time, in the terminals' order."""
    for term in terminals:
        pattern = term.pattern
        value = pattern.value
        if pattern.type == "str":
            if _DIGIT.search(value.replace("0x", "").replace("0X", "")):
                yield f"literal {value!r} ({term.name}) holds a digit"
            continue
        stripped = _UNIFORM.sub("", value)
        if _DIGIT.search(stripped):
            yield f"terminal {term.name} /{value}/ tells digits apart"
        elif any(_class_hazard(m.group(2)) for m in _CLASS.finditer(value)):
            yield f"terminal {term.name} /{value}/ tells hex letters apart"


class ShapeMemo:
    def __init__(self):
        self._templates: dict[tuple, Template | None] = {}

    @staticmethod
    def key(text: str, wanting: tuple[int, ...] = ()) -> tuple[tuple, list[str]]:
        """The shape of a line: its text with every number masked, each number's length
        (negative for a 0x number) and which dialects want it."""
        # One pass: the text between the numbers, and the numbers (NUMBER's matches, as
        # findall and sub find them), alternating.
        parts = NUMBER.split(text)
        numbers = parts[1::2]
        forms = tuple([-len(n) if n[1:2] in ("x", "X") else len(n) for n in numbers])
        return ("\x00".join(parts[0::2]), forms, wanting), numbers

    def lookup(self, key: tuple, numbers: list[str]) -> Payload | None:
        """The trusted template's payload, or None; raises ValueOutOfRange (see build)."""
        template = self._templates.get(key)
        if template is not None and template.trusted:
            return template.build(numbers)
        return None

    def learn(self, key: tuple, numbers: list[str], payload: Payload | None,
              safe: bool = True) -> None:
        """Learn from the grammar's result for one line of this shape; ``safe``: every
        dialect asked for it was shape-safe (otherwise the shape is never used)."""
        templates = self._templates
        if not safe:
            templates[key] = None
            return
        if key not in templates:
            if payload is None or not numbers:
                templates[key] = None  # nothing to learn: no event, or no numbers to vary
                return
            if len(templates) >= SHAPE_LIMIT:
                templates.clear()
            templates[key] = Template(payload, numbers)
            return
        template = templates[key]
        if template is not None and not template.dead:
            template.learn(payload, numbers)
