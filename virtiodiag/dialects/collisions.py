"""Lark's strict check for terminal collisions, the same answers in a fraction of the time.

A strict compile (``grammar check``) has Lark ask interegular, for every pair of terminals
of one priority that a lexer state can see, whether some string matches both. interegular
builds a finite automaton per terminal with ``interegular.fsm.crawl``, which numbers each
new state by searching the list of the states seen so far (``list.index``): quadratic in
the automaton's size. The built-in linux_console grammar has automata of 400-1,500 states
(its longest look-ahead pads every terminal's automaton by 28 characters), and that search
was 13 of its 19 s of strict compile.

``faster_crawl()`` puts in, for the duration of a strict compile, the same crawl with the
states indexed by a hash table: each state reached is looked up by its value, and a new
one gets the next number, as ``list.index`` on a list of distinct states finds it. So every
automaton is the same, state for state and transition for transition, and so is every
verdict (tests/test_collisions.py compares the automata with interegular's own crawl). A
state interegular may give that cannot be hashed makes that crawl interegular's own.

It also puts in a comparator that pads each pair's automata for that pair's look-arounds
only (:class:`PairPadding`): interegular's pads every terminal for the longest look-around
of the whole grammar, so one look-ahead of 28 characters made every automaton of
linux_console 28 characters longer (its strict compile takes a fifth of the time). And it
builds each terminal's automaton over that terminal's own character classes, not over the
classes of the whole grammar (cloud_hypervisor's: 60-odd), and compares two of them over
the classes of the pair (:func:`disjoint`): a crawl follows every class from every state,
so a look-ahead after a run of any non-blank character (automata of 4,000 states) took
seconds a terminal.

Most pairs a strict compile asks about cannot meet at their first character (a word
against a number, ``virtio`` against a bracket), or their matches differ in length or in
their last character: :func:`matches_apart` reads that from the parsed patterns, and the
pair is disjoint without an automaton (nineteen pairs in twenty of the built-in grammars';
every such verdict is the automata's, tests/test_collisions.py).

Every automaton a pair's check builds, and the pairs of states the comparison visits, are
bounded (:data:`STATE_LIMIT`, :func:`state_limit`): a repeat before a fixed count
(``[ab]*a[ab]{20}``) or a look-ahead after a run of any character has automata that grow
exponentially, and a check of such a pair would not end. A pair over the limit is not
compared; :func:`faster_crawl` lists it (:class:`CollisionCheck`), and the strict compile
refuses the grammar naming it (registry.py). When a pair does collide, Lark asks for an
example text: :meth:`PairPadding.get_example_overlap` finds the shortest by walking the two
automata in step, within the same limit, where interegular's builds their intersection and
then tests every state of it for a way to a final one (quadratic: a first draft of
rust_vmm_panic.lark, with an intersection of 36,794 states, ran for minutes).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

try:
    from interegular import fsm as _fsm
except ImportError:  # strict compiles then fail in Lark, which says interegular is needed
    _fsm = None  # type: ignore[assignment]

_ORIGINAL: Callable[..., Any] | None = getattr(_fsm, "crawl", None)

# The most states an automaton built for a pair, or the pairs of states a comparison of two
# automata visits, may reach. The built-in grammars need at most ~6,200 (cloud_hypervisor's
# product, firecracker's automata of ~5,500 states); a pair past it takes seconds.
STATE_LIMIT = 100_000
_limit = STATE_LIMIT


class TooManyStates(Exception):
    """An automaton, or the comparison of two, grew past the state limit."""


@contextmanager
def state_limit(states: int) -> Iterator[None]:
    """Strict compiles in this block bound each pair's automata to ``states`` states."""
    global _limit
    before, _limit = _limit, states
    try:
        yield
    finally:
        _limit = before


@dataclass
class CollisionCheck:
    """What one strict compile's collision check could not decide: (terminal, terminal,
    why) for each pair whose automata grew past the state limit (taken as disjoint so the
    check goes on: every other pair is still compared)."""

    limit: int
    unchecked: list[tuple[str, str, str]] = field(default_factory=list)


