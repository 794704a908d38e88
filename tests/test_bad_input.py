"""Bad input gets a clear message or an honest report, never a traceback."""

import gzip
import json

import pytest


from conftest import run_cli

LEGACY = (b"virtio_set_status vdev 0x55d0a7b3c010 val 0\n"
          b"virtio_set_status vdev 0x55d0a7b3c010 val 1\n"
          b"virtio_set_status vdev 0x55d0a7b3c010 val 3\n"
          b"virtio_set_status vdev 0x55d0a7b3c010 val 7\n")


def _no_traceback(proc):
    assert b"Traceback" not in proc.stderr and b"Traceback" not in proc.stdout


def test_missing_file(tmp_path):
    proc = run_cli("analyze", tmp_path / "nope.log")
    _no_traceback(proc)
    assert proc.returncode == 2
    assert b"no such file" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_directory_without_logs_is_an_error(tmp_path):
    proc = run_cli("analyze", tmp_path)
    _no_traceback(proc)
    assert proc.returncode == 2


def test_empty_file(tmp_path):
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    proc = run_cli("analyze", "--format", "json", path)
    _no_traceback(proc)
    assert proc.returncode == 0
    report = json.loads(proc.stdout)
    assert report["devices"] == [] and report["stats"]["lines"] == 0


