"""Modules whose code runs only when used (start-up), with the same results when they are.

Lark imports ``interegular`` for its terminal-collision check; virtiodiag.dialects binds the
name without running the module (dialects/__init__.py). A fresh process is needed: the test
session has usually run it already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "multi-device" / "combined.log"

# Two terminals that both match "0x12": the strict compile of `grammar check` must say so.
COLLIDING = r'''//@ dialect: mydrv
//@ triggers: mydrv
start: status_write
status_write: DEVICE "status" (STATUS | OTHER)
DEVICE: /mydrv\d+/
STATUS: /0x[0-9a-f]+/
OTHER: /0x[0-9]+/
%ignore " "
'''

PROBE = """
import json, sys
from virtiodiag.cli import run_command
sample, report, grammar = sys.argv[1:4]
code = run_command(['analyze', sample, '--format', 'json', '-o', report])
ran_after_analysis = 'interegular.patterns' in sys.modules
import lark.lexer
found = lark.lexer.has_interegular
check = run_command(['grammar', 'check', grammar])
sys.__stdout__.write(json.dumps([code, ran_after_analysis, found, check,
                                 'interegular.patterns' in sys.modules]) + '\\n')
"""


def test_analysis_does_not_run_interegular_and_grammar_check_still_uses_it(tmp_path):
    grammar = tmp_path / "colliding.lark"
    grammar.write_text(COLLIDING, encoding="utf-8")
    report = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(SAMPLE), str(report), str(grammar)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "NO_COLOR": "1",
                               "XDG_CACHE_HOME": str(tmp_path / "cache"),
                               "PATH": "/usr/bin:/bin"})
    last = proc.stdout.strip().splitlines()[-1]
    code, ran_after_analysis, found, check, ran_at_end = json.loads(last)
    assert code == 0, proc.stderr
    assert len(json.loads(report.read_text())["devices"]) == 4  # the analysis ran
    assert ran_after_analysis is False  # imported by Lark, not run
    assert found is True  # Lark still sees the package
    assert check == 2 and "terminal collision" in proc.stderr, proc.stderr
    assert "OTHER" in proc.stderr and "STATUS" in proc.stderr
    assert ran_at_end is True  # the strict check ran it


def test_a_submodule_imported_first_runs_the_package_first():
    """``import interegular.comparator`` before the package ran: the package's code runs
    first, as with an eager import (the submodule imports names from the package)."""
    code = ("import sys, virtiodiag.dialects\n"
            "assert 'interegular.fsm' not in sys.modules\n"
            "import interegular.comparator as c\n"
            "import interegular\n"
            "print(c.Comparator.__name__, interegular.Comparator is c.Comparator)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.stdout.split() == ["Comparator", "True"], proc.stderr


MODULES_PROBE = """
import json, sys
from virtiodiag.cli import run_command
run_command(['analyze', sys.argv[1], '--format', 'json', '-o', sys.argv[2]])
sys.__stdout__.write(json.dumps(sorted(m.__file__ for name, m in sys.modules.items()
                                       if name.startswith('virtiodiag')
                                       and getattr(m, '__file__', None))) + '\\n')
"""


def _module_level_re_compiles(source: str) -> list[int]:
    import ast

    found = []
    for node in ast.parse(source).body:
        value = getattr(node, "value", None)
        if (isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute) and value.func.attr == "compile"
                and isinstance(value.func.value, ast.Name) and value.func.value.id == "re"):
            found.append(node.lineno)
    return found


def test_modules_an_analysis_imports_compile_their_patterns_through_the_cache(tmp_path):
    """A module-level ``re.compile`` is parsed and compiled in pure Python by every run
    (one of them cost 4 ms of start-up); ``cachefiles.compiled`` gives the same pattern
    from its stored program."""
    proc = subprocess.run([sys.executable, "-c", MODULES_PROBE, str(SAMPLE),
                           str(tmp_path / "report.json")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "NO_COLOR": "1",
                               "XDG_CACHE_HOME": str(tmp_path / "cache"),
                               "PATH": "/usr/bin:/bin"})
    files = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(files) > 50, proc.stderr
    offenders = {Path(f).relative_to(ROOT).as_posix(): lines for f in files
                 if (lines := _module_level_re_compiles(Path(f).read_text(encoding="utf-8")))}
    assert offenders == {}
