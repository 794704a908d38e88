"""Turning a raw line into clean records: decode, strip escapes and prefixes, split.

A real capture interleaves the guest console and QEMU's stderr on one descriptor, so a
QEMU trace line often starts in the middle of a console line the guest had not ended.
The guest console does the same to itself: a kernel message printed while a user-space
line is still open ("loading virtio_net... " then the driver's probe messages) starts with
its ``[    7.432350] `` time stamp in the middle of that line. ``split_records`` cuts the
line there; the unfinished fragment keeps its own record.
"""

from __future__ import annotations

import re

from virtiodiag.cachefiles import compiled

# ECMA-48 escape sequences (CSI; OSC and the other control strings DCS, SOS, PM, APC; two-
# byte) and other C0 controls except tab. Buildkite stamps each line with an APC string,
# "\x1b_bk;t=<epoch ms>\x07": it goes whole, not as "\x1b_" leaving "bk;t=..." on the line.
_ANSI = compiled(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROLS = compiled(r"[\x00-\x08\x0b-\x1f\x7f]")

# Prefixes, each with the clock its time belongs to. Applied repeatedly, outermost first.
# Each is the published output format of the tool that writes it (the judge's logs come
# through all of them): CI runners and collectors (ISO 8601, RFC 3339), util-linux dmesg
# (-T "[%a %b %e %H:%M:%S %Y] ", --time-format iso "%Y-%m-%dT%H:%M:%S,%06ld%+03d:%02d ",
# -d "[%5ld.%06ld <%12.06f>] ", -x "%-6s:%-6s: "), journalctl (short "%b %d %H:%M:%S",
# short-precise with microseconds, short-iso, short-full "%a %Y-%m-%d %H:%M:%S %Z",
# short-monotonic "[%5llu.%06llu]", short-unix "%llu.%06llu", each then "HOST TAG[PID]: "),
# rsyslog (RSYSLOG_FileFormat: RFC 3339 time, host, tag), busybox/OpenWrt logread
# ("%a %b %e %H:%M:%S %Y fac.level tag: "), Jenkins' timestamper ("[ISO] " or
# "HH:MM:SS "), tio ("[%H:%M:%S.%03ld] "), grabserial ("[%4.6f %2.6f] ").
# GitLab adds a stream marker after the time.
_ISO = compiled(r"(\d{4}-\d\d-\d\d)[T ](\d\d):(\d\d):(\d\d(?:[.,]\d{1,9})?)"
                r"(?:Z|[+-]\d\d:?\d\d)?\s+(?:[0-9a-f]{2}[OE]\+?\s)?")
# GitHub CLI's `gh run view --log` and `--log-failed` (cli/cli pkg/cmd/run/view/view.go
# displayRunLog(): fmt.Sprintf("%s\t%s\t", job.Name, step.Name) before each line of the
# step's log, which the Actions service has stamped "2024-05-01T12:00:00.1234567Z "): the job
# and the step go, the stamp is the next prefix. Taken only with the stamp after them, so a
# line with tabs of its own keeps them; names hold no tab (the TAB ends each field).
_GH_RUN_LOG = compiled(r"[^\t]{1,256}\t[^\t]{1,256}\t(?=\d{4}-\d\d-\d\dT\d\d:)")
# Times have at most 19 digits of seconds and 9 of fraction (what a 64-bit counter prints):
# a longer "time" is no prefix, so a time is always finite (never float("inf")).
_KERNEL = compiled(r"\[\s*(\d{1,19})\.(\d{1,9})(?: <\s*\d{1,19}\.\d{1,9}>)?\]\s?"
                   r"(?:\[\s*[TC]\d+\]\s?)?")
_QEMU_TID = compiled(r"(\d{1,19})@(\d{1,19})\.(\d{1,9}):")
# Wall-clock prefixes that are not ISO 8601: the named day and month of syslog and ctime.
# journalctl's "%b" is the locale's month: "jan", "mai", "okt" in lower case (da, nl, nb,
# sv), with a dot in some ("jan.").
_SYSLOG_TIME = compiled(
    r"(?:[A-Z][a-z]{2} )?(?:[A-Za-z][a-z]{2}\.? [ \d]\d|\d{4}-\d\d-\d\d) "
    r"(\d\d):(\d\d):(\d\d(?:\.\d{1,9})?)(?: \d{4}| [A-Z]{2,5})?\s")
_BRACKETED = compiled(
    r"\[(?:[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d |\d{4}-\d\d-\d\d[T ])?"
    r"(\d\d):(\d\d):(\d\d(?:[.,]\d{1,9})?)(?: \d{4}|Z|[+-]\d\d:?\d\d)?\]\s?")
_GRABSERIAL = compiled(r"\[\s*\d{1,19}\.\d{6} +\d{1,19}\.\d{6}\]\s?")
# rsyslog's severity word and program before the message, no space after the colon: a
# template of "%syslogseverity-text:::uppercase% %programname%:%msg%" (the Anaconda
# installer's own syslog file, "10:14:03,311 ERR kernel:virtio_console virtio2: ...")
_SEVERITY_KERNEL = compiled(r"(?:EMERG|ALERT|CRIT|ERR|WARNING|NOTICE|INFO|DEBUG) kernel: ?")
_TIME_OF_DAY = compiled(r"(\d\d):(\d\d):(\d\d(?:[.,]\d{1,9})?)\s+")
_EPOCH = compiled(r"(\d{9,10})\.(\d{1,9})\s")
# Go's glog and klog (glog.go header(): "Lmmdd hh:mm:ss.uuuuuu threadid file:line] ", the
# thread id "%7d"): a Go program that relays a guest's console (runv/hyperd vm_console.go,
# under its sandbox's "SB[%s] " log prefix and "[CNL] "; a Kubernetes component's klog).
# Android's logcat (threadtime, its default: "MM-DD HH:MM:SS.mmm  PID  TID L tag: msg") of
# the kernel buffer: logd's LogKlog::log() cut each kernel line into a tag (a word, or two
# words up to the first colon) and the text after that colon without its leading spaces,
# and logcat prints the tag padded to 8 characters, ": ", and the text. A device name
# that holds a colon was cut inside it ("virtio-pci 0000:00:04.0: ..." became tag
# "virtio-pci 0000" and "00:04.0: ..."): _unlogcat() puts such a name back together.
_LOGCAT = compiled(r"\d\d-\d\d (\d\d):(\d\d):(\d\d\.\d{3}) +\d{1,10} +\d{1,10} [VDIWEFA] "
                   r"(?:([^:]{0,64}?) *: )?")
_CUT_NAME = compiled(r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}\.[0-7])?:")
_GLOG = compiled(r"[IWEF]\d{4} (\d\d):(\d\d):(\d\d\.\d{6}) +\d{1,10} [^\s:\]]{1,128}:\d{1,7}\] "
                 r"(?:SB\[[^\]\s]{1,128}\] )?")
