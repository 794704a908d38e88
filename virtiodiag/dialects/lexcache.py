"""Compiled grammars and lexer patterns kept between runs, safely.

The files live in the private, sealed cache directory of ``virtiodiag.cachefiles`` (why
nothing in it can run code: see there); Lark is never given ``cache=`` (which falls back
to predictable names in /tmp and unpickles them unchecked).

Compiled lexer patterns:

Lark's cache keeps a grammar's parse tables, not its lexers. Each run, the contextual
lexer compiles one alternation of terminals per parser state on first use, and Python's
``re`` parses and compiles each in pure Python: on a 50 KB boot log that was about
50 ms of a 0.3 s run, and 0.2 s of a large log that needs every dialect. A
``cachefiles.PatternCache`` (exact: see there) beside Lark's cache file stands in for the
``re`` module inside Lark's lexers only (Lark calls ``compile``, ``match`` and ``error``
on it): ``install``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from collections.abc import Callable, Iterable
from typing import Any

from virtiodiag.cachefiles import (  # noqa: F401 - re-exported: the cache files' API
    _FORMAT,
    CACHE_DIR_ENV,
    KEY_FILE,
    MAX_CACHE_FILE,
    SEAL,
    PatternCache,
    _sre,
    entry_digest,
    private_dir,
    read_sealed,
    sealing_key,
    sre_program,
    write_sealed,
    write_sealed_index,
)


def cached_lark(text: str, options: dict, cache_file: str | None, key: bytes | None,
                samples: Callable[[], Iterable[str]] = tuple):
    """``Lark(text, **options)``, loaded from a sealed cache file when one checks out.

    Lark's own ``cache=`` is never used (see the module docstring). Two sealed files per
    grammar: Lark's ``save()`` output (a pickle of its serialised form), and a snapshot of
    the parser that form loads into (see ``snapshot``), about six times faster to load.
    ``samples()`` (the grammar's ``//@ sample:`` lines) check a snapshot before it is kept.
    """
    import io
    import pickle

    from lark import Lark
    from lark.lark import _LOAD_ALLOWED_OPTIONS

    kept = {k: v for k, v in options.items() if k in _LOAD_ALLOWED_OPTIONS}
    transformer = options.get("transformer")
    snapshot_file = cache_file + SNAPSHOT_SUFFIX if cache_file else None
    if snapshot_file and key is not None:
        payload = read_sealed(snapshot_file, key)
        if payload is not None:
            parser = load_snapshot(payload, transformer)
            if parser is not None:
                return parser

    def load(saved: bytes):
        return Lark.__new__(Lark)._load(io.BytesIO(saved), **kept)

    payload = read_sealed(cache_file, key) if cache_file else None
    if payload is not None:
        try:
            parser = load(payload)
        except Exception:  # noqa: BLE001 - sealed by us but unreadable (a Lark upgrade)
            parser = None
        if parser is not None:
            if snapshot_file:  # a cache written before snapshots: add one
                keep_snapshot(parser, lambda: load(payload), transformer, samples,
                              snapshot_file, key)
            return parser
    parser = Lark(text, **options)
    if cache_file and key is not None:
        buffer = io.BytesIO()
        try:
            parser.save(buffer, _LOAD_ALLOWED_OPTIONS)
        except (NotImplementedError, pickle.PicklingError, TypeError, AttributeError):
            return parser
        saved = buffer.getvalue()
        if write_sealed(cache_file, key, saved):
            prune_older_versions(cache_file)
        if snapshot_file:
            try:
                loaded = load(saved)
            except Exception:  # noqa: BLE001 - no snapshot; the saved form still serves
                return parser
            keep_snapshot(loaded, lambda: load(saved), transformer, samples, snapshot_file,
                          key)
    return parser


CACHE_SUFFIX = ".lark-cache"  # registry names a grammar's file <name>-<digest> + this
KEPT_VERSIONS = 8  # cache files kept per grammar name (see prune_older_versions)


def prune_older_versions(cache_file: str, keep: int = KEPT_VERSIONS) -> int:
    """Remove all but the ``keep`` newest cache files of the grammar named like this one.

    A grammar's cache file is ``<name>-<digest>.lark-cache``, the digest covering its text,
    path, Lark and Python: each edit of a user's grammar, each checkout or virtual
    environment, each Lark upgrade writes a new one, and none was ever removed (one test
    machine's folder had grown to 17,615 files, 479 MB). Pruning by name and age after a
    fresh compile bounds the folder; keeping several versions lets a few copies of one
    grammar (two checkouts) keep theirs. A file removed under another process's feet only
    makes that process compile: the cache never changes a result. Returns files removed."""
    path = Path(cache_file)
    stem, _, _ = path.name[:-len(CACHE_SUFFIX)].rpartition("-")
    if not stem or not path.name.endswith(CACHE_SUFFIX):
        return 0
    versions = []
    try:
        import glob  # here: only a run that writes a cache file prunes

        for candidate in path.parent.glob(f"{glob.escape(stem)}-*{CACHE_SUFFIX}"):
            other, _, digest = candidate.name[:-len(CACHE_SUFFIX)].rpartition("-")
            if other == stem and re.fullmatch(r"[0-9a-f]{16}", digest):
                versions.append((candidate.stat().st_mtime, candidate.name != path.name, candidate))
    except OSError:
        return 0
    # Newest first; the file just written is kept whatever the clocks say.
    versions.sort(key=lambda entry: (entry[1], -entry[0]))
    removed = 0
    for _, _, old in versions[keep:]:
        for suffix in ("", SNAPSHOT_SUFFIX, ".re"):  # the snapshot and lexer patterns
            try:
                os.unlink(str(old) + suffix)
                removed += 1
            except OSError:
                pass
    return removed


# ---- parser snapshots ----------------------------------------------------------------
#
# Loading Lark's saved form rebuilds the parser object by object in Python (its generic
# deserialiser, then a lexer per parser state): 1-10 ms per grammar, and a boot log needs
# seven. A snapshot is that rebuilt parser pickled whole, which the C unpickler restores
# several times faster (the seven grammars of the boot log sample: 177 M instructions
# to load, 97 M from snapshots). What a pickle cannot or must not copy is named instead:
#
# * the parse callbacks (closures Lark makes over the transformer): made again by Lark's
#   own ``_prepare_callbacks`` and put into the one dict every part of the parser shares;
# * the transformer: the caller's;
# * the ``re`` module the lexers compile with;
# * instances Lark keeps at module level and compares by identity (the Shift and Reduce
#   actions of its parse tables): the running Lark's own, by name.
#
# Anything else that is not plain data (another function, a compiled pattern, a module,
# the pattern cache with its key) means no snapshot: the saved form is loaded as before.
# A snapshot is kept only after it parses the grammar's samples exactly as the parser it
# was taken from; it is taken before that parser has lexed anything (lexers build their
# patterns on first use, through the pattern cache installed afterwards). Files are
# sealed like every other cache file, and unpickling resolves only classes (of Lark, or
# builtins), never a function.

SNAPSHOT_SUFFIX = ".snap"


def _snapshot_format() -> tuple:
    import lark

    # 2: rules' equal symbols and options are one object each (_share_equal_parts)
    return (2, tuple(sys.version_info[:2]), lark.__version__)


def _lark_instances() -> dict[int, tuple[str, str]]:
    """id -> (module, name) of the objects Lark's modules hold at module level that are
    instances of Lark's own classes (Shift, Reduce ...)."""
    found: dict[int, tuple[str, str]] = {}
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == "lark" or module_name.startswith("lark.")):
            continue
        for name, value in list(vars(module).items()):
            if isinstance(value, type) or not type(value).__module__.startswith("lark"):
                continue
            found.setdefault(id(value), (module_name, name))
    return found


def lark_instance(module: str, name: str):
    """An object Lark holds at module level (see ``_lark_instances``), by its name."""
    if module != "lark" and not module.startswith("lark."):
        raise ValueError(f"{module} is not one of Lark's modules")
    found = getattr(sys.modules[module], name)
    if isinstance(found, type) or not type(found).__module__.startswith("lark"):
        raise ValueError(f"{module}.{name} is not an instance of a Lark class")
    return found


def snapshot(parser, transformer) -> bytes | None:
    """The snapshot of a loaded, unused Lark parser, or None when it cannot be taken."""
    import io
    import pickle
    import types

    callbacks = getattr(parser, "_callbacks", None)
    builder = getattr(parser, "_parse_tree_builder", None)
    if not isinstance(callbacks, dict) or not hasattr(parser, "_prepare_callbacks"):
        return None
    named = _lark_instances()
    unsafe = (types.FunctionType, types.MethodType, types.BuiltinFunctionType,
              types.ModuleType, re.Pattern)

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if obj is callbacks:
                return ("callbacks",)
            if obj is transformer:
                return ("transformer",)
            if obj is builder:
                return ("builder",)
            if obj is re:
                return ("re",)
            if isinstance(obj, PatternCache) or (isinstance(obj, unsafe)
                                                  and obj is not lark_instance):
                raise pickle.PicklingError(f"not plain data: {type(obj).__name__}")
            return None

        def reducer_override(self, obj):
            # By name, and memoised like any object: the Shift and Reduce of a parse
            # table's thousands of actions are two objects in the file, not thousands.
            where = named.get(id(obj))
            if where is not None and getattr(sys.modules[where[0]], where[1], None) is obj:
                return lark_instance, where
            return NotImplemented

    buffer = io.BytesIO()
    try:
        _share_equal_parts(parser)
        Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump((_snapshot_format(), parser))
    except Exception:  # noqa: BLE001 - not plain data (or an unexpected layout): none
        return None
    return buffer.getvalue()


def _share_equal_parts(parser) -> None:
    """Make the rules' equal symbols, and their equal options, one object each.

    Lark's saved form loads every symbol of every rule's expansion as an object of its
    own (linux_console: 852 Terminal and 450 NonTerminal objects for about 300 names),
    and an options object per rule; a snapshot pickled them all, and unpickling is paid
    per object (the six snapshots of a boot log: 39.5 M -> 28.1 M instructions with them
    shared). Symbols are values to Lark (compared and hashed by kind and name) and none of
    these is changed after the grammar is compiled, so a rule keeps equal parts, only
    fewer objects: one per class and attributes (a Terminal's ``filter_out`` included).
    A part whose attributes cannot be compared (not hashable) is left as it is."""
    rules = getattr(parser, "rules", None)
    if not isinstance(rules, list):
        return
    shared: dict[tuple, Any] = {}

    def one(part):
        try:
            fields = (tuple(sorted(vars(part).items())) if hasattr(part, "__dict__")
                      else ())
            names = [getattr(klass, "__slots__", ()) for klass in type(part).__mro__]
            slots = tuple(getattr(part, name, None) for each in names
                          for name in ((each,) if isinstance(each, str) else each))
            return shared.setdefault((type(part), slots, fields), part)
        except TypeError:
            return part

    for rule in rules:
        try:
            rule.origin = one(rule.origin)
            if isinstance(rule.expansion, list):
                rule.expansion[:] = [one(symbol) for symbol in rule.expansion]
            rule.options = one(rule.options)
        except AttributeError:
            return


def load_snapshot(payload: bytes, transformer):
    """The parser in a snapshot (see ``snapshot``), or None."""
    import io
    import pickle

    from lark import Lark

    callbacks = _CallbacksOnFirstUse()

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid):
            kind = pid[0] if isinstance(pid, tuple) and pid else None
            if kind == "callbacks":
                return callbacks
            if kind == "transformer":
                return transformer
            if kind == "builder":
                return None  # made again below
            if kind == "re":
                return re
            raise pickle.UnpicklingError(f"unknown reference {pid!r}")

        def find_class(self, module, name):
            if module == __name__ and name == "lark_instance":
                return lark_instance
            found = super().find_class(module, name)
            if not isinstance(found, type) or not (
                    module == "builtins" or module == "lark" or module.startswith("lark.")):
                raise pickle.UnpicklingError(f"{module}.{name} is not expected here")
            return found

    try:
        stored_format, parser = Unpickler(io.BytesIO(payload)).load()
        if stored_format != _snapshot_format() or not isinstance(parser, Lark):
            return None
        if not callbacks.prepare(parser):
            parser._prepare_callbacks()  # every callback now, over this transformer
            callbacks.update(parser._callbacks)
        parser._callbacks = callbacks  # the dict the parse tables' parser already holds
    except Exception:  # noqa: BLE001 - damaged, or another Lark: the saved form serves
        return None
    return parser


