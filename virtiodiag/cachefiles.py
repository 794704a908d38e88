"""Private, sealed cache files, and regular expressions compiled from stored programs.

Where a cache lives, and why nothing in it can run code (issue 15): a cache file is
read only from a private directory the tool creates with mode 0700 and checks it owns
(``$XDG_CACHE_HOME/virtiodiag`` or ``~/.cache/virtiodiag``; not a symlink, owned by this
user, no access for group or others). Where there is no such directory (an unwritable
HOME, a shared cache folder), there is no cache: slower start-up, never unsafe. Every file
is sealed with keyed BLAKE2b (a MAC, RFC 7693) under a per-user key kept in that
directory (``key``, mode 0600) and read only after the seal is checked: a file planted or
altered by anyone without the key is ignored, never loaded.

Compiled patterns (``PatternCache``, ``compiled``):

A compiled pattern is a pure function of ``(pattern, flags)``: ``re`` parses the pattern
and compiles it in pure Python into an SRE program (a list of integers), then hands that
to ``_sre.compile``. A PatternCache stores those programs in a sealed file and hands them
straight to ``_sre.compile`` next time. The file is indexed: its sealed head lists each
program's place and digest, and a program is checked and decoded only when its pattern is
compiled, so a run pays for the programs it uses, not for all earlier runs stored. It is
exact, not approximate:

* a program is stored only after ``_sre.compile(program) == re.compile(pattern)``, which
  compares flags and the compiled code itself;
* the file is keyed by the Python version and SRE's magic number and code size, so a
  program is never handed to an ``_sre`` that did not produce it; ``_sre.compile`` also
  validates every program it is given;
* anything unexpected (a missing private name in a future Python, a damaged file) falls
  back to ``re.compile``: slower, never different.

Two kinds of pattern go through it: each grammar's lexer patterns (dialects/lexcache.py,
one file per grammar), and the patterns virtiodiag's own modules compile when imported or
read from a grammar's ``//@ match:`` line (``compiled``, one file): the boot log sample's
analysis compiles 68 of them, about 8 ms of its 0.11 s, paid on every start before.

This module imports nothing of virtiodiag's: the modules whose patterns it compiles
import it while they are being imported.
"""

from __future__ import annotations

import atexit
import marshal
import os
import re
import stat
import sys
from pathlib import Path
from typing import AnyStr

# BLAKE2b from its own module, and the constant-time comparison from _operator (what
# hmac.compare_digest is): importing hashlib or hmac loads OpenSSL (_hashlib), whose first
# HMAC-SHA256 cost every run's start-up about 36 M instructions, 5 % of analysing a small
# log. Keyed BLAKE2b is a MAC by design (RFC 7693).
try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - an interpreter built without the module
    from hashlib import blake2b
try:
    from _operator import _compare_digest as compare_digest
except ImportError:  # pragma: no cover
    from hmac import compare_digest  # type: ignore[no-redef]

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
SEAL = b"virtiodiag-sealed-2\n"  # 2: keyed BLAKE2b (1 was HMAC-SHA256)
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
    """This user's key for sealing cache files (made on first use), or None.

    The key file appears whole: written under a temporary name, then linked to its own
    (``os.link`` fails if another run linked its key first: that one is read). Made by
    creating the file and then writing it, a run reading it in between found it empty and
    ran without caches, and a run killed in between left it empty for good: every later
    run compiled every grammar. Such an empty file of ours is replaced."""
    path = folder / KEY_FILE
    key = _read_private(path, 64)
    try:
        private = key is not None and not os.stat(path).st_mode & 0o077
    except OSError:
        private = False
    if private and key is not None and len(key) == 32:
        return key
    if key is not None and not (private and key == b""):
        return None  # a key file we did not write as we write it: trust nothing
    temporary = None
    try:
        import tempfile  # here: a run that writes no cache file does not load it

        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".key-")  # 0600
        key = os.urandom(32)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        if private:  # an empty key file of ours: made by a run killed before it wrote
            os.replace(temporary, path)
            temporary = None
            return key
        try:
            os.link(temporary, path)
        except FileExistsError:
            key = _read_private(path, 64)  # another run made it just now
            return key if key is not None and len(key) == 32 else None
        except OSError:  # a file system without hard links: created, then written
            return _create_key(path, key)
        return key
    except OSError:
        return None
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def _create_key(path: Path, key: bytes) -> bytes | None:
    fd = -1
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(key)
    except FileExistsError:
        found = _read_private(path, 64)  # another run made it just now
        return found if found is not None and len(found) == 32 else None
    except OSError:
        if fd >= 0:
            os.close(fd)
        return None
    return key


