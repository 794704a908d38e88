"""The pipeline: source blocks -> records -> events -> model -> findings."""

from __future__ import annotations

import os
import re
from time import monotonic
from collections.abc import Callable, Iterable

from virtiodiag.dialects import DialectSet
from virtiodiag.dialects.decoder import Caches, LineDecoder
from virtiodiag.errors import InternalError
from virtiodiag.events import Event
from virtiodiag.limits import BINARY_NUL_BYTES, LINE_BYTES, over
from virtiodiag.model import ModelBuilder
from virtiodiag.model.device import Model
from virtiodiag.options import RuleSettings
from virtiodiag.plain import Plain
from virtiodiag.rules import all_rules
from virtiodiag.rules.base import Context, Finding, Hit, fingerprint
from virtiodiag.sources import envelope as envelopes
from virtiodiag.sources import looking
from virtiodiag.sources.framing import clean, split_records, strip_prefixes
from virtiodiag.sources.scanner import LineScanner, minimal_triggers

UNRECOGNISED_SAMPLES = 50
_FLOOD = frozenset({"notify", "interrupt"})

# Dense QEMU traces (-msg timestamp=on) repeat a few record texts behind a prefix that
# changes every line. The outcome of a line (record text, payload, unrecognised or not)
# depends only on what follows the prefix, so it is memoised by those bytes: a repeated
# trace line then costs one regex match and two dict look-ups. The memo is filled by the
# ordinary path (the grammars stay the only source of meaning) and only for lines that
# path handled as "QEMU time prefix + one plain record" (see Analysis._remember_shape).
# The memo, like every cache of parse results, belongs to the LineDecoder
# (dialects/decoder.py).
_QEMU_TID_B = re.compile(rb"\d{1,19}@(\d{1,19}\.\d{1,9}):")  # as framing._QEMU_TID


class RunResult(Plain):
    FIELDS = ("path", "model", "findings", "error")

    def __init__(self, path: str, model: Model, findings: list[Finding], error: str | None = None):
        self.path = path
        self.model = model
        self.findings = findings
        self.error = error


