"""Finding, compiling and applying dialect grammars.

A dialect is a ``.lark`` file. Lines starting with ``//@`` carry what Lark does not
need but we do: the dialect name, the trigger substrings that make a line worth
parsing (the cheap prefilter), and sample lines with the event they must produce.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from virtiodiag.cachefiles import compiled, remember, save_patterns
from virtiodiag.events import Payload, ValueOutOfRange
from virtiodiag.grammar_facts import GUEST, GrammarFacts
from virtiodiag.plain import Plain
from virtiodiag.sources.scanner import trigger_regex

if TYPE_CHECKING:
    from virtiodiag.dialects.decoder import LineDecoder
    from virtiodiag.dialects.directive_index import DirectiveIndex
    from virtiodiag.dialects.linear import LinearPattern

GRAMMAR_PATH_ENV = "VIRTIODIAG_GRAMMAR_PATH"
# Grammars shipped with the package (wheel) or beside it (source checkout).
_PACKAGE_GRAMMARS = Path(__file__).resolve().parent.parent / "grammars"
_SOURCE_GRAMMARS = Path(__file__).resolve().parent.parent.parent / "grammars"

# A line starting `//@`: the literal first, so the search jumps from one `//@` to the next
# instead of trying every character of the grammar (4.7 ms -> 1.3 ms for the 17 built-in
# files), then "at a line start" (the look-behind); the value's trailing white space is cut
# by rstrip: the same as `^//@\s*(\w+)\s*:\s*(.*?)\s*$` (tests/test_dialects.py).
_DIRECTIVE = compiled(r"//@(?<![^\n]//@)\s*(\w+)\s*:\s*(.*)", re.M)
# The same, but a `//@ sample:` (in any case, as read_directives lowers names) matches
# without a group: the analysis reads a grammar's settings, and only `grammar check` its
# samples. They are still matched, to the same extent (an empty one's `\s*` takes the next
# line as its value, which is then no directive).
_SETTING = compiled(r"//@(?<![^\n]//@)\s*(?:(?i:sample)\s*:\s*.*|(\w+)\s*:\s*(.*))", re.M)
# A `//@ triggers:` value whose quoting is only whole "double-quoted" words (no backslash,
# no single quote, no quote inside a word) between blanks: split without shlex (which
# reads it a character at a time), to the same words (tests/test_dialects.py).
_PLAIN_QUOTING = compiled(r'[ \t\r\n]*(?:(?:"[^"\\]*"|[^ \t\r\n"\'\\]+)(?:[ \t\r\n]+|\Z))*')
_QUOTED_WORD = compiled(r'"([^"\\]*)"|([^ \t\r\n"\'\\]+)')
SIDES = ("guest", "host", "firmware")  # `//@ side:` values: who prints a dialect's lines
# Every directive virtiodiag reads (docs/grammar-contract.md); to Lark any `//@` line is a
# comment, so a misspelt one would be ignored without a word: `grammar check` names it.
DIRECTIVES = ("dialect", "triggers", "side", "speaker", "bind_implies_driver_ok",
              "irq_implies_driver_ok", "default_transport", "child_slot", "quiet_drivers",
              "priority", "match", "sample")


class DialectError(Exception):
    """A grammar could not be found or compiled; the message says why in plain words."""


class CollisionsUnchecked(DialectError):
    """A strict compile could not compare some pairs of terminals: their automata grew past
    the state limit (dialects/collisions.py). The grammar compiles, but whether those
    terminals can match the same text is not known, so a strict compile refuses it."""

    def __init__(self, path: Path, limit: int, pairs: list[tuple[str, str, str]]) -> None:
        self.pairs = pairs
        shown = "; ".join(f"{a} and {b} ({why})" for a, b, why in pairs[:8])
        more = f"; and {len(pairs) - 8} more" if len(pairs) > 8 else ""
        pair = "1 pair" if len(pairs) == 1 else f"{len(pairs)} pairs"
        super().__init__(
            f"{path}: {pair} of terminals could not be checked for a collision within "
            f"{limit:,} states: {shown}{more}. A repeat before a fixed count "
            "(/[ab]*a[ab]{20}/) or a look-around after a run of any character grows an "
            "automaton exponentially: narrow the pattern, give one terminal of the pair "
            "another priority (NAME.2), or raise the limit (grammar check --max-states N)")


_BUILTIN_DIR: dict[tuple[Path, Path], Path] = {}


def builtin_grammar_dir() -> Path:
    """The folder of the built-in grammars, looked for once per process (it is asked for
    each grammar several times: a stat and a few Path objects each)."""
    places = (_PACKAGE_GRAMMARS, _SOURCE_GRAMMARS)
    found = _BUILTIN_DIR.get(places)
    if found is None:
        for candidate in places:
            if (candidate / "common.lark").is_file():
                found = _BUILTIN_DIR[places] = candidate
                break
        else:
            raise DialectError("the built-in grammars are missing (no common.lark beside "
                               "the package)")
    return found


class Sample(Plain):
    FIELDS = ("line", "expect", "lineno")

    def __init__(self, line: str, expect: str, lineno: int):
        self.line = line
        self.expect = expect  # "kind[detail] field=value ..." or "" (must produce any event)
        self.lineno = lineno


class Dialect(Plain):
    FIELDS = ("name", "path", "triggers", "samples", "_parser", "priority", "strict", "cache",
              "match_re", "facts")

    def __init__(self, name: str, path: Path, triggers: tuple[str, ...],
                 samples: list[Sample] | None = None, _parser: object = None, priority: int = 0,
                 strict: bool = False, cache: bool = True, match_re=None,
                 facts: GrammarFacts = GUEST, text: str | None = None,
                 samples_from_path: bool = False):
        self.name = name
        self.path = path
        self.triggers = triggers
        # `samples`, or None: read from the grammar's `text` when first asked (samples).
        self._samples = (samples if samples is not None or text is not None
                         or samples_from_path else [])
        self._text = text  # None with samples_from_path: the file is read when asked
        self._parser = _parser
        self.priority = priority  # higher is tried first (a specific format before a loose one)
        self.strict = strict
        self.cache = cache
        self.match_re = match_re  # optional `//@ match:` regex, checked after a trigger
        self.facts = facts  # what its directives tell the model (side, speaker ...)
        self._hazards: list[str] | None = None
        self._safe: bool | None = None  # shape_safe, when asked before shape_hazards

    @property
    def samples(self) -> list[Sample]:
        """The grammar's ``//@ sample:`` lines. Only ``grammar check`` and the tests ask;
        the 33 built-in grammars hold about 900, read from the text when first asked."""
        if self._samples is None:
            text = self._text
            if text is None:  # its directives came from the index (directive_index.py)
                text = self.path.read_text(encoding="utf-8")
            self._samples = read_samples(text)
            self._text = None
        return self._samples

    def wants(self, text: str) -> bool:
        """Cheap test before any grammar work: a trigger, and the match regex if any."""
        for trigger in self.triggers:
            if trigger in text:
                return self.match_re is None or self.match_re.search(text) is not None
        return False

    @property
    def shape_hazards(self) -> list[str]:
        """Why the line-shape memo may not stand in for this grammar ([]: it may): a
        terminal that tells one digit, or one hex letter, from another."""
        if self._hazards is None:
            from virtiodiag.dialects.shapes import terminal_hazards

            terminals = getattr(self.parser, "terminals", None)
            self._hazards = (terminal_hazards(terminals) if terminals is not None
                             else ["its terminals cannot be inspected"])
        return self._hazards

    @property
    def shape_safe(self) -> bool:
        """``not self.shape_hazards``, found without listing every hazard (shapes.py)."""
        if self._hazards is not None:
            return not self._hazards
        safe = self._safe
        if safe is None:
            from virtiodiag.dialects.shapes import shape_safe

            terminals = getattr(self.parser, "terminals", None)
            safe = self._safe = terminals is not None and shape_safe(terminals)
        return safe

    @property
    def parser(self):
        """The compiled Lark parser, built on first use: a log that never mentions a
        dialect's triggers never pays for compiling its grammar."""
        if self._parser is None:
            self._parser = _compile_or_explain(self.path, self.strict, self.cache)
        return self._parser

    def parse(self, text: str) -> Payload | None:
        """The event for one record, or None when this grammar does not match it.

        Raises ValueOutOfRange when the grammar matches but a value does not fit its field
        (see transformer.FIELD_BITS): the line is then not understood, by any dialect."""
        parser = self.parser
        try:
            result = parser.parse(text)
        except _no_match():  # only Lark's "this is not my line" means no match
            return None
        except ValueOutOfRange:
            raise
        except Exception as exc:  # re-raised below; Lark's VisitError wraps
            # a transformer's error
            cause = getattr(exc, "orig_exc", None)
            if isinstance(cause, ValueOutOfRange):
                raise ValueOutOfRange(str(cause)) from None
            raise
        return result if isinstance(result, Payload) else None

    def explain(self, text: str) -> str:
        """Why this grammar does not match ``text`` (Lark's own words, first line)."""
        from virtiodiag.dialects import lexcache

        parser = self.parser
        lexcache.with_root_lexer(parser)  # its messages name the unexpected token
        try:
            parser.parse(text)
        except _no_match() as exc:
            return str(exc).strip().splitlines()[0]
        return "matched"


