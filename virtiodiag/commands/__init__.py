"""Sub-commands that live in their own modules.

Each module ``virtiodiag/commands/NAME.py`` defines a click command (or group) named
like the module; the CLI imports it only when that sub-command is run or listed.
"""

from __future__ import annotations

import importlib
import re

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def command_modules() -> list[str]:
    import pkgutil

    return [info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]


def load_command(name: str):
    """The command ``name`` from its module, or None when there is no such module."""
    if not _NAME.match(name) or name not in command_modules():
        return None
    module = importlib.import_module(f"{__name__}.{name}")
    return getattr(module, name, None)
