"""Command line: ``virtiodiag analyze``, ``rules``, ``explain``, ``grammar``, ``parse``."""

from __future__ import annotations

import os
import sys

import click

from virtiodiag import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class Abort(click.ClickException):
    """A usage or input error: one line on stderr, exit status 2."""

    exit_code = EXIT_ERROR

    def show(self, file=None):
        from virtiodiag.reports.escape import safe

        click.echo(f"virtiodiag: error: {safe(self.message)}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="virtiodiag")
def cli():
    """Diagnose virtio device initialisation from boot logs, serial captures and CI logs."""


def use_colour(no_color: bool, stream) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", default="text", show_default=True,
              help="Output format: text or json.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report in --format to this file; the terminal shows text.")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR in the environment).")
@click.option("--verbose", "-v", is_flag=True, help="List the virtio lines no grammar understood.")
@click.option("--no-timeline", is_flag=True, help="Only the device table and the findings.")
@click.option("--grammar", "grammars", multiple=True, metavar="FILE.lark",
              help="An extra dialect grammar (repeatable); see 'Teach virtiodiag your log'.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Configuration file (default: virtiodiag.toml, .virtiodiag.toml or "
                   "[tool.virtiodiag] in pyproject.toml, found upwards from here).")
@click.option("--select", help="Only these rules (comma-separated codes or names).")
@click.option("--ignore", help="Skip these rules (comma-separated codes or names).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Lowest severity that makes the exit status 1 (default: error).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings reach --fail-on.")
def analyze(paths, fmt, output, no_color, verbose, no_timeline, grammars, config_path,
            select, ignore, fail_on, exit_zero):
    """Analyse logs (PATH, or - for standard input) and report per-device handshakes."""
    from virtiodiag.runner import run_analyze

    code = run_analyze(paths=list(paths), fmt=fmt, output=output, no_color=no_color,
                       verbose=verbose, timeline=not no_timeline, grammars=list(grammars),
                       config_path=config_path, select=select, ignore=ignore,
                       fail_on=fail_on, exit_zero=exit_zero)
    sys.exit(code)


@cli.command(name="rules")
def list_rules():
    """List every rule with its code, severity and summary."""
    from tabulate import tabulate

    from virtiodiag.rules import all_rules

    rows = [[r.CODE, r.NAME, r.SEVERITY, r.SPEC or "-", r.SUMMARY] for r in all_rules()]
    click.echo(tabulate(rows, headers=["code", "name", "severity", "spec", "summary"]))


@cli.command()
@click.argument("rule")
def explain(rule):
    """Show a rule's documentation (by code, e.g. VD001, or name)."""
    import inspect

    from virtiodiag.rules import get_rule

    module = get_rule(rule)
    if module is None:
        raise Abort(f"no rule named {rule!r}; 'virtiodiag rules' lists them")
    click.echo(f"{module.CODE} {module.NAME} ({module.SEVERITY})")
    if module.SPEC:
        click.echo(f"virtio spec: {module.SPEC}")
    options = getattr(module, "OPTIONS", {})
    if options:
        click.echo("options: " + ", ".join(f"{k} = {v!r}" for k, v in options.items()))
    click.echo("")
    click.echo(inspect.getdoc(module) or module.SUMMARY)


def _register_commands():
    from virtiodiag.commands import register_all

    register_all(cli)


_register_commands()


def main():
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
