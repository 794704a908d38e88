"""``virtiodiag diff A.log B.log``: where two runs' handshakes diverge."""

from __future__ import annotations

import json
import sys

import click

from virtiodiag.cli import FiniteRange


@click.command()
@click.argument("run_a", metavar="A")
@click.argument("run_b", metavar="B")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--grammar", "grammars", multiple=True, metavar="FILE.lark",
              help="An extra dialect grammar (repeatable).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Configuration file (default: virtiodiag.toml, .virtiodiag.toml or "
                   "[tool.virtiodiag] in pyproject.toml, found upwards from here): its "
                   "grammars, grammar-path and rules apply as in analyze.")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR in the environment).")
@click.option("--verbose", "-v", is_flag=True,
              help="Every divergence, and each device's comparison table.")
@click.option("--tolerance", type=FiniteRange(min=0), default=0.5, show_default=True,
              metavar="FRACTION",
              help="Handshake durations that differ by at most this fraction (or 1 ms) "
                   "are the same.")
def diff(run_a, run_b, fmt, grammars, config_path, no_color, verbose, tolerance):
    """Compare two runs' handshakes and name the first divergence that matters, with its
    line in each log: per device, each step (attach, status writes, features, queue
    set-up, IRQ set-up/enable) and where the other devices were when it happened.
    Test names and timings within the tolerance are context, not divergences.

    \b
    Exit status: 0 the handshakes match, 1 they differ, 2 error (as diff(1)).
    """
    from virtiodiag.cli import analysis_options
    from virtiodiag.diff import diff_dict, diff_runs, render_text
    from virtiodiag.dialects import DialectError
    from virtiodiag.options import colour_wanted
    from virtiodiag.pipeline import Interrupted, analyse_path
    from virtiodiag.reports.escape import safe
    from virtiodiag.reports.text import Palette
    from virtiodiag.safeio import reader_may_leave

    analysis = analysis_options(config_path, grammars=grammars)
    try:
        dialects = analysis.load_dialects()
    except DialectError as exc:
        click.echo(f"virtiodiag: error: {safe(str(exc))}", err=True)
        sys.exit(2)
    results = []
    for name in (run_a, run_b):
        if name == "-":
            click.echo("virtiodiag: error: diff needs two files, not standard input", err=True)
            sys.exit(2)
        try:
            result = analyse_path(name, dialects, analysis.settings)
        except Interrupted:  # Ctrl-C or SIGTERM while reading: no verdict (cli: 130/143)
            raise KeyboardInterrupt from None
        if result.error:
            click.echo(f"virtiodiag: error: {safe(result.error)}", err=True)
            sys.exit(2)
        results.append(result)
    outcome = diff_runs(results[0], results[1], tolerance=tolerance)
    with reader_may_leave():  # `| head`: the status is still the comparison's
        if fmt == "json":
            json.dump(diff_dict(outcome), sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            render_text(outcome, sys.stdout, Palette(colour_wanted(no_color)), verbose=verbose)
    sys.exit(0 if outcome.identical else 1)
