"""Reports: one module per output format, each exposing ``render(report, stream, options)``.

``REPORTERS`` maps a format name to its module path; modules are imported on use.
"""

from __future__ import annotations

import importlib

REPORTERS = {
    "text": "virtiodiag.reports.text",
    "json": "virtiodiag.reports.json_report",
    "jsonl": "virtiodiag.reports.jsonl",
    "sarif": "virtiodiag.reports.sarif",
    "junit": "virtiodiag.reports.junit",
    "github": "virtiodiag.reports.github",
    "gitlab": "virtiodiag.reports.gitlab",
    "html": "virtiodiag.reports.html",
    "chrome-trace": "virtiodiag.reports.chrome_trace",
}


def get_reporter(name: str):
    return importlib.import_module(REPORTERS[name])
