"""Value-object helpers for the classes on the start-up path (Plain, and Frozen for options).

``@dataclass`` generates each class's methods with ``exec`` when the module is imported:
about 0.5-1 ms a class, a quarter of the package's import time for a tool that must start
in a fraction of a second. These classes write their ``__init__`` out and get equality and
repr from here, driven by the ``FIELDS`` they list.
"""

from __future__ import annotations


class Plain:
    """Equality and repr over ``FIELDS`` (like a dataclass's); unhashable, as they are.

    No instance dictionary of its own (``__slots__ = ()``), so a subclass that lists its
    fields in ``__slots__`` has none either: the model keeps thousands of small records
    per long log (records.py)."""

    __slots__ = ()
    FIELDS: tuple[str, ...] = ()

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value: like a dataclass with eq and no frozen

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__name__}({values})"


class Frozen(Plain):
    """A Plain value that cannot change once made, like a frozen dataclass: assigning a
    field raises; ``replace`` returns a copy with some fields changed; hashable when its
    fields are."""

    def _set(self, **values) -> None:
        """For ``__init__``: set the fields (every one in FIELDS, no other)."""
        if set(values) != set(self.FIELDS):
            raise TypeError(f"{type(self).__name__}: fields {sorted(values)} are not "
                            f"{sorted(self.FIELDS)}")
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is frozen: use replace({name}=...)")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __hash__(self) -> int:  # type: ignore[override]  # Plain's values are unhashable
        return hash(tuple(getattr(self, name) for name in self.FIELDS))

    def replace(self, **changes):
        """A copy with ``changes`` applied (``dataclasses.replace``)."""
        unknown = set(changes) - set(self.FIELDS)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(unknown))}")
        copy = object.__new__(type(self))
        for name in self.FIELDS:
            object.__setattr__(copy, name, changes.get(name, getattr(self, name)))
        return copy
