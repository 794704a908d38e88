"""Comparing two runs: per device (matched by identity), where their handshakes diverge.

A device's handshake is reduced to an ordered list of comparable steps: status writes
(repeated identical writes collapsed), features offered/accepted/refused, queue set-up
(index, size, ready: never ring addresses, which change every boot) and IRQ set-up
(mode, vector, never the IRQ number). The first step where the two lists differ is the
device's first divergence. Besides the steps: IRQ set-up timing against DRIVER_OK, test
verdicts, and findings present in one run only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from virtiodiag import spec

ASPECTS = ("devices", "status", "features", "queues", "irq", "irq-timing", "tests", "findings")


@dataclass
class Step:
    aspect: str
    label: str
    line: int | None


@dataclass
class Divergence:
    device: str  # identity, or "run" for run-level differences
    aspect: str
    message: str
    line_a: int | None = None
    line_b: int | None = None


@dataclass
class DeviceDiff:
    identity: str
    a: object | None  # Device
    b: object | None
    steps_a: list[Step] = field(default_factory=list)
    steps_b: list[Step] = field(default_factory=list)
    divergences: list[Divergence] = field(default_factory=list)
    first_step: int | None = None  # index of the first differing step


@dataclass
class RunDiff:
    a: object  # RunResult
    b: object
    devices: list[DeviceDiff]
    run_divergences: list[Divergence]

    @property
    def divergences(self) -> list[Divergence]:
        found = [d for device in self.devices for d in device.divergences]
        return found + self.run_divergences

    @property
    def identical(self) -> bool:
        return not self.divergences

    def first(self) -> Divergence | None:
        """The earliest divergence: the one seen first in run A (then in run B)."""
        found = self.divergences
        if not found:
            return None
        return min(found, key=lambda d: (d.line_a is None, d.line_a or 0,
                                         d.line_b is None, d.line_b or 0))


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
        text = " ".join(str(p) for p in (kind.replace("_", " "), mode, vector) if p)
        if event.get("failed"):
            text += " FAILED"
        return Step("irq", text, event.line)
    return None


def steps(device) -> list[Step]:
    """The device's comparable handshake steps, in log order."""
    out: list[Step] = []
    for event in device.timeline:
        step = _step(event)
        if step is None:
            continue
        if out and out[-1].aspect == step.aspect and out[-1].label == step.label:
            continue  # a repeated identical write (QEMU's resets at machine reset)
        out.append(step)
    return out


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


def _compare_steps(diff: DeviceDiff) -> None:
    a, b = diff.steps_a, diff.steps_b
    for index in range(max(len(a), len(b))):
        left = a[index] if index < len(a) else None
        right = b[index] if index < len(b) else None
        if left is not None and right is not None and left.label == right.label:
            continue
        aspect = (left or right).aspect
        diff.first_step = index
        what_a = f"{left.label} (line {left.line})" if left else "nothing more"
        what_b = f"{right.label} (line {right.line})" if right else "nothing more"
        diff.divergences.append(Divergence(
            diff.identity, aspect,
            f"{diff.identity}: {aspect} step {index + 1}: A has {what_a}, B has {what_b}",
            left.line if left else None, right.line if right else None))
        return


def _findings_by_device(result) -> dict[str, dict[tuple[str, str], object]]:
    out: dict[str, dict[tuple[str, str], object]] = {}
    for finding in result.findings:
        out.setdefault(finding.device_identity, {}).setdefault((finding.rule, finding.name),
                                                                finding)
    return out


