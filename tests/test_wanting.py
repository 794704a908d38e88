"""DialectSet.wanting (which dialects a record text goes to) asks each distinct trigger
once and, on a large log, one RE2 set search for all of them (registry._TriggerIndex): it
must name the same dialects, in the same order, as asking every dialect's ``wants``."""

from functools import cache

import pytest
from conftest import SAMPLES

from virtiodiag.dialects import load_dialects
from virtiodiag.dialects.registry import _TriggerIndex
from virtiodiag.sources.framing import clean, split_records


@cache
def _texts() -> tuple[str, ...]:
    """Every distinct record text of the sample logs, as the decoder asks about them (about
    11,000: past RE2_AFTER many times over), in the order first met, and texts made to
    probe the edges."""
    texts = []
    for path in sorted(SAMPLES.glob("*/*.log")):
        for raw in path.read_bytes().splitlines():
            texts += [record.text for record in split_records(clean(raw)) if record.text]
    texts += ["", "plain words, no trigger", "VIRTIO and virtio_pci and vtnet0 and ld0:",
              "lone surrogate \udc80 virtio0: hello", "Ünïcödé virtio_net virtio3: é"]
    # Each trigger alone, at a text's end, cut short by one character, and its first
    # characters alone (the lead index's edges: registry._TriggerIndex._by_leads).
    for trigger in sorted({t for d in load_dialects().dialects for t in d.triggers}):
        texts += [trigger, f"x {trigger}", f"{trigger}x", trigger[:-1], f"y {trigger[:-1]}",
                  trigger[:4], trigger[:3]]
    return tuple(dict.fromkeys(texts))


def _one_by_one(dialects, text: str) -> tuple[int, ...]:
    return tuple(i for i, d in enumerate(dialects.dialects) if d.wants(text))


@cache
def _expected() -> dict[str, tuple[int, ...]]:
    """Each text's dialects, asked of every dialect's ``wants`` in turn (RE2 plays no part
    in ``wants``: one answer for both cases of the test)."""
    plain = load_dialects()
    return {text: _one_by_one(plain, text) for text in _texts()}


def test_wanting_names_the_dialects_each_would_say(monkeypatch):
    """With RE2 and without it (VIRTIODIAG_NO_RE2), one test: the ~11,000 texts and their
    expected dialects are made once for both (two tests made them twice, one in each
    pytest-xdist worker: 1.5 s CPU)."""
    texts = _texts()
    assert len(texts) > 4 * _TriggerIndex.RE2_AFTER
    expected = _expected()
    for re2_off in (False, True):
        if re2_off:
            monkeypatch.setenv("VIRTIODIAG_NO_RE2", "1")
        indexed = load_dialects()
        # The index tests each dialect in turn for its first RE2_AFTER texts, then
        # searches the RE2 set: asked every text, then the first RE2_AFTER again, it
        # answers those both ways and every text through the set (it keeps no answer: a
        # repeated text is asked afresh).
        for text in texts + texts[:_TriggerIndex.RE2_AFTER]:
            assert indexed.wanting(text) == expected[text], (re2_off, text)
        index = indexed._wanting
        assert index is not None
        assert (index._set_match is None) == re2_off or not _has_re2()


def _has_re2() -> bool:
    try:
        import re2  # noqa: F401
    except ImportError:
        return False
    return True


def test_a_set_of_triggers_met_before_still_asks_the_match_patterns():
    """The index remembers which dialects own each set of triggers RE2 finds, never what
    their ``//@ match:`` patterns answered: NetBSD's autoconf attach line ("virtio0 at
    pci0 dev 3 function 0", config_attach in sys/kern/subr_autoconf.c; netbsd.lark's
    match wants it at the line's start) and the same words after another word hold the
    same triggers, and only the first is NetBSD's and OpenBSD's."""
    if not _has_re2():
        pytest.skip("google-re2 is not installed: no set to remember")
    dialects = load_dialects()
    index = _TriggerIndex(dialects.dialects)
    index._start_set()
    assert index._set_match is not None
    line = "virtio0 at pci0 dev 3 function 0"
    quoted = "see virtio0 at pci0 dev 3 function 0"
    assert sorted(index._set_match(line.encode())) == sorted(index._set_match(quoted.encode()))
    names = [d.name for d in dialects.dialects]
    for text in (line, quoted, line, quoted):
        wanted = index.wanting(text)
        assert wanted == _one_by_one(dialects, text)
        assert ("netbsd" in [names[i] for i in wanted]) == (text == line)
    assert len(index._owned) == 1
