"""User grammars run in linear time: RE2 or refused (issue 15, case 3).

A user grammar's terminal ``/(a+)+b/`` or ``//@ match:`` pattern took 14 s on a
28-character line under Python's backtracking ``re``, doubling with each character.
User grammars' lexers and match patterns now run under RE2; what RE2 cannot run
(look-arounds, back-references) is refused, by ``grammar check`` and by ``analyze``.
"""

import pytest

from conftest import run_cli, run_cli_process
from virtiodiag.dialects import linear
from virtiodiag.dialects.registry import DialectError, load_dialect

pytestmark = pytest.mark.skipif(not linear.available(), reason="google-re2 is a dependency")

NESTED = """//@ dialect: nested
//@ triggers: virtio
//@ sample: virtio aab => note
start: note
note: "virtio" WORD
WORD: /(a+)+b/
%ignore " "
"""

NESTED_MATCH = """//@ dialect: nested-match
//@ triggers: virtio
//@ match: ^virtio (a+)+b
start: note
note: "virtio" WORD
WORD: /[a-z]+/
%ignore " "
"""

LOOKAHEAD = """//@ dialect: look
//@ triggers: virtio
start: note
note: "virtio" WORD
WORD: /(?=a)(a+)+b/
%ignore " "
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("grammar", [NESTED, NESTED_MATCH])
def test_a_backtracking_pattern_is_run_in_linear_time(tmp_path, grammar):
    path = _write(tmp_path, "user.lark", grammar)
    log = _write(tmp_path, "run.log", "virtio " + "a" * 40 + "!\n" + "virtio aaab\n")
    # 40 characters: 2^12 times the 14 s that 28 took under re. The timeout only turns a
    # hang into a failure; the time taken is measured by scripts/benchmark.py.
    proc = run_cli_process("analyze", "--format", "json", "--grammar", path, log, timeout=90)
    assert proc.returncode in (0, 1), proc.stderr
    assert b'"unrecognised_virtio_lines":1' in proc.stdout
    assert b'"events":1' in proc.stdout


def test_user_grammars_lex_and_match_under_re2(tmp_path):
    dialect = load_dialect(_write(tmp_path, "user.lark", NESTED_MATCH))
    assert isinstance(dialect.match_re, linear.LinearPattern)
    long_line = "virtio " + "a" * 5000 + "b"
    assert dialect.parse(long_line) is not None  # RE2 matches what re matched
    assert dialect.parse("virtio " + "a" * 5000 + "!") is None
    lexers = dialect.parser.parser.lexer.lexers.values()
    assert all(isinstance(lexer.re, linear.LinearRe) for lexer in lexers)


def test_non_ascii_lines_keep_their_positions(tmp_path):
    grammar = NESTED.replace('WORD: /(a+)+b/', 'WORD: /[^ ]+/').replace(
        "//@ sample: virtio aab => note\n", "")
    dialect = load_dialect(_write(tmp_path, "utf8.lark", grammar))
    assert dialect.parse("virtio ééé") is not None
    assert dialect.parse("virtio ééé x") is None


def test_a_pattern_re2_cannot_run_is_refused(tmp_path):
    path = _write(tmp_path, "look.lark", LOOKAHEAD)
    with pytest.raises(DialectError, match="terminal WORD cannot be matched in linear time"):
        load_dialect(path)
    proc = run_cli_process("grammar", "check", path)  # RE2 logs to the process's stderr
    assert proc.returncode != 0
    assert b"linear time" in proc.stdout + proc.stderr
    assert b"re2.cc" not in proc.stderr  # RE2's own log line is not shown
    log = _write(tmp_path, "run.log", "virtio abc\n")
    proc = run_cli("analyze", "--grammar", path, log)
    assert proc.returncode == 2 and b"linear time" in proc.stderr


def test_a_lookaround_match_directive_is_refused(tmp_path):
    text = NESTED_MATCH.replace("^virtio (a+)+b", "^virtio (?!x)(a+)+b")
    with pytest.raises(DialectError, match="match"):
        load_dialect(_write(tmp_path, "m.lark", text))


def test_the_built_in_grammars_are_not_changed(tmp_path):
    from virtiodiag.dialects.registry import builtin_grammar_files, is_user_grammar

    assert not any(is_user_grammar(path) for path in builtin_grammar_files())
