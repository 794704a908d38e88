"""Every built-in grammar compiles strictly and produces the events its samples promise."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from conftest import strict_dialect
from each_case import check_each
from virtiodiag.dialects.registry import builtin_grammar_files, load_dialects, read_directives
from virtiodiag.dialects.samples import check_sample
from virtiodiag.events import EVENT_KINDS

GRAMMARS = builtin_grammar_files()
FIRMWARE = {"seabios", "uboot", "zephyr", "freebsd", "rtos-step"}


def _id(path: Path) -> str:
    return path.stem


def _samples():
    """One parameter for each grammar with samples: its path and its samples' lines."""
    for path in GRAMMARS:
        text = path.read_text(encoding="utf-8")
        linenos = [lineno for _value, lineno in read_directives(text).get("sample", [])]
        if linenos:
            yield pytest.param(path, linenos, id=path.stem)


@pytest.fixture(scope="module")
def strict_dialects():
    return {}


def _dialect(cache: dict, path: Path):
    if path not in cache:
        try:
            cache[path] = strict_dialect(path)
        except Exception as exc:  # noqa: BLE001 - reported by every test of this grammar
            cache[path] = exc
    if isinstance(cache[path], Exception):
        raise cache[path]
    return cache[path]


@pytest.mark.parametrize("path", GRAMMARS, ids=_id)
def test_grammar_compiles_strictly(path, strict_dialects):
    dialect = _dialect(strict_dialects, path)
    assert dialect.triggers
    assert dialect.samples, f"{path.name} has no //@ sample: lines"


@pytest.fixture(scope="module")
def all_dialects():
    return load_dialects()


@pytest.mark.parametrize("path,linenos", list(_samples()))
def test_sample(path, linenos, all_dialects, strict_dialects):
    """Each of a grammar's sample lines gives the event it promises (check_sample), with
    only the fields events.EVENT_KINDS lists for its kind; and with every dialect loaded
    it is read by the grammar that documents it (no other dialect, tried earlier by
    priority, claims it). One test a grammar, naming each sample line that fails: one
    test a line (~1,200) cost pytest more than the checks (each_case)."""
    dialect = _dialect(strict_dialects, path)
    check_each(((f"{path.name}:{lineno}", (path, dialect, lineno, all_dialects))
                for lineno in linenos), _check_sample)


def _check_sample(path, dialect, lineno, all_dialects):
    sample = next(s for s in dialect.samples if s.lineno == lineno)
    passed, payload, reason = check_sample(dialect, sample)
    assert passed, f"{path.name}:{lineno}: {sample.line!r}: {reason} (got {payload})"

    payload = dialect.parse(sample.line)
    assert payload is not None
    unknown = [name for name, _ in payload.fields if name not in EVENT_KINDS[payload.kind]]
    assert not unknown, f"{sample.line!r}: fields {unknown} are not in events.EVENT_KINDS"

    payload = all_dialects.parse(sample.line)
    assert payload is not None and payload.dialect == dialect.name, (
        f"{sample.line!r} was read by {payload.dialect if payload else 'no dialect'}"
        + (f" as {payload.kind}" if payload else ""))


def test_firmware_dialects_are_built_in():
    names = {p.stem for p in GRAMMARS}
    assert {"seabios", "uboot", "zephyr", "freebsd", "rtos_step"} <= names


def test_directives_read_as_by_the_line_anchored_pattern():
    """read_directives searches for the literal `//@` (fast); it finds what the plain
    line-anchored pattern finds, on every grammar and on white-space edge cases."""
    import re

    reference = re.compile(r"^//@\s*(\w+)\s*:\s*(.*?)\s*$", re.M)

    def expected(text):
        found: dict = {}
        for match in reference.finditer(text):
            lineno = text.count("\n", 0, match.start()) + 1
            found.setdefault(match.group(1).lower(), []).append((match.group(2), lineno))
        return found

    texts = [p.read_text() for p in builtin_grammar_files()]
    texts += ["//@ a: b\n//@x:y", "x//@ a: b\n //@ c: d\n//@\ne:f", "\n\n//@ dialect:  x  \n",
              "//@ a:\n//@ b: c", "//@ a: b \x1c\r\n", "//@ a:\n\n  x", "//@ a: b\n   \n//@ c: d"]
    texts += ["//@ SAMPLE: x\n//@ samples: y\n//@sample : z\n//@ sample_x: q\n//@ dialect: d\n",
              "x//@ sample: a\n//@\tSample\t:\tb\n//@ sample:\n//@ samplex: c"]
    for text in texts:
        assert read_directives(text) == expected(text), text[:80]
        # The settings alone (the analysis' read): the same, but the samples.
        settings = {name: found for name, found in expected(text).items() if name != "sample"}
        assert read_directives(text, samples=False) == settings, text[:80]


