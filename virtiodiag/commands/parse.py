"""``virtiodiag parse [--explain] LINE...``: which dialect reads a line, and what it means."""

from __future__ import annotations

import sys

import click

from virtiodiag.commands.grammar import (
    EXIT_GRAMMAR,
    EXIT_OK,
    EXIT_SAMPLES,
    describe,
    unknown_fields,
)


@click.command(name="parse")
@click.argument("lines", nargs=-1, required=True, metavar="LINE...")
@click.option("--explain", is_flag=True,
              help="For every dialect, say why it did or did not match.")
@click.option("--grammar", "grammars", multiple=True, metavar="FILE.lark",
              help="An extra dialect grammar (repeatable), tried before the built-in ones.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Configuration file (default: virtiodiag.toml, .virtiodiag.toml or "
                   "[tool.virtiodiag] in pyproject.toml, found upwards from here): its "
                   "grammars, grammar-path and rules apply as in analyze.")
def parse(lines, explain, grammars, config_path):
    """Show which dialect reads each LINE and the event it becomes (- reads lines from
    standard input).

    \b
    Exit status: 0 every line became an event, 1 a line did not, 2 a grammar error.
    """
    from virtiodiag.safeio import reader_may_leave

    with reader_may_leave():  # `| head`: the status is still the lines' verdict
        _parse(lines, explain, grammars, config_path)


def _parse(lines, explain, grammars, config_path):
    from virtiodiag.cli import analysis_options
    from virtiodiag.dialects import DialectError
    from virtiodiag.reports.escape import safe
    from virtiodiag.sources.framing import clean, split_records

    analysis = analysis_options(config_path, grammars=grammars)
    try:
        dialects = analysis.load_dialects()
    except DialectError as exc:
        click.echo(f"virtiodiag: error: {safe(str(exc))}", err=True)
        sys.exit(EXIT_GRAMMAR)
    texts: list[str] = []
    for line in lines:
        if line == "-":
            if sys.stdin is None:  # started with descriptor 0 closed (`<&-`)
                click.echo("virtiodiag: error: standard input is closed", err=True)
                sys.exit(EXIT_GRAMMAR)
            # Lines end at LF, as analyze reads them: a lone CR is a redraw inside its
            # line (clean() keeps what it shows), not a line of its own.
            stream = getattr(sys.stdin, "buffer", None)
            texts += [raw.decode("utf-8", "replace").rstrip("\r\n") if isinstance(raw, bytes)
                      else raw.rstrip("\r\n")
                      for raw in (stream if stream is not None else sys.stdin)]
        else:
            texts.append(line)
    missed = 0
    first = True
    for raw in texts:
        if not raw.strip():
            continue
        for record in split_records(clean(raw.encode("utf-8", "replace"))):
            if not record.text:
                continue
            if not first:
                click.echo("")
            first = False
            payload = dialects.parse(record.text)
            click.echo(f"line: {safe(record.text)}")
            if record.text != raw.strip():
                click.echo("      (prefix removed before parsing"
                           + (f", time {record.time:g} ({record.clock} clock))"
                              if record.time is not None else ")"))
            if payload is None:
                missed += 1
                click.echo("  a dialect matched, but a value does not fit its field (line not "
                           "understood)" if dialects.refused else "  no dialect matched")
            else:
                click.echo(f"  dialect: {safe(payload.dialect)}")
                click.echo(f"  event:   {safe(describe(payload))}")
                extra = unknown_fields(payload)
                if extra:
                    click.echo(f"  note: field(s) {', '.join(extra)} are not in the contract "
                               f"of {payload.kind}; the model ignores them")
            if explain or payload is None:
                for name, why in dialects.explain(record.text):
                    click.echo(f"    {safe(name)}: {safe(why)}")
    sys.exit(EXIT_SAMPLES if missed else EXIT_OK)