def _no_match() -> type[Exception]:
    """Lark's "the grammar does not match this text" (imported with the parser, not
    before: `--version` and `rules` do not load Lark). Every other exception is a bug."""
    from lark.exceptions import UnexpectedInput

    return UnexpectedInput


def unknown_directives(text: str) -> list[str]:
    """``//@`` lines whose name is no directive, each said with the nearest one."""
    from difflib import get_close_matches

    found = []
    for name, places in read_directives(text).items():
        if name not in DIRECTIVES:
            near = get_close_matches(name, DIRECTIVES, n=1)
            hint = f" (did you mean '//@ {near[0]}:'?)" if near else ""
            found += [f"line {line}: '//@ {name}:' is not a directive virtiodiag reads{hint}; "
                      "the line is ignored" for _, line in places]
    return found


def read_directives(text: str, samples: bool = True) -> dict[str, list[tuple[str, int]]]:
    """Each directive's values with their line numbers, by lowered name; without the
    ``sample`` ones when ``samples`` is false."""
    found: dict[str, list[tuple[str, int]]] = {}
    lineno, counted_to = 1, 0
    for match in (_DIRECTIVE if samples else _SETTING).finditer(text):
        if match.lastindex is None:
            continue  # a sample, not asked for
        lineno += text.count("\n", counted_to, match.start())  # from the previous one only
        counted_to = match.start()
        found.setdefault(match.group(1).lower(), []).append((match.group(2).rstrip(), lineno))
    return found


