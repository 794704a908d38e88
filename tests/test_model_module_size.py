"""The model stays split by job (issue 11): no module of ``virtiodiag/model/`` over 400
lines. A module that grows past it holds more than one job; split it (as declared.py gave
declared_places.py, declared_bhyve.py and option_words.py their parts) rather than squeeze."""

from __future__ import annotations

from pathlib import Path

MODEL = Path(__file__).resolve().parent.parent / "virtiodiag" / "model"
MOST_LINES = 400


def test_no_model_module_is_over_400_lines():
    sizes = {path.name: len(path.read_text(encoding="utf-8").splitlines())
             for path in sorted(MODEL.glob("*.py"))}
    assert len(sizes) > 40  # the folder was read
    assert {name: lines for name, lines in sizes.items() if lines > MOST_LINES} == {}
