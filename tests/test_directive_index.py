"""The built-in grammars' directives kept between runs (dialects/directive_index.py) give
what reading the files gives, and are read again whenever a file changes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import SAMPLES
from conftest import run_cli_process as run_cli
from virtiodiag import cachefiles
from virtiodiag.dialects import directive_index, registry
from virtiodiag.dialects.directive_index import INDEX_FILE, DirectiveIndex

SAMPLE = SAMPLES / "multi-device" / "combined.log"


def _private(tmp_path: Path) -> Path:
    folder = tmp_path / "virtiodiag"
    folder.mkdir(mode=0o700)
    return folder


def _header(dialect) -> tuple:
    match = getattr(dialect.match_re, "pattern", dialect.match_re)
    return (dialect.name, dialect.path, dialect.triggers, dialect.priority, dialect.facts,
            match, [(s.line, s.expect, s.lineno) for s in dialect.samples])


def test_every_builtin_grammar_reads_the_same_from_the_index(tmp_path):
    folder = _private(tmp_path)
    first = DirectiveIndex(folder)
    read = [registry.load_dialect(p, lazy=True, index=first)
            for p in registry.builtin_grammar_files()]
    assert first.hits == 0
    first.save()
    assert (folder / INDEX_FILE).is_file()

    second = DirectiveIndex(folder)
    kept = [registry.load_dialect(p, lazy=True, index=second)
            for p in registry.builtin_grammar_files()]
    assert second.hits == len(kept) > 30
    # The trigger words were split once (shlex for the quoted ones) and kept.
    assert all(second.triggers(d.path) == d.triggers for d in kept)
    plain = [registry.load_dialect(p, lazy=True) for p in registry.builtin_grammar_files()]
    assert [_header(d) for d in kept] == [_header(d) for d in plain] == [_header(d) for d in read]


def _grammar(tmp_path: Path, triggers: str) -> Path:
    path = tmp_path / "g.lark"
    path.write_text(f"//@ dialect: g\n//@ triggers: {triggers}\nstart: \"x\"\n")
    return path


def _indexed(tmp_path: Path) -> tuple[Path, Path]:
    """A private folder whose saved index holds one grammar's directives, and that grammar."""
    folder = _private(tmp_path)
    path = _grammar(tmp_path, "aaaa")
    index = DirectiveIndex(folder)
    index.put(path, os.stat(path), registry.read_directives(path.read_text()))
    index.save()
    return folder, path


def test_an_edited_file_is_read_again_even_with_its_old_size_and_time(tmp_path):
    folder, path = _indexed(tmp_path)
    assert DirectiveIndex(folder).get(path, os.stat(path))["triggers"] == [("aaaa", 2)]

    before = os.stat(path)
    path.write_text(path.read_text().replace("aaaa", "bbbb"))  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same modification time
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert DirectiveIndex(folder).get(path, after) is None  # its change time moved


def test_a_damaged_or_foreign_index_only_costs_time(tmp_path):
    folder, path = _indexed(tmp_path)
    stored = folder / INDEX_FILE
    data = bytearray(stored.read_bytes())
    data[-3] ^= 0xFF  # the seal no longer checks out
    stored.write_bytes(bytes(data))
    assert DirectiveIndex(folder).get(path, os.stat(path)) is None

    # Sealed, but written by other code that reads directives: not used.
    key = cachefiles.sealing_key(folder)
    import marshal

    entries = {str(path): (directive_index.file_identity(os.stat(path)),
                           {"triggers": [("planted", 2)]})}
    cachefiles.write_sealed(stored, key, marshal.dumps(((0,), entries)))
    assert DirectiveIndex(folder).get(path, os.stat(path)) is None


def test_without_a_private_directory_there_is_no_index(tmp_path):
    index = DirectiveIndex(None, load=False)
    path = _grammar(tmp_path, "aaaa")
    index.put(path, os.stat(path), {"triggers": [("aaaa", 2)]})
    index.save()  # nothing to write to, no error
    assert index.path is None and index.get(path, os.stat(path)) is None


def test_runs_with_a_cold_a_warm_and_no_index_give_the_same_report(tmp_path):
    cache = tmp_path / "cache"
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder would go")
    reports = []
    for env in ({"XDG_CACHE_HOME": str(cache)}, {"XDG_CACHE_HOME": str(cache)},
                {"XDG_CACHE_HOME": str(blocker / "cache"), "HOME": str(blocker)}):
        proc = run_cli("analyze", "--format", "json", SAMPLE, env=env)
        assert proc.returncode == 0, proc.stderr
        reports.append(proc.stdout)
    assert (cache / "virtiodiag" / INDEX_FILE).is_file()
    assert reports[0] == reports[1] == reports[2]


def test_an_edited_builtin_grammar_is_read_again_by_the_next_run(tmp_path, monkeypatch):
    # A copy of the built-in folder stands in for it: a trigger removed from the copy's
    # qemu_trace grammar must be gone in the next load, though the index holds the old one.
    copy = tmp_path / "grammars"
    shutil.copytree(registry.builtin_grammar_dir(), copy)
    monkeypatch.setattr(registry, "builtin_grammar_dir", lambda: copy)
    monkeypatch.setattr(registry, "_builtin_dir_resolved", copy.resolve)
    monkeypatch.setattr(registry, "_RESOLVED", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def qemu_trace_triggers():
        return next(d.triggers for d in registry.load_dialects().dialects
                    if d.name == "qemu-trace")

    before = qemu_trace_triggers()
    assert qemu_trace_triggers() == before  # now from the index
    grammar = copy / "qemu_trace.lark"
    text = grammar.read_text()
    first = before[0]
    edited = "\n".join(line.replace(f" {first}", " ", 1) if line.startswith("//@ triggers:")
                       else line for line in text.split("\n"))
    assert edited != text
    grammar.write_text(edited)
    assert first not in qemu_trace_triggers()
