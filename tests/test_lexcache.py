"""The lexer pattern cache: exact (same compiled code as ``re``), persistent, and harmless
when its file is missing or damaged."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import strict_dialect
from virtiodiag.dialects import lexcache
from virtiodiag.dialects.registry import (
    builtin_grammar_files,
    compile_grammar,
    imported_modules,
    load_dialect,
    save_pattern_caches,
)

PATTERNS = [
    (r"(?P<HEX>0x[0-9a-f]+)|(?P<NUMBER>\d+)|(?P<WORD>[A-Za-z_]\w*)", 0),
    (r"(?i)virtio[-_](?:pci|mmio)", 0),
    (r"\[\s*(\d+)\.(\d+)\]", re.MULTILINE),
]
KEY = bytes(range(32))  # a sealing key (lexcache.sealing_key makes a random one per user)
needs_sre = pytest.mark.skipif(lexcache._sre is None, reason="no _sre internals here")
# Grammars whose every sample is also read through the two paths that are the same code
# for every grammar: a compile without any cache (``Lark(text)``, as the cold cache's
# compile, less the pattern cache) and the saved form (Lark's own ``save``/``load``).
# Every grammar took ~4 s CPU and showed nothing these do not (the cold, warm and strict
# reads of every grammar are the checks that differ by grammar): the largest grammar, the
# one with look-aheads of several lengths, a QEMU trace's (the dense path), a firmware's.
SPREAD = ("linux_console", "firecracker", "qemu_trace", "edk2")


@needs_sre
def test_programs_are_exactly_what_re_compiles(tmp_path):
    path = tmp_path / "p.re"
    first = lexcache.PatternCache(str(path), KEY)
    compiled = [first.compile(p, f) for p, f in PATTERNS]
    assert first.added == len(PATTERNS)
    first.save()
    assert path.is_file()

    second = lexcache.PatternCache(str(path), KEY)
    again = [second.compile(p, f) for p, f in PATTERNS]
    assert second.reused == len(PATTERNS) and second.added == 0
    for (pattern, flags), old, new in zip(PATTERNS, compiled, again, strict=True):
        assert new == re.compile(pattern, flags)  # Pattern equality compares the code
        assert new.groupindex == old.groupindex and new.flags == old.flags
    match = again[0].match("0x1f rest")
    assert match.lastgroup == "HEX" and match.group(0) == "0x1f"


@needs_sre
def test_a_damaged_or_foreign_file_only_costs_time(tmp_path):
    path = tmp_path / "p.re"
    path.write_bytes(b"\x00not marshal data")
    cache = lexcache.PatternCache(str(path), KEY)
    assert cache.compile(*PATTERNS[0]) == re.compile(*PATTERNS[0])
    assert cache.reused == 0 and cache.added == 1

    # A well-formed file from another Python (other format key) is ignored, not used.
    import marshal

    key = (PATTERNS[1][0], 0)
    lexcache.write_sealed(path, KEY, marshal.dumps(((1, (2, 7), 0, 4),
                                                    {key: (0, [1, 2, 3], 0, {}, ())})))
    cache = lexcache.PatternCache(str(path), KEY)
    assert cache.compile(*PATTERNS[1]) == re.compile(*PATTERNS[1]) and cache.reused == 0

    # An entry whose program _sre rejects is dropped and compiled again.
    blob = marshal.dumps((0, [999999], 0, {}, (None,)))
    head = marshal.dumps((lexcache._FORMAT,
                          {key: (0, len(blob), lexcache.entry_digest(blob))}))
    assert lexcache.write_sealed_index(path, KEY, head, blob)
    cache = lexcache.PatternCache(str(path), KEY)
    assert key in cache.known()
    assert cache.compile(*PATTERNS[1]) == re.compile(*PATTERNS[1]) and cache.reused == 0
    assert cache.added == 1


def test_an_unwritable_cache_folder_is_not_an_error(tmp_path):
    cache = lexcache.PatternCache(str(tmp_path / "missing-folder" / "p.re"), KEY)
    cache.compile(*PATTERNS[0])
    cache.save()  # must not raise
    assert not (tmp_path / "missing-folder").exists()


@pytest.fixture(scope="module")
def cold(tmp_path_factory):
    """Every built-in grammar loaded through an empty cache folder, once for the module:
    each is compiled (cold) and fills the folder with Lark's saved form, a snapshot of the
    parser and its lexers' patterns. The folder, and each grammar's cold dialect with what
    it made of its sample lines; a test that reads or changes the cache copies the folder
    (``_warm``)."""
    folder = tmp_path_factory.mktemp("cold")
    dialects, read = {}, {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
        for path in builtin_grammar_files():
            dialects[path] = load_dialect(path)
            read[path] = [(s.line, dialects[path].parse(s.line)) for s in dialects[path].samples]
        save_pattern_caches()
    return folder, dialects, read


def _warm(cold, tmp_path, monkeypatch) -> Path:
    """A copy of the cold run's cache folder, the cache from now on; its virtiodiag folder."""
    import shutil

    shutil.copytree(cold[0], tmp_path / "cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "virtiodiag"


def _snapshots_loaded(monkeypatch) -> list:
    """The parsers loaded from a snapshot from now on (the warm path)."""
    loaded: list = []
    load = lexcache.load_snapshot

    def spy(payload, transformer):
        parser = load(payload, transformer)
        loaded.append(parser)
        return parser

    monkeypatch.setattr(lexcache, "load_snapshot", spy)
    return loaded


@needs_sre
def test_grammars_parse_the_same_through_a_warm_cache(cold, tmp_path, monkeypatch):
    """Every built-in sample line gives the same event with the lexers compiled by re
    (strict, no cache), through a cold cache (the module's cold load: compiling, filling
    it) and through the warm one, its pattern cache and snapshot (issue 15: a cache never
    changes what a grammar reads); and, for the SPREAD of grammars, compiled afresh
    without a cache (not strict: no cache file read or written)."""
    folder = _warm(cold, tmp_path, monkeypatch)
    loaded = _snapshots_loaded(monkeypatch)
    for path in builtin_grammar_files():
        reference = strict_dialect(path)
        lines = [sample.line for sample in reference.samples]
        expected = [reference.parse(line) for line in lines]
        assert any(expected), path.name
        if path.stem in SPREAD:
            uncached = load_dialect(path, cache=False)
            assert [uncached.parse(line) for line in lines] == expected, path.name
        assert cold[2][path] == list(zip(lines, expected, strict=True)), path.name  # cold
        dialect = load_dialect(path)  # warm
        assert [dialect.parse(line) for line in lines] == expected, path.name
        save_pattern_caches()
    assert len(loaded) == len(builtin_grammar_files()) and all(loaded)  # warm indeed
    stored = list(folder.glob("*.re"))
    assert len(stored) == len(builtin_grammar_files())
    # Every built-in grammar's parser is kept as a snapshot too (the fast warm load).
    snapshots = list(folder.glob("*.snap"))
    assert len(snapshots) == len(builtin_grammar_files())


@needs_sre
def test_install_routes_every_unbuilt_lexer_through_the_cache(cold, tmp_path, monkeypatch):
    _warm(cold, tmp_path, monkeypatch)  # a warm load installs it as a cold one does
    path = next(p for p in builtin_grammar_files() if p.stem == "linux_console")
    parser = compile_grammar(path)
    lexers = set(parser.parser.lexer.lexers.values())
    assert lexers and all(isinstance(lexer.re, lexcache.PatternCache) for lexer in lexers)
    assert lexcache.install(object(), lexcache.PatternCache(None)) is False


def test_two_copies_of_a_grammar_keep_their_own_cache(tmp_path, monkeypatch):
    """An installed package and a checkout (or two virtual environments) compile the same
    grammar text from different paths; Lark keys its cache on the path, so a shared file
    was rewritten, and the grammar compiled afresh, at every switch between them."""
    import shutil

    from conftest import REPO

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    copies = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        copies.append(Path(shutil.copy(REPO / "docs/examples/vnet.lark", folder)))
    compile_grammar(copies[0])
    cache_dir = tmp_path / "cache" / "virtiodiag"
    first = {p.name: p.stat().st_mtime_ns for p in cache_dir.glob("*.lark-cache")}
    compile_grammar(copies[1])
    compile_grammar(copies[0])
    after = {p.name: p.stat().st_mtime_ns for p in cache_dir.glob("*.lark-cache")}
    assert len(after) == 2
    for name, mtime in first.items():
        assert after[name] == mtime, "the first copy's cache was rewritten"


def _cache_files(tmp_path, stem: str) -> tuple[Path, Path]:
    folder = tmp_path / "virtiodiag"
    cache = next(folder.glob(f"{stem}-*.lark-cache"))
    return cache, Path(str(cache) + lexcache.SNAPSHOT_SUFFIX)


def test_a_snapshot_parses_as_the_saved_form_and_a_strict_compile(cold, tmp_path,
                                                                   monkeypatch):
    """The snapshot path (warm) and a strict compile read every sample line alike, and so
    does the saved-form path (a cache from before snapshots), for the SPREAD of grammars.
    Every other built-in grammar's warm load is test_grammars_parse_the_same_through_a_
    warm_cache's, the same steps (a copy of the cold folder, load_dialect, each loaded
    from its snapshot, every sample line read as the strict compile reads it): it was
    done again here for each (0.5 s of CPU)."""
    folder = _warm(cold, tmp_path, monkeypatch)  # the cold load wrote both files
    for path in builtin_grammar_files():
        if path.stem not in SPREAD:
            continue
        reference = strict_dialect(path)  # the session's strict compile (conftest)
        lines = [sample.line for sample in reference.samples]
        expected = [reference.parse(line) for line in lines]
        _, snap = _cache_files(folder.parent, path.stem)
        assert snap.is_file(), path.name
        loaded = _snapshots_loaded(monkeypatch)
        warm = load_dialect(path)
        assert [warm.parse(line) for line in lines] == expected, path.name
        assert len(loaded) == 1 and loaded[0] is not None, path.name  # from the snapshot
        snap.unlink()  # a cache written before snapshots: read, and a snapshot added
        saved = load_dialect(path)
        assert [saved.parse(line) for line in lines] == expected, path.name
        assert snap.is_file(), path.name


def test_a_sealed_snapshot_naming_a_function_is_refused(tmp_path, monkeypatch):
    """Unpickling a snapshot resolves classes only (Lark's or builtins): a sealed file
    that names any function (here os.system) is not loaded, and nothing runs."""
    import pickle

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = next(p for p in builtin_grammar_files() if p.stem == "linux_cmdline")
    compile_grammar(path)
    _, snap = _cache_files(tmp_path, path.stem)
    marker = tmp_path / "code-ran"

    class Plant:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    key = lexcache.sealing_key(tmp_path / "virtiodiag")
    assert lexcache.write_sealed(snap, key, pickle.dumps((lexcache._snapshot_format(),
                                                          Plant())))
    assert lexcache.load_snapshot(lexcache.read_sealed(snap, key), None) is None
    dialect = load_dialect(path)
    assert dialect.parse("Command line: console=ttyS0") is not None
    assert not marker.exists()


def test_a_snapshot_of_another_lark_or_python_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    import io

    from lark import Lark

    path = next(p for p in builtin_grammar_files() if p.stem == "qemu_trace")
    fresh = compile_grammar(path, cache=False)
    transformer = fresh.options.transformer
    saved = io.BytesIO()
    fresh.save(saved, {"transformer"})
    loaded = Lark.__new__(Lark)._load(io.BytesIO(saved.getvalue()), transformer=transformer)
    payload = lexcache.snapshot(loaded, transformer)
    assert payload is not None
    restored = lexcache.load_snapshot(payload, transformer)
    line = "virtio_set_status vdev 0x5603d068ddc0 val 0"
    assert restored is not None and restored.parse(line) == fresh.parse(line)
    monkeypatch.setattr(lexcache, "_snapshot_format", lambda: (1, (2, 7), "0.0"))
    assert lexcache.load_snapshot(payload, transformer) is None


def test_a_parser_whose_lexers_use_the_pattern_cache_is_not_snapshotted(tmp_path,
                                                                         monkeypatch):
    """The pattern cache (and its sealing key) never goes into a snapshot: one is taken
    before the cache is installed, and a parser with it installed gives none."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = next(p for p in builtin_grammar_files() if p.stem == "linux_cmdline")
    compile_grammar(path)
    parser = compile_grammar(path)  # warm, with the pattern cache installed
    assert any(isinstance(lexer.re, lexcache.PatternCache)
               for lexer in parser.parser.lexer.lexers.values())
    assert lexcache.snapshot(parser, parser.options.transformer) is None


def test_a_refused_line_builds_no_root_lexer_and_means_the_same(cold):
    """A line a grammar refuses is refused without building its root lexer (Lark builds
    it only to word the error), with the same result as a parser that has it; explain()
    still gives Lark's own words. The parsers: the cold load's (compiled through the cache,
    which has read only their samples)."""
    paths = builtin_grammar_files()
    samples = {p: [s.line for s in strict_dialect(p).samples] for p in paths}
    edges = ["virtio0: driver=virtio_net", "virtio", "\u00e9 virtio_net", ""]
    for path in paths:
        reference = strict_dialect(path)
        dialect = cold[1][path]
        root = dialect.parser.parser.lexer.root_lexer
        assert isinstance(root, lexcache._NoRootLexer), path.name
        # Every sample line of every grammar that this one would be handed in a run (its
        # triggers and match pattern say: read, or refused deep in the line), and the
        # first of each other grammar's (refused at once, each in its own words); not
        # all 1,225 of them, the same refusal at the first word over and over.
        lines = [line for p in paths for line in samples[p] if dialect.wants(line)]
        lines += [samples[p][0] for p in paths if samples[p]] + edges
        results = [dialect.parse(line) for line in lines]
        assert results == [reference.parse(line) for line in lines], path.name
        assert None in results, path.name  # refusals happened
        assert root.real._scanner is None, path.name  # ... and built no root lexer
        refused = next(line for line in lines if reference.parse(line) is None)
        assert dialect.explain(refused) == reference.explain(refused), path.name


def test_a_grammar_edited_many_times_keeps_a_bounded_cache(tmp_path, monkeypatch):
    """Each edit of a user's grammar has a new digest, so a new cache file (and its
    snapshot and pattern file); none was ever removed. After a fresh compile only the
    newest KEPT_VERSIONS of that grammar name stay; another grammar whose name starts
    with the same word keeps its own, and every version still parses the same."""
    from conftest import REPO

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = (REPO / "tests/fixtures/grammars/mydrv.lark").read_text(encoding="utf-8")
    cache_dir = tmp_path / "cache" / "virtiodiag"
    other = tmp_path / "mydrv-old.lark"  # its files are named mydrv-old-<digest>...
    other.write_text(source, encoding="utf-8")
    compile_grammar(other)
    others = sorted(p.name for p in cache_dir.glob("mydrv-old-*"))
    grammar = tmp_path / "mydrv.lark"
    edits = lexcache.KEPT_VERSIONS + 3
    for edit in range(edits):
        grammar.write_text(source + f"// edit {edit}\n", encoding="utf-8")
        parser = compile_grammar(grammar)
        assert parser.parse("mydrv dev eth status 0") is not None
        files = [p for p in cache_dir.glob("mydrv-*.lark-cache")
                 if not p.name.startswith("mydrv-old-")]
        assert len(files) == min(edit + 1, lexcache.KEPT_VERSIONS)
    before = {p.name: p.stat().st_mtime_ns for p in cache_dir.iterdir()}
    compile_grammar(grammar)  # the last edit again: its files were kept, nothing is written
    assert {p.name: p.stat().st_mtime_ns for p in cache_dir.iterdir()} == before
    leftovers = {p.name.split(".", 1)[0] for p in cache_dir.iterdir()
                 if p.name.startswith("mydrv-") and not p.name.startswith("mydrv-old-")}
    assert len(leftovers) == lexcache.KEPT_VERSIONS, "companion files go with their cache"
    assert sorted(p.name for p in cache_dir.glob("mydrv-old-*")) == others


def test_checkouts_of_the_same_built_in_grammars_share_one_cache_file(tmp_path, monkeypatch):
    """Two checkouts (or virtual environments) of the same built-in grammars read one
    cache file: the second loads the first's snapshot and reads every sample alike. Each
    had its own before, and a machine with more checkouts than KEPT_VERSIONS had them
    prune each other's files in turn (every process compiled afresh). A user's grammar in
    two places, or a built-in one importing a file of its own folder, stays two."""
    from virtiodiag.dialects import registry

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = next(p for p in builtin_grammar_files() if p.stem == "linux_cmdline")
    checkouts = []
    for name in ("one", "two"):
        folder = tmp_path / name / "grammars"
        folder.mkdir(parents=True)
        for path in (source, source.with_name("common.lark")):
            (folder / path.name).write_bytes(path.read_bytes())
        checkouts.append(folder)
    reference = strict_dialect(source)
    lines = [sample.line for sample in reference.samples]
    expected = [reference.parse(line) for line in lines]
    cache_dir = tmp_path / "cache" / "virtiodiag"
    written = []
    for folder in checkouts:
        monkeypatch.setattr(registry, "_PACKAGE_GRAMMARS", folder)
        monkeypatch.setattr(registry, "_SOURCE_GRAMMARS", tmp_path / "none")
        loaded = _snapshots_loaded(monkeypatch)
        dialect = load_dialect(folder / source.name)
        assert [dialect.parse(line) for line in lines] == expected
        save_pattern_caches()
        written.append({p.name: p.stat().st_mtime_ns for p in cache_dir.iterdir()})
    assert len(loaded) == 1 and loaded[0] is not None  # the second, from the snapshot
    assert written[1] == written[0]  # ... which wrote nothing
    assert len(list(cache_dir.glob("linux_cmdline-*.lark-cache"))) == 1

    text = source.read_text(encoding="utf-8")
    own = [(folder, folder / "linux_cmdline.lark", text) for folder in checkouts]  # alike
    own += [(folder, folder.parent / "mine.lark", text) for folder in checkouts]  # users'
    own += [(folder, folder / "linux_cmdline.lark", text + "%import .extra.WORD\n")
            for folder in checkouts]  # a file of its own folder, not in the digest
    names = []
    for folder, path, grammar in own:
        monkeypatch.setattr(registry, "_PACKAGE_GRAMMARS", folder)
        names.append(registry._cache_path(path, grammar, {"source_path": str(path)}))
    assert names[0] == names[1] and len(set(names)) == 5


def test_imported_modules_are_the_line_anchored_pattern_s_matches():
    # The cache file's name depends on what a grammar imports (registry.
    # _self_contained_builtin); imported_modules finds it by the literal first.
    import random

    anchored = re.compile(r"^[ \t]*%import[ \t]+\.?([A-Za-z_]\w*)", re.MULTILINE)
    texts = [path.read_text(encoding="utf-8") for path in builtin_grammar_files()]
    rng = random.Random(7)
    atoms = ["%import", " ", "\t", "\n", "\r", ".", "common", "x", "%", "import", "_a1",
             "é", " %import ", "//"]
    texts += ["".join(rng.choice(atoms) for _ in range(rng.randint(0, 12)))
              for _ in range(20000)]
    assert any(imported_modules(text) == ["common"] for text in texts[:5])
    assert all(imported_modules(text) == anchored.findall(text) for text in texts)


def _shape(made, depth: int = 0):
    """What a parse callback is made of, comparable between two parsers' callbacks: the
    wrappers' classes and settings, the functions' code and closures, the transformer's
    methods by function."""
    import functools
    import types

    if depth > 8:
        return "..."
    deeper = depth + 1
    if isinstance(made, functools.partial):
        return ("partial", _shape(made.func, deeper),
                tuple(_shape(arg, deeper) for arg in made.args),
                tuple(sorted((k, _shape(v, deeper)) for k, v in made.keywords.items())))
    if isinstance(made, types.MethodType):
        return ("method", made.__func__)
    if isinstance(made, types.FunctionType):
        return ("function", made.__code__,
                tuple(_shape(cell.cell_contents, deeper) for cell in made.__closure__ or ()))
    if isinstance(made, (list, tuple)):
        return (type(made), tuple(_shape(item, deeper) for item in made))
    if made is None or isinstance(made, (str, int, bool, float, type)):
        return made
    attributes = dict(getattr(made, "__dict__", {}))
    for klass in type(made).__mro__:
        for name in getattr(klass, "__slots__", ()):
            if hasattr(made, name):
                attributes[name] = getattr(made, name)
    return (type(made), tuple(sorted((k, _shape(v, deeper)) for k, v in attributes.items()
                                     if k != "transformer")))


def test_a_snapshot_makes_each_rule_s_callback_as_lark_does(cold, tmp_path, monkeypatch):
    """A parser loaded from its snapshot makes a rule's parse callback when the rule is
    first reduced (lexcache._CallbacksOnFirstUse), with Lark's own builder: for every rule
    of every built-in grammar, the same wrappers around the same transformer method as
    Lark's ``_prepare_callbacks`` makes for all of them at once, and the same lexer
    callbacks; only what a line reduces is made."""
    from lark.grammar import Rule

    _warm(cold, tmp_path, monkeypatch)
    for path in builtin_grammar_files():
        loaded = _snapshots_loaded(monkeypatch)
        dialect = load_dialect(path)
        lines = [sample.line for sample in dialect.samples]
        parser = dialect.parser
        assert len(loaded) == 1 and loaded[0] is parser, path.name
        lazy = parser._callbacks
        assert isinstance(lazy, lexcache._CallbacksOnFirstUse) and lazy, path.name
        assert not any(isinstance(key, Rule) for key in lazy), path.name  # none made yet
        dialect.parse(lines[0])
        made = [key for key in lazy if isinstance(key, Rule)]
        assert made, path.name
        if path.stem == "linux_console":  # 244 rules: one line reduces a few
            assert len(made) < len(parser.rules) // 10
        parser._prepare_callbacks()  # Lark's: every callback at once (a new dict)
        eager = parser._callbacks
        parser._callbacks = lazy
        assert all(_shape(lazy[rule]) == _shape(eager[rule]) for rule in parser.rules), \
            path.name
        assert set(lazy) == set(eager), path.name
        with pytest.raises(KeyError):
            lazy["NOT_A_RULE"]  # only a rule is made on first use
        assert [dialect.parse(line) for line in lines] == [r for _, r in cold[2][path]], \
            path.name


def test_a_snapshot_holds_each_equal_symbol_and_rule_option_once(cold, tmp_path,
                                                                  monkeypatch):
    """A snapshot's rules share their equal symbols and options (one object per class and
    attributes: lexcache._share_equal_parts), where Lark's saved form loads one object per
    occurrence; equal they stay, and the samples read the same (the other tests)."""
    _warm(cold, tmp_path, monkeypatch)
    path = next(p for p in builtin_grammar_files() if p.stem == "linux_console")
    loaded = _snapshots_loaded(monkeypatch)
    parser = load_dialect(path).parser
    assert len(loaded) == 1 and loaded[0] is parser
    parts = [s for rule in parser.rules for s in (rule.origin, *rule.expansion)]
    distinct = {(type(s), s.name, getattr(s, "filter_out", None)) for s in parts}
    assert len({id(s) for s in parts}) == len(distinct) < len(parts) // 2
    options = {id(rule.options) for rule in parser.rules}
    assert len(options) < len(parser.rules) // 4
    fresh = compile_grammar(path, cache=False)
    assert [(r.origin, r.expansion, vars(r.options)) for r in parser.rules] == \
        [(r.origin, r.expansion, vars(r.options)) for r in fresh.rules]
