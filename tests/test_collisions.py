"""The strict compile's collision check (virtiodiag/dialects/collisions.py): interegular's
automata built by a hash-indexed crawl are its own, and collisions are still refused."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from lark.exceptions import LexError

from virtiodiag.dialects import collisions
from virtiodiag.dialects.registry import compile_grammar

# A grammar with look-aheads of several lengths and terminals without any, kept fixed (its
# header says why); the built-in grammars' strict compiles are test_dialects.py's.
LOOKAHEADS = (Path(__file__).resolve().parent / "fixtures" / "grammars"
              / "firecracker-lookaheads.lark")

GRAMMAR = r'''//@ dialect: mydrv
//@ triggers: mydrv
start: status_write | status_read
status_write: DEVICE "status" (STATUS | OTHER) " end"
status_read: DEVICE "read" STATUS
DEVICE: /mydrv\d+/
STATUS: /0x[0-9a-f]+(?= end)/
OTHER: /0x[0-9]+%s/
%%ignore " "
'''


def _compared(made: list):
    """A crawl that makes each automaton both ways and compares them: they must be
    interegular's own (states, finals, transitions), state for state."""
    faster = collisions.crawl

    def both(alphabet, initial, final, follow):
        fast = faster(alphabet, initial, final, follow)
        own = collisions._ORIGINAL(alphabet, initial, final, follow)
        assert (fast.initial, fast.states, fast.finals, fast.map) == \
            (own.initial, own.states, own.finals, own.map)
        made.append(len(fast.states))
        return fast

    return both


@pytest.fixture
def crawls(monkeypatch):
    """Every crawl a strict compile makes, done both ways and compared."""
    made: list[int] = []
    monkeypatch.setattr(collisions, "crawl", _compared(made))
    return made


@pytest.fixture(scope="module")
def lookaheads_compiled():
    """One strict compile of the look-ahead grammar for the module's two tests of it:
    every crawl it makes done both ways and compared (their sizes), and every comparator
    Lark asked (its pairs and verdicts). Each test compiled it again (~0.5 s)."""
    import interegular

    made: list[int] = []
    asked: list = []
    original = collisions.faster_crawl

    @contextmanager
    def recording():
        with original() as check:
            ours = interegular.Comparator

            class Recording(ours):
                def __init__(self, patterns):
                    super().__init__(patterns)
                    asked.append(self)

            interegular.Comparator = Recording
            try:
                yield check
            finally:
                interegular.Comparator = ours

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(collisions, "crawl", _compared(made))
        monkeypatch.setattr(collisions, "faster_crawl", recording)
        compile_grammar(LOOKAHEADS, strict=True, cache=False)
    return made, asked


def test_faster_crawl_builds_interegular_s_automata(lookaheads_compiled):
    # firecracker's: ten look-aheads (which pad every terminal's automaton)
    crawls, _ = lookaheads_compiled
    # It crawled, and not only tiny ones: 65 automata of up to 138 states for the grammar
    # (most pairs need none: collisions.matches_apart), 235 when Lark's own grammar's
    # lexer is built in the same compile (the first strict compile of a process).
    assert len(crawls) > 50 and max(crawls) > 100


@pytest.mark.parametrize("lookahead", ["", "(?= end)", "(?! x)"])
def test_a_collision_is_still_refused(tmp_path, crawls, lookahead):
    path = tmp_path / "g.lark"
    path.write_text(GRAMMAR % lookahead, encoding="utf-8")
    with pytest.raises(LexError, match=r"Collision between Terminals (STATUS and OTHER|OTHER "
                                       r"and STATUS)"):
        compile_grammar(path, strict=True, cache=False)
    assert crawls


def test_terminals_told_apart_by_their_look_aheads_compile(tmp_path, crawls):
    # "0x1 end": STATUS (followed by " end") and OTHER (not followed by it) never meet
    path = tmp_path / "g.lark"
    path.write_text(GRAMMAR % "(?! end)", encoding="utf-8")
    compile_grammar(path, strict=True, cache=False)
    assert crawls



# How interegular's crawls hold a state: the initial state a set and the others frozensets
# (star, times: a set equals the frozenset of its members), dicts (parallel, everythingbut);
# a list stands for a state that cannot be hashed.
STATES = {"set-then-frozenset": (lambda n: {n}, lambda n: frozenset({n})),
          "dict": (lambda n: {0: n}, lambda n: {0: n}),
          "list": (lambda n: [n], lambda n: [n])}


