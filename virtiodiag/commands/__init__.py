"""Sub-commands that live in their own modules; each exposes ``register(cli)``."""

from __future__ import annotations

import importlib
import pkgutil


def register_all(cli) -> None:
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(cli)
