"""What ``virtiodiag run`` adds to a QEMU command line, and what it checks there.

Added (each only when the command does not already choose it):
- ``-trace virtio_*``: QEMU's virtio trace events (the core's status writes, queue
  notifications and interrupts, and the virtio-pci and virtio-mmio transport families,
  whose events are all named virtio_pci_* and virtio_mmio_*); not with --no-trace or
  when the command sets trace options itself (-trace, -d trace:...);
- ``-msg timestamp=on``: a host time on every trace line and QEMU message;
- ``-qmp unix:PATH,server=on,wait=off``: virtiodiag's own monitor. Once connected it
  asks QEMU (``set-action shutdown=pause``, QEMU 6.0+) to pause at the guest's power-off
  instead of exiting, so the device state can be read at the end too; virtiodiag then
  ends QEMU itself. Asked over QMP rather than with -no-shutdown on the command line, so
  a QEMU whose monitor cannot be reached still exits when the guest powers off.

Never added: a network back-end. A NIC's back-end, if any, is the user's choice; one
that can reach the network is reported (see network_warnings).
"""

from __future__ import annotations

import os
import re

_QEMU = re.compile(r"^(qemu-system-[\w.-]+|qemu-kvm|kvm)$")
TRACE_EVENTS = "virtio_*"


class QemuCommand:
    """The command line to run and what was added to it."""

    def __init__(self, argv: list[str]):
        self.original = list(argv)
        self.argv = list(argv)
        self.is_qemu = is_qemu(argv)
        self.added: list[str] = []
        self.qmp_path: str | None = None
        self.qmp_note: str | None = None  # why QEMU's own view is not asked for

    def add(self, *args: str) -> None:
        self.argv.extend(args)
        self.added.extend(args)


def is_qemu(argv: list[str]) -> bool:
    return bool(argv) and bool(_QEMU.match(os.path.basename(argv[0])))


def _options(argv: list[str]) -> list[tuple[str, str | None]]:
    """(option, value) pairs; QEMU accepts -opt and --opt alike."""
    out = []
    for index, arg in enumerate(argv[1:], start=1):
        if arg.startswith("-"):
            name = "-" + arg.lstrip("-")
            value = argv[index + 1] if index + 1 < len(argv) else None
            out.append((name.split("=", 1)[0], value))
    return out


def sets_trace(argv: list[str]) -> bool:
    for name, value in _options(argv):
        if name == "-trace":
            return True
        if name == "-d" and value and "trace:" in value:
            return True
    return False


def has_option(argv: list[str], option: str) -> bool:
    return any(name == option for name, _ in _options(argv))


def prepare(argv: list[str], trace: bool = True, qmp_path: str | None = None) -> QemuCommand:
    """The command with virtiodiag's additions (only for QEMU; other commands run as
    given). ``qmp_path``: where virtiodiag's own QMP socket goes (None: no QMP)."""
    command = QemuCommand(argv)
    if not command.is_qemu:
        command.qmp_note = "the command is not qemu-system-*: QEMU's device view not asked for"
        return command
    if trace and not sets_trace(argv):
        command.add("-trace", TRACE_EVENTS)
    if not has_option(argv, "-msg"):
        command.add("-msg", "timestamp=on")
    if qmp_path is None:
        command.qmp_note = "QMP not asked for (--no-qmp)"
    elif has_option(argv, "-qmp") or has_option(argv, "-qmp-pretty"):
        command.qmp_note = ("the command has its own QMP monitor (-qmp): virtiodiag does "
                            "not open a second one")
    else:
        command.qmp_path = qmp_path
        command.add("-qmp", f"unix:{qmp_path},server=on,wait=off")
    return command


def serial_on_stdout(argv: list[str]) -> bool:
    """Does the guest console reach stdout (-serial stdio, -nographic, a stdio chardev)?"""
    for name, value in _options(argv):
        if name == "-nographic":
            return True
        if name in ("-serial", "-chardev", "-console") and value and (
                value == "stdio" or value.startswith(("stdio,", "mon:stdio"))):
            return True
    return False


def network_warnings(argv: list[str]) -> list[str]:
    """NIC back-ends that can reach a network: anything but none or user with restrict=on."""
    warnings = []
    for name, value in _options(argv):
        if name not in ("-netdev", "-nic", "-net") or not value:
            continue
        kind = value.split(",", 1)[0]
        if kind in ("none", "nic"):
            continue
        parts = value.split(",")
        if kind == "user" and any(p in ("restrict=on", "restrict=yes", "restrict=true")
                                  for p in parts[1:]):
            continue
        warnings.append(f"{name} {value}: this network back-end can reach a network; "
                        "virtiodiag adds none, and a diagnosis needs none (remove it, or use "
                        "-netdev user,id=...,restrict=on)")
    return warnings
