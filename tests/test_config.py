"""Configuration: discovery, precedence over the command line, and every error path."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from conftest import invoke_cli

from virtiodiag.config import ConfigError, find_config, load_config, resolve

# A legacy handshake (VD001 error) that also reports nothing else.
LEGACY = ("virtio_set_status vdev 0x55d0a7b3c010 val 1\n"
          "virtio_set_status vdev 0x55d0a7b3c010 val 3\n"
          "virtio_set_status vdev 0x55d0a7b3c010 val 7\n")
# A modern queue off the 4096 policy (VD009 warning) that is spec-aligned.
POLICY = "virtio-net0: Step 8: queue 0 ready=0 size=256 desc=0x80010040 avail=0x80011040 used=0x80012040\n"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A project folder with a sub-folder as the working directory."""
    work = tmp_path / "project" / "sub"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    (work / "legacy.log").write_text(LEGACY)
    (work / "policy.log").write_text(POLICY)
    return tmp_path / "project"


def analyze(*args):
    """``virtiodiag analyze --format json ARGS`` in process, in the current directory."""
    proc = invoke_cli("analyze", "--format", "json", *args)
    return SimpleNamespace(exit_code=proc.returncode, stdout=proc.stdout, stderr=proc.stderr,
                           output=proc.stdout + proc.stderr)


def _runs(result):
    data = json.loads(result.stdout)
    return data.get("runs") or [data]


def rules_of(result):
    return sorted({f["rule"] for run in _runs(result) for f in run["findings"]})


def severities(result, code):
    runs = _runs(result)
    return [f["severity"] for run in runs for f in run["findings"] if f["rule"] == code]


# ---- discovery ----------------------------------------------------------------------------
def test_no_config_gives_defaults(tree):
    found = find_config(tree / "sub")
    if found is not None:
        pytest.skip(f"a configuration above the test folder: {found}")
    config = load_config(start=tree / "sub")
    assert config.path is None and config.select is None and config.ignore == []
    settings, threshold, _ = resolve(start=tree / "sub")
    assert settings.select is None and threshold == "error"


def test_found_walking_up(tree):
    (tree / "virtiodiag.toml").write_text('ignore = ["VD016"]\n')
    assert find_config(tree / "sub") == tree / "virtiodiag.toml"
    assert load_config(start=tree / "sub").ignore == ["VD016"]


def test_nearest_folder_wins(tree):
    (tree / "virtiodiag.toml").write_text('ignore = ["VD016"]\n')
    (tree / "sub" / ".virtiodiag.toml").write_text('ignore = ["VD001"]\n')
    assert find_config(tree / "sub") == tree / "sub" / ".virtiodiag.toml"


def test_order_within_a_folder(tree):
    (tree / "pyproject.toml").write_text('[tool.virtiodiag]\nignore = ["VD003"]\n')
    assert find_config(tree) == tree / "pyproject.toml"
    (tree / ".virtiodiag.toml").write_text('ignore = ["VD002"]\n')
    assert find_config(tree) == tree / ".virtiodiag.toml"
    (tree / "virtiodiag.toml").write_text('ignore = ["VD001"]\n')
    assert find_config(tree) == tree / "virtiodiag.toml"


def test_pyproject_without_table_is_skipped(tree):
    (tree / "sub" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tree / "pyproject.toml").write_text('[tool.virtiodiag]\nselect = ["legacy-fallback"]\n')
    assert find_config(tree / "sub") == tree / "pyproject.toml"
    assert load_config(start=tree / "sub").select == ["VD001"]


def test_explicit_config_path(tree):
    other = tree / "elsewhere.toml"
    other.write_text('fail-on = "warning"\n')
    (tree / "virtiodiag.toml").write_text('fail-on = "info"\n')
    assert load_config(other).fail_on == "warning"


def test_explicit_pyproject(tree):
    (tree / "pyproject.toml").write_text('[tool.virtiodiag]\nfail-on = "warning"\n')
    assert load_config(tree / "pyproject.toml").fail_on == "warning"


# ---- what the file does --------------------------------------------------------------------
def test_file_ignore_and_select_apply(tree):
    assert "VD001" in rules_of(analyze("legacy.log"))
    (tree / "virtiodiag.toml").write_text('ignore = ["legacy-fallback"]\n')
    result = analyze("legacy.log")
    assert result.exit_code == 0
    assert "VD001" not in rules_of(result)


def test_rule_options_and_severity(tree):
    assert severities(analyze("policy.log"), "VD009") == ["warning"]
    (tree / "virtiodiag.toml").write_text("[rules.queue-misaligned]\nalignment = 0\n")
    assert severities(analyze("policy.log"), "VD009") == []
    (tree / "virtiodiag.toml").write_text('[rules.VD009]\nseverity = "error"\n')
    result = analyze("policy.log")
    assert severities(result, "VD009") == ["error"]
    assert result.exit_code == 1
    (tree / "virtiodiag.toml").write_text("[rules.VD001]\nallow_legacy = true\n")
    assert "VD001" not in rules_of(analyze("legacy.log"))


