"""The text report's device table is laid out without tabulate when it can be
(reports/plain_table.py): the same string as ``tabulate(..., tablefmt="plain")``, on real
logs' tables and on generated ones, and tabulate itself for any table it cannot vouch for."""

from __future__ import annotations

import random

import pytest
from conftest import REPO, SAMPLES, invoke_cli
from tabulate import tabulate

from virtiodiag.reports import plain_table as plain
from virtiodiag.reports import text

FIXTURES = REPO / "tests" / "fixtures"
HEADERS = ["", "device", "type", "transport", "mode", "handshake"]


@pytest.mark.parametrize("log", [SAMPLES / "multi-device" / "combined.log",
                                 SAMPLES / "seabios-virtio-pci" / "combined.log",
                                 FIXTURES / "wild" / "netbsd-dmesg.log",
                                 FIXTURES / "wild" / "cloud-hypervisor.log"],
                         ids=lambda p: p.parent.name + "/" + p.name)
def test_real_device_tables_equal_tabulate(monkeypatch, log):
    seen = []

    def recording(rows, headers):
        seen.append((rows, headers))
        return plain.plain_table(rows, headers)

    monkeypatch.setattr(text, "plain_table", recording)
    proc = invoke_cli("analyze", "--no-color", log)
    assert proc.returncode in (0, 1), proc.stderr
    assert seen and seen[0][0], proc.stdout
    for rows, headers in seen:
        assert all(plain._plain_cell(cell) for row in rows for cell in row)  # no fallback
        expected = tabulate(rows, headers=headers, tablefmt="plain")
        assert plain.plain_table(rows, headers) == expected
        assert expected in proc.stdout


# Cells tabulate treats apart: numbers, booleans, empty, white space it strips, colour
# codes, line breaks; and ordinary ones, ASCII and not.
PIECES = list("abxz019.,:-_ ?/()[]+eE") + [
    "\u2192", "\u2713", "\u2717", "\u2014", "virtio0", "0000:00:03.0", "1", "1,000", "True",
    "nan", "inf", "0x10", "1e5", " ", "\t", "\x1b[31m", "\x1b[0m", "\n", "\u00a0"]


def test_generated_tables_equal_tabulate(monkeypatch):
    """Tables laid out without tabulate equal its own; every other table goes to tabulate
    (its call seen here, so the 4000 draws run tabulate only where it is compared)."""
    import tabulate as tabulate_module

    rng = random.Random(11)
    fast = 0
    handed = object()
    for _ in range(4000):
        width = rng.randint(1, 6)
        headers = [rng.choice(HEADERS + ["x y"]) for _ in range(width)]
        rows = [["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 5)))
                 for _ in range(width)] for _ in range(rng.randint(1, 5))]
        if all(plain._plain_cell(cell) for row in rows for cell in row):
            fast += 1
            assert plain.plain_table(rows, headers) == tabulate(rows, headers=headers,
                                                                tablefmt="plain"), rows
            continue
        with monkeypatch.context() as patched:
            patched.setattr(tabulate_module, "tabulate", lambda *_a, **_k: handed)
            assert plain.plain_table(rows, headers) is handed, rows  # tabulate's own
    assert fast > 100  # the tables laid out without tabulate are among those compared


@pytest.mark.parametrize("cell", ["1", "-2.5", "1,000", "True", "nan", "", " a", "a\n",
                                  "\x1b[31mred\x1b[0m", "1e5"])
def test_cells_tabulate_reads_apart_go_to_tabulate(cell):
    assert not plain._plain_cell(cell)


def test_non_ascii_measured_as_tabulate_would(monkeypatch):
    monkeypatch.setattr(plain, "_WIDE_CHARS", True)  # wcwidth installed: tabulate decides
    assert not plain._plain_cell("\u2713")
    monkeypatch.setattr(plain, "_WIDE_CHARS", False)
    assert plain._plain_cell("\u2713")
