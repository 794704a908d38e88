"""Configuration: which rules run, at which severity, with which options, and more grammars.

Where it is read from (the first found wins; nothing is merged between files):

* ``--config PATH`` on the command line (a ``pyproject.toml`` is read from its
  ``[tool.virtiodiag]`` table, any other file from its top level);
* otherwise, from the working directory upwards, in each folder: ``virtiodiag.toml``,
  ``.virtiodiag.toml``, then ``pyproject.toml`` if it has a ``[tool.virtiodiag]`` table.

Keys::

    select = ["VD001", "status-order"]   # only these rules (codes or names)
    ignore = ["VD016"]                   # never these
    fail-on = "warning"                  # lowest severity that makes the exit status 1
    grammars = ["grammars/board.lark"]   # extra dialects, relative to the config file
    grammar-path = ["grammars"]          # folders whose *.lark are all loaded
    expect-devices = 3                   # fail unless 3 virtio devices come up (VD020)

    [rules.VD009]                        # or [rules.queue-misaligned]
    severity = "warning"
    alignment = 4096                     # the rule's own options (virtiodiag explain)

``--select``, ``--ignore``, ``--fail-on`` and ``--expect-devices`` on the command line
replace the file's values.
Anything unknown or of the wrong type is an error that names the file and the key.
"""

from __future__ import annotations

import os
from pathlib import Path

from virtiodiag.plain import Plain
from virtiodiag.rules.base import SEVERITIES

CONFIG_NAMES = ("virtiodiag.toml", ".virtiodiag.toml", "pyproject.toml")
KEYS = ("select", "ignore", "fail-on", "grammars", "grammar-path", "rules", "expect-devices")
EXPECT_RULE = "VD020"  # devices-missing: the rule --expect-devices / expect-devices drive


class ConfigError(Exception):
    """A configuration problem, with the file and the key in the message."""


class Config(Plain):
    FIELDS = ("path", "select", "ignore", "fail_on", "grammars", "grammar_path", "severities",
              "options", "expect_devices")

    def __init__(self, path: Path | None = None, select: list[str] | None = None,
                 ignore: list[str] | None = None, fail_on: str | None = None,
                 grammars: list[str] | None = None, grammar_path: list[str] | None = None,
                 severities: dict[str, str] | None = None, options: dict[str, dict] | None = None,
                 expect_devices: int | None = None):
        self.path = path
        self.select = select  # rule codes
        self.ignore = [] if ignore is None else ignore
        self.fail_on = fail_on
        self.grammars = [] if grammars is None else grammars  # absolute paths
        self.grammar_path = [] if grammar_path is None else grammar_path  # absolute folders
        self.severities = {} if severities is None else severities  # code -> severity
        self.options = {} if options is None else options  # code -> {option: value}
        self.expect_devices = expect_devices  # devices that must come up (VD020)


# ---- finding the file --------------------------------------------------------------------
def find_config(start: str | os.PathLike | None = None) -> Path | None:
    """The configuration file that applies in ``start`` (default: the working directory)."""
    folder = Path(start or os.getcwd()).resolve()
    for candidate in (folder, *folder.parents):
        for name in CONFIG_NAMES:
            path = candidate / name
            if not path.is_file():
                continue
            if name == "pyproject.toml" and not _mentions_us(path):
                continue  # most projects' pyproject.toml: no need to parse TOML at all
            if name == "pyproject.toml" and _tool_table(_read(path), path) is None:
                continue
            return path
    return None


def _mentions_us(path: Path) -> bool:
    """Could this pyproject.toml hold a [tool.virtiodiag] table? (A cheap text test: a
    false "yes" only costs the TOML parse, which then decides.)"""
    import re

    from virtiodiag.cachefiles import compiled  # stored programs (a checkout has one)

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return True  # let _read report it
    return b"virtiodiag" in data and (
        compiled(rb"tool\s*\.\s*[\"']?virtiodiag").search(data) is not None
        or compiled(rb"^\s*\[\s*tool\s*\]", re.M).search(data) is not None)


