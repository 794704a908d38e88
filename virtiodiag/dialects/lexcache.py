"""Compiled grammars and lexer patterns kept between runs, safely.

Where the cache lives, and why nothing in it can run code (issue 15): a cache file is
read only from a private directory the tool creates with mode 0700 and checks it owns
(``$XDG_CACHE_HOME/virtiodiag`` or ``~/.cache/virtiodiag``; not a symlink, owned by this
user, no access for group or others). Where there is no such directory (an unwritable
HOME, a shared cache folder), there is no cache: slower start-up, never unsafe; Lark is
never given ``cache=`` (which falls back to predictable names in /tmp and unpickles them
unchecked). Every file is sealed with an HMAC-SHA256 under a per-user key kept in that
directory (``key``, mode 0600) and read only after the seal is checked: a file planted
or altered by anyone without the key is ignored, never unpickled.

Compiled lexer patterns:

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

import hashlib
import hmac
import marshal
import os
import re
import stat
import sys
import tempfile
from pathlib import Path

try:  # private names, present in CPython 3.11 to 3.13; without them: plain re.compile
    import _sre  # type: ignore[import-not-found]  # CPython's private module, no stubs
    from re import _compiler as _sre_compiler  # type: ignore[attr-defined]
    from re import _parser as _sre_parser

    _FORMAT: tuple | None = (1, tuple(sys.version_info[:2]), _sre.MAGIC, _sre.CODESIZE)
except (ImportError, AttributeError):  # pragma: no cover - other Python implementations
    _sre = None
    _FORMAT = None


CACHE_DIR_ENV = "XDG_CACHE_HOME"
KEY_FILE = "key"
SEAL = b"virtiodiag-sealed-1\n"
MAX_CACHE_FILE = 32 << 20  # bytes read from one cache file at most


def private_dir(create: bool = True) -> Path | None:
    """The private cache directory (created 0700), or None when there is none safe."""
    base = os.environ.get(CACHE_DIR_ENV) or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "virtiodiag"
    if create:
        try:
            os.makedirs(base, exist_ok=True)
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        except (OSError, ValueError):
            return None
    try:
        info = os.lstat(folder)
    except (OSError, ValueError):
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        return None  # a symlink, a file, or someone else's directory: no cache
    if info.st_mode & 0o022:
        return None  # others could have written into it: nothing in it is trusted
    if info.st_mode & 0o077:
        try:
            os.chmod(folder, 0o700)  # ours and never writable by others (an old 0755)
        except OSError:
            return None
    return folder


def _read_private(path: Path, limit: int) -> bytes | None:
    """A regular file's bytes if it is ours and not a symlink (O_NOFOLLOW), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if (not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid()
                or info.st_size > limit):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def sealing_key(folder: Path) -> bytes | None:
    """This user's key for sealing cache files (made on first use), or None."""
    path = folder / KEY_FILE
    key = _read_private(path, 64)
    if key is not None and len(key) == 32 and not os.stat(path).st_mode & 0o077:
        return key
    if key is not None:
        return None  # a key file we did not write as we write it: trust nothing
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        key = _read_private(path, 64)  # another run made it just now
        return key if key is not None and len(key) == 32 else None
    except OSError:
        return None
    key = os.urandom(32)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
    except OSError:
        return None
    return key


def _seal(key: bytes, name: str, payload: bytes) -> bytes:
    # The file's name is sealed too: a sealed file copied over another cache file of
    # the same user (a different grammar) is not accepted there.
    return hmac.new(key, name.encode() + b"\0" + payload, hashlib.sha256).digest()


def read_sealed(path: str | Path, key: bytes | None) -> bytes | None:
    """The payload of a sealed cache file whose seal checks out, else None."""
    if key is None:
        return None
    data = _read_private(Path(path), MAX_CACHE_FILE)
    if data is None or not data.startswith(SEAL) or len(data) < len(SEAL) + 32:
        return None
    mac, payload = data[len(SEAL):len(SEAL) + 32], data[len(SEAL) + 32:]
    if not hmac.compare_digest(mac, _seal(key, Path(path).name, payload)):
        return None
    return payload


def write_sealed(path: str | Path, key: bytes | None, payload: bytes) -> bool:
    """Write a sealed cache file atomically (a failure only costs time)."""
    if key is None or len(payload) > MAX_CACHE_FILE:
        return False
    path = Path(path)
    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".cache-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(SEAL + _seal(key, path.name, payload) + payload)
        os.replace(temporary, path)
        return True
    except (OSError, ValueError):
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        return False


def cached_lark(text: str, options: dict, cache_file: str | None, key: bytes | None):
    """``Lark(text, **options)``, loaded from a sealed cache file when one checks out.

    Lark's own ``cache=`` is never used (see the module docstring); its format is: Lark's
    ``save()`` output (a pickle), read only after the seal is checked."""
    import io
    import pickle

    from lark import Lark
    from lark.lark import _LOAD_ALLOWED_OPTIONS

    payload = read_sealed(cache_file, key) if cache_file else None
    if payload is not None:
        try:
            parser = Lark.__new__(Lark)
            kept = {k: v for k, v in options.items() if k in _LOAD_ALLOWED_OPTIONS}
            return parser._load(io.BytesIO(payload), **kept)
        except Exception:  # noqa: BLE001 - sealed by us but unreadable (a Lark upgrade)
            pass
    parser = Lark(text, **options)
    if cache_file and key is not None:
        buffer = io.BytesIO()
        try:
            parser.save(buffer, _LOAD_ALLOWED_OPTIONS)
        except (NotImplementedError, pickle.PicklingError, TypeError, AttributeError):
            return parser
        write_sealed(cache_file, key, buffer.getvalue())
    return parser


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

    def __init__(self, path: str | None, key: bytes | None = None):
        self.path = path
        self.key = key  # the sealing key (see sealing_key); without one: no file at all
        self._programs: dict[tuple, tuple] = {}
        self._patterns: dict[tuple, re.Pattern] = {}
        self.added = 0
        self.reused = 0
        if path and _FORMAT is not None:
            payload = read_sealed(path, key)
            try:
                stored = marshal.loads(payload) if payload is not None else None
                if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == _FORMAT:
                    self._programs = stored[1]
            except (EOFError, ValueError, TypeError):
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
        try:
            payload = marshal.dumps((_FORMAT, self._programs))
        except ValueError:
            return
        if write_sealed(self.path, self.key, payload):
            self.added = 0


def install(parser, cache: object) -> bool:
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
