"""One run's analysis: source blocks -> candidate lines (sources/scanner.py) -> events
(the LineDecoder: framing, dialects, caches) -> the model (model/) -> findings (rules/).

``Analysis`` wires these together for one input and runs the rules (live ones as events
arrive, every rule at the end); ``pipeline.analyse_path`` feeds it from a file or a stream.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from time import monotonic
from typing import cast

from virtiodiag import collector
from virtiodiag.dialects import DialectSet
from virtiodiag.dialects.decoder import Caches, LineDecoder, needs_following
from virtiodiag.errors import InternalError
from virtiodiag.events import Event
from virtiodiag.limits import BINARY_NUL_BYTES, over
from virtiodiag.model import ModelBuilder
from virtiodiag.model.device import Device, Model
from virtiodiag.options import RuleSettings
from virtiodiag.plain import Plain
from virtiodiag.rules import all_rules
from virtiodiag.rules.base import Context, Finding, Hit, Withdrawal, fingerprint, severity_rank
from virtiodiag.sources import looking
from virtiodiag.sources.scanner import LineScanner, minimal_triggers

UNRECOGNISED_SAMPLES = 50


class RunResult(Plain):
    """One run's report: the model, the final pass's findings, and (a stream read live) the
    findings shown while reading that the final pass does not make (``withdrawn``)."""

    FIELDS = ("path", "model", "findings", "error", "withdrawn", "completed")

    def __init__(self, path: str, model: Model, findings: list[Finding], error: str | None = None,
                 withdrawn: list[Withdrawal] | None = None,
                 completed: list[tuple[Finding, Finding]] | None = None):
        self.path = path
        self.model = model
        self.findings = findings
        self.error = error
        self.withdrawn = [] if withdrawn is None else withdrawn
        # (live finding, final finding): the whole log bears out a finding shown live and
        # says more about its line (a count of repeats, what the device turned out to be)
        # than was known when it was shown; its device's name aside.
        self.completed = [] if completed is None else completed


class Analysis:
    """Analyses one run (one file or one stream)."""

    def __init__(self, path: str, dialects: DialectSet, settings: RuleSettings | None = None,
                 live: bool = False, on_finding: Callable[[Finding], None] | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 caches: Caches | None = None):
        collector.input_started()  # a second input gets the collector back (collector.py)
        self.path = path
        self.artifact = os.path.basename(path) if path != "-" else "<stdin>"
        self.dialects = dialects
        self.settings = settings or RuleSettings()
        self.live = live
        self.on_finding = on_finding
        self.on_event = on_event
        self.builder = ModelBuilder(path, getattr(dialects, "facts", None))
        triggers = getattr(dialects, "trigger_bytes", None)
        if triggers:
            # Lines that look like virtio reach the analysis even when no dialect claims
            # them, to be counted as not understood (sources/looking.py).
            triggers = list(triggers) + list(looking.TRIGGERS)
        self.scanner = LineScanner(
            None if triggers and minimal_triggers(triggers) else dialects.trigger_re, triggers)
        self.scanner.needs_following = needs_following
        model = self.builder.model
        # Repeated notify/interrupt lines may be counted without an Event (see
        # ModelBuilder.flood) unless someone watches every event as it happens.
        floods = not live and on_event is None
        # feed_event does nothing but the builder's feed then: one call less per event.
        self.decoder = LineDecoder(
            dialects, caches, path, live,
            on_event=cast("Callable[[Event], None]", self.builder.feed) if floods
            else self.feed_event,
            on_unrecognised=lambda line_no, text, message: model.note_unrecognised(
                line_no, text, message, UNRECOGNISED_SAMPLES),
            on_overlong=lambda line_no, text: over(model).count("lines", line=line_no,
                                                                text=text),
            flood=self.builder.flood if floods else None,
            # Lines that only move their kind's latest, held without an Event each
            # (model/last_seen.py), unless every event is watched.
            holder=self.builder.last_seen if floods else None)
        self.rules = [r for r in all_rules() if self.settings.enabled(r)]
        self._live_rules: dict[str, list] = {}
        for rule in self.rules:
            for kind in getattr(rule, "LIVE_EVENTS", ()):
                self._live_rules.setdefault(kind, []).append(rule)
        self.findings: list[Finding] = []
        self._seen: set[tuple] = set()
        self._occurrences: dict[tuple, int] = {}
        self._blocks = 0  # fed so far (the collector is released after the first)
        # Findings the live rules made while the stream was read (shown at once), by what
        # tells them apart; the final pass makes the report (finish()), and does not show
        # again a finding shown live.
        self._live: dict[tuple, Finding] = {}
        self._live_occurrences: dict[tuple, int] = {}
        # Each live finding with its device's record and that record's names then: the
        # record may be joined into another by the end (finish() checks what stands).
        self._live_made: list[tuple[Finding, Device | None, list[str]]] = []
        # finish(): the live findings by (rule, identity of the record their device is now)
        self._live_now: dict[tuple[str, str], list[Finding]] = {}
        self._completed: list[tuple[Finding, Finding]] = []  # RunResult.completed

    # ---- input ---------------------------------------------------------------------------
    def feed_block(self, block: bytes) -> None:
        if self.live:
            # The lines this block completes arrived now (the stall check's clock).
            self.decoder.arrival = monotonic()
        self.feed_lines(self.scanner.feed(block))

    def feed_lines(self, lines, codes: list[int] | None = None) -> None:
        """The candidate lines of one block (from this scanner, or one elsewhere: see
        sources/prescan, whose ``codes`` go to the decoder with them)."""
        self._blocks += 1
        if self._blocks == 2:
            collector.release()  # a longer input: collect again (collector.py)
        self._decode(lines, codes)

    def _decode(self, lines, codes: list[int] | None = None) -> None:
        """An exception other than an I/O error is a bug (errors.py): it leaves as an
        InternalError naming this input and the line."""
        decoder = self.decoder
        decoder.line = None
        try:
            decoder.decode_lines(lines, codes)
        except OSError:
            raise  # a reader that went away (BrokenPipeError) is not a bug of ours
        except InternalError as exc:  # a rule's, run on this line's event
            if exc.line is None:
                exc.line = decoder.line
            raise
        except Exception as exc:
            raise InternalError(self.path, decoder.line, exc) from exc

    def close_input(self) -> None:
        self._decode(self.scanner.close())
        self._decode(self._finish_decoder())
        model = self.builder.model
        model.lines = self.scanner.lines
        model.bytes = self.scanner.bytes
        model.truncated_last_line = self.scanner.truncated_last_line
        model.records = self.decoder.records
        model.invalid_utf8_lines = self.decoder.invalid_utf8_lines
        # A mailed log's quoted-printable stretches undone (sources/quoted.py)
        model.soft_breaks_joined = self.scanner.quoted.soft_breaks
        model.escapes_decoded = self.scanner.quoted.escapes
        if self.scanner.cut_lines:
            over(model).count("unsearched", self.scanner.cut_lines)
        nul = self.scanner.nul_bytes
        if nul >= BINARY_NUL_BYTES and nul * 1000 >= model.bytes:
            over(model).count("binary", nul)
        elif nul:
            # Fewer than binary data has: each left out of its line's text, counted so
            # that nothing read is dropped unsaid.
            over(model).count("nul", nul)

    def _finish_decoder(self):
        """No line: reads what the decoder still holds (a QEMU message broken over lines
        whose last line was the input's), inside _decode's error handling."""
        self.decoder.finish()
        return iter(())

    def feed_all(self, blocks: Iterable[bytes]) -> None:
        for block in blocks:
            self.feed_block(block)
        self.close_input()

    def feed_event(self, event: Event) -> None:
        device = self.builder.feed(event)
        if self.on_event is not None:
            self.on_event(event)
        if self.live:
            rules = self._live_rules.get(event.kind)
            if rules:
                ctx = Context(self.builder.model, [device] if device else [],
                              {}, final=False)
                for rule in rules:
                    ctx.options = self.settings.options_for(rule)
                    self._run_rule(rule, ctx, live=True)

    # ---- rules ---------------------------------------------------------------------------
    def check_stalls(self, now_seq_time: float, timeout: float) -> None:
        """Live: report devices whose handshake made no progress for ``timeout`` seconds."""
        from virtiodiag.rules import get_rule

        rule = get_rule("handshake-incomplete")
        if rule is None or not self.settings.enabled(rule):
            return
        ctx = Context(self.builder.model, self.builder.model.live_devices(),
                      dict(self.settings.options_for(rule), stall_now=now_seq_time,
                           stall_timeout=timeout), final=False)
        self._run_rule(rule, ctx)

    def _run_rule(self, rule, ctx: Context, live: bool = False) -> None:
        try:
            hits = list(rule.check(ctx))
        except Exception as exc:
            # A rule's bug is loud (errors.py): a gate must not pass because a check broke.
            raise InternalError(self.path, None, exc, f"rule {rule.CODE}") from exc
        for hit in hits:
            self._emit(rule, hit, live)

    def _emit(self, rule, hit: Hit, live: bool = False) -> None:
        device = hit.device
        identity = device.identity if device else "run"
        line = hit.event.line if hit.event else None
        # One finding: same rule, device and key; or, for a finding of the run (no
        # device), same rule, line and key; or (a live finding and its final version)
        # same rule, device and line. One line may be the evidence for two devices (a
        # command line's force_legacy): each has its finding.
        same = [(rule.CODE, identity, hit.key), (rule.CODE, line, hit.key) if line else None,
                (rule.CODE, identity, "line", line) if line else None]
        keys = [key for key in same if key is not None]
        if live:
            if any(key in self._live for key in keys):
                return
        else:
            if keys[0] in self._seen or (line and device is None and keys[1] in self._seen):
                return
            self._seen.update(keys[:2])
        severity = severity_of(rule, hit, self.settings)
        shown = next((self._live[key] for key in keys if key in self._live), None)
        if not live:
            if shown is None:  # shown live for a record since joined into this device
                # (the same line: a finding of another line is another finding)
                shown = next((f for f in self._live_now.get((rule.CODE, identity), ())
                              if f.severity == severity and f.line == line), None)
            elif shown.severity != severity:
                shown = None  # the final pass settled it otherwise: shown as it now is
        # Live findings are numbered apart: the final pass numbers as a file's does.
        counts = self._live_occurrences if live else self._occurrences
        occurrence = counts.get((rule.CODE, identity), 0) + 1
        counts[(rule.CODE, identity)] = occurrence
        finding = Finding(
            rule=rule.CODE, name=rule.NAME, severity=severity,
            device=device.id if device else "-", path=self.path, line=line,
            message=hit.message, hint=hit.hint,
            fingerprint=fingerprint(rule.CODE, identity, self.artifact, hit.key, occurrence),
            related=[{"line": e.line, "what": what, "text": e.text} for e, what in hit.related
                     if e is not None],
            evidence=hit.event.text if hit.event else "",
            spec=getattr(rule, "SPEC", ""),
            time=hit.event.time if hit.event else None,
            device_identity=identity,
        )
        if live:
            for key in keys:
                self._live[key] = finding
            self._live_made.append((finding, device, list(device.aliases) if device else []))
        else:
            self.findings.append(finding)
            if shown is not None and _says_more(shown, finding, device):
                self._completed.append((shown, finding))
        if self.on_finding is not None and shown is None:
            self.on_finding(finding)

    def finish(self) -> RunResult:
        try:
            model = self.builder.finish()
        except Exception as exc:
            raise InternalError(self.path, None, exc, "the end-of-input joining") from exc
        identities = self.builder.identities
        for finding, record, names in self._live_made:
            device = identities.now(record, names) if record is not None else None
            identity = device.identity if device is not None else "run"
            self._live_now.setdefault((finding.rule, identity), []).append(finding)
        ctx = Context(model, model.live_devices(), {}, final=True)
        for rule in self.rules:
            ctx.options = self.settings.options_for(rule)
            self._run_rule(rule, ctx)
        # The report is the final pass's, as for the same bytes in a file: what the live
        # checks showed while reading was said with part of the log (a device not joined
        # to its other names yet, a legacy guess the driver's later lines settle); each
        # rule's final check sees all of it again.
        self.findings.sort(key=lambda f: (f.line or 0, f.rule))
        withdrawn = self._withdrawn()
        gone = {id(item.finding) for item in withdrawn}
        completed = sorted(((shown, final) for shown, final in self._completed
                            if id(shown) not in gone), key=lambda p: (p[1].line or 0, p[1].rule))
        return RunResult(self.path, model, self.findings, withdrawn=withdrawn,
                         completed=completed)

    def _withdrawn(self) -> list[Withdrawal]:
        """The live findings the final pass does not make, each with why (a live finding is
        never contradicted silently). Per rule and device as it is at the end: each final
        finding bears out the live finding of its severity on its line (and is not shown
        again; a final finding of another line was shown at the end, as a new one); a
        further one shown for another record of that device is the same finding; any
        other does not stand (the final one, if any, is shown as it now is)."""
        withdrawn = []
        for (code, identity), shown in self._live_now.items():
            final = sorted((f for f in self.findings
                            if f.rule == code and f.device_identity == identity),
                           key=lambda f: -severity_rank(f.severity))
            device = next((f.device for f in final), None)
            if device is None:
                device = next((d.id for d in self.builder.model.live_devices()
                               if d.identity == identity), "-")
            pool = list(final)
            borne: Finding | None = None  # the first live finding a final one bore out
            for finding in shown:
                match = next((f for f in pool if f.severity == finding.severity
                              and f.line == finding.line), None)
                if match is not None:
                    pool.remove(match)
                    borne = borne or finding
                    continue
                if borne is not None and borne.severity == finding.severity:
                    withdrawn.append(Withdrawal(finding, device, None, same_as=borne))
                    continue
                withdrawn.append(Withdrawal(finding, device, final[0] if final else None))
        withdrawn.sort(key=lambda w: (w.finding.line or 0, w.finding.rule))
        return withdrawn


def _says_more(shown: Finding, final: Finding, device: Device | None) -> bool:
    """Whether the final pass words a live finding otherwise than its device's name: the
    name it had when shown (virtio0, qemu-dev1) and its type then unknown ('virtio')
    become the record's they were joined into. Only the first mention is the rule's own:
    the log's text quoted after it keeps the name the line printed ('virtio_gpu virtio0:')."""
    said = shown.message
    if shown.device not in ("-", final.device):
        said = said.replace(shown.device, final.device, 1)
    if device is not None and device.device_type:
        said = said.replace(f"{final.device} (virtio)", f"{final.device} ({device.device_type})",
                            1)
    return said != final.message


def severity_of(rule, hit: Hit, settings: RuleSettings) -> str:
    """A hit's severity: the configuration's for its rule, else the hit's, else the rule's."""
    configured = settings.severities.get(rule.CODE)
    return configured or hit.severity or rule.SEVERITY


def add_run_findings(result: RunResult, rule, options: dict,
                     settings: RuleSettings | None = None) -> None:
    """Run ``rule`` once more over a finished run with ``options`` (a fact about the other
    runs, such as VD023's), adding what it finds to the run's findings."""
    settings = settings or RuleSettings()
    if not settings.enabled(rule):
        return
    analysis = Analysis.__new__(Analysis)
    analysis.path = result.path
    analysis.artifact = os.path.basename(result.path) if result.path != "-" else "<stdin>"
    analysis.settings = settings
    analysis.findings, analysis._seen, analysis._occurrences = [], set(), {}
    analysis._live, analysis._live_occurrences, analysis._live_made = {}, {}, []
    analysis._live_now, analysis._completed = {}, []
    analysis.on_finding = None
    ctx = Context(result.model, result.model.live_devices(), dict(settings.options_for(rule),
                                                                  **options), final=True)
    analysis._run_rule(rule, ctx)
    result.findings = sorted(result.findings + analysis.findings,
                             key=lambda f: (f.line or 0, f.rule))


def analyse_blocks(path: str, blocks: Iterable[bytes], dialects: DialectSet,
                   settings: RuleSettings | None = None) -> RunResult:
    analysis = Analysis(path, dialects, settings)
    analysis.feed_all(blocks)
    return analysis.finish()