def _read(path: Path) -> dict:
    import tomllib  # here: a run without a configuration file does not load it

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:  # TOML is UTF-8 (tomllib decodes before parsing)
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 text (byte {exc.start})") from None


def _tool_table(data: dict, path: Path) -> dict | None:
    tool = data.get("tool")
    if not isinstance(tool, dict) or "virtiodiag" not in tool:
        return None
    table = tool["virtiodiag"]
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.virtiodiag] must be a table")
    return table


# ---- reading and checking ----------------------------------------------------------------
def load_config(path: str | os.PathLike | None = None,
                start: str | os.PathLike | None = None) -> Config:
    """Read ``path`` (``--config``) or the file found from ``start``; empty Config if none."""
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"configuration file not found: {path}")
    else:
        found = find_config(start)
        if found is None:
            return Config()
        file = found
    data = _read(file)
    if file.name == "pyproject.toml":
        table = _tool_table(data, file)
        if table is None:
            raise ConfigError(f"{file}: no [tool.virtiodiag] table")
        where = "[tool.virtiodiag]"
    else:
        table, where = data, ""
    return parse_config(table, file, where)


def parse_config(table: dict, file: Path, where: str = "") -> Config:
    config = Config(path=file)
    prefix = f"{file}: {where + ' ' if where else ''}"
    for key in table:
        if key not in KEYS:
            dashed = key.replace("_", "-")
            hint = f" (did you mean '{dashed}'?)" if dashed in KEYS else ""
            raise ConfigError(f"{prefix}unknown key '{key}'{hint}; known keys: {', '.join(KEYS)}")
    if "select" in table:
        config.select = rule_codes(_string_list(table["select"], prefix, "select"),
                                   prefix + "select: ")
    if "ignore" in table:
        config.ignore = rule_codes(_string_list(table["ignore"], prefix, "ignore"),
                                   prefix + "ignore: ")
    if "expect-devices" in table:
        value = table["expect-devices"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{prefix}expect-devices must be a whole number of devices "
                              f"(0 or more), not {value!r}")
        config.expect_devices = value
    if "fail-on" in table:
        value = table["fail-on"]
        if value not in SEVERITIES:
            raise ConfigError(f"{prefix}fail-on must be one of {', '.join(SEVERITIES)}, "
                              f"not {value!r}")
        config.fail_on = value
    base = file.parent
    config.grammars = [str((base / p).resolve())
                       for p in _string_list(table.get("grammars", []), prefix, "grammars")]
    for name, value in zip(table.get("grammars", []), config.grammars, strict=True):
        if not os.path.isfile(value):
            raise ConfigError(f"{prefix}grammars: {name} not found (looked for {value})")
    config.grammar_path = [str((base / p).resolve())
                           for p in _string_list(table.get("grammar-path", []), prefix,
                                                 "grammar-path")]
    for name, value in zip(table.get("grammar-path", []), config.grammar_path, strict=True):
        if not os.path.isdir(value):
            raise ConfigError(f"{prefix}grammar-path: {name} is not a folder (looked for {value})")
    rules = table.get("rules", {})
    if not isinstance(rules, dict):
        raise ConfigError(f"{prefix}rules must be a table of [rules.CODE] tables")
    for name, settings in rules.items():
        _rule_table(config, name, settings, prefix)
    return config