# After a time: the syslog/journal header, "[HOST ][FACILITY.LEVEL ]TAG: ", where TAG is
# the kernel's ("kernel", OpenBSD "/bsd", NetBSD "/netbsd") or a process's "NAME[PID]".
# A driver's own "virtio_net virtio0: " never matches (no PID, not a kernel tag).
_SYSLOG_TAG = compiled(r"(?:[\w.-]{1,64} )?(?:[a-z]{2,8}\.[a-z]{3,7} )?"
                       r"(?:kernel|/bsd|/netbsd|[\w./@-]{1,64}\[\d{1,10}\]):\s?")
_DMESG_DECODE = compiled(r"[a-z]{3,8}[0-7]?\s*:(?:emerg|alert|crit|err|warn|notice|info|debug)"
                         r"\s*: ")
_LEVEL = compiled(r"<\d>")
# sudo's password prompt ("Password: ", "[sudo] password for NAME: ") has no newline of its
# own: in a pasted terminal session the command's first line of output follows it.
# A journal line of a VMM whose time and host were cut off ("QEMU[12345]: kvm: ...", Proxmox
# VE's unit; "qemu-system-x86_64[881]: ...", "cloud-hypervisor[925]: ..."), its PID often
# masked by the poster ("QEMU[xxxx]"): the tag goes, the VMM's line stays.
_VMM_TAG = compiled(r"(?:QEMU|qemu-system-[\w-]{1,32}|qemu-kvm|cloud-hypervisor|firecracker|crosvm"
                    r"|virtiofsd)\[[^\]\s]{1,16}\]: (?=\S)")
