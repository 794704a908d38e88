"""Value-object helpers for the classes on the start-up path.

``@dataclass`` generates each class's methods with ``exec`` when the module is imported:
about 0.5-1 ms a class, a quarter of the package's import time for a tool that must start
in a fraction of a second. These classes write their ``__init__`` out and get equality and
repr from here, driven by the ``FIELDS`` they list.
"""

from __future__ import annotations


class Plain:
    """Equality and repr over ``FIELDS`` (like a dataclass's); unhashable, as they are."""

    FIELDS: tuple[str, ...] = ()

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value: like a dataclass with eq and no frozen

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__name__}({values})"
