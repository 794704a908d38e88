"""``virtiodiag grammar check FILE`` and ``virtiodiag grammar fields``: writing a dialect.

``check`` compiles a grammar the strict way (terminal collisions and LALR conflicts are
errors, told in plain words), says whether the line-shape memo may stand in for it
(dialects/shapes.py), runs its ``//@ sample:`` lines and the lines of
``--samples FILE``, shows the event each one produced, and warns about what compiles but
cannot work: fields the model does not read, rules named like events that are not event
kinds, sample lines that contain none of the grammar's triggers.

Exit status: 0 everything passed, 1 a sample failed, 2 the grammar does not compile (or
some pairs of its terminals could not be checked for collisions within the state limit:
dialects/collisions.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_OK, EXIT_SAMPLES, EXIT_GRAMMAR = 0, 1, 2

# Fields the model reads on an event of any kind: the device's names (identity), its
# interrupt line (which device an IRQ belongs to) and its type.
UNIVERSAL_FIELDS = frozenset({"device", "address", "irq", "driver", "device_type"})


@click.group()
def grammar():
    """Write and check your own log grammar (see docs/teach-your-log.md)."""


# ---- grammar fields -----------------------------------------------------------------------
@grammar.command()
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="Only this event kind (repeatable).")
@click.option("--markdown", is_flag=True, help="A Markdown table (for documentation).")
def fields(kinds, markdown):
    """Print the event contract: every event kind and the fields the model reads."""
    from tabulate import tabulate

    from virtiodiag.events import EVENT_KINDS

    unknown = [k for k in kinds if k not in EVENT_KINDS]
    if unknown:
        click.echo(f"virtiodiag: error: not an event kind: {', '.join(unknown)} "
                   f"(kinds: {', '.join(EVENT_KINDS)})", err=True)
        sys.exit(EXIT_GRAMMAR)
    rows = []
    for kind, table in EVENT_KINDS.items():
        if kinds and kind not in kinds:
            continue
        first = True
        for name, description in table.items():
            rows.append([kind if first or markdown else "", name, description])
            first = False
    click.echo(tabulate(rows, headers=["event kind", "field", "meaning"],
                        tablefmt="github" if markdown else "simple"))


# ---- grammar check ------------------------------------------------------------------------
@grammar.command()
@click.argument("path", metavar="FILE.lark", type=click.Path(dir_okay=False, exists=True))
@click.option("--samples", "samples_path", type=click.Path(dir_okay=False, exists=True),
              metavar="FILE",
              help="Log lines the grammar must understand, one a line (time stamps and "
                   "other prefixes are removed as analyze does); 'LINE => kind field=value' "
                   "also checks the event; blank lines and lines starting with # are skipped.")
@click.option("--quiet", "-q", is_flag=True, help="Only problems, not the lines that passed.")
@click.option("--max-states", type=click.IntRange(min=1), default=None, metavar="N",
              help="The most states a pair of terminals' collision check may build or "
                   "visit (default: 100,000); a pair past it is reported as not checked.")
def check(path, samples_path, quiet, max_states):
    """Compile FILE.lark strictly and check its sample lines.

    \b
    Exit status: 0 all samples pass, 1 a sample fails, 2 the grammar does not
    compile or some of its terminals could not be checked for collisions.
    """
    from virtiodiag.safeio import reader_may_leave

    with reader_may_leave():  # `| head`: the status is still the samples' verdict
        _check(path, samples_path, quiet, max_states)


def _check(path, samples_path, quiet, max_states):
    from virtiodiag.dialects.collisions import STATE_LIMIT, state_limit
    from virtiodiag.dialects.registry import (CollisionsUnchecked, DialectError, Sample,
                                              load_dialect, unknown_directives)
    from virtiodiag.reports.escape import safe

    grammar_path = Path(path)
    try:
        with state_limit(max_states or STATE_LIMIT):
            dialect = load_dialect(grammar_path, strict=True, cache=False)
    except CollisionsUnchecked as exc:
        click.echo(f"{safe(str(grammar_path))}: the grammar compiles, but not every pair of "
                   "its terminals could be checked for a collision", err=True)
        click.echo(f"  {safe(str(exc), limit=4000)}", err=True)
        sys.exit(EXIT_GRAMMAR)
    except DialectError as exc:
        message = str(exc)
        if exc.__cause__ is not None:
            message = f"{grammar_path}: {plain_error(exc.__cause__)}"
        if "interegular" in message:
            message += " (strict checking needs the 'interegular' package: pip install interegular)"
        click.echo(f"{safe(str(grammar_path))}: the grammar does not compile", err=True)
        # Lark's collision example is two lines (the text, then ^ under the match)
        for line in message.splitlines() or [""]:
            click.echo(f"  {safe(line.rstrip(), limit=4000)}", err=True)
        sys.exit(EXIT_GRAMMAR)

    click.echo(f"{safe(str(grammar_path))}: dialect {safe(dialect.name)} compiles "
               f"(strict: no terminal collisions, no LALR conflicts)")
    click.echo(f"  triggers: {' '.join(safe(t) for t in dialect.triggers)}")
    click.echo(f"  line-shape memo: {shape_memo_verdict(dialect)}")
    warnings = unknown_directives(grammar_path.read_text(encoding="utf-8"))
    warnings += contract_warnings(dialect)

    failures = 0
    checked = 0
    if not dialect.samples:
        warnings.append("no '//@ sample:' lines: add a few (LINE => kind field=value) so "
                        "'grammar check' and your tests can tell when the grammar breaks")
    lines: list[tuple[str, Sample]] = [(f"line {s.lineno}", s) for s in dialect.samples]
    if samples_path:
        lines += [(f"{samples_path}:{s.lineno}", s) for s in read_samples(Path(samples_path))]
    if lines:
        click.echo("")
    for where, sample in lines:
        checked += 1
        ok, text, payload, reason = run_sample(dialect, sample)
        if not any(t in text for t in dialect.triggers):
            warnings.append(f"{where}: none of the triggers ({', '.join(dialect.triggers)}) is "
                            "in this line: analyze never hands it to this grammar")
        if ok:
            if not quiet:
                click.echo(f"ok    {where}: {safe(text, limit=160)}")
                click.echo(f"        -> {safe(describe(payload))}")
            continue
        failures += 1
        click.echo(f"FAIL  {where}: {safe(text, limit=160)}")
        if payload is not None:
            click.echo(f"        -> {safe(describe(payload))}")
        click.echo(f"        {safe(reason)}")

    if warnings:
        click.echo("")
        for warning in dict.fromkeys(warnings):
            click.echo(f"warning: {safe(warning, limit=1000)}")
    click.echo("")
    click.echo(f"{checked - failures} of {checked} sample line(s) passed, "
               f"{len(dict.fromkeys(warnings))} warning(s)")
    sys.exit(EXIT_SAMPLES if failures else EXIT_OK)


def shape_memo_verdict(dialect) -> str:
    """Whether analyze may stand a learned line shape in for this grammar (shapes.py)."""
    from virtiodiag.reports.escape import safe

    hazards = dialect.shape_hazards
    if not hazards:
        return ("used (no terminal tells one digit or hex letter from another, so lines "
                "that differ only in their numbers parse alike)")
    more = f" (and {len(hazards) - 1} more)" if len(hazards) > 1 else ""
    return (f"not used, the grammar parses every line: {safe(hazards[0], limit=200)}{more}")


def plain_error(exc: BaseException) -> str:
    """Lark's compile error in plain words; LALR conflicts before terminal collisions
    (Lark calls a reduce/reduce conflict a "collision" too)."""
    from virtiodiag.dialects.registry import plain_grammar_error

    message = str(exc).strip()
    lowered = message.lower()
    if "reduce/reduce" in lowered or "shift/reduce" in lowered:
        return ("the grammar is ambiguous for an LALR parser (a conflict): two rules can "
                "match the same tokens, so the parser cannot tell which event the line is. "
                "Make the phrases differ, or merge the rules and tell them apart with an "
                "alias (-> kind__detail). Lark says: " + message)
    return plain_grammar_error(exc)


def read_samples(path: Path):
    """Lines of a --samples file as Samples (``LINE => expectation`` optional)."""
    from virtiodiag.dialects.registry import Sample

    out = []
    # Lines end at LF alone, as analyze counts them (a CR is part of its line: a serial
    # console's CR CR LF, a redraw), so each sample's number is its line in analyze's
    # findings; run_sample reads the CRs and escape sequences as analyze does.
    with open(path, encoding="utf-8", errors="replace", newline="\n") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            text, _, expect = line.partition(" => ")
            out.append(Sample(text, expect.strip(), number))
    return out


def run_sample(dialect, sample):
    """(passed, text parsed, payload, reason); prefixes are removed like analyze does."""
    from virtiodiag.dialects.registry import Sample
    from virtiodiag.dialects.samples import check_sample
    from virtiodiag.sources.framing import clean, split_records

    records = split_records(clean(sample.line.encode("utf-8", "replace")))
    text = records[0].text if records else ""
    result = check_sample(dialect, Sample(text, sample.expect, sample.lineno))
    passed, payload, reason = result
    if payload is None and reason == "matched":
        reason = ("the grammar matched the line but produced no event: the rule that "
                  "matched is not named after an event kind (see the warnings)")
    return passed, text, payload, reason


def describe(payload) -> str:
    from virtiodiag.events import Event

    return Event(payload, "", 0, "").describe()


def unknown_fields(payload) -> list[str]:
    from virtiodiag.events import EVENT_KINDS

    allowed = EVENT_KINDS.get(payload.kind, {})
    return [name for name, _ in payload.fields
            if name not in allowed and name not in UNIVERSAL_FIELDS]


def contract_warnings(dialect) -> list[str]:
    """What compiles but cannot work, read from the compiled rules."""
    from virtiodiag.events import EVENT_KINDS, KINDS

    parser = dialect.parser
    rules = getattr(parser, "rules", [])
    by_origin: dict[str, list] = {}
    for rule in rules:
        by_origin.setdefault(rule.origin.name, []).append(rule)
    warnings: list[str] = []

    def fields_of(symbols, seen) -> set[str]:
        found: set[str] = set()
        for sym in symbols:
            name = str(sym.name)
            if sym.is_term:
                if getattr(sym, "filter_out", False) or name.startswith("_"):
                    continue
                found.add(_field_name(name.lower()))
            elif name.startswith("_"):
                if name not in seen:
                    seen.add(name)
                    for rule in by_origin.get(name, []):
                        found |= fields_of(rule.expansion, seen)
            elif name.partition("__")[0] not in KINDS:
                # A sub-rule aliased as a whole ("vhost_net: VHOST_NET -> device_type")
                # makes a tree of the alias's name: that is the field.
                aliases = {str(r.alias) if r.alias else None for r in by_origin.get(name, [])}
                alias = next(iter(aliases)) if len(aliases) == 1 else None
                found.add(_field_name(alias or name))
        return found

    events: dict[str, set[str]] = {}
    names: set[str] = set()
    for rule in rules:
        origin = str(rule.origin.name)
        name = str(rule.alias) if rule.alias else origin
        if origin.startswith("_") and not rule.alias:
            continue
        names.add(name)
        kind = name.partition("__")[0]
        if kind in KINDS:
            events.setdefault(name, set()).update(fields_of(rule.expansion, set()))

    for name in sorted(names):
        kind, sep, _detail = name.partition("__")
        if name == "start" or kind in KINDS:
            continue
        if sep:
            warnings.append(f"rule '{name}' is named like an event (kind__detail) but "
                            f"'{kind}' is not an event kind{_did_you_mean(kind)}")
            continue
        import difflib

        close = difflib.get_close_matches(name, KINDS, n=1, cutoff=0.8)
        if close:
            warnings.append(f"rule '{name}' is not an event kind: did you mean '{close[0]}'? "
                            "(as written it is a sub-rule, i.e. a field named "
                            f"'{name}')")

    stray: dict[str, dict[str, list[str]]] = {}
    for name in sorted(events):
        kind = name.partition("__")[0]
        for field in sorted(events[name] - set(EVENT_KINDS[kind]) - UNIVERSAL_FIELDS):
            stray.setdefault(kind, {}).setdefault(field, []).append(name)
    for kind, fields_ in stray.items():
        for field, rule_names in fields_.items():
            where = ", ".join(rule_names[:4]) + (" ..." if len(rule_names) > 4 else "")
            warnings.append(f"field '{field}' is not in the contract of {kind} (rule "
                            f"{where}); the model ignores it. Fields of {kind}: "
                            f"{', '.join(EVENT_KINDS[kind])}")

    for rule in by_origin.get("start", []):
        for sym in rule.expansion:
            name = str(sym.name)
            if sym.is_term:
                continue
            if name.startswith("_"):
                warnings.append(f"start reaches its events through the inlined rule '{name}': "
                                "list the event rules in start directly")
            elif name.partition("__")[0] not in KINDS:
                warnings.append(f"start lists '{name}', which is not an event kind: lines it "
                                f"matches produce no event{_did_you_mean(name)}")
    return warnings


def _field_name(name: str) -> str:
    return name[:-4] if name.endswith("_hex") else name


def _did_you_mean(name: str) -> str:
    from virtiodiag.events import KINDS

    import difflib

    close = difflib.get_close_matches(name, KINDS, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