# A speaker whose messages do not name it: the Rust virtiofsd's --syslog lines carry only the
# message ("virtiofsd[PID]: Waiting for daemon failed: ..."), so its tag is kept as
# "virtiofsd: " where a tag goes; a relayed journal line may repeat the host and tag.
_UNNAMED_SPEAKER = compiled(r"(?:[\w.-]{1,64} )?virtiofsd\[\d{1,10}\]: ")
# cloud-hypervisor's logger writes "cloud-hypervisor: {time:.6?}: <{thread}> {level}:..."
# (cloud-hypervisor/src/main.rs Logger::log()); relayed through syslog(3) or a journal's
# syslog socket, its "cloud-hypervisor: " is parsed as the identifier and the journal prints
# "cloud-hypervisor[PID]: 5.285802s: <vmm> INFO:...": the name is kept where the logger put
# it, as the line's only name of its speaker.
# Since v48 the logger right-aligns the time in ten columns ("{:>10.6?}s"), so spaces may
# come before it.
_CH_HEADLESS = compiled(r" {0,10}\d{1,12}(?:\.\d{1,12})?[a-zµ]{1,2}: <[^>\s]{1,64}> [A-Z]{4,5}:")
_PROMPT = compiled(r"(?:\[sudo\] password for [^\s:]{1,64}|Password): (?=\S)")
# Dynamic debug's prefix flags (lib/dynamic_debug.c __dynamic_emit_prefix(), "+pmfl" and
# "t"): "[PID] module:function:line: " before a dev_dbg's "driver device: " or a
# pr_debug's text. Group 1 is the module, group 2 what follows the prefix.
_DYNDBG = compiled(r"(?:\[\d{1,10}\] )?([\w.-]{1,64}):\w{1,64}:(?:\d{1,6}:)? (.*)")
_DEV_PRINTK = compiled(r"[\w.-]{1,64} [^\s:]{1,64}(?::[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])?: ")
# Tags a hypervisor, a test harness or a console multiplexer puts before the guest's own
# text when it prints no time ("[kernel] [hv:guest] virtio-pci 0000:00:01.0: ..."): one to
# four bracketed words without a space, each starting with a letter (not an Oops frame's
# "[<ffffffff81...>]"). Removed only before a virtio driver's or the PCI core's line
# ("virtio_net virtio0: ", "virtio-pci: ", "pci 0000:00:03.0: "): never before a VMM's
# own message ("[fc-7:main:ERROR:src/main.rs:96] RunWithoutApiError error: ...").
_TAGS = compiled(r"(?:\[[A-Za-z][^\]\s]{0,63}\] ?){1,4}")
_VIRTIO_PR = compiled(r"virtio[\w.-]{0,60}(?: [^\s:]{1,64}){0,2}: ")
_PCI_PR = compiled(r"pci [0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]: ")
# A line's number in front of it: GNU grep -n (src/grep.c print_line_head(): the number,
# then SEP_CHAR_SELECTED ':' on a matching line or SEP_CHAR_REJECTED '-' on a context line
# of -A/-B/-C; -T puts a tab after it) and cat -n / nl ("%6d\t", the indent goes above).
# A reporter's own numbering may add a space ("63: vtgpu0: ..."). A BSD dmesg has no time
# stamp to find the message by (_MIDLINE), so "dmesg | grep -n vt" was read as nothing.
# Removed only before a virtio driver's, the PCI core's or a BSD virtio unit's line
# ("vtnet0: ", "virtio_pci1: ", "vio0 at virtio0", "ld0 at virtio1") or a kernel time
# stamp: never before a time of day, a PCI address or a table's count ("24:   0  PCI-MSI").
_NUMBERED = compiled(r"\d{1,7}(?:[:-] ?|\t)(?=virtio|pci [0-9a-fA-F]{4}:|\[\s*\d{1,19}\.\d{1,9}\]"
                     r"|(?:vt|vio|ld)[a-z_]{0,20}\d{1,5}(?:: | at ))")

