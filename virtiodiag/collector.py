"""The cyclic garbage collector while ``analyze`` starts.

Analysing a small log allocates a few hundred thousand objects (modules, options, the
grammars it loads, parse trees, the model) that nearly all live until the process ends;
the collections they trigger found nothing worth freeing and cost 2.5 % of the boot-log
sample's analysis (16 M of 667 M instructions, callgrind). So the ``analyze`` command of the CLI
process holds the collector (``hold``) until its analysis has read a first block of input
(``release``, from analysis.Analysis): a small log is analysed and the process exits with
the collector off (the exit frees everything at once, see cli._exit_now); a longer one
gets it back after its first megabyte, and a run of several inputs (a directory, ``-j``
workers) when its second input starts (``input_started``), so that one input's garbage at
most waits. What exists then is frozen (``gc.freeze``: start-up's objects are never
scanned again, which also shortens every later full collection of a long run), and the
youngest generation is collected every 50,000 allocations instead of 700
(``THRESHOLDS``): a large log's analysis allocates an event and a few tuples per line,
nearly all freed by reference counting or kept to the end, and the 130 young collections
of the benchmark's 200 MB sparse log found nothing worth their 0.1 s (now 25, 0.04 s; the
same peak memory).

Only the CLI's own process is tuned (``own``, from cli.main): the tests run commands in
their process, whose collector stays as it is.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 10, 10)  # gc.set_threshold once the collector is back (release)
_owned = False  # this process is the CLI's (cli.main)
_held = False  # the collector was turned off by hold() and not yet released
_inputs = 0  # analyses started in this process


def own() -> None:
    """This process is the CLI's: ``hold`` may turn its collector off."""
    global _owned
    _owned = True


def hold_from_start() -> None:
    """The CLI's process from its first line (``virtiodiag/__main__.py``, which both
    ``python -m virtiodiag`` and the ``virtiodiag`` command run): the collector is held
    before click and the command line's module are imported, whose collections found
    nothing to free either (9 M instructions of the boot log's analysis); ``analyze``
    keeps it held (``hold``), every other command gets it back as it was (``give_back``,
    from cli.LazyGroup) before it runs."""
    global _owned, _held
    _owned = True
    if not _held and gc.isenabled():
        gc.disable()
        _held = True


def give_back() -> None:
    """The collector as it was before ``hold``: on, with nothing frozen and the same
    thresholds (a command other than ``analyze``)."""
    global _held
    if _held:
        _held = False
        gc.enable()


def hold() -> None:
    """Turn the collector off until ``release`` (in the CLI's process only)."""
    global _held
    if _owned and not _held and gc.isenabled():
        gc.disable()
        _held = True


def release() -> None:
    """Freeze what exists and turn the collector back on, if ``hold`` turned it off, with
    ``THRESHOLDS``."""
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.set_threshold(*THRESHOLDS)
        gc.enable()


def input_started() -> None:
    """An analysis starts: from the process's second input on, the collector is back."""
    global _inputs
    _inputs += 1
    if _inputs > 1:
        release()
