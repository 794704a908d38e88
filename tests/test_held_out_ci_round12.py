"""Formats from the twelfth judging round, CI job logs and crash reports (2026-12-04),
written from their sources; the held-out logs that showed them are listed in
docs/held-out-logs.md (their text is not here).

* A log copied out of a web page's HTML (a bug tracker's rendered description: Jira's
  "<p>...<br/>" paragraphs): the markup stayed on every line, so a line whose format
  ends the text ("mount: mounting %s on %s failed: %s") was not read: VD020's warning and
  exit 0 on a boot that stopped in its initramfs.
Lines written from those format strings, with made-up values."""

import format_tables
from conftest import invoke_cli
from virtiodiag.sources.framing import clean

TAG_ROOT = "mount: mounting hostroot on /root failed: No such device"


def _run(text, dialects):
    return format_tables.analyse_text("job.log", text, dialects)


def test_a_lines_html_paragraph_and_break_go():
    assert clean(b"<p>virtio_blk virtio1: [vda] 8 512-byte logical blocks<br/>") == (
        "virtio_blk virtio1: [vda] 8 512-byte logical blocks")
    assert clean(b"done.<br />") == "done." and clean(b"last line</p>") == "last line"
    assert clean(b"<P>a &lt;b&gt; &amp; c<BR>") == "a <b> & c"


def test_lines_that_only_look_like_markup_stay():
    for line in ("<6>[    1.0] virtio_blk virtio1: [vda] 8 512-byte logical blocks",
                 " vdb: vdb1 < vdb5 vdb6 >", "</disk>", "a &amp; b", "<pre>x</pre>"):
        assert clean(line.encode()) == line


def test_a_boot_copied_out_of_html_gates_on_its_failure(dialects):
    result = _run("<p>Begin: Mounting root file system ... done.</p>\n"
                  f"<p>{TAG_ROOT}<br/>\n"
                  "Begin: Running /scripts/init-bottom ... done.</p>\n", dialects)
    assert [f.rule for f in format_tables.errors(result)] == ["VD024"]
    assert result.model.unrecognised == 0


def test_the_html_prefix_form_exits_1_on_the_consoles_failure():
    proc = invoke_cli("analyze", "tests/fixtures/prefixes/html-paragraph.log")
    assert proc.returncode == 1 and "VD015" in proc.stdout
