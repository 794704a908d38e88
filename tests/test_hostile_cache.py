"""No code from the cache (issue 15, case 1).

The grammar cache lives only in a private directory the tool creates (0700) and checks
it owns; where there is none, there is no cache (never Lark's predictable names in /tmp);
every cache file is sealed with a per-user key and read only after the seal checks out,
so a planted pickle is never unpickled.
"""

import os
import pickle
import stat
from pathlib import Path

from conftest import SAMPLES
# A process of its own for each run, as a user's: TMPDIR and HOME are read afresh and the
# lexer pattern cache is saved at its exit.
from conftest import run_cli_process as run_cli
from conftest import run_cli as run_in_process
from virtiodiag.dialects import lexcache, registry
from virtiodiag.dialects.registry import builtin_grammar_files, compile_grammar

SAMPLE = SAMPLES / "modern-pci" / "combined.log"


class _Plant:
    """A pickle that creates a marker file when it is unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant(path, marker):
    # Lark's own cache format: a digest line, then pickles (any digest: unpickling the
    # first object already runs the code).
    path.write_bytes(b"0" * 64 + b"\n" + pickle.dumps(_Plant(marker)) * 2)


def test_no_private_directory_means_no_cache_and_nothing_in_tmp(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache folder would go")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"XDG_CACHE_HOME": str(blocker / "cache"), "HOME": str(blocker), "TMPDIR": str(tmp)}
    # One run: with no cache folder and an empty TMPDIR, a second run would start from
    # the same state (anything the first left in TMPDIR already fails the test).
    proc = run_cli("analyze", "--format", "json", SAMPLE, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    assert list(tmp.iterdir()) == []  # Lark's fallback wrote .lark_cache_* files here


class _Named(Exception):
    """Raised instead of compiling: the cache file a grammar's compile would read is known."""


def test_a_planted_pickle_is_never_unpickled(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    # The cache folder as runs leave it: private, with its sealing key, a file for every
    # built-in grammar under the name its compile reads (asked of compile_grammar itself,
    # stopped once it has the name, before it reads or compiles anything: a run of its
    # own to make the files compiled the grammars afresh for nothing but their names),
    # each file then planted.
    named = []
    cache_path = registry._cache_path

    def name_only(path, text, options):
        named.append(Path(cache_path(path, text, options)))
        raise _Named

    with monkeypatch.context() as here:
        here.setenv("XDG_CACHE_HOME", str(cache))
        here.setattr(registry, "_cache_path", name_only)
        for path in builtin_grammar_files():
            try:
                compile_grammar(path)
            except _Named:
                pass
        key = lexcache.sealing_key(cache / "virtiodiag")
    assert len(named) == len(builtin_grammar_files())
    assert all(path.parent == cache / "virtiodiag" for path in named)
    marker = tmp_path / "code-ran"
    for path in named:
        _plant(path, marker)
        _plant(Path(f"{path}{lexcache.SNAPSHOT_SUFFIX}"), marker)
        Path(f"{path}.re").write_bytes(b"\xe3" + b"\x00" * 64)  # marshal of a code object's header
    # What the tool says of the sample: run in this process (conftest.run_cli), the same
    # bytes as a process with a fresh cache, without compiling every grammar once more.
    reference = run_in_process("analyze", "--format", "json", SAMPLE)
    proc = run_cli("analyze", "--format", "json", SAMPLE, env={"XDG_CACHE_HOME": str(cache)})
    assert not marker.exists(), "a planted cache file ran code"
    assert proc.returncode == reference.returncode and proc.stdout == reference.stdout
    # The run read those very files: it compiled its grammars afresh and sealed new ones
    # in place of the planted (a planted file it never read would prove nothing).
    rewritten = [path for path in named if lexcache.read_sealed(path, key) is not None]
    assert rewritten, named


def test_the_cache_directory_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = lexcache.private_dir()
    assert folder == tmp_path / "virtiodiag"
    info = os.lstat(folder)
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.geteuid()
    key = lexcache.sealing_key(folder)
    assert len(key) == 32 and stat.S_IMODE(os.stat(folder / "key").st_mode) == 0o600
    assert lexcache.sealing_key(folder) == key


def test_a_folder_others_can_write_or_a_symlink_is_not_used(tmp_path, monkeypatch):
    shared = tmp_path / "shared" / "virtiodiag"
    shared.mkdir(parents=True)
    os.chmod(shared, 0o777)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "shared"))
    assert lexcache.private_dir() is None
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "linked").mkdir()
    os.symlink(elsewhere, tmp_path / "linked" / "virtiodiag")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "linked"))
    assert lexcache.private_dir() is None
    path = next(p for p in builtin_grammar_files() if p.stem == "qemu_trace")
    compile_grammar(path)  # works, without a cache
    assert list(elsewhere.iterdir()) == [] and not list(shared.iterdir())