_CHECKS: list[CollisionCheck] = []  # the innermost faster_crawl() block's is last


def _key(state: Any) -> Any:
    """A hashable value equal for two states exactly when the states are equal (``==``).
    interegular's crawls use sets of sub-states (a ``set`` equals a ``frozenset`` with
    the same members) or dicts from a sub-automaton's index to its state."""
    if isinstance(state, (set, frozenset)):
        return frozenset(state)
    if isinstance(state, dict):
        return ("dict", frozenset(state.items()))
    hash(state)  # TypeError: not hashable, let interegular crawl it
    return ("value", state)


def crawl(alphabet, initial, final, follow):
    """``interegular.fsm.crawl`` with the states seen indexed by value, not searched."""
    theirs = _ORIGINAL
    assert theirs is not None  # installed by faster_crawl() only when interegular is there
    try:
        index = {_key(initial): 0}
    except TypeError:
        return theirs(alphabet, initial, final, follow)
    states = [initial]
    finals = set()
    transitions: dict[int, dict] = {}
    i = 0
    while i < len(states):
        state = states[i]
        if final(state):
            finals.add(i)
        row = transitions[i] = {}
        for transition in alphabet.by_transition:
            try:
                following = follow(state, transition)
            except _fsm.OblivionError:  # the dead state: not listed
                continue
            try:
                key = _key(following)
            except TypeError:
                return theirs(alphabet, initial, final, follow)
            j = index.get(key)
            if j is None:
                j = index[key] = len(states)
                states.append(following)
                if j >= _limit:
                    raise TooManyStates(f"automaton past {_limit:,} states")
            row[transition] = j
        i += 1
    return _fsm.FSM(alphabet=alphabet, states=range(len(states)), initial=0,
                    finals=finals, map=transitions, __no_validation__=True)


def disjoint(a: Any, b: Any, limit: int | None = None) -> bool:
    """Whether automata ``a`` and ``b`` accept no string in common; each may have its own
    alphabet. The two are crawled in step over the union of their alphabets, whose every
    class stands for characters (or for "any other character") that each automaton
    reads as one class of its own, so a string of classes both accept stands for a string
    of characters both accept, and the other way round. interegular's ``FSM.isdisjoint``
    crawls over the *intersection* of the two alphabets, which leaves out a character one
    alphabet names and the other reads as "any other" (``x`` against ``[^y]``): it is
    exact only for automata over one alphabet. TooManyStates when the pairs of states
    visited pass ``limit``."""
    alphabet, (to_a, to_b) = _fsm.Alphabet.union(a.alphabet, b.alphabet)
    steps = {(to_a[key], to_b[key]) for key in alphabet.by_transition}
    start = (a.initial, b.initial)
    seen = {start}
    todo = [start]
    map_a, map_b, finals_a, finals_b = a.map, b.map, a.finals, b.finals
    while todo:
        state_a, state_b = todo.pop()
        if state_a in finals_a and state_b in finals_b:
            return False
        row_a, row_b = map_a.get(state_a), map_b.get(state_b)
        if not row_a or not row_b:
            continue
        for key_a, key_b in steps:
            next_a = row_a.get(key_a)
            if next_a is None:
                continue
            next_b = row_b.get(key_b)
            if next_b is None:
                continue
            pair = (next_a, next_b)
            if pair not in seen:
                seen.add(pair)
                todo.append(pair)
                if limit is not None and len(seen) > limit:
                    raise TooManyStates(f"comparison past {limit:,} pairs of states")
    return True


