"""Compiled lexer patterns kept between runs.

Lark's cache keeps a grammar's parse tables, not its lexers. Each run, the contextual
lexer compiles one alternation of terminals per parser state on first use, and Python's
``re`` parses and compiles each in pure Python: on a 50 KB boot log that was about
50 ms of a 0.3 s run, and 0.2 s of a large log that needs every dialect.

A compiled pattern is a pure function of ``(pattern, flags)``: ``re`` turns it into an
SRE program (a list of integers) and hands that to ``_sre.compile``. This module stores
those programs beside Lark's cache file and hands them straight to ``_sre.compile`` next
time. It is a stand-in for the ``re`` module inside Lark's lexers only (Lark calls
``compile``, ``match`` and ``error`` on it), and it is exact, not approximate:

* a program is stored only after ``_sre.compile(program) == re.compile(pattern)``, which
  compares flags and the compiled code itself;
* the file is keyed by the Python version and SRE's magic number and code size, so a
  program is never handed to an ``_sre`` that did not produce it; ``_sre.compile`` also
  validates every program it is given;
* anything unexpected (a missing private name in a future Python, a damaged file) falls
  back to ``re.compile``: slower, never different.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
import tempfile

try:  # private names, present in CPython 3.11 to 3.13; without them: plain re.compile
    import _sre  # type: ignore[import-not-found]  # CPython's private module, no stubs
    from re import _compiler as _sre_compiler  # type: ignore[attr-defined]
    from re import _parser as _sre_parser

    _FORMAT: tuple | None = (1, tuple(sys.version_info[:2]), _sre.MAGIC, _sre.CODESIZE)
except (ImportError, AttributeError):  # pragma: no cover - other Python implementations
    _sre = None
    _FORMAT = None


def sre_program(pattern: str | bytes, flags: int) -> tuple | None:
    """What ``re.compile`` hands to ``_sre.compile`` for this pattern, or None."""
    if _sre is None:
        return None
    try:
        parsed = _sre_parser.parse(pattern, flags)
        code = _sre_compiler._code(parsed, flags)
        groupindex = dict(parsed.state.groupdict)
        indexgroup = [None] * parsed.state.groups
        for name, index in groupindex.items():
            indexgroup[index] = name
        # Plain ints and containers only: marshal stores nothing else (no RegexFlag).
        return (int(flags | parsed.state.flags), [int(op) for op in code],
                int(parsed.state.groups - 1), groupindex, tuple(indexgroup))
    except Exception:  # noqa: BLE001 - an internal API changed: no program, no harm
        return None


class PatternCache:
    """The ``re`` of Lark's lexers for one grammar, remembering compiled programs."""

    error = re.error

    def __init__(self, path: str | None):
        self.path = path
        self._programs: dict[tuple, tuple] = {}
        self._patterns: dict[tuple, re.Pattern] = {}
        self.added = 0
        self.reused = 0
        if path and _FORMAT is not None:
            try:
                with open(path, "rb") as handle:
                    # loads(read()): marshal.load on a file reads it a few bytes at a time
                    stored = marshal.loads(handle.read())
                if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == _FORMAT:
                    self._programs = stored[1]
            except (OSError, EOFError, ValueError, TypeError):
                self._programs = {}

    def compile(self, pattern, flags=0):
        key = (pattern, int(flags))
        compiled = self._patterns.get(key)
        if compiled is not None:
            return compiled
        program = self._programs.get(key)
        if program is not None:
            try:
                compiled = _sre.compile(pattern, *program)
                self.reused += 1
            except Exception:  # noqa: BLE001 - a damaged entry: compile it again
                del self._programs[key]
                compiled = None
        if compiled is None:
            compiled = re.compile(pattern, flags)
            program = sre_program(pattern, flags)
            if program is not None:
                try:
                    exact = _sre.compile(pattern, *program) == compiled
                except Exception:  # noqa: BLE001
                    exact = False
                if exact:
                    self._programs[key] = program
                    self.added += 1
        self._patterns[key] = compiled
        return compiled

    def match(self, pattern, string, flags=0):
        return self.compile(pattern, flags).match(string)

    def save(self) -> None:
        """Write the programs learnt in this run (atomically; a failure only costs time)."""
        if not self.added or not self.path or _FORMAT is None:
            return
        folder = os.path.dirname(self.path) or "."
        try:
            fd, temporary = tempfile.mkstemp(dir=folder, prefix=".lexcache-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(marshal.dumps((_FORMAT, self._programs)))
            os.replace(temporary, self.path)
            self.added = 0
        except (OSError, ValueError):
            try:
                os.unlink(temporary)
            except (OSError, UnboundLocalError):
                pass


def install(parser, cache: PatternCache) -> bool:
    """Make a Lark LALR parser's lexers compile through ``cache``.

    Returns False (and changes nothing) when the parser is not laid out as expected, for
    instance in a future Lark: the parser then compiles its patterns itself, as before.
    """
    frontend = getattr(parser, "parser", None)
    lexer = getattr(frontend, "lexer", None)
    lexers = getattr(lexer, "lexers", None)
    if not isinstance(lexers, dict):
        return False
    basics = list(lexers.values())
    root = getattr(lexer, "root_lexer", None)
    if root is not None:
        basics.append(root)
    if not all(hasattr(basic, "re") and hasattr(basic, "_scanner") for basic in basics):
        return False
    for basic in basics:
        if basic._scanner is None:  # not yet built: it will be built through the cache
            basic.re = cache
    return True
