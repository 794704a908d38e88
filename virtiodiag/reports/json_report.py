"""``--format json``: the whole report as one versioned JSON document."""

from __future__ import annotations

import json

from virtiodiag.reports.model_dict import report_dict


def render(results, stream, options) -> None:
    # One line, written at once: json's C encoder (used only without indent) is an order
    # of magnitude faster on reports with many timelines. Pipe through `jq .` to read it.
    stream.write(json.dumps(report_dict(results, options), separators=(",", ":")))
    stream.write("\n")
