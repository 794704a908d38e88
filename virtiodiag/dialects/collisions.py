"""Lark's strict check for terminal collisions, the same answers in a third of the time.

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
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

try:
    from interegular import fsm as _fsm
except ImportError:  # strict compiles then fail in Lark, which says interegular is needed
    _fsm = None  # type: ignore[assignment]

_ORIGINAL: Callable[..., Any] | None = getattr(_fsm, "crawl", None)


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
            row[transition] = j
        i += 1
    return _fsm.FSM(alphabet=alphabet, states=range(len(states)), initial=0,
                    finals=finals, map=transitions, __no_validation__=True)


@contextmanager
def faster_crawl() -> Iterator[None]:
    """interegular builds its automata with :func:`crawl` inside this block."""
    if _ORIGINAL is None:
        yield
        return
    _fsm.crawl = crawl
    try:
        yield
    finally:
        _fsm.crawl = _ORIGINAL
