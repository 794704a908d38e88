"""Unwrapping log lines that arrive inside an envelope, before framing and dialects.

Logs from the wild are often not the console itself but a collector's record of it:

* **JSON lines**: one JSON object per line with the console text in a field. KubeVirt's
  virt-launcher (``{"component":"virt-launcher","level":"info","msg":"[SeaBios]: ...",
  "timestamp":"..."}``), ``journalctl -o json`` (``"MESSAGE"``, ``"__REALTIME_TIMESTAMP"``
  in microseconds), Docker's json-file driver (``{"log":"...\\n","stream":"stdout",
  "time":"..."}``), and structured loggers (``message``). The message field is the first
  of :data:`MESSAGE_FIELDS` that holds a string (journald may store a message that is not
  UTF-8 as an array of byte values; that is decoded too). KubeVirt's records keep the error
  behind them in ``"reason"``: it follows the message, after ": ".
* **Kubernetes CRI** container logs (``/var/log/pods/...``): ``<RFC 3339 time> <stdout|
  stderr> <F|P> <text>``. ``P`` marks a partial line the runtime split (at 16 KiB); the
  text continues in the next record of the same stream, which the caller joins (see
  :func:`cri_continuation`).

* **logfmt** (Go's logrus TextFormatter, slog's TextHandler: containerd, the Kata runtime
  and shim, CRI-O, kubelet): ``time="<RFC 3339>" level=error msg="<text>" key=value ...``,
  values quoted with Go's escapes (``\\"``, ``\\n``, ``\\x1b``). Kata relays each line of the
  guest's console as ``msg="reading guest console" ... vmconsole="<line>"``, and QEMU's
  stderr inside ``msg`` (several lines joined with ``\\n``): the console field wins. A
  record with logrus's ``error=`` (WithError: "container create failed" and the error
  behind it) has the error follow the message after ": ", as KubeVirt's "reason" does.

* **LAVA** job logs (KernelCI, LKFT and other labs running LAVA; lava_common/log.py
  YAMLLogger.log_message() and dump(): ``yaml_safe_dump({"dt": ..., "lvl": ..., "msg": ...},
  default_flow_style=True, default_style='"')`` on one line, each record a list item ``- ``
  (YAMLListFormatter, the server's ``"- " + "\\n- ".join(records)``): every key and value
  double-quoted with YAML's escapes (``\\e`` for ESC, ``\\x..``, ``\\u....``). ``lvl``
  ``target`` is the device's console; the dispatcher's own levels are read alike. A
  ``msg`` that is no string (a result's mapping) is no text.

A line that is neither passes through untouched, so a mixed file (some lines wrapped,
some not) works. The test is one character comparison for almost every line: the JSON
path needs a leading ``{`` and the CRI path a leading digit followed by the stream word
at a fixed position (checked with a compiled pattern only then). Only candidate lines
(those with a dialect's trigger word) ever reach this module, so logs without envelopes
pay nothing measurable.

The envelope's time stamp is kept: an unwrapped record whose text carries no time of its
own (no kernel ``[ 1.234]`` stamp, no QEMU ``PID@SECONDS:``) takes the envelope's, on the
``wall`` clock (seconds since midnight, like the ISO-8601 prefixes framing removes).
"""

from __future__ import annotations

import json
import re

from virtiodiag.cachefiles import compiled

# Fields that carry the console text, in order of preference.
MESSAGE_FIELDS = ("msg", "message", "MESSAGE", "log")
# Fields that carry the record's time: RFC 3339 text, or journald's microseconds.
TIME_FIELDS = ("time", "timestamp", "ts", "@timestamp", "date")
JOURNAL_TIME_FIELDS = ("_SOURCE_REALTIME_TIMESTAMP", "__REALTIME_TIMESTAMP")
MAX_DEPTH = 2  # a CRI record whose text is a JSON envelope (a container logging JSON)

# logfmt: a record starts with its time or level key; pairs are key=value or key="quoted".
_LOGFMT_HEAD = compiled(r'(?:time|ts)=(?:"[^"]*"|\S+) (?:level|lvl)=|level=\w+ ')
_LOGFMT_PAIR = compiled(r'([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)')
LOGFMT_MESSAGE_FIELDS = ("vmconsole", "msg", "message")
_LOGFMT_CUT = compiled(r'(?:^| )(vmconsole|msg|message)="((?:[^"\\]|\\.)*)\\?$')
# A JSON record cut where the paste or the screen ended (no closing brace): its message
# field as far as it goes, a JSON string with or without its closing quote.
_JSON_CUT = compiled(r'^\{.*?"(msg|message|MESSAGE|log)": ?"((?:[^"\\]|\\.)*)"?')
_GO_ESCAPE = compiled(r'\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)')
_GO_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "a": "\x07", "b": "\b", "f": "\f",
              "v": "\v"}

