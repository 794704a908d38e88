"""``--format json``: the whole report as one versioned JSON document."""

from __future__ import annotations

import json

from virtiodiag.reports.model_dict import report_dict


def render(results, stream, options) -> None:
    json.dump(report_dict(results, options), stream, indent=2, sort_keys=False)
    stream.write("\n")