def read_samples(text: str) -> list[Sample]:
    """A grammar's ``//@ sample: LINE => EXPECTED`` lines."""
    samples = []
    for value, lineno in read_directives(text).get("sample", []):
        line, _, expect = value.partition(" => ")
        samples.append(Sample(line.strip(), expect.strip(), lineno))
    return samples


def trigger_words(value: str) -> list[str]:
    """The words of a ``//@ triggers:`` value: separated by blanks; a quoted one ("vp read")
    may hold blanks. shlex's POSIX rules (ValueError on an open quote)."""
    if "'" not in value and '"' not in value and "\\" not in value:
        return value.split()
    if _PLAIN_QUOTING.fullmatch(value):
        return [word.group(word.lastindex or 0) for word in _QUOTED_WORD.finditer(value)]
    import shlex  # only for such a value: its import is start-up too

    return shlex.split(value, posix=True)


def compile_grammar(path: Path, strict: bool = False, cache: bool = True):
    """Compile one grammar with LALR and the contextual lexer."""
    from lark import Lark  # imported here so `--version` and `rules` stay fast

    from virtiodiag.dialects.transformer import EventTransformer

    text = path.read_text(encoding="utf-8")
    name = dialect_name(path, text)
    options = {"parser": "lalr", "lexer": "contextual", "source_path": str(path),
               "import_paths": [str(builtin_grammar_dir())],
               "transformer": EventTransformer(name), "maybe_placeholders": False}
    cache_file = None
    user = is_user_grammar(path)
    if strict:
        options["strict"] = True
    elif cache:
        cache_file = _cache_path(path, text, options)  # None: no private cache directory
    if strict:
        from virtiodiag.dialects.collisions import faster_crawl

        with faster_crawl() as check:  # the same collision verdicts, sooner
            strict_parser = Lark(text, **options)
        if check.unchecked:
            raise CollisionsUnchecked(path, check.limit, check.unchecked)
        return _linear(strict_parser, path) if user else strict_parser
    # Lark checks every pair of terminals for collisions with interegular on each fresh
    # compile (0.7 s of the 1 s a cold cache costs for the built-in grammars) and, unless
    # strict, only logs what it finds to a silenced logger. `grammar check` compiles
    # strictly and reports them; an ordinary compile skips the check.
    import lark.lexer as lark_lexer

    checks = getattr(lark_lexer, "has_interegular", None)
    if checks:
        lark_lexer.has_interegular = False
    from virtiodiag.dialects import lexcache

    key = lexcache.sealing_key(Path(cache_file).parent) if cache_file else None
    try:
        def samples() -> list[str]:  # they check a parser snapshot before it is kept
            return [value.partition(" => ")[0].strip()
                    for value, _ in read_directives(text).get("sample", [])]

        parser = lexcache.cached_lark(text, options, cache_file, key, samples)
    finally:
        if checks:
            lark_lexer.has_interegular = checks
    if user:
        parser = _linear(parser, path)
    elif cache_file and key is not None:
        patterns = lexcache.PatternCache(cache_file + ".re", key)
        if lexcache.install(parser, patterns):
            remember(patterns)
    lexcache.without_root_lexer(parser)  # after install: that sees the real root lexer
    return parser


def is_user_grammar(path: Path) -> bool:
    """Whether a grammar is not one of the built-in ones (which are tested, and run
    under ``re``): user grammars' regular expressions run under RE2 (see linear.py)."""
    try:
        return _resolved(path).parent != _builtin_dir_resolved()
    except (OSError, DialectError):
        return True


_RESOLVED: dict[Path, Path] = {}


def _resolved(path: Path) -> Path:
    """``path.resolve()``; for a built-in grammar once per process (like its folder, see
    ``_builtin_dir_resolved``): it is asked when the grammar is loaded, for its directives'
    patterns and for its cache file, a few stat calls per path component each time. A user
    grammar's path (maybe relative, maybe a symlink that changes) is resolved each time."""
    found = _RESOLVED.get(path)
    if found is None:
        if path.parent == builtin_grammar_dir():
            found = _RESOLVED[path] = _builtin_resolved(path)
        else:
            found = path.resolve()
    return found