def shortest_common_string(a: Any, b: Any, limit: int | None = None) -> list[Any] | None:
    """The shortest string of symbols automata ``a`` and ``b`` both accept (one symbol of
    each class in turn: the lowest character of it, ``anything_else`` for "any other"),
    None when they share none. The pairs of states are visited breadth first, as
    :func:`disjoint` visits them, so the first pair of finals reached ends a shortest
    string; TooManyStates past ``limit`` pairs."""
    alphabet, (to_a, to_b) = _fsm.Alphabet.union(a.alphabet, b.alphabet)
    steps = sorted(((to_a[key], to_b[key]), min(alphabet.by_transition[key], key=_char_order))
                   for key in alphabet.by_transition)
    start = (a.initial, b.initial)
    came_from: dict[tuple, tuple | None] = {start: None}
    todo = deque([start])
    map_a, map_b, finals_a, finals_b = a.map, b.map, a.finals, b.finals
    while todo:
        pair = todo.popleft()
        state_a, state_b = pair
        if state_a in finals_a and state_b in finals_b:
            text = []
            while came_from[pair] is not None:
                pair, symbol = came_from[pair]  # type: ignore[misc]
                text.append(symbol)
            return text[::-1]
        row_a, row_b = map_a.get(state_a), map_b.get(state_b)
        if not row_a or not row_b:
            continue
        for (key_a, key_b), symbol in steps:
            next_a = row_a.get(key_a)
            if next_a is None:
                continue
            next_b = row_b.get(key_b)
            if next_b is None:
                continue
            following = (next_a, next_b)
            if following not in came_from:
                came_from[following] = (pair, symbol)
                todo.append(following)
                if limit is not None and len(came_from) > limit:
                    raise TooManyStates(f"comparison past {limit:,} pairs of states")
    return None


def _char_order(symbol: Any) -> tuple[int, str]:
    """A class's symbol to show: a printable character before others, "any other" last."""
    if symbol is _fsm.anything_else:
        return (2, "")
    return (0 if symbol.isprintable() and not symbol.isspace() else 1, symbol)


# The first characters a pattern's matches can start with: (characters, negated), where
# negated means "any character but these" (interegular's _CharGroup reads the same).
_Firsts = tuple[frozenset[str], bool]
_NONE: _Firsts = (frozenset(), False)


def _either(a: _Firsts, b: _Firsts) -> _Firsts:
    """The characters of ``a`` or of ``b``."""
    (chars_a, negated_a), (chars_b, negated_b) = a, b
    if negated_a and negated_b:
        return chars_a & chars_b, True
    if negated_a:
        return chars_a - chars_b, True
    if negated_b:
        return chars_b - chars_a, True
    return chars_a | chars_b, False


def first_characters(pattern: Any, last: bool = False) -> _Firsts | None:
    """Every character a non-empty match of ``pattern`` (interegular's parsed pattern) can
    begin with (``last``: end with), or more; None when this does not read the pattern
    (flags, an element it does not know). A look-around is skipped: it only narrows the
    text around the match."""
    from interegular import patterns as p

    if isinstance(pattern, p._CharGroup):
        return pattern.chars, pattern.negated
    if pattern is p._DOT:  # without the single-line flag (flags are not read): not \n
        return frozenset("\n"), True
    if pattern is p._EMPTY:
        return _NONE
    if isinstance(pattern, p._Repeated):
        return _NONE if pattern.max == 0 else first_characters(pattern.base, last)
    if isinstance(pattern, p.Pattern):
        if pattern.added_flags or pattern.removed_flags:
            return None
        found = _NONE
        for option in pattern.options:
            firsts = first_characters(option, last)
            if firsts is None:
                return None
            found = _either(found, firsts)
        return found
    if isinstance(pattern, p._Concatenation):
        found = _NONE
        for part in reversed(pattern.parts) if last else pattern.parts:
            if isinstance(part, p._NonCapturing):
                continue
            firsts = first_characters(part, last)
            if firsts is None:
                return None
            found = _either(found, firsts)
            if part.lengths[0] > 0:  # it reads a character: the ones beyond it come later
                break
        return found
    return None


def _characters_apart(firsts_a: _Firsts | None, firsts_b: _Firsts | None) -> bool:
    """Whether two sets of characters (``first_characters``) have none in common."""
    if firsts_a is None or firsts_b is None:
        return False
    (chars_a, negated_a), (chars_b, negated_b) = firsts_a, firsts_b
    if negated_a and negated_b:
        return False
    if negated_a:
        return chars_b <= chars_a
    if negated_b:
        return chars_a <= chars_b
    return not chars_a & chars_b


