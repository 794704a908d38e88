"""``diff`` and ``parse`` honour the configuration file as ``analyze`` does."""

import shutil

from conftest import REPO, invoke_cli

MYDRV = REPO / "tests" / "fixtures" / "grammars" / "mydrv.lark"


def _project(tmp_path, monkeypatch):
    shutil.copy(MYDRV, tmp_path / "mydrv.lark")
    (tmp_path / "virtiodiag.toml").write_text('grammars = ["mydrv.lark"]\n')
    monkeypatch.chdir(tmp_path)


def test_parse_reads_the_grammars_of_the_configuration(tmp_path, monkeypatch):
    line = "mydrv dev eth status 0"
    assert invoke_cli("parse", line).returncode == 1  # no built-in grammar reads it
    _project(tmp_path, monkeypatch)
    proc = invoke_cli("parse", line)
    assert proc.returncode == 0, proc.stdout
    assert "reset device=eth" in proc.stdout


def test_diff_reads_the_grammars_of_the_configuration(tmp_path, monkeypatch):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text("mydrv dev eth status 1\nmydrv dev eth status 3\nmydrv dev eth status 7\n")
    b.write_text("mydrv dev eth status 1\nmydrv dev eth status 3\nmydrv dev eth status 0\n")
    assert invoke_cli("diff", a, b).returncode == 0  # nothing understood: nothing differs
    _project(tmp_path, monkeypatch)
    proc = invoke_cli("diff", a, b)
    assert proc.returncode == 1, proc.stdout
    assert "eth" in proc.stdout


def test_a_broken_configuration_is_a_usage_error_for_diff_and_parse(tmp_path, monkeypatch):
    (tmp_path / "virtiodiag.toml").write_text('grammars = ["missing.lark"]\n')
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "a.log"
    log.write_text("x\n")
    for args in (("parse", "x"), ("diff", log, log)):
        proc = invoke_cli(*args)
        assert proc.returncode == 2
        assert "missing.lark" in proc.stderr
