"""Each framework's variant (preset and main options) beside its version: in the summary under the
table, the LaTeX table's footer and the report."""
from __future__ import annotations

import json
import re

from benchmark.report import write_report
from benchmark.results import read_results
from benchmark.table import comparison_table, framework_summary, variant
from tests.report_fixtures import make_run, rows


def _params(preset, **main):
    return json.dumps({"preset": preset, "main_options": main, "options": {"time_limit": 8.5, **main}})


def _run_with_variants(tmp_path):
    run = make_run(tmp_path / "run", rows(frameworks=("constantpredictor", "autogluon", "autogluon_best",
                                                      "autosklearn2"), tasks=("iris", "wine"), seeds=(0,)))
    # The fixture writes rows without params; rewrite the column as the adapters fill it
    df = read_results(run)
    df["params"] = df["framework"].map({
        "autogluon": _params("medium_quality", presets="medium_quality"),
        "autogluon_best": _params("best_quality", presets="best_quality"),
        "autosklearn2": _params("auto-sklearn 2.0", per_run_time_limit="budget/3 under 300 s"),
        "constantpredictor": ""})
    df.to_csv(run / "results.csv", index=False)
    return run


def test_variants_are_read_from_params_and_shown_beside_the_version(tmp_path):
    assert variant(_params("best_quality", presets="best_quality")) == ("best_quality", "presets=best_quality")
    assert variant(_params("best_quality", ds_args={"memory_safe_fits": False}, presets="best_quality")) == \
        ("best_quality", "ds_args.memory_safe_fits=False, presets=best_quality")
    assert variant('{"presets": "best_quality"}') == ("", "")       # rows written before variants were recorded
    assert variant("") == ("", "") and variant(float("nan")) == ("", "") and variant("{not json") == ("", "")
    df = read_results(_run_with_variants(tmp_path))
    summary = framework_summary(df)
    assert list(summary.columns[:3]) == ["version", "preset", "options"]
    assert summary.loc["autogluon_best", "preset"] == "best_quality"
    assert summary.loc["autogluon", "options"] == "presets=medium_quality"
    assert summary.loc["autosklearn2", "preset"] == "auto-sklearn 2.0"
    assert summary.loc["constantpredictor", "preset"] == "-" and summary.loc["constantpredictor", "options"] == "-"
    latex = comparison_table(df, "latex")
    assert r"\footnotesize{autogluon\_best: 1.0, preset best\_quality (presets=best\_quality)}" in latex
    assert "constantpredictor:" not in latex.split(r"\end{tabular}")[1]


def test_the_report_shows_each_variant(tmp_path):
    html = write_report([_run_with_variants(tmp_path)]).read_text()
    table = html[html.index('id="framework-summary"'):]
    table = table[:table.index("</table>")]
    assert re.search(r"<th>autogluon_best</th>\s*<td>1.0</td>\s*<td>best_quality</td>\s*<td>presets=best_quality</td>",
                     table)
    assert "<th>main options</th>" in table
