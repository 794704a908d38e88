"""What a machine report says of an input it did not get whole, besides an input error
(``result.error``: a truncated compressed file, an unreadable file), which each format
reports its own way: a last line with no newline (a log cut mid-line, a writer that died)
and a run interrupted before the end of its input. The text report says both; JUnit,
SARIF, GitHub and GitLab reports say them too, so a CI page read alone does not look whole.
"""

from __future__ import annotations

from typing import Any

INTERRUPTED = "interrupted: the report covers the input read so far"


def cut_notes(result) -> list[str]:
    """The statements about how ``result``'s input ended short (an input error aside)."""
    model = result.model
    if model.truncated_last_line:
        return [f"{result.path}: the last line had no newline: the log may have been cut "
                "mid-line (truncated log?)"]
    return []


def interrupted_run(results, options) -> Any | None:
    """The run an interruption stopped (the last one read), None when nothing stopped
    one: every format that says so asks here."""
    return results[-1] if options.interrupted and results else None


def notes_of(result, results, options) -> list[str]:
    """The statements about how ``result``'s input ended short, the interruption among
    them when it stopped this run (a format that reports each run apart: JUnit)."""
    notes = cut_notes(result)
    if result is interrupted_run(results, options):
        notes.append(INTERRUPTED)
    return notes


def all_notes(results, options) -> list[tuple[Any, str]]:
    """(result, statement) for every run, and the interruption (the last run's)."""
    notes = [(result, note) for result in results for note in cut_notes(result)]
    stopped = interrupted_run(results, options)
    if stopped is not None:
        notes.append((stopped, INTERRUPTED))
    return notes