def test_samples_read_when_asked_are_the_grammar_s_sample_lines():
    """load_dialect leaves the samples to be read on first use: they are every
    `//@ sample:` line of the file, split at ` => `, with its line number."""
    from virtiodiag.dialects.registry import load_dialect

    for path in builtin_grammar_files():
        expected = []
        for value, lineno in read_directives(path.read_text()).get("sample", []):
            line, _, expect = value.partition(" => ")
            expected.append((line.strip(), expect.strip(), lineno))
        dialect = load_dialect(path, lazy=True)
        assert [(s.line, s.expect, s.lineno) for s in dialect.samples] == expected, path.name
        assert dialect.samples, path.name


def test_trigger_words_split_as_shlex_does():
    """`//@ triggers:` values with quotes are split by a regex when their quoting is
    plain, by shlex otherwise: the same words (or the same ValueError) as shlex's POSIX
    split, on every grammar's triggers and on random strings of the characters that
    matter to shlex (quotes, backslash, blanks, a non-ASCII space, '#')."""
    import random
    import shlex

    from virtiodiag.dialects.registry import trigger_words

    def reference(value):
        try:
            if "'" in value or '"' in value or "\\" in value:
                return shlex.split(value, posix=True)
            return value.split()
        except ValueError:
            return ValueError

    def split(value):
        try:
            return trigger_words(value)
        except ValueError:
            return ValueError

    values = [value for path in builtin_grammar_files()
              for value, _ in read_directives(path.read_text()).get("triggers", [])]
    assert any('"' in value for value in values)
    pieces = ["a", "b", " ", '"', "'", "\\", "\t", "\xa0", "#", "\n", "\r", "\x0b", '""',
              "vp read"]
    rng = random.Random(11)
    values += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 9)))
               for _ in range(20_000)]
    for value in values:
        assert split(value) == reference(value), repr(value)


@pytest.mark.parametrize("stem", ["linux_sysfs", "netbsd", "openbsd"])
def test_a_line_its_match_refuses_is_one_the_grammar_does_not_read(stem):
    """The `//@ match:` prefilters narrowed for start-up (linux-sysfs: what start's first
    token can be; the BSDs: no key=value dump) only skip lines their grammar refuses: every
    distinct record text of the samples and fixtures that has a trigger and fails the match
    is parsed anyway, and none gives an event."""
    from virtiodiag.dialects.registry import builtin_grammar_dir, load_dialect

    dialect = load_dialect(builtin_grammar_dir() / f"{stem}.lark")
    texts = _record_texts()
    skipped = [t for t in texts if any(x in t for x in dialect.triggers) and not dialect.wants(t)]
    assert skipped, stem
    assert [t for t in skipped if dialect.parse(t) is not None] == []


@functools.cache
def _record_texts() -> frozenset[str]:
    """Every distinct record text of the samples and fixtures (read once for the module)."""
    from conftest import REPO

    from virtiodiag.sources.framing import split_records

    texts: set[str] = set()
    for log in sorted(REPO.glob("samples/**/*.log")) + sorted(REPO.glob("tests/fixtures/**/*.log")):
        for raw in log.read_text("utf-8", "replace").splitlines():
            texts.update(record.text for record in split_records(raw))
    return frozenset(texts)


def test_a_built_in_grammar_resolves_as_path_resolve_does(tmp_path, monkeypatch):
    """``registry._resolved`` of a built-in grammar is its folder resolved and its name
    (one lstat), as ``Path.resolve()`` gives; a symbolic link in the folder, or a missing
    file, is resolved by ``resolve`` itself."""
    from virtiodiag.dialects import registry

    for path in registry.builtin_grammar_files():
        assert registry._builtin_resolved(path) == path.resolve(), path.name
    folder = tmp_path / "via-link"
    (tmp_path / "real").mkdir()
    folder.symlink_to(tmp_path / "real")
    (tmp_path / "real" / "common.lark").write_text("")
    (tmp_path / "real" / "plain.lark").write_text("start: \"x\"\n")
    (tmp_path / "elsewhere.lark").write_text("start: \"y\"\n")
    (tmp_path / "real" / "linked.lark").symlink_to(tmp_path / "elsewhere.lark")
    monkeypatch.setattr(registry, "builtin_grammar_dir", lambda: folder)
    for name in ("plain.lark", "linked.lark", "missing.lark"):
        path = folder / name
        assert registry._builtin_resolved(path) == path.resolve(), name
    assert registry._builtin_resolved(folder / "linked.lark") == (tmp_path / "elsewhere.lark").resolve()
    assert registry._builtin_resolved(folder / "plain.lark") == (tmp_path / "real").resolve() / "plain.lark"