@pytest.mark.parametrize("kind", list(STATES))
def test_any_kind_of_state_gives_interegular_s_automaton(kind):
    """Hashable states are looked up by value, others crawled by interegular's own code:
    the same states, numbers and transitions either way."""
    from interegular.fsm import Alphabet, OblivionError

    first, other = STATES[kind]
    alphabet = Alphabet.from_groups({"a"}, {"b"})

    def number(state) -> int:
        return next(iter(state.values() if isinstance(state, dict) else state))

    def follow(state, transition):  # around a ring of five, back to the initial state
        if number(state) == 4 and transition == 1:
            raise OblivionError
        return other((number(state) + 1 + transition) % 5)

    def final(state) -> bool:
        return number(state) == 3

    fast = collisions.crawl(alphabet, first(0), final, follow)
    own = collisions._ORIGINAL(alphabet, first(0), final, follow)
    assert (fast.states, fast.finals, fast.map) == (own.states, own.finals, own.map)
    assert len(fast.states) == 5 and fast.finals == {3}
    assert 0 in fast.map[4].values()  # back to the initial state, by value


def test_pair_padding_gives_interegular_s_verdict_on_every_pair_asked(lookaheads_compiled,
                                                                     monkeypatch):
    """The comparator a strict compile uses pads each pair for its own look-arounds, not
    the grammar's longest: every pair Lark asks about gets the verdict interegular's own
    comparator (the grammar's longest padding for all) gives. firecracker's: look-aheads of
    several lengths and terminals without any."""
    _, asked = lookaheads_compiled
    assert asked
    from interegular.comparator import Comparator

    padded = [(key, value) for ours in asked for key, value in ours._know_pairs.items()
              if max(p.prefix_postfix for p in ours._patterns.values()) != (0, 0)]
    assert len(padded) > 20  # pairs asked where the grammar's padding is not the pair's
    # interegular's comparator, its automata built by the faster crawl (the same automata,
    # state for state: test_faster_crawl_builds_interegular_s_automata), not by its own
    # crawl's list search, quadratic in the states: ~10 s more on the grammar's padding.
    monkeypatch.setattr(collisions._fsm, "crawl", collisions.crawl)
    for ours in asked:
        theirs = Comparator(ours._patterns)
        for (a, b), verdict in ours._know_pairs.items():
            assert theirs.isdisjoint(a, b) == verdict, (a.name, b.name)


# Look-arounds of several lengths (none, 4, 12 characters; ahead and behind), pairs that
# collide among them: a strict compile of a built-in grammar asks only pairs that are
# disjoint (it would stop at a collision), where a comparator that pads too little or
# only for one side of the pair still says "disjoint"; here it would say so wrongly.
PADDED_PATTERNS = {
    "HEX_END": r"0x[0-9a-f]+(?= end)",
    "NUM_NOT_END": r"0x[0-9]+(?! end)",
    "NUM": r"0x[0-9]+",
    "LONG_LOOK": r"0x1(?=[a-z]{12})",
    "BEHIND": r"(?<=dev )0x[0-9]+",
    "WORD": r"[a-z]+",
    "END": r" end",
    # Each terminal's automaton has its own alphabet: "x" names x, "[^y]" reads it as
    # "any other character"; the two still meet on "x".
    "ONE_X": r"x",
    "NOT_Y": r"[^y]",
    # Told apart (or not) by their first characters (collisions.first_characters_apart):
    # "." is not a newline; an optional or empty-able first part lets the next begin;
    # "[^y]" and "[^z]" share every other character; a flag changes the characters.
    "Y": r"y",
    "DOT_X": r".x",
    "NEWLINE_X": r"\nx",
    "MAYBE_A_THEN_B": r"a?b",
    "B": r"b",
    "AS": r"a*",
    "BS": r"b*",
    "NOT_Z": r"[^z]",
    "ANY_CASE_Q": r"(?i:q)",
    "UPPER_Q": r"Q",
    "AHEAD_FIRST": r"(?=b)[ab]",
    "A_Y": r"ay",
    "NOT_A_OR_NOT_B": r"[^a]x|[^b]y",
    "B_Y": r"by",
    "NOT_B_OR_B": r"[^b]x|by",
    "B_OR_NOT_B": r"by|[^b]x",
    # Told apart (or not) by their matches' lengths or last characters (collisions.
    # matches_apart): a look-ahead is not the match's end; an optional last part lets the
    # one before it end the match.
    "A": r"a",
    "A_MAYBE_B": r"ab?",
    "TWO_OR_THREE_A": r"a{2,3}",
    "A_X_BEFORE_Y": r"ax(?=y)",
}