def _seal(key: bytes, name: str, payload: bytes) -> bytes:
    # The file's name is sealed too: a sealed file copied over another cache file of
    # the same user (a different grammar) is not accepted there.
    return blake2b(name.encode() + b"\0" + payload, digest_size=32, key=key).digest()


def read_sealed(path: str | Path, key: bytes | None) -> bytes | None:
    """The payload of a sealed cache file whose seal checks out, else None."""
    if key is None:
        return None
    data = _read_private(Path(path), MAX_CACHE_FILE)
    if data is None or not data.startswith(SEAL) or len(data) < len(SEAL) + 32:
        return None
    mac, payload = data[len(SEAL):len(SEAL) + 32], data[len(SEAL) + 32:]
    if not compare_digest(mac, _seal(key, Path(path).name, payload)):
        return None
    return payload


def write_sealed(path: str | Path, key: bytes | None, payload: bytes) -> bool:
    """Write a sealed cache file atomically (a failure only costs time)."""
    if key is None or len(payload) > MAX_CACHE_FILE:
        return False
    return _write_private(Path(path), SEAL + _seal(key, Path(path).name, payload) + payload)


def _write_private(path: Path, data: bytes) -> bool:
    if len(data) > MAX_CACHE_FILE:
        return False
    temporary = None
    try:
        import tempfile  # here: a run that writes no cache file does not load it

        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".cache-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
        return True
    except (OSError, ValueError):
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        return False


# A file of many entries of which a run uses a few (compiled patterns): its head, the
# index of entries with each entry's digest, is sealed; an entry is checked against its
# digest and decoded only when asked for. A run then pays for what it uses, not for
# everything earlier runs stored (a grammar's pattern file grows with the logs read:
# linux_console's held 247 programs, 297 KB, of which a boot log's analysis used 37).
INDEXED_SEAL = b"virtiodiag-sealed-index-1\n"
_HEAD_LENGTH = 8  # bytes of the head's length, little-endian


def entry_digest(blob: bytes | memoryview) -> bytes:
    """What the sealed head says of one entry (the head's seal covers the digests)."""
    return blake2b(blob, digest_size=16).digest()


def read_sealed_index(path: str | Path, key: bytes | None) -> tuple[bytes, memoryview] | None:
    """The head and the body of a sealed indexed file whose head's seal checks out."""
    if key is None:
        return None
    data = _read_private(Path(path), MAX_CACHE_FILE)
    start = len(INDEXED_SEAL) + 32 + _HEAD_LENGTH
    if data is None or not data.startswith(INDEXED_SEAL) or len(data) < start:
        return None
    mac = data[len(INDEXED_SEAL):len(INDEXED_SEAL) + 32]
    length = int.from_bytes(data[start - _HEAD_LENGTH:start], "little")
    if length > len(data) - start:
        return None
    sealed = data[start - _HEAD_LENGTH:start + length]
    # The kind of file is sealed too: no other sealed file reads as an index.
    if not compare_digest(mac, _seal(key, Path(path).name, INDEXED_SEAL + sealed)):
        return None
    return sealed[_HEAD_LENGTH:], memoryview(data)[start + length:]