class _CallbacksOnFirstUse(dict):
    """A snapshot's parse callbacks (rule -> the function its reduction calls), each made
    when its rule is first reduced.

    Lark's ``_prepare_callbacks`` makes one for every rule at load, by its
    ``ParseTreeBuilder``: about 10 M instructions for the six grammars a boot log loads
    (526 rules; linux_console 244), of which the boot log reduces 45. Here a
    rule's callback is made by that same builder, with the same options and transformer,
    from a builder of that one rule (``_init_builders`` and ``create_callback`` treat each
    rule on its own), when the parser first looks it up; the lexer's callbacks (by
    terminal name, which the lexer tests with ``in``) are made at once, as Lark does.
    Once prepared the dict is never false to the parser (``__bool__``: Lark reduces
    without callbacks when the dict is empty). ``prepare`` returns False (nothing done:
    the caller makes every callback with Lark's own method) for a parser not laid out as
    expected."""

    def __init__(self):
        super().__init__()
        self._builder: Any = None
        self._transformer: Any = None
        self._rule_type: Any = None

    def prepare(self, parser) -> bool:
        from lark import Tree
        from lark.grammar import Rule
        from lark.parse_tree_builder import ParseTreeBuilder
        from lark.parser_frontends import _get_lexer_callbacks

        options = getattr(parser, "options", None)
        if (options is None or getattr(options, "ambiguity", None) == "forest"
                or not hasattr(ParseTreeBuilder, "_init_builders")):
            return False
        self._rule_type = Rule
        self._builder = ParseTreeBuilder(
            [], options.tree_class or Tree,
            options.propagate_positions,
            options.parser != "lalr" and options.ambiguity == "explicit",
            options.maybe_placeholders)
        self._transformer = options.transformer
        parser._parse_tree_builder = self._builder
        self.update(_get_lexer_callbacks(options.transformer, parser.terminals))
        return True

    def __missing__(self, rule):
        builder = self._builder
        if builder is None or not isinstance(rule, self._rule_type):
            raise KeyError(rule)
        builder.rule_builders = list(builder._init_builders([rule]))
        made = builder.create_callback(self._transformer)[rule]
        self[rule] = made
        return made

    def __bool__(self) -> bool:
        return self._builder is not None or len(self) > 0


