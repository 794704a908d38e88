"""Comparing two runs: where their handshakes diverge, and the line of it in each log.

Each run is walked once in log order. Every device's events become comparable steps:
attach, status writes (repeated identical writes collapsed), features offered/accepted/
refused, queue set-up (index, size, ready: never ring addresses, which change every boot)
and IRQ set-up/enable (mode, vector, handler: the IRQ number is shown, not compared). Each
step also records where the other devices were when it happened (not attached yet,
mid-init at some step, at DRIVER_OK, reset, failed).

Divergences, the first one first:
1. a device present in one run only;
2. a device whose own steps differ (the first differing step), and an IRQ set-up or enable
   that happened at another point of the other devices' handshakes ("B line 23: IRQ 48 set
   up before virtio-net1 attached; in A after all devices reached DRIVER_OK, line 37");
   among these, the earliest in B's log;
3. IRQ set-up before/after the device's own DRIVER_OK, a handshake slower or faster than
   the tolerance;
4. any other step at another point of the other devices' handshakes (often the
   scheduling of concurrent driver tasks);
5. findings present in one run only.
What the runs are (their test names and verdicts, timings within the tolerance) is
context, reported beside the divergences but never one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from virtiodiag import spec

if TYPE_CHECKING:
    from virtiodiag.analysis import RunResult
    from virtiodiag.model.device import Device
    from virtiodiag.rules.base import Finding

RANK = {"devices": 0, "status": 1, "features": 1, "queues": 1, "irq": 1, "irq-order": 1,
        "irq-timing": 2, "timing": 2, "order": 3, "findings": 4}
DEFAULT_TOLERANCE = 0.5  # a handshake duration within +-50 % (or 1 ms) is the same
MIN_TOLERANCE_S = 0.001


@dataclass
class Step:
    aspect: str
    label: str
    line: int | None
    key: str = ""  # what is compared ("" = the label)
    others: dict = field(default_factory=dict)  # other device -> (state, step) then
    text: str = ""


@dataclass
class Divergence:
    device: str  # identity, or "run" for run-level differences
    aspect: str
    message: str
    line_a: int | None = None
    line_b: int | None = None

    @property
    def rank(self) -> int:
        return RANK.get(self.aspect, 5)


@dataclass
class DeviceDiff:
    identity: str
    a: Device | None
    b: Device | None
    steps_a: list[Step] = field(default_factory=list)
    steps_b: list[Step] = field(default_factory=list)
    divergences: list[Divergence] = field(default_factory=list)
    first_step: int | None = None  # index of the first differing step


@dataclass
class RunDiff:
    a: RunResult
    b: RunResult
    devices: list[DeviceDiff]
    run_divergences: list[Divergence]
    context: list[Divergence] = field(default_factory=list)  # not divergences
    tolerance: float = DEFAULT_TOLERANCE

    @property
    def divergences(self) -> list[Divergence]:
        found = [d for device in self.devices for d in device.divergences]
        found += self.run_divergences
        return sorted(found, key=_order)

    @property
    def identical(self) -> bool:
        return not self.divergences

    def first(self) -> Divergence | None:
        """The divergence that matters: by rank (see the module's docstring), then the
        earliest in run B (then in run A)."""
        found = self.divergences
        return found[0] if found else None


def _order(d: Divergence) -> tuple:
    line = d.line_b if d.line_b is not None else d.line_a
    return (d.rank, line is None, line or 0, d.line_a or 0)


def _hex(value) -> str:
    if value is None:
        return "-"
    return f"0x{value:x}" if isinstance(value, int) else str(value)


def _step(event) -> Step | None:
    kind = event.kind
    if kind in ("status_write", "reset"):
        value = event.get("status")
        if kind == "reset":
            value = 0
        if isinstance(value, int):
            return Step("status", f"status 0x{value:02x} {spec.status_names(value)}", event.line)
        bit = event.get("bit")
        return Step("status", f"status +{bit}" if bit else "status write", event.line)
    if kind == "device_bind":
        return Step("devices", "attached", event.line)
    if kind in ("features_offered", "features_accepted"):
        word = event.get("word")
        which = kind.split("_")[1]
        text = f"features {which} {_hex(event.get('features'))}"
        if word is not None:
            text += f" (word {word})"
        return Step("features", text, event.line)
    if kind == "features_refused":
        return Step("features", "features refused (FEATURES_OK not kept)", event.line)
    if kind in ("queue_config", "queue_ready"):
        parts = [f"queue {event.get('queue', '?')}"]
        if event.get("size") is not None:
            parts.append(f"size {event.get('size')}")
        if event.get("ready") is not None:
            parts.append(f"ready {event.get('ready')}")
        if len(parts) == 1:
            return None  # only addresses: they differ every boot
        return Step("queues", " ".join(parts), event.line)
    if kind in ("irq_setup", "irq_enable"):
        mode = event.get("mode") or event.payload.detail or ""
        vector = event.get("vector_name") or event.get("vector") or event.get("handler") or ""
        key = " ".join(str(p) for p in (kind.replace("_", " "), mode, vector) if p)
        if event.get("failed"):
            key += " FAILED"
        irq = event.get("irq")
        verb = "enabled" if kind == "irq_enable" else "set up"
        label = f"IRQ {irq} {verb}" if irq is not None else f"IRQ {verb}"
        if vector or mode:
            label += f" ({' '.join(str(p) for p in (mode, vector) if p)})"
        return Step("irq", label + (" FAILED" if event.get("failed") else ""), event.line,
                    key=key)
    return None


def _key(step: Step) -> str:
    return step.key or step.label


class _Walk:
    """One run walked in log order: every device's steps, each with where the other
    devices were at that moment."""

    def __init__(self, result, identities: set[str]):
        from virtiodiag.reports.view import held_events

        devices = result.model.live_devices()
        self.names = {d.identity: d.id for d in devices}
        self.steps: dict[str, list[Step]] = {i: [] for i in identities}
        state: dict[str, tuple[str, str]] = dict.fromkeys(identities, ("absent", ""))
        # The device an event belongs to after the end-of-run joining (an event's
        # device_key is the identity it had when it was read).
        owner: dict[int, str] = {}
        for device in devices:
            for event in list(device.timeline) + list(device.irq_events):
                owner[id(event)] = device.identity
        for event in held_events(result.model):
            identity = owner.get(id(event))
            if identity not in self.steps:
                continue
            step = _step(event)
            if step is None:
                continue
            step.text = event.text
            step.others = {i: s for i, s in state.items() if i != identity}
            state[identity] = _next_state(state[identity], event, step)
            own = self.steps[identity]
            if own and own[-1].aspect == step.aspect and own[-1].label == step.label:
                continue  # a repeated identical write (QEMU's resets at machine reset)
            own.append(step)


def _next_state(current: tuple[str, str], event, step: Step) -> tuple[str, str]:
    if step.aspect == "devices":
        return ("mid-init", "attached") if current[0] == "absent" else current
    if step.aspect != "status" or event.kind not in ("status_write", "reset"):
        return current
    value = 0 if event.kind == "reset" else event.get("status")
    if not isinstance(value, int):
        return current if current[0] != "absent" else ("mid-init", step.label)
    if value & spec.FAILED:
        return ("failed", "FAILED")
    if value & spec.DRIVER_OK:
        return ("done", "DRIVER_OK")
    if value == 0:
        # A reset before any driver touched the device is no attach (QEMU resets every
        # device at machine reset); after DRIVER_OK it is a reset of a working device.
        return ("reset", "RESET") if current[0] in ("done", "failed", "mid-init") else current
    top = [name for bit, name in spec.HANDSHAKE_STEPS if value & bit]
    return ("mid-init", top[-1] if top else f"0x{value:02x}")


def _coarse(state: tuple[str, str]) -> str:
    return state[0]


def _where(others: dict, names: dict, self_done: bool) -> str:
    """Where the other devices were: 'after all devices reached DRIVER_OK', 'before
    virtio-net1 attached', 'while virtio-blk0 was at DRIVER' ..."""
    if not others:
        return "with no other device"
    if all(s[0] == "done" for s in others.values()):
        return "after all devices reached DRIVER_OK" if self_done else \
            "after all other devices reached DRIVER_OK"
    parts = []
    for identity, (state, where) in sorted(others.items()):
        name = names.get(identity, identity)
        if state == "absent":
            parts.append(f"before {name} attached")
        elif state == "mid-init":
            parts.append(f"while {name} was at {where}" if where != "attached"
                         else f"just after {name} attached")
        elif state == "reset":
            parts.append(f"after {name} was reset")
        elif state == "failed":
            parts.append(f"after {name} FAILED")
    return " and ".join(parts) or "after all other devices reached DRIVER_OK"


def _compare_steps(diff: DeviceDiff) -> None:
    a, b = diff.steps_a, diff.steps_b
    for index in range(max(len(a), len(b))):
        left = a[index] if index < len(a) else None
        right = b[index] if index < len(b) else None
        if left is not None and right is not None and _key(left) == _key(right):
            continue
        shown = left or right
        assert shown is not None  # index < the longer list
        aspect = shown.aspect
        diff.first_step = index
        what_a = f"{left.label} (line {left.line})" if left else "nothing more"
        what_b = f"{right.label} (line {right.line})" if right else "nothing more"
        diff.divergences.append(Divergence(
            diff.identity, aspect,
            f"{diff.identity}: {aspect} step {index + 1}: A has {what_a}, B has {what_b}",
            left.line if left else None, right.line if right else None))
        return


def _compare_order(diff: DeviceDiff, names_a: dict, names_b: dict, name: str) -> None:
    """Steps both runs have, at another point of the other devices' handshakes."""
    done_a = done_b = False
    for left, right in zip(diff.steps_a, diff.steps_b, strict=False):  # the shorter run ends it
        if _key(left) != _key(right):
            return  # past the first differing step the pairing means nothing
        done_a = done_a or (left.aspect == "status" and "DRIVER_OK" in left.label)
        done_b = done_b or (right.aspect == "status" and "DRIVER_OK" in right.label)
        common = set(left.others) & set(right.others)
        if all(_coarse(left.others[i]) == _coarse(right.others[i]) for i in common):
            continue
        where_a = _where({i: left.others[i] for i in common}, names_a, done_a)
        where_b = _where({i: right.others[i] for i in common}, names_b, done_b)
        aspect = "irq-order" if left.aspect == "irq" else "order"
        what = right.label if left.aspect != "irq" else right.label.split(" (")[0]
        diff.divergences.append(Divergence(
            diff.identity, aspect,
            f"B line {right.line}: {name} {what} {where_b}; in A {where_a}, "
            f"line {left.line}" if left.aspect != "irq" else
            f"B line {right.line}: {what} {where_b}; in A {where_a}, line {left.line}",
            left.line, right.line))


def irq_timing(device) -> tuple[str, float | None]:
    """Whether IRQ set-up came before or after DRIVER_OK, and by how many seconds."""
    ok = device.driver_ok_event
    irqs = device.irq_events
    if not irqs:
        return "none", None
    if ok is None:
        return "no DRIVER_OK", None
    first = irqs[0]
    where = "before DRIVER_OK" if first.seq < ok.seq else "after DRIVER_OK"
    delta = None
    if first.time is not None and ok.time is not None and first.clock == ok.clock:
        delta = first.time - ok.time
    return where, delta


def _findings_by_device(result) -> dict[str, dict[tuple[str, str], Finding]]:
    out: dict[str, dict[tuple[str, str], Finding]] = {}
    for finding in result.findings:
        out.setdefault(finding.device_identity, {}).setdefault((finding.rule, finding.name),
                                                                finding)
    return out


def _driven(result) -> set[str]:
    return {d.identity for d in result.model.live_devices()
            if d.started_handshake or d.irq_events or d.bound}


def diff_runs(a, b, tolerance: float = DEFAULT_TOLERANCE) -> RunDiff:
    from virtiodiag.runs import handshake_seconds

    devices_a = {d.identity: d for d in a.model.live_devices()}
    devices_b = {d.identity: d for d in b.model.live_devices()}
    order = list(devices_a) + [i for i in devices_b if i not in devices_a]
    walk_a, walk_b = _Walk(a, set(devices_a)), _Walk(b, set(devices_b))
    # Where the other devices were is judged only for devices both runs drove.
    watched = (_driven(a) & set(devices_b)) | (_driven(b) & set(devices_a))
    for walk in (walk_a, walk_b):
        for steps in walk.steps.values():
            for step in steps:
                step.others = {i: s for i, s in step.others.items() if i in watched}
    findings_a, findings_b = _findings_by_device(a), _findings_by_device(b)
    diffs = []
    context: list[Divergence] = []
    for identity in order:
        left, right = devices_a.get(identity), devices_b.get(identity)
        diff = DeviceDiff(identity, left, right, walk_a.steps.get(identity, []),
                          walk_b.steps.get(identity, []))
        if left is None or right is None:
            present = left or right
            assert present is not None  # the identity comes from one side at least
            line = present.first_event.line if present.first_event else None
            diff.divergences.append(Divergence(
                identity, "devices",
                f"{identity}: only in run {'A' if left else 'B'}",
                line if left else None, line if right else None))
        else:
            _compare_steps(diff)
            if not diff.divergences:
                # Features known only from elsewhere (sysfs, a console summary line).
                for which in ("offered", "accepted"):
                    va = getattr(left, f"features_{which}")
                    vb = getattr(right, f"features_{which}")
                    if va != vb:
                        ev_a = getattr(left, f"features_{which}_event")
                        ev_b = getattr(right, f"features_{which}_event")
                        diff.divergences.append(Divergence(
                            identity, "features",
                            f"{identity}: features {which} {_hex(va)} in A, {_hex(vb)} in B",
                            ev_a.line if ev_a else None, ev_b.line if ev_b else None))
                        break
            _compare_order(diff, walk_a.names, walk_b.names, right.id)
            timing_a, timing_b = irq_timing(left), irq_timing(right)
            if timing_a[0] != timing_b[0]:
                diff.divergences.append(Divergence(
                    identity, "irq-timing",
                    f"{identity}: IRQ set-up {timing_a[0]} in A, {timing_b[0]} in B",
                    left.irq_events[0].line if left.irq_events else None,
                    right.irq_events[0].line if right.irq_events else None))
            seconds_a, seconds_b = handshake_seconds(left), handshake_seconds(right)
            if seconds_a is not None and seconds_b is not None:
                allowed = max(tolerance * max(seconds_a, seconds_b), MIN_TOLERANCE_S)
                within = abs(seconds_a - seconds_b) <= allowed
                item = Divergence(
                    identity, "timing",
                    f"{right.id}: handshake {seconds_a * 1000:.3f} ms in A, "
                    f"{seconds_b * 1000:.3f} ms in B ("
                    + ("within" if within else "beyond") + f" the tolerance of "
                    f"{tolerance:.0%} or {MIN_TOLERANCE_S * 1000:g} ms)")
                (context if within else diff.divergences).append(item)
        only_a = findings_a.get(identity, {})
        only_b = findings_b.get(identity, {})
        for key in sorted(set(only_a) ^ set(only_b)):
            finding = only_a[key] if key in only_a else only_b[key]
            side = "A" if key in only_a else "B"
            diff.divergences.append(Divergence(
                identity, "findings",
                f"{identity}: {key[0]} {key[1]} only in run {side}: {finding.message}",
                finding.line if side == "A" else None, finding.line if side == "B" else None))
        diffs.append(diff)
    context[:0] = _tests_context(a, b) + _cut_context(a, b)
    run_level = []
    known = set(findings_a) | set(findings_b)
    for identity in sorted(known - set(order)):  # run-level findings
        only_a, only_b = findings_a.get(identity, {}), findings_b.get(identity, {})
        for key in sorted(set(only_a) ^ set(only_b)):
            finding = only_a[key] if key in only_a else only_b[key]
            side = "A" if key in only_a else "B"
            run_level.append(Divergence(
                "run", "findings", f"{key[0]} {key[1]} only in run {side}: {finding.message}",
                finding.line if side == "A" else None, finding.line if side == "B" else None))
    return RunDiff(a, b, diffs, run_level, context, tolerance)


def _cut_context(a, b) -> list[Divergence]:
    """A run whose last line has no newline (a log cut mid-line, a guest killed while it
    printed): what it has no more of may be where it was cut, not where it stopped."""
    return [Divergence("run", "input", f"{side}'s last line had no newline (truncated log?): "
                                       f"what {side} has no more of may have been cut off")
            for side, run in (("A", a), ("B", b)) if run.model.truncated_last_line]


def _tests_context(a, b) -> list[Divergence]:
    """What each run tested: context for the divergences, never one of them."""
    tests_a = {e.get("test"): (e.get("verdict"), e.line) for e in a.model.tests}
    tests_b = {e.get("test"): (e.get("verdict"), e.line) for e in b.model.tests}
    if not tests_a and not tests_b:
        return []
    out = []
    if set(tests_a) != set(tests_b):
        def ran(tests):
            return ", ".join(f"{name}: {verdict}" for name, (verdict, _) in tests.items()) \
                or "no test"
        out.append(Divergence("run", "tests", f"the runs ran different tests: A {ran(tests_a)}; "
                                              f"B {ran(tests_b)}"))
    for name in [t for t in tests_a if t in tests_b]:
        va, vb = tests_a[name], tests_b[name]
        if va[0] != vb[0]:
            out.append(Divergence("run", "tests", f"test {name}: {va[0]} in A, {vb[0]} in B",
                                  va[1], vb[1]))
    return out


# ---- rendering ---------------------------------------------------------------------------
def _summary_rows(left, right) -> list[list[str]]:
    def seq(device):
        if device is None:
            return "-"
        values: list[int] = []
        for value in device.status_writes:
            if not values or values[-1] != value:
                values.append(value)
        return ",".join(f"{v:x}" for v in values[-16:])

    def queues(device):
        if device is None or not device.queues:
            return "-"
        return " ".join(f"{q.index}:{q.size if q.size is not None else '?'}"
                        for q in sorted(device.queues.values(), key=lambda q: q.index))

    def timing(device):
        if device is None:
            return "-"
        where, delta = irq_timing(device)
        return where + (f" ({delta:+.6f} s)" if delta is not None else "")

    def attr(device, getter):
        return "-" if device is None else getter(device)

    return [
        ["present", "yes" if left else "no", "yes" if right else "no"],
        ["status writes", seq(left), seq(right)],
        ["reached DRIVER_OK", attr(left, lambda d: "yes" if d.reached_driver_ok else "no"),
         attr(right, lambda d: "yes" if d.reached_driver_ok else "no")],
        ["features offered", attr(left, lambda d: _hex(d.features_offered)),
         attr(right, lambda d: _hex(d.features_offered))],
        ["features accepted", attr(left, lambda d: _hex(d.features_accepted)),
         attr(right, lambda d: _hex(d.features_accepted))],
        ["queues (index:size)", queues(left), queues(right)],
        ["IRQ mode", attr(left, lambda d: d.irq_mode or "-"),
         attr(right, lambda d: d.irq_mode or "-")],
        ["IRQ set-up", timing(left), timing(right)],
    ]


def render_text(diff: RunDiff, stream, palette=None, verbose: bool = False) -> None:
    """The divergence that matters first, with its line in each log; then every
    divergence, the context (what the runs are), and each device's steps side by side
    where they differ (``verbose``: every device's comparison table)."""
    from tabulate import tabulate

    from virtiodiag.reports.escape import safe

    paint = palette.paint if palette is not None else (lambda text, *a, **k: text)
    stream.write(f"A: {safe(diff.a.path)}\nB: {safe(diff.b.path)}\n")
    first = diff.first()
    if first is None:
        stream.write(paint("identical", "GREEN", bright=True)
                     + ": same devices, handshake steps (status, features, queue set-up, "
                       "IRQ set-up) in the same order against one another, and findings\n")
    else:
        stream.write(paint("first divergence", "RED", bright=True)
                     + f": {first.aspect}: {safe(first.message)}\n")
        for side, line in (("A", first.line_a), ("B", first.line_b)):
            text = _line_text(diff, side, line)
            if text is not None:
                stream.write(f"    {side} {line:>6}  {safe(text, 160)}\n")
    found = diff.divergences
    if len(found) > 1:
        stream.write(f"\n{len(found)} divergences, the one that matters first:\n")
        shown = [d for d in found if d.aspect != "order"] + [d for d in found
                                                             if d.aspect == "order"]
        limit = len(shown) if verbose else 12
        for divergence in shown[:limit]:
            stream.write(f"  {divergence.aspect:<10} {safe(divergence.message)}\n")
        if len(shown) > limit:
            stream.write(f"  ... {len(shown) - limit} more (--verbose lists them)\n")
    if diff.context:
        stream.write("\ncontext (what the runs are, not a divergence):\n")
        for item in diff.context:
            stream.write(f"  {item.aspect:<10} {safe(item.message)}\n")
    for device in diff.devices:
        index = device.first_step
        if index is None and not verbose:
            continue
        shown_device = device.a or device.b
        assert shown_device is not None  # a device is in run A, run B or both
        name = shown_device.id
        stream.write("\n" + paint(f"{safe(name)} ({safe(device.identity)})", bright=True)
                     + "\n")
        if verbose:
            rows = []
            for label, va, vb in _summary_rows(device.a, device.b):
                mark = "" if va == vb else "<>"
                rows.append([label, safe(str(va), 80), safe(str(vb), 80), mark])
            stream.write(tabulate(rows, headers=["", "A", "B", ""]) + "\n")
        if index is not None:
            width = max(len(device.steps_a), len(device.steps_b))
            lo, hi = max(0, index - 3), min(width, index + 4)
            pairs = []
            for i in range(lo, hi):
                sa = device.steps_a[i] if i < len(device.steps_a) else None
                sb = device.steps_b[i] if i < len(device.steps_b) else None
                pairs.append([i + 1,
                              f"{sa.line}: {safe(sa.label, 60)}" if sa else "",
                              f"{sb.line}: {safe(sb.label, 60)}" if sb else "",
                              "<-- first divergence" if i == index else ""])
            stream.write("handshake steps around the divergence:\n")
            stream.write(tabulate(pairs, headers=["step", "A (line: step)", "B (line: step)", ""])
                         + "\n")
    stream.write("\n")
    if first is None:
        stream.write("the handshakes match\n")
    else:
        stream.write(f"{len(found)} difference(s): the handshakes differ\n")


def _line_text(diff: RunDiff, side: str, line: int | None) -> str | None:
    """The log text of a line, from the steps of the run (None when it is not one)."""
    if line is None:
        return None
    devices = [d.steps_a if side == "A" else d.steps_b for d in diff.devices]
    for steps in devices:
        for step in steps:
            if step.line == line and step.text:
                return step.text
    return None


def diff_dict(diff: RunDiff) -> dict:
    def step_list(items):
        return [{"aspect": s.aspect, "step": s.label, "line": s.line} for s in items]

    def div(d):
        return {"device": d.device, "aspect": d.aspect, "message": d.message,
                "line_a": d.line_a, "line_b": d.line_b}

    first = diff.first()
    return {
        "schema": "virtiodiag/diff/v2",
        "a": diff.a.path, "b": diff.b.path,
        "identical": diff.identical,
        "first_divergence": div(first) if first else None,
        "devices": [{"identity": d.identity, "in_a": d.a is not None, "in_b": d.b is not None,
                     "steps_a": step_list(d.steps_a), "steps_b": step_list(d.steps_b),
                     "divergences": [div(x) for x in d.divergences]} for d in diff.devices],
        "run_divergences": [div(x) for x in diff.run_divergences],
        "divergences": [div(x) for x in diff.divergences],
        "context": [div(x) for x in diff.context],
        "tolerance": diff.tolerance,
    }
