"""DialectSet.wanting (which dialects a record text goes to) asks each distinct trigger
once and, on a large log, one RE2 set search for all of them (registry._TriggerIndex): it
must name the same dialects, in the same order, as asking every dialect's ``wants``."""

import pytest
from conftest import SAMPLES

from virtiodiag.dialects import load_dialects
from virtiodiag.dialects.registry import _TriggerIndex
from virtiodiag.sources.framing import clean, split_records


def _texts() -> list[str]:
    """Every record text of the sample logs, as the decoder asks about them (thousands:
    past RE2_AFTER, so the RE2 set answers most), and texts made to probe the edges."""
    texts = []
    for path in sorted(SAMPLES.glob("*/*.log")):
        for raw in path.read_bytes().splitlines():
            texts += [record.text for record in split_records(clean(raw)) if record.text]
    texts += ["", "plain words, no trigger", "VIRTIO and virtio_pci and vtnet0 and ld0:",
              "lone surrogate \udc80 virtio0: hello", "Ünïcödé virtio_net virtio3: é"]
    return texts


def _one_by_one(dialects, text: str) -> tuple[int, ...]:
    return tuple(i for i, d in enumerate(dialects.dialects) if d.wants(text))


@pytest.mark.parametrize("re2_off", [False, True])
def test_wanting_names_the_dialects_each_would_say(monkeypatch, re2_off):
    if re2_off:
        monkeypatch.setenv("VIRTIODIAG_NO_RE2", "1")
    texts = _texts()
    assert len(texts) > 4 * _TriggerIndex.RE2_AFTER
    indexed, plain = load_dialects(), load_dialects()
    expected: dict[str, tuple[int, ...]] = {}  # the reference, once per distinct text
    for text in texts:  # every text, repeats too: the index's own memo is under test
        if text not in expected:
            expected[text] = _one_by_one(plain, text)
        assert indexed.wanting(text) == expected[text], repr(text)
    index = indexed._wanting
    assert index is not None
    assert (index._set_match is None) == re2_off or not _has_re2()


def _has_re2() -> bool:
    try:
        import re2  # noqa: F401
    except ImportError:
        return False
    return True
