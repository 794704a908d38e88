"""Dialects: one Lark grammar per log format, turned into typed events."""

import sys


class _InteregularOnFirstUse:
    """Stands for the ``interegular`` module in ``lark.lexer``: imports it (an ordinary
    import) when Lark first asks it for something."""

    def __getattr__(self, name: str):
        import interegular

        return getattr(interegular, name)


def _import_lark() -> None:
    """Import Lark without running ``interegular`` until Lark uses it.

    ``lark.lexer`` imports interegular at once when it is installed (about 30 M
    instructions, 7 % of the import baseline), but uses it only to look for terminal
    collisions when a grammar is compiled afresh: strictly (``grammar check``, which reports
    them) or not (``registry.compile_grammar`` turns that check off). A warm cache never
    compiles, so an analysis never needed the module. Lark is imported here with the name
    unimportable for that one statement (``sys.modules`` maps it to None), then
    ``lark.lexer`` is given a stand-in that imports the real module on first use, and
    ``has_interegular`` is true again: the strict check finds the same collisions
    (tests/test_lazy_imports.py). Every other ``import interegular`` is an ordinary one.
    Nothing is done when lark or interegular is already imported.

    Every module that imports lark is in this package, so this runs first; importing
    this package means parsing (the transformer imports lark anyway).
    """
    if "lark" in sys.modules or "interegular" in sys.modules:
        return
    from importlib.util import find_spec

    try:
        installed = find_spec("interegular") is not None
    except (ImportError, ValueError):
        installed = False
    if installed:
        sys.modules["interegular"] = None  # type: ignore[assignment] # import -> ImportError
    try:
        import lark.lexer
    finally:
        if installed and sys.modules.get("interegular", False) is None:
            del sys.modules["interegular"]
    if installed and not lark.lexer.has_interegular:
        setattr(lark.lexer, "interegular", _InteregularOnFirstUse())  # noqa: B010
        lark.lexer.has_interegular = True


_import_lark()

from virtiodiag.dialects.registry import (  # noqa: E402 - Lark imported first (above)
    Dialect,
    DialectError,
    DialectSet,
    load_dialects,
)

__all__ = ["Dialect", "DialectError", "DialectSet", "load_dialects"]
