"""Logs as mail and web pages carry them: quoted-printable bodies (soft line breaks, "=3D")
and typographic quotes and spaces. Each gives the report of the log as printed, and a log
that is neither is read byte for byte as before (tests/fixtures/mail/README.md)."""

import email.quoprimime
import json
import quopri
import re
from io import BytesIO
from pathlib import Path

import pytest

from conftest import invoke_cli
from virtiodiag.sources.framing import clean
from virtiodiag.sources.quoted import QuotedPrintable
from virtiodiag.sources.scanner import LineScanner

ROOT = Path(__file__).parent.parent
MAIL = ROOT / "tests" / "fixtures" / "mail"
PLAIN = MAIL / "console.log"


def _report(path: Path, renumber: dict[int, int] | None = None) -> dict:
    """The JSON report without what names the file (path, the fingerprints made from it,
    its size), line numbers mapped by ``renumber`` (a line of the plain log to the line
    of the encoded file where it starts)."""
    proc = invoke_cli("analyze", "--format", "json", path)
    assert proc.returncode in (0, 1), proc.stderr
    return _without_file(json.loads(proc.stdout), renumber or {})


def _without_file(value, renumber: dict[int, int]):
    if isinstance(value, list):
        return [_without_file(item, renumber) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: (renumber.get(item, item) if key in ("line", "first_line", "last_line")
                  else _without_file(item, renumber))
            for key, item in value.items()
            if key not in ("path", "fingerprint", "bytes", "lines")}


def _starts(encoded: bytes) -> dict[int, int]:
    """Plain line number -> the encoded file's line where that line starts."""
    starts, number, previous = {}, 1, b""
    for physical, line in enumerate(encoded.split(b"\n"), 1):
        if not previous.endswith(b"="):
            starts[number] = physical
            number += 1
        previous = line
    return starts


def _unwrap(data: bytes, block: int) -> tuple[bytes, QuotedPrintable]:
    quoted = QuotedPrintable()
    out = b"".join(quoted.feed(data[at:at + block]) for at in range(0, len(data), block))
    return out + quoted.close(), quoted


def test_the_fixture_is_pythons_encoding_of_the_plain_console():
    plain = PLAIN.read_bytes()
    encoded = BytesIO()
    quopri.encode(BytesIO(plain), encoded, quotetabs=False)
    assert (MAIL / "console-qp.log").read_bytes() == encoded.getvalue()
    assert email.quoprimime.body_encode(plain.decode()).encode() == encoded.getvalue()


def test_a_quoted_printable_console_gives_the_plain_consoles_report():
    encoded_path = MAIL / "console-qp.log"
    plain = _report(PLAIN, _starts(encoded_path.read_bytes()))
    encoded = _report(encoded_path)
    assert encoded == plain  # same devices, findings, evidence texts; the file's lines
    assert [d["type"] for d in plain["devices"]] == ["net", "block", "console"]
    assert plain["stats"]["unrecognised_virtio_lines"] == 0


@pytest.mark.parametrize("block", [1, 3, 76, 77, 4096])
def test_soft_breaks_and_escapes_are_undone_whatever_the_block_size(block):
    encoded = (MAIL / "console-qp.log").read_bytes()
    out, quoted = _unwrap(encoded, block)
    assert re.sub(b"\n+", b"\n", out) == PLAIN.read_bytes()
    assert out.count(b"\n") == encoded.count(b"\n")  # every line keeps its number
    assert (quoted.soft_breaks, quoted.escapes) == (encoded.count(b"=\n"), encoded.count(b"=3D"))


def test_line_numbers_are_the_files():
    scanner = LineScanner(triggers=[b"virtio"])
    lines = [(n, raw) for block in [(MAIL / "console-qp.log").read_bytes()]
             for n, raw, _ in scanner.feed(block)]
    lines += [(n, raw) for n, raw, _ in scanner.close()]
    assert lines[0] == (9, b"[    1.208113] virtio_blk virtio1: [vda] 20971520 512-byte "
                            b"logical blocks (10.7 GB/10.0 GiB)")
    assert scanner.lines == 16 and scanner.quoted.soft_breaks == 6


@pytest.mark.parametrize("text", [
    b"[    0.000000] Kernel command line: console=ttyS0 virtio_mmio.device=\nnext line\n",
    # a 76-character line ending in "=" followed by a line no encoder writes
    b"x" * 75 + b"=\n" + b"[    1.000000] " + b"y" * 80 + b"\n",
    # a lower-case "=3d" is a kernel's hex, not an escape
    b"reg=3d val=20\nvirtio_net virtio0: x=\n",
    "virtio0 at pci0 dev 3 function 0 \u201cQumranet\u201d = \n".encode(),
    b"x" * 75 + b"=",  # at the end of the log: nothing confirms it
])
@pytest.mark.parametrize("block", [1, 5, 4096])
def test_a_log_that_is_not_quoted_printable_is_left_alone(text, block):
    out, quoted = _unwrap(text, block)
    assert out == text and quoted.soft_breaks == quoted.escapes == 0


