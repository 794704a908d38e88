"""Dialects: one Lark grammar per log format, turned into typed events."""

from virtiodiag.dialects.registry import Dialect, DialectError, DialectSet, load_dialects

__all__ = ["Dialect", "DialectError", "DialectSet", "load_dialects"]
