"""The kernel modules a pasted module list shows loaded (grammars/linux_modules.lark).

``lsmod`` and ``cat /proc/modules`` print one line per module the kernel holds: its name,
size, reference count and the modules using it. A loaded virtio module says a driver is
present in the kernel, nothing about a device: no module line finds, binds or drives one,
and none makes a device record (a log of only such a list has no device). Kept per module
name, the last listing winning (a log may list the modules before and after a modprobe),
for the reports to show which virtio drivers the kernel had.
"""

from __future__ import annotations

from virtiodiag.events import Event


class LoadedModule:
    """One module's line: its name, reference count (None: '-', not counted), users and
    state (Live, Loading, Unloading; None in lsmod's table, which omits it)."""

    __slots__ = ("name", "refcount", "users", "state", "event")

    def __init__(self, event: Event):
        self.event = event
        self.name = str(event.get("module"))
        refcount = event.get("refcount")
        self.refcount: int | None = refcount if isinstance(refcount, int) else None
        users = str(event.get("users") or "")
        # /proc/modules ends each user with a comma and says "-" for none
        self.users = [u for u in users.split(",") if u and u != "-"]
        state = event.get("state")
        self.state: str | None = str(state) if state is not None else None

    def to_dict(self) -> dict:
        entry: dict = {"module": self.name, "line": self.event.line, "refcount": self.refcount,
                       "users": self.users}
        if self.state is not None:
            entry["state"] = self.state
        return entry


class LoadedModules:
    """The modules listed loaded in the log, by name (``Model.modules``)."""

    def __init__(self) -> None:
        self.by_name: dict[str, LoadedModule] = {}

    def feed(self, event: Event) -> None:
        module = LoadedModule(event)
        self.by_name.pop(module.name, None)  # a later listing: it goes last
        self.by_name[module.name] = module

    def __bool__(self) -> bool:
        return bool(self.by_name)

    def names(self) -> list[str]:
        return list(self.by_name)

    def to_list(self) -> list[dict]:
        return [module.to_dict() for module in self.by_name.values()]