def _builtin_resolved(path: Path) -> Path:
    """``path.resolve()`` for a file of the built-in folder: the folder resolved (once)
    and the file's name, when the file is no symbolic link (one ``lstat``); else (a link,
    or no such file) ``resolve`` itself. ``realpath`` took 9 M instructions for the 52
    built-in grammars of every run, a few ``lstat`` per path component each."""
    name = path.name
    try:
        plain = name not in ("", ".", "..") and not stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        plain = False
    return _builtin_dir_resolved() / name if plain else path.resolve()


_BUILTIN_RESOLVED: dict[Path, Path] = {}


def _builtin_dir_resolved() -> Path:
    """``builtin_grammar_dir().resolve()``, resolved once per process (it is asked for
    every grammar, three times)."""
    folder = builtin_grammar_dir()
    resolved = _BUILTIN_RESOLVED.get(folder)
    if resolved is None:
        resolved = _BUILTIN_RESOLVED[folder] = folder.resolve()
    return resolved


def _linear_module():
    from virtiodiag.dialects import linear

    return linear


def _linear(parser, path: Path):
    """Make a user grammar's lexers run under RE2, or refuse the grammar."""
    from virtiodiag.dialects import lexcache, linear

    if not linear.available():
        return parser  # no google-re2 on this platform: Python's re, as before
    refused = linear.check_terminals(parser)
    if refused and not any(linear.can_backtrack(pattern) for _, _, pattern in refused):
        # RE2 cannot run a look-around (a copy of a built-in grammar has some), but no
        # terminal repeats a repeated group: Python's re, as for the built-in grammars.
        return parser
    refused = [entry for entry in refused if linear.can_backtrack(entry[2])]
    if refused:
        name, reason, _ = refused[0]
        raise DialectError(f"{path}: terminal {name} cannot be matched in linear time "
                           f"({reason}); user grammars run under RE2, which has no "
                           "back-references or look-arounds" + (
                               f" ({len(refused) - 1} more terminal(s) like it)"
                               if len(refused) > 1 else ""))
    if not lexcache.install(parser, linear.LinearRe()):
        raise DialectError(f"{path}: cannot run this grammar's lexer under RE2 (an "
                           "unexpected Lark version)")
    return parser


def save_pattern_caches() -> None:
    """Store the lexer patterns compiled in this run (see lexcache), and the module-level
    ones (cachefiles.compiled); cheap when none. Also done at exit."""
    save_patterns()


def _cache_path(path: Path, text: str, options: dict) -> str | None:
    """The grammar's cache file in the private cache directory, or None (no cache)."""
    import sys

    import lark

    from virtiodiag.cachefiles import blake2b

    from virtiodiag.dialects import lexcache
    from virtiodiag.dialects.lexcache import private_dir

    folder = private_dir()
    if folder is None:
        return None  # never Lark's own temporary directory (see lexcache)
    grammars = builtin_grammar_dir()
    common = (grammars / "common.lark").read_bytes()
    if _self_contained_builtin(path, text):
        # Its text and common.lark (both in the digest) are all it is made of: every
        # checkout and virtual environment of the same grammar shares one file. Keyed by
        # its place as well, each checkout had its own file, and more checkouts of one
        # grammar than KEPT_VERSIONS (eleven on one machine) pruned each other's in turn:
        # nearly every process compiled its grammars afresh.
        where = b"\0built-in"
        placed: tuple[str, ...] = ("transformer", "source_path", "import_paths")
    else:
        # A user's grammar may import files beside it that the digest does not cover:
        # two copies of it in two places are two grammars (Lark's own cache keys on the
        # path and import paths too).
        where = f"\0{_resolved(path)}\0{_builtin_dir_resolved()}".encode()
        placed = ("transformer",)
    # The Lark and Python versions too: Lark's own cache keyed on them, ours must.
    settings = sorted((k, str(v)) for k, v in options.items() if k not in placed)
    versions = f"\0{lark.__version__}\0{sys.version_info[:2]}\0{settings}".encode()
    # (BLAKE2b, not hashlib's SHA-256: hashlib loads OpenSSL, cachefiles.py)
    digest = blake2b(text.encode() + common + where + versions, digest_size=8).hexdigest()
    return str(folder / f"{path.stem}-{digest}{lexcache.CACHE_SUFFIX}")


# Led by its literal, which ``re`` looks for with a fast substring search; whether the
# line holds only blanks before it is checked per match (``imported_modules``). Anchored
# at the line start (``^[ \t]*%import`` with re.M) the pattern was tried at every
# character of the grammar: 2 M instructions for the 61 KB linux_console.lark, paid by
# each grammar a run loads, for its cache file's name.
_IMPORT = compiled(r"%import[ \t]+\.?([A-Za-z_]\w*)")


