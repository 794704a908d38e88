"""The virtio devices a cloud-hypervisor command line declares (``vmm_cmdline[
cloud_hypervisor]`` and the option lines after it, ``vmm_cmdline[cloud_hypervisor_options]``:
grammars/cloud_hypervisor_cmdline.lark).

cloud-hypervisor's clap options (src/main.rs) --disk, --net, --fs and --pmem take one or
more values, one device each; --vsock, --rng, --balloon and --console one, --rng none at
all (its default source), --console a mode ("off": no virtio console). A value is a comma
list of key=value (vmm/src/config.rs *Config::SYNTAX); its id= is the device's id in the
VMM's own lines ("_virtio-pci-_disk0" when none is given: the VMM numbers those itself,
so no id is guessed here). Every option line is read only after a line that named the
program: the same words from virt-install or a QEMU wrapper ("--disk path=...") declare
no cloud-hypervisor device.
"""

from __future__ import annotations

from virtiodiag.events import Event
from virtiodiag.model.records import Declaration

# option -> the device type its values declare
OPTION_TYPES = {"--disk": "block", "--net": "net", "--fs": "fs", "--pmem": "pmem",
                "--vsock": "vsock", "--rng": "rng", "--balloon": "balloon",
                "--console": "console"}
SINGLE_VALUED = ("--vsock", "--rng", "--balloon", "--console")  # clap: one value
# --console's modes (config.rs ConsoleConfig::SYNTAX "off|null|pty|tty|file=<path>|
# socket=<path>"): every one but off makes the virtio console device_manager.rs adds
CONSOLE_MODES = ("null", "pty", "tty")


def _word(word: object) -> str:
    return str(word).strip("\"'").rstrip(",")


def _device_id(value: str) -> str | None:
    for item in value.split(","):
        key, _, found = item.partition("=")
        if key == "id" and found:
            return found
    return None


def ch_declarations(event: Event) -> list[Declaration]:
    """The devices one line of a cloud-hypervisor command declares, in order."""
    words = event.get("arg")
    words = words if isinstance(words, tuple) else (words,) if words else ()
    out: list[Declaration] = []
    option: str | None = None
    taken = 0  # values the current option has had
    for index, word in enumerate(_word(w) for w in words):
        if word.startswith("--"):
            option, taken = word, 0
            if option == "--rng" and (index + 1 == len(words)
                                      or _word(words[index + 1]).startswith("--")):
                value = "src=/dev/urandom"  # the option alone: its default source
            else:
                continue
        elif option in OPTION_TYPES and ("=" in word or (
                option == "--console" and word in CONSOLE_MODES)) and not (
                taken and option in SINGLE_VALUED):
            value = word
        else:
            option = None if option in OPTION_TYPES else option
            continue
        taken += 1
        declaration = Declaration(event, f"{option} {value}", str(option).lstrip("-"),
                                  OPTION_TYPES[str(option)], None, None, _device_id(value))
        declaration.order = (2, event.seq, index)
        out.append(declaration)
    return out
