"""``--format sarif``: SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps)."""

from __future__ import annotations

import inspect
import json
from urllib.parse import quote

from virtiodiag import __version__
from virtiodiag.cachefiles import compiled
from virtiodiag.options import ReportOptions
from virtiodiag.reports.cut import all_notes
from virtiodiag.reports.escape import finite

SARIF_SCHEMA = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                "sarif-schema-2.1.0.json")
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT_KEY = "virtiodiag/v1"


# A byte of a file name that was not UTF-8, as reports show it (escape.os_text: ``\xff``).
_NAME_BYTE = compiled(r"\\x([89a-f][0-9a-f])")


def artifact_uri(path: str) -> str:
    """The path as given, as a URI reference (only characters a URI cannot hold escaped;
    a byte of the name that was not UTF-8 percent-encoded as itself, RFC 3986)."""
    parts = _NAME_BYTE.split(path)  # text, byte, text, byte, ..., text
    safe = "/._-~+:@!$&'()*,;="
    return "".join(quote(part.replace("\\", "/"), safe=safe) if index % 2 == 0
                   else f"%{part.upper()}" for index, part in enumerate(parts))


def rule_descriptor(module) -> dict:
    doc = inspect.getdoc(module) or module.SUMMARY
    descriptor = {
        "id": module.CODE,
        "name": module.NAME,
        "shortDescription": {"text": module.SUMMARY},
        "fullDescription": {"text": doc},
        "defaultConfiguration": {"level": LEVELS.get(module.SEVERITY, "warning")},
        "properties": {"tags": ["virtio"] + ([f"spec {module.SPEC}"] if module.SPEC else [])},
    }
    help_uri = getattr(module, "HELP_URI", None)
    if help_uri:
        descriptor["helpUri"] = help_uri
    return descriptor


def _location(path: str, line: int | None, message: str | None = None,
              ident: int | None = None) -> dict:
    physical: dict[str, object] = {"artifactLocation": {"uri": artifact_uri(path)}}
    if line and line >= 1:
        physical["region"] = {"startLine": line}
    location: dict = {"physicalLocation": physical}
    if ident is not None:
        location["id"] = ident
    if message:
        location["message"] = {"text": message}
    return location


def result_dict(finding, rule_index: dict[str, int]) -> dict:
    result = {
        "ruleId": finding.rule,
        "level": LEVELS.get(finding.severity, "warning"),
        "message": {"text": finding.message + (f"\nfix: {finding.hint}" if finding.hint else "")},
        "locations": [_location(finding.path, finding.line)],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {"device": finding.device, "deviceIdentity": finding.device_identity,
                       "severity": finding.severity},
    }
    if finding.rule in rule_index:
        result["ruleIndex"] = rule_index[finding.rule]
    related = [_location(finding.path, r.get("line"), r.get("what"), i)
               for i, r in enumerate(finding.related) if r.get("line")]
    if related:
        result["relatedLocations"] = related
    return result


def sarif_dict(results, options: ReportOptions) -> dict:
    from virtiodiag.rules import all_rules

    rules = options.rules or all_rules()
    rule_index = {module.CODE: i for i, module in enumerate(rules)}
    errors = [r for r in results if r.error]
    invocation: dict[str, object] = {"executionSuccessful": not errors
                                     and not options.interrupted}
    notifications = [{"level": "error", "message": {"text": r.error},
                      "locations": [_location(r.path, None)]} for r in errors]
    # An input that ended short (reports/cut.py): a warning, the run's results stand.
    notifications += [{"level": "warning", "message": {"text": note},
                       "locations": [_location(r.path, None)]}
                      for r, note in all_notes(results, options)]
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "virtiodiag", "version": __version__,
                "semanticVersion": __version__,
                "rules": [rule_descriptor(m) for m in rules],
            }},
            "invocations": [invocation],
            "results": [result_dict(f, rule_index) for r in results for f in r.findings],
        }],
    }


def render(results, stream, options: ReportOptions) -> None:
    json.dump(finite(sarif_dict(results, options)), stream, indent=2, allow_nan=False)
    stream.write("\n")