def imported_modules(text: str) -> list[str]:
    r"""The grammar modules a grammar's ``%import`` lines name, in order: the matches of
    ``^[ \t]*%import[ \t]+\.?([A-Za-z_]\w*)`` (re.MULTILINE)."""
    modules = []
    for match in _IMPORT.finditer(text):
        start = match.start()
        if not text[text.rfind("\n", 0, start) + 1:start].strip(" \t"):
            modules.append(match.group(1))
    return modules


def _self_contained_builtin(path: Path, text: str) -> bool:
    """Whether ``path`` is a built-in grammar that imports nothing but common.lark (so
    its compiled form depends on its text, common.lark's, Lark's and Python's alone)."""
    return (not is_user_grammar(path)
            and all(module == "common" for module in imported_modules(text)))


def dialect_name(path: Path, text: str | None, directives: dict | None = None) -> str:
    if directives is None:
        assert text is not None  # one of the two is given
        directives = read_directives(text, samples=False)
    if "dialect" in directives:
        return directives["dialect"][0][0]
    return path.stem.replace("_", "-")


def _compile_or_explain(path: Path, strict: bool, cache: bool):
    try:
        return compile_grammar(path, strict=strict, cache=cache)
    except DialectError:
        raise
    except Exception as exc:  # lark.exceptions.GrammarError and friends
        raise DialectError(f"{path}: {plain_grammar_error(exc)}") from exc


def _pattern(path: Path, directives: dict[str, list[tuple[str, int]]],
             key: str) -> re.Pattern[str] | LinearPattern | None:
    """A regex directive compiled: ``re.Pattern``, or linear.LinearPattern for a user
    grammar (linear time); None when the grammar has none."""
    if key not in directives:
        return None
    pattern = directives[key][0][0]
    try:
        # RE2 (its import alone is 3 ms of start-up) only for a user grammar's pattern
        linear = _linear_module() if is_user_grammar(path) else None
        if linear is not None and linear.available():
            try:
                return linear.LinearPattern(pattern)  # linear time (see linear.py)
            except re.error:
                if linear.can_backtrack(pattern):
                    raise
                return re.compile(pattern)  # a look-around, no nested repeat
        return compiled(pattern)
    except re.error as exc:
        raise DialectError(f"{path}: '//@ {key}:' is not a valid regular expression "
                           f"for linear-time matching ({exc})") from None


def grammar_facts(path: Path, directives: dict[str, list[tuple[str, int]]]) -> GrammarFacts:
    """What the grammar's directives tell the model (docs/grammar-contract.md)."""
    def text(key: str) -> str | None:
        return directives.get(key, [("", 0)])[0][0].strip() or None

    side = (text("side") or "guest").lower()
    if side not in SIDES:
        raise DialectError(f"{path}: '//@ side:' must be one of {', '.join(SIDES)}")
    child_slot = _pattern(path, directives, "child_slot")
    if child_slot is not None and child_slot.groups < 1:
        raise DialectError(f"{path}: '//@ child_slot:' needs a group: the slot number")
    default_transport = text("default_transport")
    if default_transport not in (None, "pci", "mmio"):
        raise DialectError(f"{path}: '//@ default_transport:' must be pci or mmio")
    return GrammarFacts(side, text("speaker"), text("bind_implies_driver_ok"), child_slot,
                        text("irq_implies_driver_ok"), default_transport,
                        text("quiet_drivers"))