def test_an_old_0755_cache_folder_of_ours_is_made_private(tmp_path, monkeypatch):
    folder = tmp_path / "virtiodiag"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert lexcache.private_dir() == folder
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


def test_a_sealed_file_altered_by_one_byte_is_ignored(tmp_path):
    key = os.urandom(32)
    path = tmp_path / "x.lark-cache"
    assert lexcache.write_sealed(path, key, b"payload")
    assert lexcache.read_sealed(path, key) == b"payload"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    assert lexcache.read_sealed(path, key) is None
    assert lexcache.read_sealed(path, os.urandom(32)) is None
    # A sealed file copied under another cache file's name is not accepted there.
    lexcache.write_sealed(path, key, b"payload")
    other = tmp_path / "y.lark-cache"
    other.write_bytes(path.read_bytes())
    assert lexcache.read_sealed(other, key) is None


# Every built-in grammar reads its samples alike compiled afresh without a cache, through
# a cold cache (compiling, filling it) and through the warm cache, which keeps a snapshot
# of each: tests/test_lexcache.py's test_grammars_parse_the_same_through_a_warm_cache,
# on the cold cache its module fixture fills once (each grammar compiled cold there).


def _private_folder(tmp_path):
    folder = tmp_path / "virtiodiag"
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)
    return folder


def test_the_key_file_appears_whole(tmp_path, monkeypatch):
    # Made by creating the file and then writing it, a run reading it in between found it
    # empty (and ran without caches); now it is linked into place already written.
    folder = _private_folder(tmp_path)
    linked = []
    real_link = os.link

    def link(source, target):
        assert len(Path(source).read_bytes()) == 32 and not os.path.exists(target)
        linked.append(target)
        return real_link(source, target)

    monkeypatch.setattr(os, "link", link)
    key = lexcache.sealing_key(folder)
    assert linked == [folder / "key"] and (folder / "key").read_bytes() == key
    assert [p.name for p in folder.iterdir()] == ["key"]  # no temporary file left
    assert stat.S_IMODE(os.stat(folder / "key").st_mode) == 0o600


def test_two_runs_making_the_key_at_once_agree_on_it(tmp_path, monkeypatch):
    folder = _private_folder(tmp_path)
    real_link = os.link
    other = []

    def link(source, target):
        if not other:  # another run makes the key while this one is about to link its own
            monkeypatch.setattr(os, "link", real_link)
            other.append(lexcache.sealing_key(folder))
        return real_link(source, target)

    monkeypatch.setattr(os, "link", link)
    key = lexcache.sealing_key(folder)
    assert key is not None and other == [key] and (folder / "key").read_bytes() == key


def test_an_empty_key_file_left_by_a_killed_run_is_replaced(tmp_path):
    # A run killed between creating the key file and writing it (as keys were made
    # before) left it empty: every later run went without caches.
    folder = _private_folder(tmp_path)
    (folder / "key").write_bytes(b"")
    os.chmod(folder / "key", 0o600)
    key = lexcache.sealing_key(folder)
    assert key is not None and len(key) == 32 and (folder / "key").read_bytes() == key
    assert lexcache.sealing_key(folder) == key
    # A key file that is not ours as we write it (readable by others) is still not used.
    (folder / "key").write_bytes(b"")
    os.chmod(folder / "key", 0o644)
    assert lexcache.sealing_key(folder) is None
