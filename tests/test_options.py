"""The option objects (virtiodiag/options.py): made once, never changed, copied with
``replace``; the configuration file and the command line build the same AnalysisOptions
for every command."""

from __future__ import annotations

import pytest

from virtiodiag.config import analysis_options
from virtiodiag.options import AnalysisOptions, AnalyzeOptions, ReadOptions, ReportOptions


def test_an_option_object_cannot_change_and_replace_makes_a_changed_copy():
    report = ReportOptions(fail_on="warning")
    with pytest.raises(AttributeError):
        report.color = True  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del report.fail_on
    coloured = report.replace(color=True, live_paths=frozenset({"<stdin>"}))
    assert (report.color, coloured.color) == (False, True)
    assert coloured.fail_on == "warning" and coloured.live_paths == {"<stdin>"}
    assert coloured == ReportOptions(color=True, fail_on="warning", live_paths={"<stdin>"})
    assert hash(coloured) == hash(ReportOptions(color=True, fail_on="warning",
                                                live_paths={"<stdin>"}))
    with pytest.raises(TypeError):
        report.replace(colour=True)


def test_following_a_file_is_reading_it_live():
    assert ReadOptions(follow=True).live
    assert not ReadOptions().live and ReadOptions().second_process


def test_analyze_options_tell_the_report_the_gate_and_the_rules_that_run(tmp_path):
    (tmp_path / "virtiodiag.toml").write_text('fail-on = "warning"\nignore = ["VD016"]\n')
    analysis = analysis_options(start=tmp_path, select=None)
    options = AnalyzeOptions(["a.log"], analysis, fmt="json", baseline="b.json")
    assert options.report.fail_on == "warning" == analysis.fail_on
    assert options.report.baseline == "b.json"
    codes = [rule.CODE for rule in options.report.rules]
    assert "VD016" not in codes and "VD001" in codes
    assert options.paths == ("a.log",)


def test_grammars_from_the_command_line_come_before_the_configuration_s(tmp_path):
    (tmp_path / "mine.lark").write_text("start: \"x\"\n")
    (tmp_path / "virtiodiag.toml").write_text('grammars = ["mine.lark"]\n')
    analysis = analysis_options(grammars=["cli.lark"], start=tmp_path)
    assert analysis.grammars == ("cli.lark", str((tmp_path / "mine.lark").resolve()))
    assert AnalysisOptions().grammars == () and AnalysisOptions().fail_on == "error"
