"""``virtiodiag diff A.log B.log``: where two runs' handshakes diverge."""

from __future__ import annotations

import json
import sys

import click


@click.command()
@click.argument("run_a", metavar="A")
@click.argument("run_b", metavar="B")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--grammar", "grammars", multiple=True, metavar="FILE.lark",
              help="An extra dialect grammar (repeatable).")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR in the environment).")
def diff(run_a, run_b, fmt, grammars, no_color):
    """Compare two runs device by device: status sequence, features, queue set-up,
    IRQ set-up order and timing, test verdicts and findings.

    \b
    Exit status: 0 identical in those respects, 1 they diverge, 2 error.
    """
    from virtiodiag.analysis import RuleSettings
    from virtiodiag.diff import diff_dict, diff_runs, render_text
    from virtiodiag.dialects import DialectError, load_dialects
    from virtiodiag.reports.escape import safe
    from virtiodiag.reports.text import Palette
    from virtiodiag.runner import _colour, analyse_path

    try:
        dialects = load_dialects(extra=list(grammars))
    except DialectError as exc:
        click.echo(f"virtiodiag: error: {safe(str(exc))}", err=True)
        sys.exit(2)
    results = []
    for name in (run_a, run_b):
        if name == "-":
            click.echo("virtiodiag: error: diff needs two files, not standard input", err=True)
            sys.exit(2)
        result = analyse_path(name, dialects, RuleSettings())
        if result.error:
            click.echo(f"virtiodiag: error: {safe(result.error)}", err=True)
            sys.exit(2)
        results.append(result)
    outcome = diff_runs(*results)
    if fmt == "json":
        json.dump(diff_dict(outcome), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        render_text(outcome, sys.stdout, Palette(_colour(no_color)))
    sys.exit(0 if outcome.identical else 1)