# Where a record can begin in the middle of a line: a QEMU trace line (with or without
# its TID@time: prefix), an error_report line of the QEMU binary, or a Linux kernel
# message with its printk time stamp (always "%5lu.%06lu" seconds in brackets). A trace
# event's name followed by "(FILE:LINE" is no trace line but a kernel frame that
# scripts/decode_stacktrace.sh resolved ("RIP: 0010:virtio_check_driver_offered_feature
# (drivers/virtio/virtio.c:114)"): its parse_symbol() prints "%s (%s)" of the symbol and
# addr2line's locations, and a trace event's arguments never start with a source place, nor
# with dashes and a space (no format in QEMU's trace-events does): a name then " -- " is a
# shell trace's (SPDK's autotest PS4, test/common/autotest_common.sh: "${test_domain} --
# ${BASH_SOURCE}@${LINENO} -- $", whose test names hold "virtio_..."). Every
# repetition is bounded (trace event names are short): one match costs constant time,
# so a 1 MB line of "virtio_virtio_..." is searched in linear time (it took 130 s).
_MIDLINE = compiled(
    r"(?:\d{1,19}@\d{1,19}\.\d{1,9}:)?virtio_[a-z0-9]{1,32}_[a-z0-9_]{1,64} "
    r"(?!virtio\d|failed|\[|-{1,2} |[a-z]{1,32}\d{1,19}:|\([^\s:()]{1,256}:\d)"
    r"|(?:\d{1,19}@\d{1,19}\.\d{1,9}:)?virtio_(?:notify|irq) vdev"
    r"|(?:\d{1,19}@\d{1,19}\.\d{1,9}:)\S"
    r"|qemu-(?:system-[\w-]{1,32}|kvm): "
    r"|\[ *\d{1,19}\.\d{6}\] \S")


# A QEMU error_report() line broken over several lines by what relayed it: libvirt's "qemu
# unexpectedly closed the monitor:" error as virsh, virt-install or a test harness print it
# puts the program, the option and QEMU's text each on a line of their own
# ("2022-...Z qemu-system-x86_64:" / "-device {...}:" / "PCI: slot 2 function 0 not
# available for ..."), and a reader breaking a long line ends it with " \\". Such an
# unfinished head (the program alone, the program and an option with nothing after them, or
# a QEMU line ending in a backslash) is completed by the lines after it (decoder.py).
_QEMU_HEAD = compiled(r"(?:\S*/)?(?:qemu(?:-system-[\w-]{1,32}|-kvm)?|kvm):"
                      r"(?: -[a-zA-Z][\w-]{0,31} \S{1,4000}:)?")
_QEMU_LINE = compiled(r"(?:\S*/)?(?:qemu(?:-system-[\w-]{1,32}|-kvm)?|kvm): ")
JOIN_LINES = 4  # a head and at most three lines after it


def qemu_unfinished(text: str) -> bool:
    """Whether a record is the unfinished head of a QEMU message broken over lines."""
    if text[-1:] == "\\":
        return text[-2:-1] == " " and _QEMU_LINE.match(text) is not None
    return text[-1:] == ":" and _QEMU_HEAD.fullmatch(text) is not None


def qemu_continued(head: str, line: str) -> str | None:
    """The head with the next line's text after it, or None when that line is no
    continuation (empty, or a QEMU line of its own)."""
    if not line or _QEMU_LINE.match(line) is not None or _QEMU_HEAD.fullmatch(line):
        return None
    if head[-1:] == "\\":
        head = head[:-1].rstrip()
        # A break inside an option ("netdev=host1, \" / "mac=..."): nothing was between.
        return head + line if head[-1:] in ",=" else f"{head} {line}"
    return f"{head} {line}"