def test_pair_padding_gives_interegular_s_verdict_on_colliding_pairs_too():
    from itertools import permutations

    from interegular import Comparator, parse_pattern

    def patterns():
        return {name: parse_pattern(regex) for name, regex in PADDED_PATTERNS.items()}

    ours, theirs = collisions._pair_padding_comparator()(patterns()), Comparator(patterns())
    verdicts = {(a, b): ours.isdisjoint(a, b) for a, b in permutations(PADDED_PATTERNS, 2)}
    assert verdicts == {pair: theirs.isdisjoint(*pair) for pair in verdicts}
    assert not verdicts["NUM", "LONG_LOOK"] and not verdicts["HEX_END", "NUM"]
    assert verdicts["HEX_END", "NUM_NOT_END"]  # told apart by their look-aheads only
    assert not verdicts["ONE_X", "NOT_Y"] and not verdicts["NOT_Y", "ONE_X"]
    assert verdicts["Y", "NOT_Y"] and verdicts["DOT_X", "NEWLINE_X"]
    assert not verdicts["MAYBE_A_THEN_B", "B"] and not verdicts["AS", "BS"]  # "b", ""
    assert not verdicts["NOT_Y", "NOT_Z"] and not verdicts["ANY_CASE_Q", "UPPER_Q"]
    assert not verdicts["AHEAD_FIRST", "B"]
    assert not verdicts["A_Y", "NOT_A_OR_NOT_B"]
    assert not verdicts["B_Y", "NOT_B_OR_B"] and not verdicts["B_Y", "B_OR_NOT_B"]
    assert verdicts["A_X_BEFORE_Y", "A_Y"] and verdicts["TWO_OR_THREE_A", "A"]
    assert not verdicts["A_MAYBE_B", "A"] and not verdicts["TWO_OR_THREE_A", "AS"]
    # Most of the disjoint pairs need no automaton: their first characters differ, or
    # their matches' lengths or last characters.
    parsed = patterns()
    apart = {pair for pair in verdicts
             if collisions.first_characters_apart(parsed[pair[0]], parsed[pair[1]])}
    assert len(apart) > 150 and ("Y", "NOT_Y") in apart

    def padding(a, b) -> tuple:
        return tuple(map(max, zip(parsed[a].prefix_postfix, parsed[b].prefix_postfix,
                                  strict=True)))

    later = {pair for pair in verdicts.keys() - apart
             if collisions.matches_apart(parsed[pair[0]], parsed[pair[1]], padding(*pair))}
    assert {("A_X_BEFORE_Y", "A_Y"), ("TWO_OR_THREE_A", "A")} <= later
    assert all(verdicts[pair] for pair in later)


# ---- bounded checks: a pair's automata past the state limit, a collision's example -------
# LONG's automaton has ~2 million states (it must remember the last 21 characters read):
# its check against SHORT never ended (interegular's crawl of it: minutes, gigabytes).
# Their matches can begin and end with the same characters and have one length: only the
# automata tell them apart (collisions.matches_apart does not).
EXPONENTIAL = r'''//@ dialect: slowpair
//@ triggers: slowpair
//@ sample: slowpair abca => note
start: note
note: "slowpair" (LONG | SHORT)
LONG: /[ab]*a[ab]{20}/
SHORT: /[ab]+c[ab]/
%ignore " "
'''

# Two path terminals of a first draft of rust_vmm_panic.lark: they collide, and Lark asks
# interegular for an example text, which built the pair's intersection (36,794 states) and
# tested each state for a way to a final one (quadratic: it ran for minutes).
PATHS = r'''//@ dialect: paths
//@ triggers: paths
start: note
note: "paths" (_BEFORE_DAEMON | _BACKEND_CRATE) LOCATION
_BEFORE_DAEMON: /\S*?\/(?=virtiofsd[-\/])/
_BACKEND_CRATE: /\S*?vhost-user-backend[^\/\s]*\/src\//
LOCATION: /\S*:\d+:\d+/
%ignore " "
'''


