"""The patterns virtiodiag's own modules compile (``cachefiles.compiled``) come from stored
SRE programs after the first run, and are the very patterns ``re.compile`` makes: a cold
cache, a warm cache and no cache at all give equal patterns (Pattern equality compares
the pattern, the flags and the compiled code)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from virtiodiag import cachefiles

ROOT = Path(__file__).resolve().parent.parent
needs_sre = pytest.mark.skipif(cachefiles._sre is None, reason="no _sre internals here")

# Imports every module whose patterns go through the cache (and the grammars' `//@ match:`
# patterns), then says, for each module-level pattern, whether it equals a fresh
# re.compile, and how many programs the cache reused and learnt.
PROBE = r"""
import json, re, sys
from virtiodiag import cachefiles
from virtiodiag.dialects import load_dialects
import virtiodiag.analysis, virtiodiag.reports.text, virtiodiag.reports.json_report
import virtiodiag.reports.plain_table, virtiodiag.model.discovery
dialects = load_dialects()
matches = [d.match_re.search("virtio0: x") for d in dialects.dialects
           if d.match_re is not None]  # the `//@ match:` patterns, compiled on first use
found = {}
for name, module in list(sys.modules.items()):
    if not name.startswith("virtiodiag"):
        continue
    for attr, value in vars(module).items():
        if isinstance(value, re.Pattern):
            found[f"{name}.{attr}"] = value == re.compile(value.pattern, value.flags)
for dialect in dialects.dialects:
    if isinstance(dialect.match_re, re.Pattern):
        found[dialect.name + " match"] = dialect.match_re == re.compile(dialect.match_re.pattern)
cache = cachefiles._module_patterns
stats = {"reused": cache.reused, "added": cache.added, "file": bool(cache.path)}
cachefiles.save_patterns()
print(json.dumps(dict(stats, equal=found)))
"""


def _probe(cache_home: Path) -> dict:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def cold(tmp_path_factory) -> tuple[Path, dict]:
    """A process's probe through an empty cache folder, once for the module: the folder it
    filled and what it said. A test that reads the folder again copies it (``_copy``)."""
    folder = tmp_path_factory.mktemp("cold")
    return folder, _probe(folder)


def _copy(cold, tmp_path) -> Path:
    import shutil

    shutil.copytree(cold[0], tmp_path / "cache")
    return tmp_path / "cache"


@needs_sre
def test_cold_and_warm_caches_give_the_patterns_re_compile_gives(cold, tmp_path):
    folder, first = cold
    assert first["file"] and first["reused"] == 0 and first["added"] >= 40
    assert len(first["equal"]) >= 60 and all(first["equal"].values()), first["equal"]
    assert (folder / "virtiodiag" / cachefiles.MODULE_PATTERNS_FILE).is_file()

    warm = _probe(_copy(cold, tmp_path))
    assert warm["added"] == 0 and warm["reused"] >= first["added"] - 5
    assert warm["equal"] == first["equal"]  # the same patterns, every one equal


def test_without_a_private_directory_it_is_re_compile(tmp_path):
    # A cache directory others may write into is not used (cachefiles.private_dir).
    shared = tmp_path / "shared"
    (shared / "virtiodiag").mkdir(parents=True)
    os.chmod(shared / "virtiodiag", 0o777)
    result = _probe(shared)
    assert result["file"] is False and result["added"] == 0
    assert all(result["equal"].values())
    assert not (shared / "virtiodiag" / cachefiles.MODULE_PATTERNS_FILE).exists()


@needs_sre
def test_a_damaged_file_only_costs_time(cold, tmp_path):
    """The cold folder of the module's probe, its sealed head damaged: the file is ignored
    (it was a cold probe of this test's own, the same process and command as the
    module's: one child less)."""
    folder = _copy(cold, tmp_path)
    stored = folder / "virtiodiag" / cachefiles.MODULE_PATTERNS_FILE
    data = bytearray(stored.read_bytes())
    data[len(cachefiles.INDEXED_SEAL) + 32 + 8 + 3] ^= 0xFF  # in the head: no seal
    stored.write_bytes(bytes(data))
    result = _probe(folder)
    assert result["reused"] == 0 and all(result["equal"].values())


@needs_sre
def test_a_damaged_entry_is_compiled_again_and_the_others_still_serve(tmp_path):
    path = tmp_path / "p.re"
    key = bytes(range(32))
    first = cachefiles.PatternCache(str(path), key)
    patterns = ("a+b", "(?P<x>c|d)+", "e[0-9]{2,}f")
    for pattern in patterns:
        first.compile(pattern)
    first.save()
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF  # the last entry of the body: its digest no longer matches
    path.write_bytes(bytes(data))

    run = cachefiles.PatternCache(str(path), key)
    assert [run.compile(p) for p in patterns] == [re.compile(p) for p in patterns]
    assert run.reused == 2 and run.added == 1
    run.save()  # the damaged entry is replaced by the program compiled again
    again = cachefiles.PatternCache(str(path), key)
    assert [again.compile(p) for p in patterns] == [re.compile(p) for p in patterns]
    assert again.reused == 3 and again.added == 0


@needs_sre
def test_a_run_decodes_only_the_programs_it_uses(tmp_path, monkeypatch):
    path = tmp_path / "p.re"
    key = bytes(range(32))
    first = cachefiles.PatternCache(str(path), key)
    for number in range(50):
        first.compile(f"w{number}[a-z]+")
    first.save()
    decoded = []
    loads = cachefiles.marshal.loads
    monkeypatch.setattr(cachefiles.marshal, "loads",
                        lambda data: decoded.append(len(data)) or loads(data))
    run = cachefiles.PatternCache(str(path), key)
    assert run.compile("w7[a-z]+") == re.compile("w7[a-z]+") and run.reused == 1
    assert len(decoded) == 2  # the index, then the one program used
    assert len(run.known()) == 50


@needs_sre
def test_a_file_shared_by_many_versions_keeps_only_what_a_run_used(tmp_path):
    path = tmp_path / "p.re"
    key = bytes(range(32))
    old = cachefiles.PatternCache(str(path), key, keep=2)
    for pattern in ("a+b", "c+d", "e+f"):
        old.compile(pattern)
    old.save()  # three stored: more than keep, but all used in this run

    run = cachefiles.PatternCache(str(path), key, keep=2)
    assert run.compile("c+d") == re.compile("c+d") and run.reused == 1
    assert run.compile("g+h") == re.compile("g+h") and run.added == 1
    run.save()
    again = cachefiles.PatternCache(str(path), key, keep=2)
    assert again.known() == {("c+d", 0), ("g+h", 0)}
