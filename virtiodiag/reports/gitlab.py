"""``--format gitlab``: GitLab Code Quality JSON (``artifacts:reports:codequality``)."""

from __future__ import annotations

import hashlib
import json

from virtiodiag.options import ReportOptions
from virtiodiag.reports.cut import all_notes
from virtiodiag.reports.escape import finite

SEVERITIES = {"error": "critical", "warning": "minor", "info": "info"}


def issue(finding) -> dict:
    description = f"{finding.rule} {finding.name} [{finding.device}]: {finding.message}"
    return {
        "type": "issue",
        "description": description,
        "check_name": finding.rule,
        "categories": ["Bug Risk"],
        "content": {"body": finding.hint or finding.message},
        "fingerprint": finding.fingerprint,
        "severity": SEVERITIES.get(finding.severity, "minor"),
        "location": {"path": finding.path, "lines": {"begin": finding.line or 1}},
    }


def issues(results) -> list[dict]:
    out, seen = [], set()
    for result in results:
        for finding in result.findings:
            entry = issue(finding)
            # Unique per finding: the fingerprint names the artifact by its base name, so
            # two runs with the same file name in different folders are told apart here.
            base = f"{finding.fingerprint}\x1f{finding.path}"
            digest = hashlib.sha256(base.encode()).hexdigest()[:32]
            n = 1
            while digest in seen:
                n += 1
                digest = hashlib.sha256(f"{base}\x1f{n}".encode()).hexdigest()[:32]
            seen.add(digest)
            entry["fingerprint"] = digest
            out.append(entry)
    return out


def input_issues(results, options: ReportOptions) -> list[dict]:
    """An input that could not be read, or ended short (reports/cut.py), as an issue at its
    first line: Code Quality has no other place to say it, and [] reads as a clean run."""
    said = [(r, r.error, "input-error", "blocker") for r in results if r.error]
    said += [(r, note, "input-cut", "info") for r, note in all_notes(results, options)]
    out = []
    for result, text, check, severity in said:
        digest = hashlib.sha256(f"{check}\x1f{result.path}\x1f{text}".encode()).hexdigest()[:32]
        out.append({"type": "issue", "description": f"virtiodiag {check}: {text}",
                    "check_name": check, "categories": ["Bug Risk"],
                    "content": {"body": text}, "fingerprint": digest, "severity": severity,
                    "location": {"path": result.path, "lines": {"begin": 1}}})
    return out


def render(results, stream, options: ReportOptions) -> None:
    json.dump(finite(input_issues(results, options) + issues(results)), stream, indent=2,
              allow_nan=False)
    stream.write("\n")
