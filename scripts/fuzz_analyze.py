"""Coverage-guided fuzzing of the whole pipeline with atheris (issue 15, case 7).

Each input is turned into a log: raw bytes, or lines of the bundled samples spliced,
split and mutated by the input. The harness analyses it in-process, read in two
different block splits, and renders every report format. A finding is a crash:

* any exception out of the analysis or a report (the tool must never raise on input);
* a JSON report that a strict parser refuses (NaN, Infinity) or a JUnit file that does
  not parse as XML;
* two block splits of the same bytes giving different JSON (same bytes, same answer).

Run it (see docs/fuzzing.md)::

    python -m pip install atheris
    nice -n 19 python scripts/fuzz_analyze.py -max_total_time=1800 -rss_limit_mb=2048 \
        fuzz-corpus/

Without arguments it runs until stopped; ``-runs=N`` stops after N inputs. libFuzzer
prints its figures (executions, coverage ``cov:``, ``ft:``) as it goes and writes a
``crash-*`` file for each crash, which replays with ``python scripts/fuzz_analyze.py
crash-FILE``.
"""

from __future__ import annotations

import io
import json
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import atheris

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

with atheris.instrument_imports(include=["virtiodiag", "lark"]):
    from virtiodiag.analysis import analyse_blocks
    from virtiodiag.dialects import load_dialects
    from virtiodiag.options import ReportOptions
    from virtiodiag.reports import get_reporter
    from virtiodiag.rules import all_rules

    all_rules()  # rule modules are imported on first use: here, so they are instrumented
    for _fmt in ("text", "json", "junit", "sarif", "github", "gitlab"):
        get_reporter(_fmt)

DIALECTS = load_dialects()
SAMPLE_LINES: list[bytes] = []
for path in sorted((REPO / "samples").glob("*/combined.log")):
    for line in path.read_bytes().split(b"\n"):
        if line and len(SAMPLE_LINES) < 20000:
            SAMPLE_LINES.append(line)
FORMATS = ("text", "json", "junit", "sarif", "github", "gitlab")
MUTATIONS = (b"9" * 50, b"0x" + b"f" * 40, b"\x00", b"\xff\xfe", b"\x1b[31m", b"\r",
             b"::error::", b"\ufffe".decode("unicode_escape").encode(), b"-1", b"4294967295",
             b"virtio_", b"[    1.000000] ", b"1234@1700000000.000001:", b"\t", b"(", b")")


def _strict(constant):
    raise ValueError(f"JSON holds {constant}")


def build_log(data: bytes) -> bytes:
    provider = atheris.FuzzedDataProvider(data)
    mode = provider.ConsumeIntInRange(0, 3)
    if mode == 0:
        return provider.ConsumeBytes(provider.remaining_bytes())
    lines: list[bytes] = []
    for _ in range(provider.ConsumeIntInRange(1, 40)):
        if provider.remaining_bytes() == 0:
            break
        line = SAMPLE_LINES[provider.ConsumeIntInRange(0, len(SAMPLE_LINES) - 1)]
        action = provider.ConsumeIntInRange(0, 5)
        if action == 1 and line:  # cut the line somewhere
            line = line[:provider.ConsumeIntInRange(0, len(line))]
        elif action == 2 and line:  # insert a hostile piece
            at = provider.ConsumeIntInRange(0, len(line))
            piece = MUTATIONS[provider.ConsumeIntInRange(0, len(MUTATIONS) - 1)]
            line = line[:at] + piece + line[at:]
        elif action == 3 and line:  # overwrite with fuzzer bytes
            at = provider.ConsumeIntInRange(0, len(line))
            line = line[:at] + provider.ConsumeBytes(provider.ConsumeIntInRange(0, 16)) \
                + line[at + 1:]
        elif action == 4 and lines:  # join with the previous line (no newline)
            lines[-1] += line
            continue
        lines.append(line)
    ending = b"\n" if provider.ConsumeBool() else b""
    return b"\n".join(lines) + ending


def blocks(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


def render(result, fmt: str) -> str:
    stream = io.StringIO()
    get_reporter(fmt).render([result], stream, ReportOptions(verbose=True))
    return stream.getvalue()


def test_one_input(data: bytes) -> None:
    log = build_log(data)
    first = analyse_blocks("fuzz.log", blocks(log, 1 << 20), DIALECTS)
    outputs = {fmt: render(first, fmt) for fmt in FORMATS}
    json.loads(outputs["json"], parse_constant=_strict)
    json.loads(outputs["sarif"], parse_constant=_strict)
    ET.fromstring(outputs["junit"])
    if os.environ.get("VIRTIODIAG_FUZZ_NO_SPLITS"):
        return
    split = max(1, len(log) // 3 or 1)
    second = analyse_blocks("fuzz.log", blocks(log, split), DIALECTS)
    if render(second, "json") != outputs["json"]:
        raise AssertionError(f"block size {split} gives another JSON report")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