_CRI = compiled(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) "
                r"(stdout|stderr) ([FP]) ?")
# KubeVirt's virt-launcher relays SeaBIOS's debug console with a tag of its own
# (pkg/virt-launcher/virtwrap/util: startQEMUSeaBiosLogging, logLinePrefix "[SeaBios]:"):
# the tag goes, the firmware's line stays.
_SOURCE_TAG = compiled(r"\[SeaBios\]:\s?")
_RFC3339_TIME = compiled(r"\d{4}-\d\d-\d\d[T ](\d\d):(\d\d):(\d\d(?:\.\d+)?)")
# A LAVA record: its "dt" (datetime.utcnow().isoformat(), no zone) and its "msg" when that is
# a double-quoted scalar; YAML's escapes of a double-quoted scalar (PyYAML's emitter:
# ESCAPE_REPLACEMENTS, then \xXX, \uXXXX, \UXXXXXXXX for what is not printable).
LAVA_START = '- {"dt": "'
_LAVA_DT = compiled(r'- \{"dt": "([^"]*)"')
_LAVA_MSG = compiled(r'"msg": "((?:[^"\\]|\\.)*)"')
_YAML_ESCAPE = compiled(r'\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)')
_YAML_SIMPLE = {"0": "\0", "a": "\x07", "b": "\b", "t": "\t", "\t": "\t", "n": "\n",
                "v": "\v", "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/",
                "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}


class Unwrapped:
    """The text inside an envelope, the envelope's time (seconds of the day) and whether
    it is a partial CRI line whose text continues in the next record of its stream."""

    __slots__ = ("text", "time", "partial", "stream", "kind")

    def __init__(self, text: str, time: float | None, partial: bool = False,
                 stream: str | None = None, kind: str = "json"):
        self.text = text
        self.time = time
        self.partial = partial
        self.stream = stream
        self.kind = kind

    def __repr__(self) -> str:
        return (f"Unwrapped(text={self.text!r}, time={self.time!r}, partial={self.partial!r}, "
                f"stream={self.stream!r}, kind={self.kind!r})")


def maybe_wrapped(text: str) -> bool:
    """The cheap test: could ``text`` be an envelope at all?"""
    first = text[:1]
    return (first == "{" or (first.isdigit() and text[4:5] == "-" and text[10:11] == "T")
            or (first in "tl" and text[:5] in LOGFMT_STARTS)
            or (first == "-" and text.startswith(LAVA_START)))


LOGFMT_STARTS = ("time=", "ts=ti", "level", "lvl=i")


def unwrap(text: str) -> Unwrapped | None:
    """The text inside one envelope (JSON line or CRI record), or None if ``text`` is not
    one. Nested envelopes (CRI around JSON) are opened up to :data:`MAX_DEPTH`."""
    if not maybe_wrapped(text):
        return None
    result = None
    for _ in range(MAX_DEPTH):
        inner = _unwrap_once(text)
        if inner is None:
            break
        if result is not None:
            # The outer envelope's time stands unless the inner one has its own; a CRI
            # partial flag belongs to the outer record.
            inner.time = inner.time if inner.time is not None else result.time
            inner.partial, inner.stream = result.partial, result.stream
            inner.kind = f"{result.kind}+{inner.kind}"
        result = inner
        text = inner.text
        if not maybe_wrapped(text):
            break
    return result


def _unwrap_once(text: str) -> Unwrapped | None:
    if text[:1] == "{":
        return _json(text)
    if text[:1] in "tl":
        return _logfmt(text)
    if text[:1] == "-":
        return _lava(text)
    m = _CRI.match(text)
    if m is None:
        return None
    return Unwrapped(text[m.end():], _seconds_of_day(m.group(1)), m.group(3) == "P",
                     m.group(2), "cri")


def cri_continuation(text: str, stream: str | None) -> str | None:
    """The text of ``text`` if it is a CRI record of ``stream`` (the rest of a partial
    line), else None."""
    if not maybe_wrapped(text):
        return None
    m = _CRI.match(text)
    if m is None or (stream is not None and m.group(2) != stream):
        return None
    return text[m.end():]


def _json(text: str) -> Unwrapped | None:
    if not text.rstrip().endswith("}"):
        return _json_cut(text)
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    message = None
    for name in MESSAGE_FIELDS:
        value = record.get(name)
        if isinstance(value, str):
            message = value
            break
        if isinstance(value, list) and value and all(isinstance(b, int) and 0 <= b < 256
                                                     for b in value):
            message = bytes(value).decode("utf-8", "replace")  # journald: non-UTF-8 text
            break
    if message is None:
        return None
    tag = _SOURCE_TAG.match(message)
    if tag is not None:
        message = message[tag.end():]
    reason = record.get("reason")
    if isinstance(reason, str) and reason:
        # KubeVirt's logger (pkg/log/log.go, Reason(err)) puts the error behind a record in
        # "reason" and says only what failed in "msg" ("Received a live migration error"):
        # the error's text (libvirt's, QEMU's) is the record's substance.
        message = f"{message.rstrip()}: {reason}"
    return Unwrapped(message.rstrip("\r\n"), _record_time(record), kind="json")


def _json_cut(text: str) -> Unwrapped | None:
    """A JSON line cut before its end (a paste that stops mid-record: '{"component":
    "virt-launcher-monitor",...,"msg":"... qemu-kvm: error while loading state ...",
    "pos":"...","timestamp":"2025-12-16T22'): the message as far as it goes, its JSON
    escapes undone. None when no message field began before the cut."""
    m = _JSON_CUT.match(text)
    if m is None or "}" in text[m.end():]:
        return None  # no message, or a whole record with text after it: not a cut one
    value = m.group(2)
    if value.endswith("\\") and not value.endswith("\\\\"):
        value = value[:-1]  # cut inside an escape
    try:
        message = json.loads(f'"{value}"')
    except ValueError:
        return None
    tag = _SOURCE_TAG.match(message)
    if tag is not None:
        message = message[tag.end():]
    return Unwrapped(message.rstrip("\r\n"), None, kind="json")


def _lava(text: str) -> Unwrapped | None:
    """A LAVA log record: its message's text (YAML's escapes undone) and its time."""
    m = _LAVA_DT.match(text)
    if m is None:
        return None
    msg = _LAVA_MSG.search(text, m.end())
    if msg is None:
        return None  # a result's mapping, a cut record: no console text
    message = _YAML_ESCAPE.sub(_yaml_escape, msg.group(1))
    return Unwrapped(message.rstrip("\r\n"), _seconds_of_day(m.group(1)), kind="lava")


def _yaml_escape(m: re.Match) -> str:
    code = m.group(1)
    if code[0] in "xuU" and len(code) > 1:
        return chr(int(code[1:], 16)) if int(code[1:], 16) < 0x110000 else "\ufffd"
    return _YAML_SIMPLE.get(code, code)


def _logfmt(text: str) -> Unwrapped | None:
    if _LOGFMT_HEAD.match(text) is None:
        return None
    pairs = dict(_LOGFMT_PAIR.findall(text))
    message = next((pairs[name] for name in LOGFMT_MESSAGE_FIELDS if name in pairs), None)
    cut = _LOGFMT_CUT.search(text)
    unclosed = message is not None and message[:1] == '"' and not (
        len(message) > 1 and message[-1] == '"')
    if cut is not None and (message is None or unclosed):
        # A record cut where the paste or the screen ended, inside its quoted message
        # ('msg="qemu-system-x86_64: -device ...: Failed to read msg header...\nqemu-'):
        # the message as far as it goes.
        message = f'"{cut.group(2)}"'
    if message is None:
        return None
    text_of = _go_unquote(message).rstrip("\r\n")
    error = pairs.get("error")
    if error and "vmconsole" not in pairs:
        # logrus's WithError(err) (containerd, the Kata runtime and shim): the record says
        # what failed in msg ("container create failed") and the error itself, whose text
        # is the record's substance (the agent's, QEMU's), in "error" (as KubeVirt's
        # "reason" above)
        error_text = _go_unquote(error).rstrip("\r\n")
        if error_text:
            text_of = f"{text_of.rstrip()}: {error_text}"
    stamp = _go_unquote(pairs.get("time") or pairs.get("ts") or "")
    return Unwrapped(text_of, _seconds_of_day(stamp), kind="logfmt")


def _go_unquote(value: str) -> str:
    """A logfmt value: bare, or quoted with Go's strconv.Quote escapes."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    return _GO_ESCAPE.sub(_go_escape, value[1:-1])


def _go_escape(m: re.Match) -> str:
    code = m.group(1)
    if code[0] in "xuU" and len(code) > 1:
        return chr(int(code[1:], 16)) if int(code[1:], 16) < 0x110000 else "\ufffd"
    if code[0] in "01234567" and len(code) == 3:
        return chr(int(code, 8))
    return _GO_SIMPLE.get(code, code)


def _record_time(record: dict) -> float | None:
    for name in TIME_FIELDS:
        value = record.get(name)
        if isinstance(value, str):
            seconds = _seconds_of_day(value)
            if seconds is not None:
                return seconds
    for name in JOURNAL_TIME_FIELDS:
        value = record.get(name)
        if isinstance(value, str) and value.isdigit():
            return (int(value) / 1e6) % 86400.0
    return None


def _seconds_of_day(stamp: str) -> float | None:
    m = _RFC3339_TIME.match(stamp)
    if m is None:
        return None
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