@pytest.mark.timeout(120)  # unbounded before: a hang fails here, not at the suite's end
def test_a_pair_past_the_state_limit_is_named_and_refused(tmp_path):
    from conftest import invoke_cli

    path = tmp_path / "slowpair.lark"
    path.write_text(EXPONENTIAL, encoding="utf-8")
    result = invoke_cli("grammar", "check", str(path))
    assert result.returncode == 2, result.stderr
    assert "not every pair of its terminals could be checked" in result.stderr
    assert re.search(r"1 pair of terminals could not be checked for a collision within "
                     r"100,000 states: (LONG and SHORT|SHORT and LONG) \(LONG's automaton "
                     r"past 100,000 states\)", result.stderr), result.stderr
    assert "--max-states" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_the_state_limit_can_be_lowered_and_names_every_pair_past_it(tmp_path):
    import shutil

    from conftest import REPO, invoke_cli

    # netbsd's look-aheads (5 and 9 characters): seven pairs need automata of more than 50
    # states (the look-ahead grammar's pairs but one are told apart without automata:
    # collisions.matches_apart). A copy: a user's grammar, compiled afresh by each check.
    for name in ("netbsd.lark", "common.lark"):
        shutil.copy(REPO / "grammars" / name, tmp_path / name)
    grammar = tmp_path / "netbsd.lark"
    result = invoke_cli("grammar", "check", "--max-states", "50", str(grammar))
    assert result.returncode == 2, result.stderr
    counted = re.search(r"(\d+) pairs of terminals could not be checked for a collision "
                        r"within 50 states", result.stderr)
    assert counted and int(counted.group(1)) > 1, result.stderr
    # the same grammar within the default limit: every pair compared
    assert invoke_cli("grammar", "check", "-q", str(grammar)).returncode == 0


@pytest.mark.timeout(120)
def test_a_collision_s_example_is_found_within_the_limit(tmp_path):
    path = tmp_path / "paths.lark"
    path.write_text(PATHS, encoding="utf-8")
    with pytest.raises(LexError) as caught:
        compile_grammar(path, strict=True, cache=False)
    message = str(caught.value)
    assert re.search(r"Collision between Terminals (_BEFORE_DAEMON and _BACKEND_CRATE|"
                     r"_BACKEND_CRATE and _BEFORE_DAEMON)", message), message
    example = re.search(r"Example Collision: (\S+)\n( *)(\^+)", message)
    assert example, message  # an example, not "No example could be found fast enough"
    text = example.group(1)
    start = len(example.group(2)) - len("Example Collision: ")
    end = start + len(example.group(3))
    # each terminal matches the underlined text, with the rest of the example after it
    for regex in (r"\S*?\/(?=virtiofsd[-\/])", r"\S*?vhost-user-backend[^\/\s]*\/src\/"):
        anchored = re.compile(f"(?:{regex})(?={re.escape(text[end:])}\\Z)")
        found = anchored.match(text, start)
        assert found and found.end() == end, (regex, text, start, end)


def test_the_example_is_a_shortest_string_both_terminals_accept():
    """Every colliding pair of PADDED_PATTERNS: the example walks the two automata in step
    breadth first, so it is a string both accept, as short as the shortest way to a final
    state of interegular's own intersection of the two."""
    from itertools import combinations

    from interegular import parse_pattern
    from interegular.fsm import anything_else

    def shortest(fsm) -> int | None:
        seen, frontier, length = {fsm.initial}, [fsm.initial], 0
        while frontier:
            if any(state in fsm.finals for state in frontier):
                return length
            frontier = [following for state in frontier
                        for following in fsm.map.get(state, {}).values()
                        if following not in seen and not seen.add(following)]
            length += 1
        return None

    ours = collisions._pair_padding_comparator()(
        {name: parse_pattern(regex) for name, regex in PADDED_PATTERNS.items()})
    compared = 0
    for a, b in combinations(PADDED_PATTERNS, 2):
        if ours.isdisjoint(a, b):
            continue
        padding = ours._padding(ours._patterns[a], ours._patterns[b])
        fa, fb = ours._padded_fsm(a, padding), ours._padded_fsm(b, padding)
        symbols = collisions.shortest_common_string(fa, fb)
        assert symbols is not None, (a, b)
        assert fa.accepts(symbols) and fb.accepts(symbols), (a, b, symbols)
        assert len(symbols) == shortest(fa.intersection(fb)), (a, b, symbols)
        example = ours.get_example_overlap(a, b)
        shown = "".join("?" if s is anything_else else s for s in symbols)
        assert example.full_text == shown
        compared += 1
    assert compared > 10