def diff_runs(a, b) -> RunDiff:
    devices_a = {d.identity: d for d in a.model.live_devices()}
    devices_b = {d.identity: d for d in b.model.live_devices()}
    order = list(devices_a) + [i for i in devices_b if i not in devices_a]
    findings_a, findings_b = _findings_by_device(a), _findings_by_device(b)
    diffs = []
    for identity in order:
        left, right = devices_a.get(identity), devices_b.get(identity)
        diff = DeviceDiff(identity, left, right,
                          steps(left) if left else [], steps(right) if right else [])
        if left is None or right is None:
            present = left or right
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
            timing_a, timing_b = irq_timing(left), irq_timing(right)
            if timing_a[0] != timing_b[0]:
                diff.divergences.append(Divergence(
                    identity, "irq-timing",
                    f"{identity}: IRQ set-up {timing_a[0]} in A, {timing_b[0]} in B",
                    left.irq_events[0].line if left.irq_events else None,
                    right.irq_events[0].line if right.irq_events else None))
        only_a = findings_a.get(identity, {})
        only_b = findings_b.get(identity, {})
        for key in sorted(set(only_a) ^ set(only_b)):
            finding = only_a.get(key) or only_b.get(key)
            side = "A" if key in only_a else "B"
            diff.divergences.append(Divergence(
                identity, "findings",
                f"{identity}: {key[0]} {key[1]} only in run {side}: {finding.message}",
                finding.line if side == "A" else None, finding.line if side == "B" else None))
        diffs.append(diff)
    run_level = []
    tests_a = {e.get("test"): (e.get("verdict"), e.line) for e in a.model.tests}
    tests_b = {e.get("test"): (e.get("verdict"), e.line) for e in b.model.tests}
    for name in list(tests_a) + [t for t in tests_b if t not in tests_a]:
        va, vb = tests_a.get(name), tests_b.get(name)
        if (va and va[0]) != (vb and vb[0]):
            run_level.append(Divergence(
                "run", "tests",
                f"test {name}: {va[0] if va else 'absent'} in A, {vb[0] if vb else 'absent'} in B",
                va[1] if va else None, vb[1] if vb else None))
    known = set(findings_a) | set(findings_b)
    for identity in sorted(known - set(order)):  # run-level findings
        only_a, only_b = findings_a.get(identity, {}), findings_b.get(identity, {})
        for key in sorted(set(only_a) ^ set(only_b)):
            finding = only_a.get(key) or only_b.get(key)
            side = "A" if key in only_a else "B"
            run_level.append(Divergence(
                "run", "findings", f"{key[0]} {key[1]} only in run {side}: {finding.message}",
                finding.line if side == "A" else None, finding.line if side == "B" else None))
    return RunDiff(a, b, diffs, run_level)


# ---- rendering ---------------------------------------------------------------------------
def _summary_rows(left, right) -> list[list[str]]:
    def seq(device):
        if device is None:
            return "-"
        values = []
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


def render_text(diff: RunDiff, stream, palette=None) -> None:
    from tabulate import tabulate

    from virtiodiag.reports.escape import safe

    paint = palette.paint if palette is not None else (lambda text, *a, **k: text)
    stream.write(f"A: {safe(diff.a.path)}\nB: {safe(diff.b.path)}\n")
    for device in diff.devices:
        name = (device.a or device.b).id
        stream.write("\n" + paint(f"{safe(name)} ({safe(device.identity)})", bright=True)
                     + "\n")
        rows = []
        for label, va, vb in _summary_rows(device.a, device.b):
            mark = "" if va == vb else "<>"
            rows.append([label, safe(str(va), 80), safe(str(vb), 80), mark])
        stream.write(tabulate(rows, headers=["", "A", "B", ""]) + "\n")
        index = device.first_step
        if index is not None:
            width = max(len(device.steps_a), len(device.steps_b))
            lo, hi = max(0, index - 3), min(width, index + 4)
            side = []
            for i in range(lo, hi):
                sa = device.steps_a[i] if i < len(device.steps_a) else None
                sb = device.steps_b[i] if i < len(device.steps_b) else None
                side.append([i + 1,
                             f"{sa.line}: {safe(sa.label, 60)}" if sa else "",
                             f"{sb.line}: {safe(sb.label, 60)}" if sb else "",
                             "<-- first divergence" if i == index else ""])
            stream.write("handshake steps around the divergence:\n")
            stream.write(tabulate(side, headers=["step", "A (line: step)", "B (line: step)", ""])
                         + "\n")
        for divergence in device.divergences:
            stream.write(f"  {divergence.aspect}: {safe(divergence.message)}\n")
    if diff.run_divergences:
        stream.write("\nrun:\n")
        for divergence in diff.run_divergences:
            stream.write(f"  {divergence.aspect}: {safe(divergence.message)}\n")
    first = diff.first()
    stream.write("\n")
    if first is None:
        stream.write("identical: same devices, status sequences, features, queue set-up, "
                     "IRQ set-up, test verdicts and findings\n")
    else:
        stream.write(paint("first divergence", "RED", bright=True)
                     + f": {first.aspect}: {safe(first.message)}\n")
        stream.write(f"{len(diff.divergences)} difference(s)\n")


def diff_dict(diff: RunDiff) -> dict:
    def step_list(items):
        return [{"aspect": s.aspect, "step": s.label, "line": s.line} for s in items]

    def div(d):
        return {"device": d.device, "aspect": d.aspect, "message": d.message,
                "line_a": d.line_a, "line_b": d.line_b}

    first = diff.first()
    return {
        "schema": "virtiodiag/diff/v1",
        "a": diff.a.path, "b": diff.b.path,
        "identical": diff.identical,
        "first_divergence": div(first) if first else None,
        "devices": [{"identity": d.identity, "in_a": d.a is not None, "in_b": d.b is not None,
                     "steps_a": step_list(d.steps_a), "steps_b": step_list(d.steps_b),
                     "divergences": [div(x) for x in d.divergences]} for d in diff.devices],
        "run_divergences": [div(x) for x in diff.run_divergences],
    }
