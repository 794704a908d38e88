"""Rules: one module per rule (``vdNNN_name.py``), discovered at first use."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

_RULES: list[ModuleType] | None = None


def all_rules() -> list[ModuleType]:
    global _RULES
    if _RULES is None:
        found = []
        for info in pkgutil.iter_modules(__path__):
            if info.name.startswith("vd") and info.name[2:5].isdigit():
                found.append(importlib.import_module(f"{__name__}.{info.name}"))
        found.sort(key=lambda module: module.CODE)
        _RULES = found
    return _RULES


def get_rule(code_or_name: str) -> ModuleType | None:
    wanted = code_or_name.strip().lower()
    for module in all_rules():
        if module.CODE.lower() == wanted or wanted == module.NAME:
            return module
    return None