def first_characters_apart(a: Any, b: Any) -> bool:
    """Whether patterns ``a`` and ``b`` can match no string in common because every match
    of each is non-empty and their first characters differ. Padded for a pair (the same
    look-behind padding before both matches), both matches then begin at one place of the
    string: their automata are disjoint too."""
    if a.lengths[0] == 0 or b.lengths[0] == 0:
        return False
    return _characters_apart(first_characters(a), first_characters(b))


def matches_apart(a: Any, b: Any, padding: tuple) -> bool:
    """Whether patterns ``a`` and ``b``, padded by ``padding`` (pre, post) both, can read
    no string in common, told from their matches alone: their first characters differ
    (``first_characters_apart``); or, with a bounded ``post``, the lengths their matches
    can have, or their last characters. Each padded automaton reads exactly ``pre``
    characters, its match, then exactly ``post`` characters (its look-arounds only narrow
    what those may be), so a string both read holds one match of each at the same place:
    the same text, of one length, ending with one character."""
    if first_characters_apart(a, b):
        return True
    if padding[1] is None:
        return False
    (low_a, high_a), (low_b, high_b) = a.lengths, b.lengths
    if (high_a is not None and high_a < low_b) or (high_b is not None and high_b < low_a):
        return True
    if low_a == 0 or low_b == 0:
        return False
    return _characters_apart(first_characters(a, last=True), first_characters(b, last=True))