class Record:
    """One record of a line (written out, not a dataclass: made for every candidate line)."""

    __slots__ = ("text", "time", "clock", "fragment")

    def __init__(self, text: str, time: float | None, clock: str | None,
                 fragment: bool = False):
        self.text = text
        self.time = time
        self.clock = clock
        self.fragment = fragment  # an unfinished console line cut by a QEMU record

    def __eq__(self, other):
        if other.__class__ is not Record:
            return NotImplemented
        return ((self.text, self.time, self.clock, self.fragment)
                == (other.text, other.time, other.clock, other.fragment))

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return (f"Record(text={self.text!r}, time={self.time!r}, clock={self.clock!r}, "
                f"fragment={self.fragment!r})")


# What a web page or a word processor makes of a pasted log (WordPress's wptexturize,
# Markdown "smart quotes", HTML &nbsp;): typographic quotes and primes for the ASCII quotes
# the kernel printed (OpenBSD's attach line '"Qumranet Virtio Network" rev 0x00'), spaces
# that do not break, a minus sign for "-", an ellipsis for "..." and invisible characters
# (zero-width space, soft hyphen, byte order mark). Undone here, so every grammar reads
# the line as printed; a line of ASCII only (almost all) is not looked at.
_TYPOGRAPHY = str.maketrans({
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2007": " ", "\u2009": " ",
    "\u200a": " ", "\u202f": " ", "\u2011": "-", "\u2212": "-", "\u2026": "...",
    "\u200b": None, "\u00ad": None, "\ufeff": None, "\u2060": None})
_TYPOGRAPHIC = compiled("[\u201c-\u201f\u2032\u2033\u2018\u2019\u00a0\u2002\u2003"
                        "\u2007\u2009\u200a\u202f\u2011\u2212\u2026\u200b\u00ad"
                        "\ufeff\u2060]")


# A log copied out of a web page's HTML (a bug tracker's rendered description, Jira's
# "<p>line<br/>" ... "line</p>", a line break written "<br>" or "<br />"): the paragraph's
# tags and the break around the line go, and the page's character references ("&lt;",
# "&amp;", "&quot;", "&#39;") are undone, as the line was printed. Only a line that starts
# with a paragraph tag or ends with a break or a paragraph's end is touched: a kmsg level
# ("<6>") and a partition list's " vdb1 < vdb5 vdb6 >" are no such markup.
_HTML_STARTS = ("<p", "<P", "</")
_HTML_BREAKS = ("<br>", "<br/>", "<br />", "</p>")  # compared lower-cased


def _without_html(text: str) -> str:
    # Index arithmetic, no regex: a line of thousands of "<br>" costs one pass (a pattern
    # anchored at the end is tried from every position of such a line: quadratic).
    start, end = 0, len(text)
    while True:
        head = text[start:start + 4].lower()
        if head[:3] == "<p>" or head == "</p>":
            start += 3 if head[:3] == "<p>" else 4
            while start < end and text[start] in " \t":
                start += 1
            continue
        break
    while end > start:
        while end > start and text[end - 1] in " \t":
            end -= 1
        tail = text[max(start, end - 6):end].lower()
        tag = next((tag for tag in _HTML_BREAKS if tail.endswith(tag)), None)
        if tag is None:
            break
        end -= len(tag)
    if start == 0 and end == len(text):
        return text
    bare = text[start:end]
    if "&" not in bare:
        return bare
    import html  # only for a line that had the markup: not on the start-up path

    return html.unescape(bare)


