"""``virtiodiag grammar check``, ``grammar fields``, ``parse``, and the worked example of
docs/teach-your-log.md (so the documentation cannot rot)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import invoke_cli


ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "vnet.lark"
EXAMPLE_LOG = ROOT / "docs" / "examples" / "vnet-boot.log"
TEACH = ROOT / "docs" / "teach-your-log.md"
CONTRACT = ROOT / "docs" / "grammar-contract.md"


def run(*args, **options):
    """``virtiodiag ARGS`` in process from the repository, text in and out."""
    return invoke_cli(*args, cwd=ROOT, **options)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = r'''//@ dialect: mydrv
//@ triggers: mydrv
//@ sample: mydrv0 status 0x3 => status_write device=mydrv0 status=0x3
start: status_write | status_read
status_write: DEVICE "status" STATUS
status_read: DEVICE "read" STATUS
DEVICE: /mydrv\d+/
STATUS: /0x[0-9a-f]+/
%ignore " "
'''


# ---- the worked example ------------------------------------------------------------------
def test_doc_shows_the_example_grammar_verbatim():
    doc = TEACH.read_text(encoding="utf-8")
    assert "## Teach virtiodiag your driver's log" in doc
    blocks = re.findall(r"```lark\n(.*?)```", doc, re.S)
    assert blocks, "no ```lark block in docs/teach-your-log.md"
    assert blocks[0].rstrip() == EXAMPLE.read_text(encoding="utf-8").rstrip()
    assert EXAMPLE_LOG.read_text(encoding="utf-8").rstrip() in doc


def test_example_grammar_check_passes():
    proc = run("grammar", "check", str(EXAMPLE))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "9 of 9 sample line(s) passed, 0 warning(s)" in proc.stdout
    assert "-> status_write device=vnet bit=DRIVER status=0x3" in proc.stdout


def test_example_analyze_timeline_and_findings():
    proc = run("analyze", "--format", "json", "--grammar", str(EXAMPLE), str(EXAMPLE_LOG))
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["stats"]["unrecognised_virtio_lines"] == 0
    assert report["stats"]["dialects"] == {"vnet": 14}
    [dev] = report["devices"]
    assert dev["id"] == "pci-0000:00:03.0"
    assert dev["mode"] == "modern" and dev["type"] == "net"
    assert dev["status_writes"] == [0x00, 0x01, 0x03, 0x0B, 0x0F]
    assert dev["features_accepted_names"] == ["MAC", "VERSION_1"]
    assert [(q["index"], q["size"], q["desc"], q["ready"]) for q in dev["queues"]] == [
        (0, 256, "0x7e000000", 1), (1, 256, "0x7e004000", 1)]
    assert dev["irq_lines"] == [11]
    assert [(f["name"], f["line"]) for f in report["findings"]] == [("num-buffers-missing", 16)]


def test_example_documented_output_is_current():
    """The analyze output shown in the doc is what analyze prints today."""
    proc = run("analyze", "--grammar", "docs/examples/vnet.lark",
               "--no-color", "docs/examples/vnet-boot.log")
    doc = TEACH.read_text(encoding="utf-8")
    for line in proc.stdout.rstrip().splitlines():
        assert line.rstrip() in doc, f"docs/teach-your-log.md is out of date: {line!r}"


# ---- grammar check --------------------------------------------------------------------------
def test_check_ok_shows_events(tmp_path):
    proc = run("grammar", "check", str(write(tmp_path, "g.lark", GOOD)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok    line 3: mydrv0 status 0x3" in proc.stdout
    assert "-> status_write device=mydrv0 status=0x3" in proc.stdout


def test_check_collision_exit_2(tmp_path):
    grammar = GOOD.replace('status_write: DEVICE "status" STATUS',
                           'status_write: DEVICE "status" (STATUS | OTHER)')
    grammar += "OTHER: /0x[0-9]+/\n"
    proc = run("grammar", "check", str(write(tmp_path, "g.lark", grammar)))
    assert proc.returncode == 2
    assert "terminal collision" in proc.stderr
    assert "OTHER" in proc.stderr and "STATUS" in proc.stderr


def test_check_conflict_exit_2(tmp_path):
    grammar = GOOD.replace('status_read: DEVICE "read" STATUS', 'status_read: DEVICE "status" STATUS')
    proc = run("grammar", "check", str(write(tmp_path, "g.lark", grammar)))
    assert proc.returncode == 2
    assert "ambiguous for an LALR parser (a conflict)" in proc.stderr


def test_check_missing_triggers_exit_2(tmp_path):
    proc = run("grammar", "check", str(write(tmp_path, "g.lark", GOOD.replace("//@ triggers: mydrv\n", ""))))
    assert proc.returncode == 2
    assert "triggers" in proc.stderr


def test_check_sample_failure_exit_1(tmp_path):
    grammar = GOOD + "//@ sample: mydrv0 status 0x3 => status_write status=0x4\n"
    grammar += "//@ sample: mydrv0 frobnicate => status_write\n"
    proc = run("grammar", "check", str(write(tmp_path, "g.lark", grammar)))
    assert proc.returncode == 1
    assert "field status: expected 0x4, got 3" in proc.stdout
    assert "FAIL  line 11: mydrv0 frobnicate" in proc.stdout
    assert "1 of 3 sample line(s) passed" in proc.stdout


def test_check_samples_file_strips_prefixes_and_escapes(tmp_path):
    grammar = write(tmp_path, "g.lark", GOOD)
    samples = write(tmp_path, "lines.txt",
                    "# comment\n[    1.000] mydrv0 read 0x0f\n\n"
                    "mydrv1 status 0x1 => status_write device=mydrv1\n"
                    "mydrv2 \x1b[31mbogus\x07 line\n")
    proc = run("grammar", "check", str(grammar), "--samples", str(samples))
    assert proc.returncode == 1
    assert f"ok    {samples}:2: mydrv0 read 0x0f" in proc.stdout
    assert "-> status_read device=mydrv0 status=0xf" in proc.stdout
    assert f"ok    {samples}:4" in proc.stdout
    assert f"FAIL  {samples}:5" in proc.stdout
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout


def test_check_warnings(tmp_path):
    grammar = r'''//@ dialect: typo
//@ triggers: mydrv
//@ sides: host
//@ sample: mydrv0 status 0x3 red => status_write
//@ sample: other 0x3 => status_write
start: status_write | statsu_read | probe_faild__x
status_write: DEVICE "status" STATUS COLOUR? | "other" STATUS
statsu_read: DEVICE "read" STATUS
probe_faild__x: DEVICE "dead"
DEVICE: /mydrv\d+/
STATUS: /0x[0-9a-f]+/
COLOUR: "red"
%ignore " "
'''
    proc = run("grammar", "check", str(write(tmp_path, "g.lark", grammar)))
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "did you mean 'status_read'" in out
    assert "'probe_faild' is not an event kind" in out
    assert "field 'colour' is not in the contract of status_write" in out
    assert "start lists 'statsu_read', which is not an event kind" in out
    assert "none of the triggers (mydrv) is in this line" in out
    assert ("line 3: '//@ sides:' is not a directive virtiodiag reads (did you mean "
            "'//@ side:'?)") in out


def test_check_builtin_grammars_pass():
    for name in ("rtos_step", "seabios", "uboot", "zephyr", "freebsd", "netbsd", "openbsd",
                 "cloud_hypervisor", "firecracker", "solo5", "edk2"):
        proc = run("grammar", "check", "-q", f"grammars/{name}.lark")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert ", 0 warning(s)" in proc.stdout, proc.stdout


# ---- grammar fields ---------------------------------------------------------------------------
def test_fields_prints_the_contract():
    from virtiodiag.events import EVENT_KINDS

    proc = run("grammar", "fields")
    assert proc.returncode == 0
    for kind, fields in EVENT_KINDS.items():
        assert kind in proc.stdout
        for name in fields:
            assert name in proc.stdout
    one = run("grammar", "fields", "--kind", "net_hdr")
    assert "num_buffers" in one.stdout and "status_write" not in one.stdout
    assert run("grammar", "fields", "--kind", "nope").returncode == 2


def test_contract_doc_table_is_generated_from_events():
    proc = run("grammar", "fields", "--markdown")
    doc = CONTRACT.read_text(encoding="utf-8")
    table = doc.split("<!-- fields:begin -->\n", 1)[1].split("\n<!-- fields:end -->", 1)[0]
    assert table.strip() == proc.stdout.strip(), (
        "docs/grammar-contract.md is out of date with events.EVENT_KINDS: paste the output "
        "of 'virtiodiag grammar fields --markdown' between the fields markers")


# ---- parse ------------------------------------------------------------------------------------
def test_parse_lines():
    proc = run("parse", "[    0.013] virtio-net0: Step 2: status |= ACKNOWLEDGE -> 0x01",
               "(virtio-net#0): device refuses features 3")
    assert proc.returncode == 0, proc.stderr
    assert "dialect: rtos-step" in proc.stdout
    assert "event:   status_write device=virtio-net0 bit=ACKNOWLEDGE status=0x1" in proc.stdout
    assert "(prefix removed before parsing, time 0.013 (boot clock))" in proc.stdout
    assert "dialect: uboot" in proc.stdout


def test_parse_no_match_explains_and_exits_1():
    proc = run("parse", "virtio something nobody prints")
    assert proc.returncode == 1
    assert "no dialect matched" in proc.stdout
    assert "rtos-step: " in proc.stdout and "qemu-trace: not tried" in proc.stdout


def test_parse_stdin_explain_and_user_grammar():
    proc = run("parse", "--explain", "--grammar", str(EXAMPLE), "-",
               stdin="vnet: [tx] header 10 bytes\nBSP_IntSrcEn(irq=48)\n")
    assert proc.returncode == 0, proc.stderr
    assert "dialect: vnet" in proc.stdout and "event:   net_hdr device=vnet hdr_len=10" in proc.stdout
    assert "event:   irq_enable irq=48" in proc.stdout
    assert "vnet: matched" in proc.stdout


def test_parse_stdin_reads_lines_as_analyze_does():
    """A line redrawn after a CR is the redraw (analyze reads only 'val 3' of it); a colour
    reset after a CRLF's CR is no line. parse - split at every CR and read both values."""
    proc = run("parse", "-", stdin="virtio_set_status vdev 0x1 val 1\r"
                                   "virtio_set_status vdev 0x1 val 3\n"
                                   "\x1b[32mvirtio_set_status vdev 0x1 val 7\r\x1b[0m\n")
    shown = re.findall(r"^line: (.*)$", proc.stdout, re.M)
    assert shown == ["virtio_set_status vdev 0x1 val 3", "virtio_set_status vdev 0x1 val 7"]