@cache
def _pair_padding_comparator() -> type:
    """interegular's Comparator, each pair of terminals compared with the padding that
    pair needs. Padding stands for the text a look-around reads outside the match: a
    terminal's automaton reads ``pre`` characters, the match, then ``post`` characters.
    Two terminals both padded by (pre, post) can read one string only if their matches
    are the same text (the same length before and after it), so any padding at least as
    long as both terminals' own (the pair's maximum, as interegular's own
    ``get_example_overlap`` uses) gives the verdict that the whole grammar's maximum gives:
    every verdict is interegular's (tests/test_collisions.py compares them pair by pair).
    Each automaton is built over its terminal's own alphabet and a pair compared by
    :func:`disjoint`: the same languages, so the same verdicts."""
    from interegular.comparator import Comparator
    from interegular.fsm import Alphabet
    from interegular.patterns import REFlags, Unsupported
    from interegular.utils import logger

    class PairPadding(Comparator):
        def __init__(self, patterns) -> None:
            """interegular's, without the alphabet of all terminals together (a fifth of
            a strict compile's time), which only its own ``get_fsm`` reads: made then."""
            self._patterns = patterns
            self._marked_pairs: set[frozenset] = set()
            self._padded: dict[tuple[Any, tuple], Any] = {}
            if not patterns:
                return
            prefix_postfix_s = [p.prefix_postfix for p in patterns.values()]
            self._prefix_postfix = (max(p[0] for p in prefix_postfix_s),
                                    max(p[1] for p in prefix_postfix_s))
            self._fsms: dict[Any, Any] = {}
            self._know_pairs: dict[tuple[Any, Any], bool] = {}

        def get_fsm(self, a: Any) -> Any:
            if not hasattr(self, "_alphabet"):
                self._alphabet = Alphabet.union(
                    *(p.get_alphabet(REFlags(0)) for p in self._patterns.values()))[0]
            return super().get_fsm(a)

        def _padded_fsm(self, a: Any, padding: tuple) -> Any:
            """``get_fsm`` for one padding (None: not compared, as interegular says;
            a TooManyStates: past the state limit)."""
            key = (a, padding)
            if key not in self._padded:
                try:
                    pattern = self._patterns[a]
                    self._padded[key] = pattern.to_fsm(pattern.get_alphabet(REFlags(0)),
                                                       padding)
                except Unsupported as e:
                    self._padded[key] = None
                    logger.warning(f"Can't compile Pattern to fsm for {a}\n     {e!r}")
                except TooManyStates as e:
                    self._padded[key] = e
            return self._padded[key]

        @staticmethod
        def _padding(pa: Any, pb: Any) -> tuple:
            """The pair's padding: the longer look-behind, the longer look-ahead."""
            (pre_a, post_a), (pre_b, post_b) = pa.prefix_postfix, pb.prefix_postfix
            post = (None if post_a is None or post_b is None  # None: unbounded
                    else max(post_a, post_b))
            return max(pre_a, pre_b), post

        def isdisjoint(self, a: Any, b: Any) -> bool:
            if (a, b) not in self._know_pairs:
                pa, pb = self._patterns.get(a), self._patterns.get(b)
                if pa is None or pb is None:  # thrown away by from_regexes: not compared
                    self._know_pairs[a, b] = True
                else:
                    padding = self._padding(pa, pb)
                    if matches_apart(pa, pb, padding):  # no automaton needed
                        self._know_pairs[a, b] = True
                        return True
                    self._know_pairs[a, b] = self._compare(a, b, padding)
            return self._know_pairs[a, b]

        def _compare(self, a: Any, b: Any, padding: tuple) -> bool:
            """Whether the pair is disjoint; past the state limit, listed as unchecked
            and taken as disjoint (so the other pairs are still compared)."""
            fa = self._padded_fsm(a, padding)
            fb = self._padded_fsm(b, padding) if not isinstance(fa, TooManyStates) else None
            try:
                for fsm, name in ((fa, a), (fb, b)):
                    if isinstance(fsm, TooManyStates):
                        raise TooManyStates(f"{_name(name)}'s {fsm}")
                return fa is None or fb is None or disjoint(fa, fb, _limit)
            except TooManyStates as e:
                if _CHECKS:
                    why = str(e) if "'s " in str(e) else f"their {e}"
                    _CHECKS[-1].unchecked.append((_name(a), _name(b), why))
                return True

        def get_example_overlap(self, a: Any, b: Any, max_time: float | None = None) -> Any:
            """A text both terminals match (the shortest), found within the state limit
            (ValueError past it, which Lark reads as "no example found fast enough");
            ``max_time`` is not read: the limit bounds the search."""
            from interegular.comparator import ExampleCollision

            pa, pb = self._patterns[a], self._patterns[b]
            padding = self._padding(pa, pb)
            fa, fb = self._padded_fsm(a, padding), self._padded_fsm(b, padding)
            if fa is None or fb is None or isinstance(fa, TooManyStates) \
                    or isinstance(fb, TooManyStates):
                raise ValueError(f"No example of an overlap of {a} and {b} could be made")
            try:
                symbols = shortest_common_string(fa, fb, _limit)
            except TooManyStates as e:
                raise ValueError(f"No example of an overlap of {a} and {b}: {e}") from None
            if symbols is None:
                raise ValueError(f"No overlap between {a} and {b} exists")
            text = "".join("?" if c is _fsm.anything_else else c for c in symbols)
            pre, post = padding[0], padding[1] or 0
            end = len(text) - post
            return ExampleCollision(text[:pre], text[pre:end], text[end:])

    return PairPadding


def _name(terminal: Any) -> str:
    """A terminal's name (Lark's keys are its TerminalDefs)."""
    return str(getattr(terminal, "name", terminal))


@contextmanager
def faster_crawl() -> Iterator[CollisionCheck]:
    """interegular builds its automata with :func:`crawl`, and Lark compares terminals
    with the pair-padding comparator, inside this block; it gives the pairs that could
    not be compared within the state limit."""
    check = CollisionCheck(_limit)
    if _ORIGINAL is None:
        yield check
        return
    import interegular

    theirs = interegular.Comparator
    _fsm.crawl = crawl
    setattr(interegular, "Comparator", _pair_padding_comparator())  # noqa: B010
    _CHECKS.append(check)
    try:
        yield check
    finally:
        _CHECKS.remove(check)
        _fsm.crawl = _ORIGINAL
        setattr(interegular, "Comparator", theirs)  # noqa: B010
