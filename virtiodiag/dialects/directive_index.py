"""The built-in grammars' directives, read once and kept between runs.

Every analysis needs each built-in grammar's ``//@`` directives (its name, triggers,
priority, the facts it declares) before the first line: 63 files, 630 KB of text scanned
by a regex, about 36 M instructions (6 ms), a fifth of what analysing a short boot log
costs beyond importing the dependencies. What ``read_directives`` returns is a function of
the file's text alone, so this index keeps it in one sealed cache file (cachefiles: a
private directory, a per-user key; without one there is no index and every run reads the
files, as before).

An entry is used only while the file is the one it was read from: the same device and
inode, size, modification and change times (nanoseconds), which is more than Python asks
of its own bytecode. Any write to a file changes its change time, which no program can set
back, so an edited grammar is read again. The index as a whole is also keyed by the
Python version and by the source files of the code that reads directives (their size and
times): a changed reader discards every entry. A damaged, foreign or unreadable index is
ignored (then rewritten): slower, never different.
"""

from __future__ import annotations

import marshal
import os
import sys
from pathlib import Path

from virtiodiag.cachefiles import private_dir, read_sealed, sealing_key, write_sealed

INDEX_FILE = "grammar-directives.idx"
INDEX_FORMAT = 1
# What a run stores: directives by lowered name, each a list of (value, line number).
Directives = dict[str, list[tuple[str, int]]]


def file_identity(info: os.stat_result) -> tuple[int, int, int, int, int]:
    """What tells one version of a file from another without reading it."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _reader_identity(reader: tuple[str, ...]) -> tuple:
    """The index's own key: the format, Python's version and the reading code's files
    (``reader``, the module whose read_directives is kept, and this one)."""
    sources: list[tuple[str, tuple[int, ...] | None]] = []
    for name in (*reader, __file__):
        try:
            sources.append((name, file_identity(os.stat(name))))
        except (OSError, TypeError):
            sources.append((name, None))
    return (INDEX_FORMAT, tuple(sys.version_info[:3]), tuple(sources))


class DirectiveIndex:
    """Directives of grammar files by path, valid while each file is unchanged."""

    def __init__(self, folder: Path | None = None, *, load: bool = True,
                 reader: tuple[str, ...] = ()):
        if folder is None and load:
            folder = private_dir()
        self._key = sealing_key(folder) if folder is not None else None
        self.path = folder / INDEX_FILE if folder is not None and self._key else None
        self._identity = _reader_identity(reader) if self.path is not None else None
        self._entries: dict[str, tuple] = {}
        self._changed = False
        self.hits = 0
        if self.path is not None:
            self._entries = self._load()

    def _load(self) -> dict[str, tuple]:
        payload = read_sealed(self.path, self._key) if self.path is not None else None
        if payload is None:
            return {}
        try:
            identity, entries = marshal.loads(payload)
        except (EOFError, ValueError, TypeError):
            return {}
        if identity != self._identity or not isinstance(entries, dict):
            return {}
        return entries

    def get(self, path: Path, info: os.stat_result) -> Directives | None:
        """The directives read from ``path`` when it was as ``info`` says, else None."""
        entry = self._entries.get(str(path))
        if entry is None or entry[0] != file_identity(info):
            return None
        self.hits += 1
        return {name: list(values) for name, values in entry[1].items()}

    def put(self, path: Path, info: os.stat_result, directives: Directives) -> None:
        if self.path is None:
            return
        self._entries[str(path)] = (file_identity(info), directives)  # its triggers: later
        self._changed = True

    def triggers(self, path: Path) -> tuple[str, ...] | None:
        """The trigger words kept with ``path``'s directives (ask after ``get`` found them:
        the words of its ``//@ triggers:`` values, split as registry.trigger_words does)."""
        entry = self._entries.get(str(path))
        return entry[2] if entry is not None and len(entry) > 2 else None

    def put_triggers(self, path: Path, triggers: tuple[str, ...]) -> None:
        """Keep the trigger words split from the directives kept for ``path``."""
        entry = self._entries.get(str(path))
        if entry is None or self.path is None or entry[2:] == (triggers,):
            return
        self._entries[str(path)] = (entry[0], entry[1], triggers)
        self._changed = True

    def save(self) -> None:
        """Write the index if this run added to it (a failure only costs time)."""
        if not self._changed or self.path is None:
            return
        self._changed = False
        write_sealed(self.path, self._key, marshal.dumps((self._identity, self._entries)))