def test_parse_escapes_control_characters():
    proc = run("parse", "virtio\x07 \x1b]0;title\x07bell")
    assert "\x07" not in proc.stdout and "\x1b" not in proc.stdout


def test_grammar_path_env(tmp_path):
    folder = tmp_path / "grammars"
    folder.mkdir()
    (folder / "vnet.lark").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    env = {"VIRTIODIAG_GRAMMAR_PATH": str(folder)}
    proc = run("analyze", "--format", "json", str(EXAMPLE_LOG), env=env)
    assert json.loads(proc.stdout)["stats"]["dialects"] == {"vnet": 14}


def test_samples_numbered_as_analyze_numbers_lines(tmp_path):
    """A serial capture ends its lines in CR CR LF, and a coloured one puts a colour reset
    after the CR: --samples read a lone CR as a line end (text mode's universal
    newlines), so each line after the first got the number of another and the reset
    became a failing empty sample. Now a line ends at LF, as analyze counts it."""
    grammar = write(tmp_path, "mydrv.lark", GOOD)
    samples = tmp_path / "serial.log"
    samples.write_bytes(b"mydrv0 status 0x1\r\r\n"
                        b"mydrv0 status 0x3\r\r\n"
                        b"\x1b[32mmydrv0 read 0x3\r\x1b[0m\n"
                        b"mydrv0 virtio bogus\n")
    out = run("grammar", "check", str(grammar), "--samples", str(samples)).stdout
    shown = re.findall(r"^(ok|FAIL) +\S*serial\.log:(\d+): (.*)$", out, re.M)
    assert shown == [("ok", "1", "mydrv0 status 0x1"), ("ok", "2", "mydrv0 status 0x3"),
                     ("ok", "3", "mydrv0 read 0x3"), ("FAIL", "4", "mydrv0 virtio bogus")]
    analyze = run("analyze", "--verbose", "--grammar", str(grammar), str(samples)).stdout
    assert re.search(r"^ +4  mydrv0 virtio bogus$", analyze, re.M)