def _parses(parser, line: str):
    try:
        return ("ok", parser.parse(line))
    except Exception as exc:  # noqa: BLE001 - compared, not handled
        return ("error", type(exc).__name__, str(exc))


def keep_snapshot(parser, reference, transformer, samples: Callable[[], Iterable[str]],
                  path: str, key: bytes | None) -> bool:
    """Write the snapshot of ``parser`` (loaded, unused) if a parser restored from it
    reads every sample line as ``reference()`` (another fresh load) does."""
    if key is None:
        return False
    payload = snapshot(parser, transformer)
    if payload is None:
        return False
    restored = load_snapshot(payload, transformer)
    if restored is None:
        return False
    try:
        expected = reference()
    except Exception:  # noqa: BLE001
        return False
    if any(_parses(restored, line) != _parses(expected, line) for line in samples()):
        return False
    return write_sealed(path, key, payload)


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


# ---- no root lexer for "no match" -------------------------------------------------------
#
# When the contextual lexer meets text no terminal of the current parser state matches,
# Lark builds the grammar's root lexer (every terminal at once) to tell an unexpected
# token from an unexpected character: a nicer message, the same "no match". Building it
# checks every string terminal against every regex terminal in Python: 1-2 ms for a large
# grammar, paid by every grammar a line is tried with and refused by, and for nothing in
# a run, which only needs to know that the grammar did not match. ``explain`` puts the
# real root lexer back to give Lark's own words.


