"""``python -m benchmark report``: the page and its files from run folders with failures, partial
seeds, several folders, and one small real run."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.report import write_report
from benchmark.runfolder import IncompatibleRun
from tests.report_fixtures import FRAMEWORKS, make_messy_run, make_run, rows as _rows

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def messy_run(tmp_path):
    return make_messy_run(tmp_path / "run")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_report_from_a_run_with_failures_and_partial_seeds(messy_run):
    page = write_report([messy_run])
    assert page == messy_run / "report" / "index.html"
    html = page.read_text()
    text = _text(html)
    out = page.parent
    assert "Partial results" in text and "4 pending" in text   # digits, seed 2
    # The paper's table: lightgbm's wine cell has no predictions, its iris cell is footnoted.
    table = html[html.index('id="paper-table"'):html.index("</table>", html.index('id="paper-table"'))]
    wine = re.search(r"<tr><td>wine</td>(.*?)</tr>", table).group(1)
    assert wine.count("<td") == 4 and wine.endswith("<td>-</td>")
    assert '<td class="best">0.8720 ± 0.0016</td>' in wine   # autodl: .8 + .06 + .01 + mean(0, .002, .004)
    assert re.search(r"<tr><td>iris</td>.*<td class=\"best\">0\.\d{4} ± 0\.\d{4}<sup>1</sup></td></tr>", table)   # lightgbm, 1 of 3 failed
    assert "lightgbm on iris: 1 of 3 jobs failed (memory)" in text
    # Summaries: wine's failure is imputed with the constant predictor, nothing is pending at cell level.
    assert "lightgbm on wine" in text and "constant predictor" in text
    assert re.search(r"Friedman test over 4 frameworks on 3 datasets: χ² = [\d.]+, p = ", text)
    assert "id=\"wins-ties-losses\"" in html and "id=\"rank-summary\"" in html
    assert "timeout" in text and "memory" in text and "exceeded the wall-clock limit of 32 s" in text
    # Figures: the CD diagram states datasets and seeds; anytime curves for the dataset autodl logged.
    svg = (out / "cd_diagram.svg").read_text()
    assert "4 frameworks on 3 datasets (1 fold(s) each), 2-3 seed(s) per dataset and framework" in svg
    images = re.findall(r'<img src="([^"]+)"', html)
    assert images[0] == "cd_diagram.svg" and "resources.svg" in images
    anytime = [i for i in images if i.startswith("anytime_")]
    assert len(anytime) == 1 and "iris" in anytime[0]
    assert "autodl ensemble (validation, 3 runs)" in (out / anytime[0]).read_text()
    for name in images:
        assert (out / name).stat().st_size > 0 and (out / name.replace(".svg", ".png")).stat().st_size > 0
    for tex in ("table.tex", "summary.tex", "wins_ties_losses.tex", "resources.tex"):
        assert (out / tex).read_text().count(r"\end{tabular}") == 1
    assert "http://" not in html and "https://" not in html and "<script" not in html   # works offline


def test_report_without_constant_predictor_says_so(tmp_path):
    run = make_run(tmp_path / "run", _rows(frameworks=("randomforest", "autodl", "lightgbm")))
    html = write_report([run]).read_text()
    assert "the constantpredictor baseline was not run" in _text(html)
    assert "<th>normalised score</th>" not in html and "<th>average rank</th>" in html


def test_report_on_an_empty_run_and_a_single_framework(tmp_path):
    from benchmark.runfolder import open_run

    empty = tmp_path / "empty"
    open_run(empty, {"suite": "demo", "budget": 10, "cores": 1, "memory_mb": 4096, "gpus": 0},
             {"frameworks": ["randomforest"], "tasks": ["iris"], "folds": [0], "seeds": [0]})
    assert "No results yet" in write_report([empty]).read_text()
    one = make_run(tmp_path / "one", _rows(frameworks=("randomforest",)))
    assert "the Friedman test needs at least 3 frameworks" in _text(write_report([one]).read_text())


def test_merging_runs_that_share_tasks(tmp_path):
    a = make_run(tmp_path / "a", _rows(frameworks=("constantpredictor", "randomforest")))
    b = make_run(tmp_path / "b", _rows(frameworks=("autodl", "lightgbm"), tasks=("iris", "wine")))
    out = tmp_path / "merged"
    html = write_report([a, b], out).read_text()
    header = re.search(r'<table id="paper-table">\s*<thead>(.*?)</thead>', html, re.S).group(1)
    assert re.findall(r"<th>([^<]+)</th>", header) == ["dataset", *FRAMEWORKS[:2], *FRAMEWORKS[2:]]
    # digits only ran in a: autodl and lightgbm have no result there, so it is not ranked.
    assert "Not ranked: digits (autodl has no result yet)" in _text(html)
    assert str(a) in html and str(b) in html


def test_merging_refuses_different_constraints_and_disjoint_tasks(tmp_path, capsys):
    a = make_run(tmp_path / "a", _rows(frameworks=("randomforest",)))
    b = make_run(tmp_path / "b", _rows(frameworks=("lightgbm",)), identity={"budget": 60})
    with pytest.raises(IncompatibleRun, match="budget 10 in .* vs 60 in"):
        write_report([a, b], tmp_path / "out")
    assert main(["report", str(a), str(b), "--out", str(tmp_path / "out")]) == 2
    assert "cannot merge runs with different constraints (budget 10" in capsys.readouterr().err
    c = make_run(tmp_path / "c", _rows(frameworks=("lightgbm",), tasks=("adult",)))
    with pytest.raises(IncompatibleRun, match="share no task"):
        write_report([a, c], tmp_path / "out")


def test_report_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "is not a run folder" in capsys.readouterr().err


@pytest.mark.timeout(300)
def test_report_of_a_small_real_run_via_the_cli(tmp_path):
    run = tmp_path / "real"
    cmd = [sys.executable, "-m", "benchmark"]
    subprocess.run([*cmd, "run", "--task", "iris", "--framework", "constantpredictor,randomforest,lightgbm",
                    "--budget", "10", "--out", str(run)], cwd=REPO, check=True,
                   capture_output=True, timeout=240)
    done = subprocess.run([*cmd, "report", str(run)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"report written to {run / 'report' / 'index.html'}" in done.stdout
    text = _text((run / "report" / "index.html").read_text())
    assert re.search(r"iris 0\.\d{4} ± 0\.0000 \d\.\d{4} ± 0\.0000 \d\.\d{4} ± 0\.0000", text)
    assert "3 done, 0 failed, 0 queued, 0 running, 0 pending" in text
    assert "the Friedman test needs at least 2 complete datasets" in text
