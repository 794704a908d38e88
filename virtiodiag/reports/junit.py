"""``--format junit``: JUnit XML, a testsuite per run, a testcase per device and rule.

Findings at or above the ``--fail-on`` threshold are ``<failure>``s; findings below it are
kept in the testcase's ``<system-out>``; an input that could not be read is an ``<error>``;
one that ended short (its last line cut, the run interrupted) says so in its testsuite's
``<system-err>``.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

from virtiodiag.options import ReportOptions
from virtiodiag.reports.cut import notes_of
from virtiodiag.reports.escape import xml_block, xml_text
from virtiodiag.rules.base import severity_rank


def _xml_text(text: str) -> str:
    # XML 1.0 cannot hold most control characters even escaped (nor U+FFFE, U+FFFF):
    # make them visible; newlines too (a name or message stays one line).
    return xml_text(text, 4000)


def _describe(finding) -> str:
    from virtiodiag.reports.text import Palette, format_finding

    return xml_block(format_finding(finding, Palette(False)))


def suite(result, rules, threshold: str, notes: list[str]) -> ET.Element:
    element = ET.Element("testsuite", name=_xml_text(result.path))
    artifact = os.path.basename(result.path) or result.path
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    limit = severity_rank(threshold)
    if result.error:
        case = ET.SubElement(element, "testcase", classname=_xml_text(artifact), name="read")
        error = ET.SubElement(case, "error", message=_xml_text(result.error), type="input")
        error.text = _xml_text(result.error)
        counts["tests"] += 1
        counts["errors"] += 1
    else:
        by_case: dict[tuple[str, str], list] = {}
        for finding in result.findings:
            by_case.setdefault((finding.device, finding.rule), []).append(finding)
        devices = [d.id for d in result.model.live_devices()]
        extra = sorted({device for device, _ in by_case if device not in devices})
        for device in devices + extra:
            for module in rules:
                found = by_case.get((device, module.CODE), [])
                case = ET.SubElement(element, "testcase",
                                     classname=_xml_text(f"{artifact}.{device}"),
                                     name=f"{module.CODE} {module.NAME}")
                counts["tests"] += 1
                failing = [f for f in found if severity_rank(f.severity) >= limit]
                if failing:
                    counts["failures"] += 1
                    failure = ET.SubElement(case, "failure",
                                            message=_xml_text(failing[0].message),
                                            type=failing[0].severity)
                    failure.text = "\n".join(_describe(f) for f in failing)
                below = [f for f in found if severity_rank(f.severity) < limit]
                if below:
                    out = ET.SubElement(case, "system-out")
                    out.text = "\n".join(_describe(f) for f in below)
    if notes:  # the input ended short: said beside the testcases (schema: after them)
        err = ET.SubElement(element, "system-err")
        err.text = "\n".join(_xml_text(note) for note in notes)
    for key, value in counts.items():
        element.set(key, str(value))
    return element


def render(results, stream, options: ReportOptions) -> None:
    from virtiodiag.rules import all_rules

    rules = options.rules or all_rules()
    threshold = options.fail_on
    root = ET.Element("testsuites", name="virtiodiag")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for result in results:
        # how its input ended short, an interruption among it (reports/cut.py decides)
        element = suite(result, rules, threshold, notes_of(result, results, options))
        root.append(element)
        for key in totals:
            totals[key] += int(element.get(key, 0))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(root, encoding="unicode"))
    stream.write("\n")