def test_binary_junk(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(bytes(range(256)) * 4000 + b"\x00virtio\xff\xfe\n" * 10)
    proc = run_cli("analyze", path)
    _no_traceback(proc)
    assert proc.returncode == 0
    assert b"invalid UTF-8" in proc.stdout


def test_nul_ansi_crlf_invalid_utf8_still_parse(tmp_path):
    lines = [b"\x1b[0;32m[    0.901234] virtio-pci 0000:00:04.0: virtio_pci: leaving for legacy driver\x1b[0m\r\n",
             b"\x00\xff[    1.0] virtio_net virtio0: probe with driver virtio_net failed with error -22\r\n"]
    path = tmp_path / "messy.log"
    path.write_bytes(b"".join(lines))
    proc = run_cli("analyze", "--format", "json", path)
    _no_traceback(proc)
    report = json.loads(proc.stdout)
    kinds = [e["event"].split()[0] for d in report["devices"] for e in d["timeline"]]
    assert "legacy_fallback" in kinds
    assert report["stats"]["invalid_utf8_lines"] == 1


def test_control_characters_are_not_echoed_raw(tmp_path):
    path = tmp_path / "evil.log"
    path.write_bytes(b"virtio-pci 0000:00:04.0: virtio_pci: leaving for legacy driver\n"
                     b"virtio_net virtio0: weird \x1b]0;owned\x07 \x9b31m text\n")
    proc = run_cli("analyze", "--verbose", path)
    _no_traceback(proc)
    assert b"\x1b" not in proc.stdout and b"\x07" not in proc.stdout


def test_megabyte_line_and_truncated_last_line(tmp_path):
    path = tmp_path / "long.log"
    path.write_bytes(b"x" * (1 << 20) + b" virtio\n" + LEGACY + b"virtio_set_status vdev 0x1 val 1")
    proc = run_cli("analyze", "--format", "json", path)
    _no_traceback(proc)
    report = json.loads(proc.stdout)
    assert report["stats"]["lines"] == 6
    assert report["stats"]["truncated_last_line"] is True
    assert any(d["status_writes"] == [0, 1, 3, 7] for d in report["devices"])


def test_gzip_input(tmp_path):
    path = tmp_path / "trace.log.gz"
    path.write_bytes(gzip.compress(LEGACY))
    proc = run_cli("analyze", "--format", "json", path)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["devices"][0]["status_writes"] == [0, 1, 3, 7]


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "bad.log.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    proc = run_cli("analyze", path)
    _no_traceback(proc)
    assert proc.returncode == 2


def _filler(count: int) -> bytes:
    """Kernel lines that name no device, each different (they compress, but not to nothing)."""
    return b"".join(b"[%5d.%06d] random: get_random_u32 called from 0x%08x with crng_init=0\n"
                    % (n // 1000, n * 7919 % 1000000, n * 2654435761 % (1 << 32))
                    for n in range(count))


_CUT_LOGS: dict[str, bytes] = {}


def _cut_log(packer: str) -> bytes:
    """About 1.5 MB of log packed by ``packer`` and cut at three fifths (the cut comes in
    the first MiB read), made once per session for the file and the stdin case: xz packs
    it in ~0.35 s of CPU, more than either case's analysis. Shared between pytest-xdist's
    workers (the session's folder of reports), so both cases read the same bytes."""
    import bz2
    import lzma

    from conftest import _made_once_by_the_workers

    def make() -> bytes:
        log = LEGACY + _filler(20000)
        packed = {"gzip": gzip.compress, "xz": lzma.compress,
                  "bzip2": lambda data: bz2.compress(data, 1)}[packer](log)
        return packed[:len(packed) * 3 // 5]

    if packer not in _CUT_LOGS:
        _CUT_LOGS[packer] = _made_once_by_the_workers(("cut log", packer), make, binary=True)
    return _CUT_LOGS[packer]


@pytest.mark.parametrize("how", ["file", "stdin"])
@pytest.mark.parametrize("packer", ["gzip", "xz", "bzip2"])
def test_truncated_compressed_log_is_analysed_as_far_as_it_goes(tmp_path, how, packer):
    """A .gz cut short (a download or a CI artifact): the lines decompressed before the cut
    are analysed and reported, and the truncation is an input error (exit 2) that says so.
    Before, GzipFile.read(1 MiB) dropped what it had decompressed when the cut came in the
    same call: a log under 1 MiB gave no line at all, only 'read error'."""
    cut = _cut_log(packer)
    path = tmp_path / "console.log.cut"
    path.write_bytes(cut)
    proc = (run_cli("analyze", "--format", "json", path) if how == "file"
            else run_cli("analyze", "--format", "json", "-", stdin=cut))
    _no_traceback(proc)
    assert proc.returncode == 2
    assert b"truncated: the compressed input ends before its end-of-stream marker" in (
        proc.stderr)
    report = json.loads(proc.stdout)
    assert "truncated" in report["error"]
    assert report["devices"][0]["status_writes"] == [0, 1, 3, 7]
    assert [f["rule"] for f in report["findings"]] == ["VD001"]
    assert 4 < report["stats"]["lines"] < 20004
    text = run_cli("analyze", path)
    assert text.returncode == 2
    assert b"VD001" in text.stdout and b"truncated" in text.stdout


def test_compressed_log_cut_in_its_header_says_nothing_was_decompressed(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(LEGACY)[:6])
    proc = run_cli("analyze", path)
    _no_traceback(proc)
    assert proc.returncode == 2
    assert b"truncated" in proc.stderr and b"nothing of it could be decompressed" in proc.stderr


def test_stdin(tmp_path):
    proc = run_cli("analyze", "--format", "json", "-", stdin=LEGACY)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["findings"][0]["name"] == "legacy-fallback"
    assert report["findings"][0]["line"] == 4


def test_unknown_format_is_usage_error(tmp_path):
    proc = run_cli("analyze", "--format", "nope", "-", stdin=b"")
    _no_traceback(proc)
    assert proc.returncode == 2


def test_version_does_not_compile_grammars():
    import subprocess
    import sys

    code = ("import sys; from click.testing import CliRunner; from virtiodiag.cli import cli; "
            "r = CliRunner().invoke(cli, ['--version']); print(r.output.strip()); "
            "print('lark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "virtiodiag" in out and out.strip().endswith("False")


def test_escape_or_control_after_a_carriage_return_redraws_nothing(tmp_path):
    """A serial capture coloured line by line ("\\x1b[32m" LINE "\\r\\x1b[0m": the CRLF's CR
    inside the colour) or with a NUL after the CR: what follows the CR prints nothing, so
    the line stays as it was on the terminal. It was taken as redrawn by that nothing and
    dropped: no event, not even counted as not understood."""
    plain = tmp_path / "plain.log"
    plain.write_bytes(LEGACY)
    lines = LEGACY.splitlines()
    coloured = tmp_path / "coloured.log"
    coloured.write_bytes(b"".join(b"\x1b[32m" + line + b"\r\x1b[0m\n" for line in lines[:2])
                         + b"".join(line + b"\r\x00\n" for line in lines[2:]))
    reports = []
    for path in (plain, coloured):
        proc = run_cli("analyze", "--format", "json", path)
        _no_traceback(proc)
        reports.append(json.loads(proc.stdout))
    assert reports[1]["stats"]["events"] == reports[0]["stats"]["events"] == 4
    assert ([d["status_writes"] for d in reports[1]["devices"]]
            == [d["status_writes"] for d in reports[0]["devices"]])


def test_a_run_cut_mid_line_says_so_among_several(tmp_path):
    """Among several runs, each run's verdict line says its last line was cut, as the
    one-run summary does (it said nothing: a cut run looked whole)."""
    whole, cut = tmp_path / "whole.log", tmp_path / "cut.log"
    whole.write_bytes(LEGACY)
    cut.write_bytes(LEGACY + b"virtio_set_status vdev 0x55d0a7b3c010 va")
    out = run_cli("analyze", whole, cut).stdout.decode()
    verdicts = {line.split()[1].rstrip(":"): line for line in out.splitlines()
                if line.startswith(("PASS", "FAIL"))}
    assert verdicts[str(cut)].endswith("; last line had no newline (truncated log?)")
    assert "newline" not in verdicts[str(whole)]