class _NoRootLexer:
    """Stands in for a ContextualLexer's root lexer: lexes nothing, so Lark re-raises the
    contextual lexer's own UnexpectedCharacters (see ``ContextualLexer.lex``)."""

    def __init__(self, real):
        self.real = real

    def next_token(self, lexer_state, parser_state=None):
        from lark.exceptions import UnexpectedCharacters

        raise UnexpectedCharacters.__new__(UnexpectedCharacters)  # caught inside Lark


def without_root_lexer(parser) -> bool:
    """Make a Lark LALR parser's failures skip building the root lexer (see above);
    False (nothing changed) when the parser is not laid out as expected."""
    lexer: Any = getattr(getattr(parser, "parser", None), "lexer", None)
    root = getattr(lexer, "root_lexer", None)
    if root is None or isinstance(root, _NoRootLexer) or not hasattr(root, "next_token"):
        return False
    import lark.lexer

    if not isinstance(lexer, lark.lexer.ContextualLexer):
        return False
    contextual: Any = lexer  # its root_lexer is typed as Lark's own class
    contextual.root_lexer = _NoRootLexer(root)
    return True


def with_root_lexer(parser) -> None:
    """Undo ``without_root_lexer``: Lark's full error messages again."""
    lexer: Any = getattr(getattr(parser, "parser", None), "lexer", None)
    root = getattr(lexer, "root_lexer", None)
    if isinstance(root, _NoRootLexer):
        lexer.root_lexer = root.real