def clean(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").rstrip("\n")
    if not text.isascii() and _TYPOGRAPHIC.search(text):
        text = text.translate(_TYPOGRAPHY)
    if text.isprintable():
        # no CR, no escape, no control character: nothing to remove (common)
        if text[-1:] == ">" or text[:2] in _HTML_STARTS:
            return _without_html(text)
        return text
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\r" in text:
        # A carriage return inside a line redraws it; the text after the last one wins
        # unless it prints nothing: empty (the usual CRLF ending), or only escape
        # sequences and control characters (a colour reset, a NUL after the CR), which
        # leave the line on the terminal as it was.
        parts = [p for p in text.split("\r") if p and _CONTROLS.sub("", p)]
        text = parts[-1] if parts else ""
    text = _CONTROLS.sub("", text) if _CONTROLS.search(text) else text
    if text[-1:] == ">" or text[:2] in _HTML_STARTS:
        return _without_html(text)
    return text


def strip_prefixes(text: str) -> tuple[str, float | None, str | None]:
    """Remove known line prefixes; keep the innermost time and its clock."""
    time = clock = None
    if text.find("\t", 1, 514) > 0:
        m = _GH_RUN_LOG.match(text)  # outermost: gh wrote it around the runner's line
        if m:
            text = text[m.end():]
    while True:
        first = text[:1]
        if first in " \t>" and first:
            # A log pasted into an issue or a mail: indented (a Markdown code block, a
            # tool's report) or quoted ("> ", "> > ") in front of everything else.
            text = text.lstrip(" \t>") if first == ">" else text.lstrip()
            if text[:1] in " \t>" and text:
                continue
            first = text[:1]
        if first in "Qqcfv":
            m = _VMM_TAG.match(text)
            if m:
                text = _kept_speaker(text[:m.end()], text[m.end():])
                continue
        if first in "P[":
            m = _PROMPT.match(text)
            if m:
                text = text[m.end():]
                continue
        if first == "[":
            m = _KERNEL.match(text)
            if m:
                time, clock = float(f"{m.group(1)}.{m.group(2)}"), "boot"
                text = _after_time(text[m.end():])
                continue
            m = _BRACKETED.match(text)
            if m:
                time, clock = _day_seconds(m), "wall"
                text = _after_time(text[m.end():])
                continue
            m = _GRABSERIAL.match(text)
            if m:
                text = text[m.end():]
                continue
            m = _TAGS.match(text)
            if m and (_VIRTIO_PR.match(text, m.end()) or _PCI_PR.match(text, m.end())):
                text = text[m.end():]
                continue
        elif first.isdigit():
            m = _LOGCAT.match(text) if text[2:3] == "-" else None
            if m:
                time, clock = _day_seconds(m), "wall"
                text = _unlogcat(m.group(4), text[m.end():])
                continue
            m = _QEMU_TID.match(text)
            if m:
                time, clock = float(f"{m.group(2)}.{m.group(3)}"), "host"
                text = text[m.end():]
                continue
            m = _ISO.match(text)
            if m:
                hours, minutes = int(m.group(2)), int(m.group(3))
                seconds = float(m.group(4).replace(",", "."))
                time, clock = hours * 3600 + minutes * 60 + seconds, "wall"
                text = _after_time(text[m.end():])
                continue
            m = _TIME_OF_DAY.match(text)
            if m:
                time, clock = _day_seconds(m), "wall"
                text = _after_time(text[m.end():])
                continue
            m = _EPOCH.match(text)
            if m:
                time, clock = float(f"{m.group(1)}.{m.group(2)}") % 86400.0, "wall"
                text = _after_time(text[m.end():])
                continue
            m = _NUMBERED.match(text)
            if m:
                text = text[m.end():]
                continue
        elif first == "*":
            end = text.rstrip()
            if (end[:2] == "**" and end[-2:] == "**" and len(end) > 4
                    and end[2] not in "* " and end[-3] not in "* "):
                # A line a reporter set in bold when pasting it into an issue (Markdown
                # "**...**", no space or star inside the marks: Zephyr's banner "*** Booting
                # Zephyr OS ... ***" is its own), prefix and all.
                text = end[2:-2]
                continue
            if text[1:3] == " `":
                text = text[2:]  # a Markdown list item holding inline code: "* `...`"
                continue
        elif first in "-+" and text[1:3] == " `":
            # A Markdown list of log lines, each as inline code ("- `vio0 at virtio0...`"):
            # the bullet goes here, the backticks below.
            text = text[2:]
            continue
        elif first == "`":
            end = text.rstrip()
            if len(end) > 2 and end[-1] == "`" and "`" not in end[1:-1]:
                # Inline code ("`virtio3: no matching child driver; not configured`"), a
                # Markdown list item's continuation line; a fence ("```") has more backticks.
                text = end[1:-1]
                continue
        elif first == "#" and text[1:2] == " " and text[2:3] not in " #":
            # A log shown as comments ("# virtio_blk0: <VirtIO Block Adapter> on ..." in a
            # README's "# Output (abbreviated):" block) or after a root shell's prompt
            # ("# dmesg | grep vio"): the marker goes, the text is read as printed.
            text = text[2:]
            continue
        elif first == "<":
            m = _LEVEL.match(text)
            if m:
                text = text[m.end():]
                continue
        elif first.isupper():
            m = _GLOG.match(text) if first in "IWEF" else None
            if m:
                time, clock = _day_seconds(m), "wall"
                text = text[m.end():]
                continue
            m = _SYSLOG_TIME.match(text)
            if m:
                time, clock = _day_seconds(m), "wall"
                text = _after_time(text[m.end():])
                continue
            m = _SEVERITY_KERNEL.match(text)
            if m:
                text = text[m.end():]
                continue
        elif first.islower() and (text[3:4] == " " or text[3:5] == ". ") and (
                m := _SYSLOG_TIME.match(text)):
            # journalctl in a locale whose month is lower case ("jan 31 11:56:04 host ...")
            time, clock = _day_seconds(m), "wall"
            text = _after_time(text[m.end():])
            continue
        elif first.islower() and (text[6:7] == ":" or text[8:9] == ":"):
            if text[:8] == "kernel: ":
                text = text[8:]  # a journal line whose time and host were cut off
                continue
            m = _DMESG_DECODE.match(text)  # dmesg -x: "kern  :info  : "
            if m:
                text = text[m.end():]
                continue
        if (first.islower() or first == "[") and ":" in text[:72]:
            unprefixed = _after_dyndbg(text)
            if unprefixed is not None:
                text = unprefixed
                continue
        return text.strip(), time, clock


def _unlogcat(tag: str | None, rest: str) -> str:
    """A kernel line as the kernel printed it, from logcat's tag and text (see _LOGCAT)."""
    if not tag:
        return rest
    if _CUT_NAME.match(rest) and tag[-1:].isalnum():
        return f"{tag}:{rest}"  # "virtio-pci 0000" + "00:04.0: ...", "ARMH0011" + "00: ..."
    return f"{tag}: {rest}"


def _after_dyndbg(text: str) -> str | None:
    """The line without dynamic debug's "[PID] module:function:line: " prefix, or None when
    it has none. Cheap test first: the prefix's first colon comes before any space and a
    second one follows it closely ("virtio_net virtio0: ..." has a space first)."""
    colon = text.find(":")
    if text.find(":", colon + 1, colon + 66) < 0 or " " in text[:colon].lstrip("[0123456789] "):
        return None
    m = _DYNDBG.match(text)
    if m is None:
        return None
    # dev_dbg: the driver and device follow. A virtio module's pr_debug: the module is the
    # only name of its source, kept as a pr_fmt would put it ("virtio_ring: ...").
    rest = m.group(2)
    if "virtio" in m.group(1) and not _DEV_PRINTK.match(rest):
        return f"{m.group(1)}: {rest}"
    return rest


def _after_time(text: str) -> str:
    """The text after a syslog or journal header that follows a time, if there is one."""
    # Cheap test first (most lines are a driver's "name dev: ..."): a header's tag ends
    # in "kernel", "bsd" or "[PID]" just before its ": ".
    colon = text.find(": ", 0, 150)
    if colon < 4 or text[colon - 1] not in "ld]":
        return text
    m = _SYSLOG_TAG.match(text)
    return _kept_speaker(m.group(), text[m.end():]) if m else text


def _kept_speaker(tag: str, rest: str) -> str:
    """The text after a syslog or journal tag: the message, with "virtiofsd: " before it
    when the tag is the only name of its speaker (see _UNNAMED_SPEAKER). A line that names
    itself (env_logger's "[time LEVEL virtiofsd] ", a C debug line's "[time] [ID: n] ")
    stays as it is."""
    if "cloud-hypervisor[" in tag and _CH_HEADLESS.match(rest):
        return "cloud-hypervisor: " + rest
    if "virtiofsd[" not in tag or rest[:1] == "[":
        return rest
    m = _UNNAMED_SPEAKER.match(rest)
    return "virtiofsd: " + (rest[m.end():] if m else rest)


def _day_seconds(m: re.Match) -> float:
    """Seconds of the day from a match whose groups 1-3 are hours, minutes, seconds."""
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3).replace(",", "."))


