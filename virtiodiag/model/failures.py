"""What a probe-failure line means beyond its kind, decided from the line's typed fields.

Two kinds of failure are about something other than a device's probe: a virtio module
that ignored a parameter it was given (kernel/params.c "unknown parameter 'X' ignored"),
and a shared folder no virtio device serves (9pnet_virtio "no channels available for
device TAG", virtio-fs "tag <TAG> not found", 9pnet "Could not find request transport:
virtio"). Which module, which parameter, which tag and which kind of folder is decided
here; the probe-failed rule only words it.
"""

from __future__ import annotations

from virtiodiag.events import Event
from virtiodiag.plain import Plain

# The 9p transport module; a tag any other module could not find is virtio-fs's.
NINEP_MODULE = "9pnet_virtio"


class IgnoredParameter(Plain):
    """A virtio module ignored a parameter: ``module``, ``param``, and whether that drops
    the virtio-mmio devices given on the kernel command line (``virtio_mmio.device=`` on a
    kernel without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES)."""

    FIELDS = ("module", "param", "drops_cmdline_devices")

    def __init__(self, module: str, param: str):
        self.module = module
        self.param = param
        self.drops_cmdline_devices = module == "virtio_mmio" and param == "device"


class UnservedFolder(Plain):
    """A shared folder a mount asked for that no virtio device serves: its ``tag`` (with
    ``no_transport``, the transport the 9p client lacks), and its ``kind``, "9p" or "fs"."""

    FIELDS = ("tag", "kind", "no_transport")

    def __init__(self, tag: str, kind: str, no_transport: bool):
        self.tag = tag
        self.kind = kind
        self.no_transport = no_transport


def ignored_parameter(event: Event) -> IgnoredParameter | None:
    """The parameter a "param_ignored" probe failure is about."""
    if event.payload.kind != "probe_failed" or event.payload.detail != "param_ignored":
        return None
    return IgnoredParameter(str(event.get("driver") or ""), str(event.get("reason") or ""))


def unserved_folder(event: Event) -> UnservedFolder | None:
    """The shared folder a "mount_tag" or "no_transport" probe failure is about."""
    detail = event.payload.detail
    if event.payload.kind != "probe_failed" or detail not in ("mount_tag", "no_transport"):
        return None
    no_transport = detail == "no_transport"
    kind = "9p" if no_transport or event.get("driver") == NINEP_MODULE else "fs"
    return UnservedFolder(str(event.get("reason") or ""), kind, no_transport)