class Analysis:
    """Analyses one run (one file or one stream)."""

    def __init__(self, path: str, dialects: DialectSet, settings: RuleSettings | None = None,
                 live: bool = False, on_finding: Callable[[Finding], None] | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 caches: Caches | None = None):
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
        self.decoder = LineDecoder(dialects, caches)
        self.rules = [r for r in all_rules() if self.settings.enabled(r)]
        self._live_rules: dict[str, list] = {}
        for rule in self.rules:
            for kind in getattr(rule, "LIVE_EVENTS", ()):
                self._live_rules.setdefault(kind, []).append(rule)
        self.findings: list[Finding] = []
        self._seen: set[tuple] = set()
        self._occurrences: dict[tuple, int] = {}
        self._seq = 0
        # Repeated notify/interrupt lines may be counted without an Event (see
        # ModelBuilder.flood) unless someone watches every event as it happens.
        self._floods = not live and on_event is None
        self._joined_line = 0  # a CRI continuation already joined to its partial line

    # ---- input ---------------------------------------------------------------------------
    def feed_block(self, block: bytes) -> None:
        self.feed_lines(self.scanner.feed(block))

    def feed_lines(self, lines) -> None:
        """Candidate lines (from this scanner, or one elsewhere: see sources/prescan).

        An exception other than an I/O error is a bug (errors.py): it leaves as an
        InternalError naming this input and the line."""
        line_no = None
        try:
            for line_no, raw, following in lines:
                self._line(line_no, raw, following)
        except OSError:
            raise  # a reader that went away (BrokenPipeError) is not a bug of ours
        except InternalError as exc:  # a rule's, run on this line's event
            if exc.line is None:
                exc.line = line_no
            raise
        except Exception as exc:
            raise InternalError(self.path, line_no, exc) from exc

    def close_input(self) -> None:
        self.feed_lines(self.scanner.close())
        model = self.builder.model
        model.lines = self.scanner.lines
        model.bytes = self.scanner.bytes
        model.truncated_last_line = self.scanner.truncated_last_line
        nul = self.scanner.nul_bytes
        if nul >= BINARY_NUL_BYTES and nul * 1000 >= model.bytes:
            over(model).count("binary", nul)

    def feed_all(self, blocks: Iterable[bytes]) -> None:
        for block in blocks:
            self.feed_block(block)
        self.close_input()

    def _line(self, line_no: int, raw: bytes, following: bytes | None) -> None:
        if len(raw) > LINE_BYTES:
            # Only a line's first 64 KiB are read (counted): time stays linear and bounded
            # per line, whatever a guest prints. Cut at a character boundary.
            raw = _cut(raw)
            over(self.builder.model).count("lines", line=line_no, text=clean(raw[:300]))
        if following is not None and len(following) > LINE_BYTES:
            following = _cut(following)
        tid = _QEMU_TID_B.match(raw)
        if tid is not None:
            shape = self.decoder.known_line(raw[tid.end():])
            if shape is not None:
                payload = shape[1]
                if (payload is not None and payload.kind in _FLOOD and self._floods
                        and self.builder.flood(payload, line_no)):
                    self.builder.model.records += 1
                    return
                self._known_shape(line_no, shape, float(tid.group(1)))
                return
        model = self.builder.model
        text = clean(raw)
        if "\ufffd" in text:
            model.invalid_utf8_lines += 1
        envelope = None
        # JSON line or CRI record? (sources/envelope.py; inlined: every line takes it)
        if text[:1] == "{" or (text[10:11] == "T" and text[4:5] == "-"):
            if line_no == self._joined_line:
                return  # the rest of a partial CRI line, read with it
            envelope = envelopes.unwrap(text)
            if envelope is not None:
                text = self._unwrapped_text(line_no, envelope, following)
                following = None  # a wrapped line's next line is wrapped too
        records = split_records(text)
        if envelope is not None and envelope.time is not None:
            for record in records:
                if record.time is None:
                    record.time, record.clock = envelope.time, "wall"
        payload = None
        # VD016 counts lines, not the records of a split line: the line's first record no
        # grammar read, and its first one shaped like a virtio message (sources/looking.py)
        unrecognised: str | None = None
        message: str | None = None
        for index, record in enumerate(records):
            body = record.text
            if record.fragment and following is not None and index == 0:
                # The guest's unfinished line continues after the QEMU record.
                cont = clean(following)
                if cont and not cont.startswith(("[", "virtio_")) and "@" not in cont[:12]:
                    body = body + cont
            if not body:
                continue
            model.records += 1
            # One string per distinct record text: events kept in timelines share it.
            body = self.decoder.intern(body)
            payload = self.decoder.parse(body)
            if payload is None:
                refused = self.dialects.refused  # a value wider than its field
                if refused or looking.looks_virtio(body):
                    unrecognised = unrecognised or body
                    if message is None and (refused or looking.looks_virtio_message(body)):
                        message = body
                continue
            self._seq += 1
            event = Event(payload, self.path, line_no, body, record.time, record.clock, self._seq)
            if self.live:
                event.arrival = monotonic()
            self.feed_event(event)
        if unrecognised is not None:
            model.note_unrecognised(line_no, unrecognised, message, UNRECOGNISED_SAMPLES)
        if tid is not None and len(records) == 1:
            self._remember_shape(raw, tid, text, records[0], payload)

    def _unwrapped_text(self, line_no: int, envelope, following: bytes | None) -> str:
        """The console text inside an envelope (sources/envelope.py), cleaned like a raw
        line; a partial CRI line is joined with its continuation (the next line)."""
        text = envelope.text
        if envelope.partial and following is not None:
            rest = envelopes.cri_continuation(clean(following), envelope.stream)
            if rest is not None:
                text += rest
                self._joined_line = line_no + 1
        if not text.isprintable():
            text = clean(text.encode("utf-8", "replace"))
        return text

    def _remember_shape(self, raw: bytes, tid, text: str, record, payload) -> None:
        """Memoise a QEMU-prefixed line whose meaning does not depend on its prefix.

        Only when: ``clean`` changed nothing (no CR, escape, control or invalid UTF-8, so
        it changes nothing for any prefix either), the text after the prefix carries no
        time of its own (so the prefix's time is the record's), and it is one plain,
        non-empty record (no fragment, so the following line does not matter).
        """
        rest = raw[tid.end():]
        if (record.fragment or not record.text
                or record.clock != "host" or "\ufffd" in text):
            return
        try:
            if text != raw.decode("utf-8"):
                return
        except UnicodeDecodeError:
            return
        body, inner_time, inner_clock = strip_prefixes(text[tid.end():])
        if inner_time is not None or inner_clock is not None or body != record.text:
            return
        # None: understood or not about virtio; else: shaped like a virtio message or not
        refused = self.dialects.refused  # a value wider than its field: not understood
        unrecognised = ((refused or looking.looks_virtio_message(body))
                        if payload is None and (refused or looking.looks_virtio(body))
                        else None)
        self.decoder.remember_line(rest, (body, payload, unrecognised))

    def _known_shape(self, line_no: int, shape: tuple, time: float) -> None:
        """The ordinary path's outcome for a memoised line (see _remember_shape)."""
        body, payload, unrecognised = shape
        model = self.builder.model
        model.records += 1
        if payload is None:
            if unrecognised is not None:
                model.note_unrecognised(line_no, body, body if unrecognised else None,
                                        UNRECOGNISED_SAMPLES)
            return
        self._seq += 1
        event = Event(payload, self.path, line_no, body, time, "host", self._seq)
        if self.live:
            event.arrival = monotonic()
        self.feed_event(event)

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
                    self._run_rule(rule, ctx)

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

    def _run_rule(self, rule, ctx: Context) -> None:
        try:
            hits = list(rule.check(ctx))
        except Exception as exc:
            # A rule's bug is loud (errors.py): a gate must not pass because a check broke.
            raise InternalError(self.path, None, exc, f"rule {rule.CODE}") from exc
        for hit in hits:
            self._emit(rule, hit)

    def _emit(self, rule, hit: Hit) -> None:
        device = hit.device
        identity = device.identity if device else "run"
        dedupe = (rule.CODE, identity, hit.key)
        line = hit.event.line if hit.event else None
        if dedupe in self._seen or ((rule.CODE, line, hit.key) in self._seen and line):
            return
        self._seen.add(dedupe)
        if line:
            self._seen.add((rule.CODE, line, hit.key))
        occurrence = self._occurrences.get((rule.CODE, identity), 0) + 1
        self._occurrences[(rule.CODE, identity)] = occurrence
        severity = hit.severity or self.settings.severities.get(rule.CODE) or rule.SEVERITY
        if rule.CODE in self.settings.severities:
            severity = self.settings.severities[rule.CODE]
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
        self.findings.append(finding)
        if self.on_finding is not None:
            self.on_finding(finding)

    def finish(self) -> RunResult:
        try:
            model = self.builder.finish()
        except Exception as exc:
            raise InternalError(self.path, None, exc, "the end-of-input joining") from exc
        ctx = Context(model, model.live_devices(), {}, final=True)
        for rule in self.rules:
            ctx.options = self.settings.options_for(rule)
            self._run_rule(rule, ctx)
        self.findings.sort(key=lambda f: (f.line or 0, f.rule))
        return RunResult(self.path, model, self.findings)


def needs_following(raw: bytes) -> bool:
    """Whether a line's meaning depends on the line after it (Analysis._line joins them):
    an unfinished console line cut by a QEMU record, or a partial CRI record."""
    text = clean(raw[:LINE_BYTES])
    if text[:1] == "{" or (text[10:11] == "T" and text[4:5] == "-"):
        envelope = envelopes.unwrap(text)
        if envelope is not None:
            return bool(envelope.partial)
    records = split_records(text)
    return bool(records) and records[0].fragment


def _cut(raw: bytes) -> bytes:
    """The first LINE_BYTES of a line, not splitting a UTF-8 character."""
    end = LINE_BYTES
    while end > LINE_BYTES - 4 and raw[end] & 0xC0 == 0x80:
        end -= 1
    return raw[:end]


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