def test_every_sample_and_fixture_passes_through_unchanged():
    paths = [p for d in ("samples", "tests/fixtures") for p in sorted((ROOT / d).rglob("*"))
             if p.is_file() and p.suffix in (".log", ".txt") and p.parent != MAIL]
    assert len(paths) > 100
    for path in paths:
        data = path.read_bytes()
        assert _unwrap(data, 1 << 20)[0] == data, path


def test_typographic_quotes_and_spaces_read_as_printed():
    line = ("virtio0 at pci0 dev 3 function 0 \u201cQumranet Virtio Network\u201d rev 0x00:"
            "\u00a0Virtio Network Device \u2018x\u2019 \u2212 22\u2026\u200b")
    assert clean(line.encode()) == ("virtio0 at pci0 dev 3 function 0 \"Qumranet Virtio "
                                    "Network\" rev 0x00: Virtio Network Device 'x' - 22...")
    assert clean("caf\u00e9 \u00ab ok \u00bb".encode()) == "caf\u00e9 \u00ab ok \u00bb"


def test_an_openbsd_dmesg_from_a_web_page_gives_the_printed_logs_report(tmp_path):
    printed = ROOT / "tests" / "fixtures" / "wild" / "openbsd.log"
    lines = printed.read_text().splitlines(keepends=True)
    # As a web page renders it: curly quotes, a non-breaking space after each colon
    web = []
    for line in lines:
        curly = line
        while curly.count('"') >= 2:
            curly = curly.replace('"', "\u201c", 1).replace('"', "\u201d", 1)
        web.append(curly.replace(": ", ":\u00a0"))
    pasted = tmp_path / "openbsd-web.log"
    pasted.write_text("".join(web))
    assert "\u201c" in pasted.read_text()
    want = _report(printed)
    assert _report(pasted) == want
    assert len(want["devices"]) >= 2


def test_the_second_process_scans_a_quoted_printable_log_as_this_one_does():
    """A large file is scanned in a child (sources/prescan.py): same lines, same counts."""
    from virtiodiag.sources.prescan import Prescan

    encoded = (MAIL / "console-qp.log").read_bytes()
    here = LineScanner(triggers=[b"virtio"])
    want = [*here.feed(encoded), *here.close()]
    there = LineScanner(triggers=[b"virtio"])
    with (MAIL / "console-qp.log").open("rb", buffering=0) as stream:
        prescan = Prescan(stream, there)
        try:
            got = [line for _, lines, _ in prescan for line in lines]
            prescan.finish()
        finally:
            prescan.close()
    assert got == want and len(want) == 4
    assert (there.lines, there.quoted.soft_breaks, there.quoted.escapes) == (
        here.lines, here.quoted.soft_breaks, here.quoted.escapes) == (16, 6, 10)


def test_the_summary_says_what_was_undone():
    proc = invoke_cli("analyze", MAIL / "console-qp.log")
    assert "quoted-printable undone: 6 soft line break(s) joined, 10 escape(s) decoded" \
        in proc.stdout
    assert "quoted-printable" not in invoke_cli("analyze", PLAIN).stdout


@pytest.mark.parametrize("start", [b"", b"x" * 75 + b"=\n", b"a=3Db=\n"])
def test_a_giant_line_is_handed_on_as_it_comes(start):
    """Memory stays flat: a line with '=' and no newline is not held whole."""
    quoted = QuotedPrintable()
    out = [quoted.feed(start)]
    block = b"key=value " * 10000  # 100 kB, no newline
    for _ in range(50):
        out.append(quoted.feed(block))
        assert len(out[-1]) >= len(block) - 4096
    out.append(quoted.feed(b"end\nnext=\n"))
    out.append(quoted.close())
    data = b"".join(out)
    assert data.count(b"\n") == start.count(b"\n") + 2
    assert data.endswith(block + b"end\nnext=\n")


def test_large_blocks_find_the_same_openings_with_re2_as_with_re(monkeypatch):
    """A block of 256 KiB or more is searched for "=\\n", "=\\r\\n" and "=3D" by RE2
    (sources/quoted._openings): the same places as re's finditer, the same output."""
    from virtiodiag.sources import quoted as quoted_module

    encoded = (MAIL / "console-qp.log").read_bytes()
    noise = b"".join(b"[%6d.000000] audit: type=1400 x=3d y== z=\r\n" % i for i in range(9000))
    tricky = b"a=3D b=\r\nc=\n==3D =3 =\r=\n" + b"x" * 75 + b"=\n"
    data = noise + tricky + encoded + noise + encoded + b"tail=3D"
    assert len(data) > quoted_module.RE2_FROM_BLOCK_SIZE
    assert quoted_module._re2() is not None  # google-re2 is a dependency
    spans = list(quoted_module._openings(data))
    assert spans == [m.span() for m in quoted_module._OPENING.finditer(data)]
    assert len(spans) > 9000
    with_re2 = _unwrap(data, 1 << 20)
    monkeypatch.setattr(quoted_module, "_re2", lambda: None)
    with_re = _unwrap(data, 1 << 20)
    assert with_re2[0] == with_re[0] and with_re2[0] != data
    assert (with_re2[1].soft_breaks, with_re2[1].escapes) == (
        with_re[1].soft_breaks, with_re[1].escapes) != (0, 0)
