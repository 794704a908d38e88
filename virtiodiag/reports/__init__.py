"""Reports: one module per output format, each exposing ``render(report, stream, options)``.

``REPORTERS`` maps a format name to its module path; modules are imported on use.
"""

from __future__ import annotations

import importlib

REPORTERS = {
    "text": "virtiodiag.reports.text",
    "json": "virtiodiag.reports.json_report",
}


def get_reporter(name: str):
    return importlib.import_module(REPORTERS[name])