def _string_list(value, prefix: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{prefix}{key} must be a list of strings, like {key} = [\"...\"]")
    return value


def rule_codes(names, prefix: str = "") -> list[str]:
    """Codes for rule codes or names; an unknown one is an error."""
    from virtiodiag.rules import all_rules, get_rule

    codes = []
    for name in names:
        module = get_rule(name)
        if module is None:
            known = ", ".join(r.CODE for r in all_rules())
            raise ConfigError(f"{prefix}unknown rule {name!r} (known: {known}; "
                              "'virtiodiag rules' lists them with their names)")
        codes.append(module.CODE)
    return codes


def _rule_table(config: Config, name: str, settings, prefix: str) -> None:
    from virtiodiag.rules import get_rule

    module = get_rule(name)
    where = f"{prefix}[rules.{name}]"
    if module is None:
        raise ConfigError(f"{where}: unknown rule {name!r}; 'virtiodiag rules' lists them")
    if not isinstance(settings, dict):
        raise ConfigError(f"{where} must be a table (severity = ..., options)")
    code = module.CODE
    if code in config.options or code in config.severities:
        raise ConfigError(f"{where}: rule {code} ({module.NAME}) is configured twice")
    options = getattr(module, "OPTIONS", {})
    chosen = {}
    for key, value in settings.items():
        if key == "severity":
            if value not in SEVERITIES:
                raise ConfigError(f"{where}: severity must be one of {', '.join(SEVERITIES)}, "
                                  f"not {value!r}")
            config.severities[code] = value
            continue
        if key not in options:
            known = ", ".join(["severity", *options])
            raise ConfigError(f"{where}: unknown option '{key}' for {code} ({module.NAME}); "
                              f"it has: {known}")
        default = options[key]
        if not _same_type(value, default):
            raise ConfigError(f"{where}: {key} must be {_type_name(default)} "
                              f"(like {key} = {_toml(default)}), not {_toml(value)}")
        chosen[key] = value
    config.options[code] = chosen


def _same_type(value, default) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _type_name(default) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number",
            str: "a string", list: "a list"}.get(type(default), type(default).__name__)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


# ---- the command line on top -------------------------------------------------------------
def split_names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [s.strip() for s in text.split(",") if s.strip()]


def resolve(config_path=None, select: str | None = None, ignore: str | None = None,
            fail_on: str | None = None, start=None, expect_devices: int | None = None):
    """The configuration with ``--select``/``--ignore``/``--fail-on``/``--expect-devices``
    applied on top. A number of expected devices turns its rule on even when --select
    or ignore would leave it out: the gate asked for it.

    Returns ``(RuleSettings, fail_on, config)``; raises ConfigError.
    """
    from virtiodiag.options import RuleSettings

    config = load_config(config_path, start)
    settings = RuleSettings()
    chosen = split_names(select)
    if chosen is not None:
        settings.select = set(rule_codes(chosen, "--select: "))
    elif config.select is not None:
        settings.select = set(config.select)
    skipped = split_names(ignore)
    if skipped is not None:
        settings.ignore = set(rule_codes(skipped, "--ignore: "))
    else:
        settings.ignore = set(config.ignore)
    settings.severities = dict(config.severities)
    settings.options = {code: dict(values) for code, values in config.options.items()}
    expected = expect_devices if expect_devices is not None else config.expect_devices
    if expected:
        settings.options.setdefault(EXPECT_RULE, {})["expect_devices"] = expected
        settings.ignore.discard(EXPECT_RULE)
        if settings.select is not None:
            settings.select.add(EXPECT_RULE)
    threshold = fail_on or config.fail_on or "error"
    if threshold not in SEVERITIES:
        raise ConfigError(f"--fail-on must be one of {', '.join(SEVERITIES)}, not {threshold!r}")
    return settings, threshold, config


def analysis_options(config_path=None, select: str | None = None, ignore: str | None = None,
                     fail_on: str | None = None, grammars=(),
                     expect_devices: int | None = None, start=None):
    """The AnalysisOptions of a command: ``resolve``'s rule settings and threshold, the
    ``--grammar`` files followed by the configuration's, and its grammar folders. Raises
    ConfigError."""
    from virtiodiag.options import AnalysisOptions

    settings, threshold, config = resolve(config_path, select, ignore, fail_on, start,
                                          expect_devices=expect_devices)
    return AnalysisOptions(settings, threshold, [*grammars, *config.grammars],
                           config.grammar_path)