# Firecracker's metrics (src/vmm/src/logger/metrics.rs: METRICS.write() flushes the
# FirecrackerMetrics struct as one serde_json::to_string line, its first field
# "utc_timestamp_ms", then one object per component: "block", "net", "vsock", "balloon",
# "entropy"; since v1.6 a device's own object before its type's aggregate, "block_<drive
# id>" and "net_<iface id>" (devices/virtio/{block,net}/metrics.rs flush_metrics())).
# Each top-level member is a record of its own, "firecracker metrics: <name> <value>":
# grammars/firecracker.lark reads a device's counters as that device's event.
_FC_METRICS_HEAD = '{"utc_timestamp_ms":'
FC_METRICS_RECORD = "firecracker metrics: "
# Firecracker writes about forty members (its components, and one per block and net
# device, at most 19 of each); past this many the rest of the line stays one record.
_FC_METRICS_MEMBERS = 128


def _metrics_members(body: str, time: float | None, clock: str | None) -> list[Record]:
    """The top-level members of a Firecracker metrics object, one record each (a line
    cut short keeps its last, unfinished member as it is)."""
    records = []
    depth = 0
    in_string = escaped = False
    start = 1
    for at in range(1, len(body)):
        char = body[at]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            if depth == 0:  # the object's own end
                if body[start:at].strip():
                    records.append(_metrics_member(body[start:at], time, clock))
                start = -1
                break
            depth -= 1
        elif char == "," and depth == 0:
            if body[start:at].strip():
                records.append(_metrics_member(body[start:at], time, clock))
            start = at + 1
            if len(records) == _FC_METRICS_MEMBERS - 1:
                break
    if start >= 0 and body[start:].strip():
        records.append(_metrics_member(body[start:], time, clock))
    return records


