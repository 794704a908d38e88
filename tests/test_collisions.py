"""The strict compile's collision check (virtiodiag/dialects/collisions.py): interegular's
automata built by a hash-indexed crawl are its own, and collisions are still refused."""

from __future__ import annotations

import pytest
from lark.exceptions import LexError

from virtiodiag.dialects import collisions
from virtiodiag.dialects.registry import builtin_grammar_dir, compile_grammar

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


@pytest.fixture
def crawls(monkeypatch):
    """Every crawl a strict compile makes, done both ways and compared: the automata
    (states, finals, transitions) must be interegular's own, state for state."""
    made = []
    faster = collisions.crawl

    def both(alphabet, initial, final, follow):
        fast = faster(alphabet, initial, final, follow)
        own = collisions._ORIGINAL(alphabet, initial, final, follow)
        assert (fast.initial, fast.states, fast.finals, fast.map) == \
            (own.initial, own.states, own.finals, own.map)
        made.append(len(fast.states))
        return fast

    monkeypatch.setattr(collisions, "crawl", both)
    return made


def test_faster_crawl_builds_interegular_s_automata(crawls):
    # firecracker: ten look-aheads (which pad every terminal's automaton), 0.5 s
    compile_grammar(builtin_grammar_dir() / "firecracker.lark", strict=True, cache=False)
    assert len(crawls) > 100 and max(crawls) > 100  # it crawled, and not only tiny ones


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