def load_dialect(path: Path, strict: bool = False, cache: bool = True,
                 lazy: bool = False, index: DirectiveIndex | None = None) -> Dialect:
    """Read a grammar's directives (from ``index`` while the file is unchanged); compile
    it now, or on first use when ``lazy``."""
    directives = text = info = triggers = None
    if index is not None:
        try:
            info = os.stat(path)
        except OSError:
            info = None  # reported below, as without an index
        if info is not None and stat.S_ISREG(info.st_mode):
            directives = index.get(path, info)
            if directives is not None:
                triggers = index.triggers(path)  # split when first read (shlex for some)
    if directives is None:
        if path.exists() and not path.is_file():
            # A FIFO or a device (/dev/zero) would be read without end.
            raise DialectError(f"cannot read grammar {path}: not a regular file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DialectError(f"cannot read grammar {path}: {exc}") from exc
        directives = read_directives(text, samples=False)  # the samples when asked (Dialect)
        if index is not None and info is not None and stat.S_ISREG(info.st_mode):
            index.put(path, info, directives)
    name = dialect_name(path, text, directives)
    if triggers is None:
        try:
            # Whitespace separates triggers; quote one that contains a space: "vp read".
            triggers = tuple(word for value, _ in directives.get("triggers", [])
                             for word in trigger_words(value))
        except ValueError as exc:
            raise DialectError(f"{path}: cannot read '//@ triggers:' ({exc})") from None
        if triggers and index is not None:
            index.put_triggers(path, triggers)
    if not triggers:
        raise DialectError(f"{path}: no '//@ triggers:' line; a dialect must name the "
                           "substrings that mark the lines it reads")
    try:
        priority = int(directives.get("priority", [("0", 0)])[0][0])
    except ValueError:
        raise DialectError(f"{path}: '//@ priority:' must be a whole number") from None
    user = is_user_grammar(path)
    # A user grammar's pattern is compiled now, so a mistake in it is reported before any
    # input; a built-in one (tested) when a line first has one of its triggers.
    match_re = (_pattern(path, directives, "match") if user or "match" not in directives
                else None)
    dialect = Dialect(name, path, triggers, None, None, priority, strict, cache, match_re,
                      grammar_facts(path, directives), text=text, samples_from_path=True)
    if match_re is None and "match" in directives:
        dialect.match_re = _MatchOnFirstUse(dialect, directives["match"][0][0])
    if not lazy:
        dialect.parser  # noqa: B018 - compile now so a broken grammar fails here
    return dialect


class _MatchOnFirstUse:
    """A built-in dialect's ``//@ match:`` pattern, compiled when first searched (then the
    dialect holds the compiled pattern): most logs have no line with the triggers of most
    dialects, and compiling the 13 patterns was 2-6 ms of every run."""

    def __init__(self, dialect: Dialect, pattern: str):
        self.dialect = dialect
        self.pattern = pattern

    def search(self, text: str):
        found = _pattern(self.dialect.path, {"match": [(self.pattern, 0)]}, "match")
        self.dialect.match_re = found
        return found.search(text) if found is not None else None


def plain_grammar_error(exc: BaseException) -> str:
    """Lark's message, with a plain-words lead for the common cases."""
    message = str(exc).strip()
    lowered = message.lower()
    if "collision" in lowered:
        return ("two terminals can match the same text (a terminal collision); give one a "
                "priority (NAME.2) or make the patterns disjoint. Lark says: " + message)
    if "reduce/reduce" in lowered or "shift/reduce" in lowered:
        return ("the grammar is ambiguous for an LALR parser (a conflict): two rules can "
                "apply to the same tokens. Lark says: " + message)
    if "undefined" in lowered or "not defined" in lowered:
        return "a rule or terminal is used but never defined. Lark says: " + message
    return message


def grammar_search_path(extra_dirs: list[str] | None = None) -> list[Path]:
    dirs = [Path(p) for p in (extra_dirs or [])]
    env = os.environ.get(GRAMMAR_PATH_ENV, "")
    dirs += [Path(p) for p in env.split(os.pathsep) if p]
    return dirs


def builtin_grammar_files() -> list[Path]:
    folder = builtin_grammar_dir()
    # What folder.glob("*.lark") lists (any entry whose name ends so), without pathlib's
    # pattern machinery (fnmatch, a regex compiled each run, a Path per entry).
    with os.scandir(folder) as entries:
        names = [entry.name for entry in entries
                 if entry.name.endswith(".lark") and entry.name != "common.lark"]
    return sorted(folder / name for name in names)


def resolve_grammar(name: str, search: list[Path]) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    for folder in search:
        for candidate in (folder / name, folder / f"{name}.lark"):
            if candidate.is_file():
                return candidate
    raise DialectError(f"grammar not found: {name} (looked in the current directory"
                       + "".join(f", {d}" for d in search) + f"; set {GRAMMAR_PATH_ENV})")


class DialectSet:
    """All dialects in use, in the order they are tried, with the trigger prefilter.

    ``dispatch`` asks the grammars (no cache); ``parse`` goes through a LineDecoder
    (dialects/decoder.py), which owns every cache of parse results."""

    def __init__(self, dialects: list[Dialect]):
        self.dialects = dialects
        self.facts = {d.name: d.facts for d in dialects}  # dialect name -> its directives
        triggers = sorted({t for d in dialects for t in d.triggers}, key=len, reverse=True)
        self.trigger_bytes = [t.encode() for t in triggers]
        self._trigger_re: re.Pattern[bytes] | None = None
        self._decoder: LineDecoder | None = None
        self._wanting: _TriggerIndex | None = None  # built on the first wanting()

    @property
    def trigger_re(self) -> re.Pattern[bytes]:
        """All triggers as one regex (the scanner needs it only when there is no trigger
        list to search word by word: compiled on first use)."""
        if self._trigger_re is None:
            self._trigger_re = trigger_regex(tuple(self.trigger_bytes))
        return self._trigger_re

    def dispatch(self, text: str,
                 wanting: tuple[int, ...] | None = None) -> tuple[Payload | None, bool]:
        """The first wanting dialect's payload (or None), and whether every dialect asked
        was shape-safe (dialects/shapes.py): only then may a line shape be learned.
        ``wanting``: ``self.wanting(text)`` when the caller has it already."""
        safe = True
        asked = (self.dialects if wanting is None
                 else [self.dialects[index] for index in wanting])
        for dialect in asked:
            if wanting is not None or dialect.wants(text):
                safe = safe and dialect.shape_safe
                result = dialect.parse(text)
                if result is not None:
                    return result, safe
        return None, safe

    def wanting(self, text: str) -> tuple[int, ...]:
        """Which dialects want this text (their triggers and match patterns decide)."""
        index = self._wanting
        if index is None:
            index = self._wanting = _TriggerIndex(self.dialects)
        return index.wanting(text)

    def parse(self, text: str) -> Payload | None:
        """The payload of one record text, through this set's shared LineDecoder."""
        if self._decoder is None:
            from virtiodiag.dialects.decoder import LineDecoder

            self._decoder = LineDecoder(self)
        return self._decoder.parse(text)

    @property
    def refused(self) -> bool:
        """Whether the last parse() met a line a grammar matched with a value wider than
        its field (dialects/transformer.FIELD_BITS): a line not understood."""
        return self._decoder is not None and self._decoder.refused

    def explain(self, text: str) -> list[tuple[str, str]]:
        """Per dialect: 'matched', 'no trigger', or the parser's reason."""
        out = []
        for dialect in self.dialects:
            if not any(t in text for t in dialect.triggers):
                out.append((dialect.name, "not tried: none of its triggers "
                            f"({', '.join(dialect.triggers)}) is in the line"))
            elif not dialect.wants(text):
                out.append((dialect.name, "not tried: the line does not match its "
                            f"'//@ match:' pattern {getattr(dialect.match_re, 'pattern', '')}"))
            else:
                out.append((dialect.name, dialect.explain(text)))
        return out


LEAD = 4  # characters of a trigger's lead (_TriggerIndex._by_leads)
OWNED_LIMIT = 4096  # sets of triggers remembered (_TriggerIndex._owned); cleared when full


class _TriggerIndex:
    """``DialectSet.wanting`` for many texts. The triggers whose first characters the text
    holds, each tested (``_by_leads``: the same answer as each dialect's ``wants`` in
    turn) until ``RE2_AFTER`` texts were asked (none when a large file's scanner imported
    RE2 already); from then on (a large log: every new record text of it is asked,
    thousands on the benchmark's sparse file) one RE2 set search finds every trigger a text holds,
    when google-re2 is installed, and only the ``//@ match:`` patterns of the dialects
    owning one are searched, in dialect order: the same answer as ``wants`` in turn
    (``_by_leads`` is still asked for a text RE2 finds none in)."""

    RE2_AFTER = 1024  # by then a large file's scanner has imported RE2 (scanner.py)

    def __init__(self, dialects: list[Dialect]):
        self.dialects = dialects
        self._asked = 0
        # RE2 set's Match: the numbers of the triggers in a UTF-8 text (_trigger_set)
        self._set_match: Callable[[bytes], list[int]] | None = None
        self.triggers: tuple[str, ...] = ()
        self.owners: tuple[tuple[int, ...], ...] = ()
        # The RE2 set's numbers found in a text -> the (number, dialect) pairs owning them
        self._owned: dict[tuple[int, ...], tuple[tuple[int, Dialect], ...]] = {}
        self._leads: tuple | None = None  # _lead_index, made on the first text asked

    def wanting(self, text: str) -> tuple[int, ...]:
        match = self._set_match
        if match is not None:
            try:
                found = match(text.encode())
            except UnicodeEncodeError:  # a lone surrogate: not UTF-8
                found = []
            if found:
                # The dialects owning the triggers found, in dialect order: one look-up
                # per text for a set of triggers met before (a log's texts hold a few).
                owned = self._owned.get(key := tuple(found))
                if owned is None:
                    owned = self._owned_by(key)
                return tuple([i for i, dialect in owned if (pattern := dialect.match_re) is None
                              or pattern.search(text) is not None])
        else:
            self._asked += 1
            # RE2 imported already (a large file's scanner did): the set from the first
            # text on. The first RE2_AFTER texts asked in turn cost about 50 us each against
            # 17 for the set (every new text of the benchmark's sparse file), in each process
            # that reads texts (sources/prescan.py).
            if self._asked == self.RE2_AFTER or (self._asked == 1 and "re2" in sys.modules):
                self._start_set()
        return self._by_leads(text)

    def _by_leads(self, text: str) -> tuple[int, ...]:
        """``wanting`` without RE2: each trigger is tested (``in``) only when the text
        holds its first ``LEAD`` characters somewhere, which one pass over the text's
        ``LEAD``-grams finds (in C: ``zip`` and a frozenset's ``intersection``); a trigger
        shorter than that is always tested. A trigger in the text has its lead in the
        text's grams, so the triggers found are exactly those ``wants`` finds; their
        dialects, in dialect order, are then asked their ``//@ match:`` pattern, as
        ``wants`` asks it. On a boot log's 242 texts: 47 substring tests per text instead
        of 402 (62.6 M -> 28.6 M instructions)."""
        leads = self._leads
        if leads is None:
            leads = self._leads = self._lead_index()
        short, by_lead, lead_keys = leads
        found: set[int] = set()
        for trigger, owners in short:
            if trigger in text:
                found.update(owners)
        grams = zip(*[text[i:] for i in range(LEAD)], strict=False)  # to the shortest slice
        for lead in lead_keys.intersection(grams):
            for trigger, owners in by_lead[lead]:
                if trigger in text:
                    found.update(owners)
        if not found:
            return ()
        dialects = self.dialects
        return tuple([i for i in sorted(found) if (pattern := dialects[i].match_re) is None
                      or pattern.search(text) is not None])

    def _lead_index(self) -> tuple:
        """(triggers shorter than LEAD with their dialects' numbers; lead (a tuple of
        LEAD characters) -> its triggers with their dialects' numbers; the leads)."""
        owners: dict[str, list[int]] = {}
        for number, dialect in enumerate(self.dialects):
            for trigger in dialect.triggers:
                owners.setdefault(trigger, []).append(number)
        short = tuple((t, tuple(o)) for t, o in owners.items() if len(t) < LEAD)
        by_lead: dict[tuple[str, ...], list[tuple[str, tuple[int, ...]]]] = {}
        for trigger, numbers in owners.items():
            if len(trigger) >= LEAD:
                by_lead.setdefault(tuple(trigger[:LEAD]), []).append((trigger, tuple(numbers)))
        frozen = {lead: tuple(entries) for lead, entries in by_lead.items()}
        return short, frozen, frozenset(frozen)

    def _owned_by(self, found: tuple[int, ...]) -> tuple[tuple[int, Dialect], ...]:
        """The dialects owning the triggers numbered ``found`` (RE2 set numbers), with
        their numbers, in dialect order; remembered. (Their ``match_re`` is read at each
        use: a built-in one is compiled on first use, _MatchOnFirstUse.)"""
        owners, dialects = self.owners, self.dialects
        owned = tuple((i, dialects[i]) for i in sorted({i for number in found
                                                         for i in owners[number]}))
        if len(self._owned) >= OWNED_LIMIT:
            self._owned.clear()  # (a text holds one of a few sets; flat memory regardless)
        self._owned[found] = owned
        return owned

    def _start_set(self) -> None:
        owners: dict[str, list[int]] = {}
        for number, dialect in enumerate(self.dialects):
            for trigger in dialect.triggers:
                owners.setdefault(trigger, []).append(number)
        self.triggers = tuple(owners)
        self.owners = tuple(tuple(owners[trigger]) for trigger in self.triggers)
        self._set_match = _trigger_set(self.triggers)


def _trigger_set(triggers: tuple[str, ...]) -> Callable[[bytes], list[int]] | None:
    """An RE2 set of ``triggers`` (plain substrings), numbered in order: its ``Match``
    returns the numbers of those in a UTF-8 text; None without google-re2 (or when RE2
    rejects one)."""
    if os.environ.get("VIRTIODIAG_NO_RE2"):
        return None
    try:
        import re2
    except ImportError:
        return None
    try:
        found = re2._re2.Set(re2._re2.RE2.Anchor.UNANCHORED, re2.Options())
        for number, trigger in enumerate(triggers):
            if found.Add(re.escape(trigger).encode()) != number:
                return None
        if not found.Compile():
            return None
    except Exception:  # noqa: BLE001 - a binding laid out otherwise: the plain test
        return None
    return found.Match


def load_dialects(extra: list[str] | None = None, search_dirs: list[str] | None = None,
                  only: list[str] | None = None) -> DialectSet:
    """Built-in dialects, then user grammars (``--grammar``, config, search path)."""
    search = grammar_search_path(search_dirs)
    paths = builtin_grammar_files()
    for folder in search:
        if folder.is_dir():
            # Regular files only: a FIFO named x.lark once hung the run on open.
            paths += sorted(p for p in folder.glob("*.lark")
                            if p.name != "common.lark" and p.is_file())
    user = [resolve_grammar(name, search) for name in (extra or [])]
    from virtiodiag.dialects.directive_index import DirectiveIndex

    index = DirectiveIndex(reader=(__file__,))  # read_directives is this module's
    loaded = []
    seen = set()
    user_keys = {_resolved(p) for p in user}
    # User grammars first: a team's own format wins over a built-in guess.
    for path in user + paths:
        key = _resolved(path)
        if key in seen:
            continue
        seen.add(key)
        # The shipped grammars are tested; compile them when a line needs them. A user's
        # grammar (--grammar, configuration or search path) is compiled at once, so a
        # mistake in it is reported before any input (a broken grammar on the search path
        # was skipped silently: its lines were simply not understood).
        builtin = not is_user_grammar(path)
        dialect = load_dialect(path, lazy=builtin, index=index if builtin else None)
        if only and dialect.name not in only:
            continue
        loaded.append((key not in user_keys, dialect))
    index.save()
    # User grammars first, then by priority; sorted() is stable, so file order breaks ties.
    loaded.sort(key=lambda entry: (entry[0], -entry[1].priority))
    return DialectSet([dialect for _, dialect in loaded])
