"""Log text is never echoed raw to a terminal: control characters become visible."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def safe(text: str | None, limit: int = 400) -> str:
    if text is None:
        return ""
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text) - limit} more characters)"
    if _UNSAFE.search(text):
        text = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                           else f"\\u{ord(m.group()):04x}", text)
    return text