def test_fail_on_from_file(tree):
    assert analyze("policy.log").exit_code == 0  # a warning, default fail-on error
    (tree / "virtiodiag.toml").write_text('fail-on = "warning"\n')
    assert analyze("policy.log").exit_code == 1


def test_grammars_relative_to_the_config(tree):
    folder = tree / "grammars"
    folder.mkdir()
    (folder / "board.lark").write_text(
        "//@ dialect: board\n//@ triggers: BOARDVIRT\n"
        "start: status_write\n"
        'status_write: "BOARDVIRT" DEVICE "status" STATUS\n'
        "DEVICE: /[a-z]+[0-9]+/\nSTATUS: HEX\n"
        "%import .common (HEX)\n%ignore \" \"\n")
    (tree / "sub" / "board.log").write_text("BOARDVIRT net0 status 0x2\n")
    (tree / "virtiodiag.toml").write_text('grammars = ["grammars/board.lark"]\n')
    result = analyze("board.log")
    assert "VD005" in rules_of(result), result.output
    (tree / "virtiodiag.toml").write_text('grammar-path = ["grammars"]\n')
    assert "VD005" in rules_of(analyze("board.log"))


# ---- precedence: the command line replaces the file's values -----------------------------
def test_command_line_overrides(tree):
    (tree / "virtiodiag.toml").write_text('ignore = ["VD001"]\nfail-on = "warning"\n')
    result = analyze("--ignore", "VD016", "legacy.log")
    assert "VD001" in rules_of(result)
    assert analyze("--fail-on", "error", "policy.log").exit_code == 0
    (tree / "virtiodiag.toml").write_text('select = ["VD009"]\n')
    assert rules_of(analyze("--select", "VD001", "legacy.log")) == ["VD001"]
    assert rules_of(analyze("legacy.log")) == []


def test_resolve_precedence(tree):
    (tree / "virtiodiag.toml").write_text('select = ["VD001"]\nignore = ["VD002"]\nfail-on = "info"\n')
    settings, threshold, _config = resolve(select="VD003", start=tree / "sub")
    assert settings.select == {"VD003"} and settings.ignore == {"VD002"} and threshold == "info"
    settings, threshold, _config = resolve(ignore="status-order", fail_on="error", start=tree / "sub")
    assert settings.select == {"VD001"} and settings.ignore == {"VD005"} and threshold == "error"


# ---- errors: a clear message and exit status 2 -------------------------------------------
ERRORS = [
    ('colour = "red"\n', "unknown key 'colour'"),
    ('fail_on = "warning"\n', "did you mean 'fail-on'"),
    ('select = ["VD999"]\n', "unknown rule 'VD999'"),
    ('ignore = "VD001"\n', "ignore must be a list of strings"),
    ('fail-on = "fatal"\n', "fail-on must be one of info, warning, error"),
    ('grammars = ["missing.lark"]\n', "grammars: missing.lark not found"),
    ('grammar-path = ["nowhere"]\n', "grammar-path: nowhere is not a folder"),
    ("rules = 3\n", "rules must be a table"),
    ("[rules.VD999]\nseverity = \"error\"\n", "unknown rule 'VD999'"),
    ("[rules.VD009]\nwidth = 3\n", "unknown option 'width' for VD009"),
    ('[rules.VD009]\nalignment = "4k"\n', "alignment must be a whole number"),
    ("[rules.VD001]\nallow_legacy = 1\n", "allow_legacy must be true or false"),
    ('[rules.VD009]\nseverity = "fatal"\n', "severity must be one of"),
    ("[rules.VD009]\nalignment = 8\n[rules.queue-misaligned]\nalignment = 16\n", "configured twice"),
    ("select = [\n", "not valid TOML"),
]


@pytest.mark.parametrize("text,message", ERRORS, ids=[m for _, m in ERRORS])
def test_config_errors_exit_2(tree, text, message):
    path = tree / "virtiodiag.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(start=tree / "sub")
    assert message in str(info.value)
    assert str(path) in str(info.value)
    result = analyze("legacy.log")
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.startswith("virtiodiag: error: ")


def test_pyproject_errors_name_the_table(tree):
    (tree / "pyproject.toml").write_text('[tool.virtiodiag]\nbogus = 1\n')
    result = analyze("legacy.log")
    assert result.exit_code == 2
    assert "[tool.virtiodiag] unknown key 'bogus'" in result.stderr


def test_missing_config_file(tree):
    result = analyze("--config", str(tree / "nope.toml"), "legacy.log")
    assert result.exit_code == 2
    assert "configuration file not found" in result.stderr


def test_explicit_pyproject_without_table(tree):
    (tree / "pyproject.toml").write_text('[project]\nname = "x"\n')
    result = analyze("--config", str(tree / "pyproject.toml"), "legacy.log")
    assert result.exit_code == 2
    assert "no [tool.virtiodiag] table" in result.stderr


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_unknown_rule_on_the_command_line(tree, option):
    result = analyze(option, "VD001,nonsense", "legacy.log")
    assert result.exit_code == 2
    assert f"{option}: unknown rule 'nonsense'" in result.stderr