def write_sealed_index(path: str | Path, key: bytes | None, head: bytes, body: bytes) -> bool:
    """Write a sealed indexed file (``head`` sealed, ``body`` checked by its digests)."""
    sealed = len(head).to_bytes(_HEAD_LENGTH, "little") + head
    if key is None:
        return False
    return _write_private(Path(path), INDEXED_SEAL
                          + _seal(key, Path(path).name, INDEXED_SEAL + sealed) + sealed + body)


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
    """Compiles like ``re`` (``compile``, ``match``, ``error``: also the ``re`` of Lark's
    lexers for one grammar), remembering the compiled programs in the sealed file ``path``.
    ``keep``: when more programs than this are stored, the file keeps only those this run
    used (a file shared by every version of the package must not grow for ever).

    The file is an indexed one (``read_sealed_index``): a stored program is checked and
    decoded when its pattern is first compiled, so a run pays for the programs it uses."""

    error = re.error

    def __init__(self, path: str | None, key: bytes | None = None, keep: int | None = None):
        self.path = path
        self.key = key  # the sealing key (see sealing_key); without one: no file at all
        self.keep = keep
        self._programs: dict[tuple, tuple] = {}  # decoded: learnt, or stored and used
        self._stored: dict[tuple, tuple[int, int, bytes]] = {}  # (offset, length, digest)
        self._body: memoryview = memoryview(b"")
        self._patterns: dict[tuple, re.Pattern] = {}
        self.added = 0
        self.reused = 0
        if path and _FORMAT is not None:
            found = read_sealed_index(path, key)
            try:
                stored = marshal.loads(found[0]) if found is not None else None
                if (found is not None and isinstance(stored, tuple) and len(stored) == 2
                        and stored[0] == _FORMAT and isinstance(stored[1], dict)):
                    self._stored, self._body = stored[1], found[1]
            except (EOFError, ValueError, TypeError):
                self._stored = {}

    def known(self) -> set[tuple]:
        """Every (pattern, flags) with a program, stored or learnt."""
        return set(self._stored) | set(self._programs)

    def _stored_program(self, key: tuple) -> tuple | None:
        """The stored program of ``key`` if its entry checks out (else it is dropped)."""
        entry = self._stored.get(key)
        if entry is None:
            return None
        try:
            offset, length, digest = entry
            blob = self._body[offset:offset + length]
            if len(blob) != length or entry_digest(blob) != digest:
                raise ValueError("damaged entry")
            program = marshal.loads(blob)
            if not isinstance(program, tuple):
                raise ValueError("not a program")
        except (EOFError, ValueError, TypeError):
            del self._stored[key]
            return None
        return program

    def compile(self, pattern, flags=0):
        key = (pattern, int(flags))
        compiled = self._patterns.get(key)
        if compiled is not None:
            return compiled
        program = self._programs.get(key) or self._stored_program(key)
        if program is not None:
            try:
                compiled = _sre.compile(pattern, *program)
                self.reused += 1
            except Exception:  # noqa: BLE001 - a damaged entry: compile it again
                self._programs.pop(key, None)
                self._stored.pop(key, None)
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
        keys = self.known()
        if self.keep is not None and len(keys) > self.keep:
            keys = {key for key in self._patterns if key in keys}
        index: dict[tuple, tuple[int, int, bytes]] = {}
        parts: list[bytes | memoryview] = []
        offset = 0
        try:
            for key in sorted(keys, key=repr):
                stored = self._stored.get(key) if key not in self._programs else None
                if stored is not None:  # kept as it was stored: not decoded again
                    blob: bytes | memoryview = self._body[stored[0]:stored[0] + stored[1]]
                    digest = stored[2]
                else:
                    blob = marshal.dumps(self._programs[key])
                    digest = entry_digest(blob)
                index[key] = (offset, len(blob), digest)
                parts.append(blob)
                offset += len(blob)
            head = marshal.dumps((_FORMAT, index))
        except ValueError:
            return
        if write_sealed_index(self.path, self.key, head, b"".join(parts)):
            self.added = 0


# ---- the patterns of virtiodiag's own modules -------------------------------------------
MODULE_PATTERNS_FILE = "module-patterns.re"
MODULE_PATTERNS_KEPT = 2000  # past this many stored, keep only those this run used

_module_patterns: PatternCache | None = None
_unsaved: list[PatternCache] = []


def _modules_cache() -> PatternCache | None:
    """The PatternCache of module-level patterns (loaded on first use), or None when there
    is no private cache directory (then ``compiled`` is ``re.compile``)."""
    global _module_patterns
    if _module_patterns is None:
        folder = private_dir() if _FORMAT is not None else None
        key = sealing_key(folder) if folder is not None else None
        path = str(folder / MODULE_PATTERNS_FILE) if folder is not None and key else None
        _module_patterns = PatternCache(path, key, keep=MODULE_PATTERNS_KEPT)
        remember(_module_patterns)
    return _module_patterns if _module_patterns.path else None


def compiled(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """``re.compile(pattern, flags)``, from its stored program when there is one (the
    same pattern object: see the module docstring)."""
    cache = _modules_cache()
    if cache is None:
        return re.compile(pattern, flags)
    return cache.compile(pattern, flags)


def remember(cache: PatternCache) -> None:
    """Save ``cache`` with ``save_patterns`` (at exit)."""
    _unsaved.append(cache)


def save_patterns() -> None:
    """Store the patterns compiled in this run (see PatternCache); cheap when none."""
    for cache in _unsaved:
        cache.save()


atexit.register(save_patterns)