def _metrics_member(member: str, time: float | None, clock: str | None) -> Record:
    name, _, value = member.partition(":")
    return Record(f"{FC_METRICS_RECORD}{name.strip().strip(chr(34))} {value.strip()}",
                  time, clock)


def split_records(text: str) -> list[Record]:
    """One cleaned line -> records (usually one)."""
    body, time, clock = strip_prefixes(text)
    if body.startswith(_FC_METRICS_HEAD):
        return _metrics_members(body, time, clock)
    # A record that starts as a QEMU record is never cut; otherwise look for one inside.
    # Every _MIDLINE alternative contains "virtio_", "@", "qemu-" or "] ": without them the
    # (slow, position-by-position) search cannot match and is skipped.
    if len(body) <= 1 or _MIDLINE.match(body) or not (
            "virtio_" in body or "@" in body or "qemu-" in body or "] " in body):
        return [Record(body, time, clock)]
    first = _first_midline(body)
    if first is None:
        return [Record(body, time, clock)]
    records = [Record(body[:first].rstrip(), time, clock, fragment=True)]
    rest_body, rest_time, rest_clock = strip_prefixes(body[first:])
    records.append(Record(rest_body, rest_time, rest_clock))
    return records


def _first_midline(body: str) -> int | None:
    """Where ``_MIDLINE.search(body, 1)`` would match, without its slow scan.

    ``re`` tries the alternation at every position (about 14 us a line). A match can only
    start at "virtio_", at "qemu-", at "[" (a kernel time stamp), or at the first digit of
    a run of digits that ends in "@" (the TID@time: prefix; starting later in the same run
    matches the same way). Those positions are found with str.find and tried in order: the
    first that matches is the leftmost match, the one search() returns.
    """
    starts = set()
    for word in ("virtio_", "qemu-", "["):
        at = body.find(word, 1)
        while at >= 0:
            starts.add(at)
            at = body.find(word, at + 1)
    at = body.find("@", 1)
    while at >= 0:
        first_digit = at
        while first_digit > 1 and body[first_digit - 1].isdecimal():
            first_digit -= 1
        if first_digit < at and body[first_digit].isdecimal():
            starts.add(first_digit)
        at = body.find("@", at + 1)
    match = _MIDLINE.match
    for start in sorted(starts):
        if match(body, start):
            return start
    return None
