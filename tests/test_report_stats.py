"""The report's statistics against values worked out by hand on small tables."""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.report import plots, stats
from benchmark.report.trajectory import average_curve, read_trajectories
from tests.report_fixtures import make_run, write_trajectory

# Three frameworks on four tasks; C is the constant predictor. Ties on t2 (A, B) and t4 (B, C).
#        A    B    C        ranks: A    B    C
# t1    .9   .8   .5               1    2    3
# t2    .7   .7   .5               1.5  1.5  3
# t3    .6   .9   .5               2    1    3
# t4    .8   .6   .6               1    2.5  2.5
SCORES = pd.DataFrame({"A": [.9, .7, .6, .8], "B": [.8, .7, .9, .6], "constantpredictor": [.5, .5, .5, .6]},
                      index=["t1", "t2", "t3", "t4"])


def test_average_ranks_share_ties():
    ranks = stats.average_ranks(SCORES)
    assert ranks.to_dict() == pytest.approx({"A": 5.5 / 4, "B": 7 / 4, "constantpredictor": 11.5 / 4})
    assert list(ranks.index) == ["A", "B", "constantpredictor"]   # best first


def test_ranks_treat_float_noise_as_a_tie():
    noisy = SCORES.copy()
    noisy.at["t2", "A"] = (0.65 + 0.75) / 2 + 1e-15
    assert stats.average_ranks(noisy)["A"] == pytest.approx(5.5 / 4)


def test_friedman_statistic_with_tie_correction():
    # Rank sums R = 5.5, 7, 11.5; chi2 = 12/(N k (k+1)) sum R^2 - 3 N (k+1) = 0.25 * 211.5 - 48 = 4.875.
    # Two ties of two: correction 1 - sum(t^3 - t) / (N k (k^2 - 1)) = 1 - 12/96 = 0.875 -> 39/7.
    result = stats.friedman(SCORES)
    assert result.statistic == pytest.approx(39 / 7)
    assert result.pvalue == pytest.approx(math.exp(-39 / 14))      # chi2 with 2 degrees of freedom
    assert (result.n_datasets, result.n_frameworks) == (4, 3)


def test_friedman_refuses_too_few_frameworks_or_datasets():
    assert stats.friedman(SCORES[["A", "B"]]).statistic is None
    assert "3 frameworks" in stats.friedman(SCORES[["A", "B"]]).note
    assert stats.friedman(SCORES.iloc[:1]).statistic is None


def test_nemenyi_critical_difference_matches_demsar_table():
    # Demsar (2006), Table 5: q_0.05 = 2.343 for k = 3, 2.569 for k = 4, 2.728 for k = 5.
    assert stats.nemenyi_cd(3, 4) == pytest.approx(2.343 * math.sqrt(3 * 4 / (6 * 4)), abs=1e-3)
    assert stats.nemenyi_cd(4, 10) == pytest.approx(2.569 * math.sqrt(4 * 5 / 60), abs=1e-3)
    assert stats.nemenyi_cd(5, 20) == pytest.approx(2.728 * math.sqrt(5 * 6 / 120), abs=1e-3)


def test_wins_ties_losses():
    wtl = stats.wins_ties_losses(SCORES)
    assert wtl.at["A", "B"] == (2, 1, 1)
    assert wtl.at["B", "A"] == (1, 1, 2)
    assert wtl.at["A", "constantpredictor"] == (4, 0, 0)
    assert wtl.at["B", "constantpredictor"] == (3, 1, 0)
    assert wtl.at["constantpredictor", "B"] == (0, 1, 3)
    assert wtl.at["A", "A"] is None


def test_normalised_scores_between_constant_and_best():
    norm = stats.normalised_scores(SCORES)
    assert norm["A"].tolist() == pytest.approx([1, 1, 0.25, 1])
    assert norm["B"].tolist() == pytest.approx([0.75, 1, 1, 0])
    assert norm["A"].mean() == pytest.approx(0.8125)
    assert norm["B"].mean() == pytest.approx(0.6875)
    assert (norm["constantpredictor"] == 0).all()


def test_normalised_scores_skip_tasks_nobody_beats_and_need_the_constant_predictor():
    flat = pd.DataFrame({"A": [0.5, 0.9], "constantpredictor": [0.5, 0.5]}, index=["easy", "t"])
    norm = stats.normalised_scores(flat)
    assert np.isnan(norm.at["easy", "A"]) and norm.at["t", "A"] == pytest.approx(1)
    assert stats.normalised_scores(SCORES[["A", "B"]]) is None


def test_score_matrix_imputes_failures_and_leaves_out_pending_tasks(tmp_path):
    rows = []
    for seed in (0, 1):
        for task in ("t1", "t2", "t3"):
            rows.append({"framework": "constantpredictor", "task": task, "seed": seed, "acc": 0.4})
            rows.append({"framework": "B", "task": task, "seed": seed,
                         "acc": None if task == "t2" else 0.8 + 0.1 * seed, "failure": "timeout" if task == "t2" else ""})
        rows.append({"framework": "A", "task": "t1", "seed": seed, "acc": 0.7 if seed == 0 else None})
        rows.append({"framework": "A", "task": "t2", "seed": seed, "acc": 0.6 + 0.1 * seed})
        # A has no row on t3 yet: pending
    s = stats.score_matrix(_results(make_run(tmp_path / "run", rows)))
    assert s.raw.at["t1", "A"] == pytest.approx(0.7)            # the one seed that succeeded
    assert s.raw.at["t2", "A"] == pytest.approx(0.65)           # mean over seeds
    assert s.raw.at["t1", "B"] == pytest.approx(0.85)
    assert np.isnan(s.raw.at["t2", "B"]) and s.filled.at["t2", "B"] == pytest.approx(0.4)
    assert s.imputed == [("t2", "B")]
    assert list(s.dropped) == ["t3"] and "A" in s.dropped["t3"]
    assert list(s.complete.index) == ["t1", "t2"]
    assert s.seeds.at["t1", "A"] == 1 and s.seeds.at["t2", "A"] == 2


def test_score_matrix_without_constant_predictor_cannot_impute(tmp_path):
    rows = [{"framework": "A", "task": "t1", "seed": 0, "acc": None}, {"framework": "B", "task": "t1", "seed": 0, "acc": 0.9},
            {"framework": "A", "task": "t2", "seed": 0, "acc": 0.8}, {"framework": "B", "task": "t2", "seed": 0, "acc": 0.9}]
    s = stats.score_matrix(_results(make_run(tmp_path / "run", rows)))
    assert s.imputed == [] and "no constantpredictor" in s.dropped["t1"]
    assert list(s.complete.index) == ["t2"]


def _results(run_dir: Path) -> pd.DataFrame:
    from benchmark.results import read_results
    return read_results(run_dir)


def test_cd_diagram_places_average_ranks_and_joins_insignificant_groups(tmp_path):
    scores = pd.concat([SCORES] * 4, ignore_index=True)     # N = 16: CD = 2.343 * sqrt(12 / 96) = 0.828
    ranks = stats.average_ranks(scores)
    cd = stats.nemenyi_cd(3, 16)
    assert cd == pytest.approx(0.828, abs=1e-3)
    pvalues = stats.nemenyi_pvalues(scores)
    # |A - B| = 0.375 < CD: not significant; B - C = 1.125 and A - C = 1.5 > CD: significant.
    assert pvalues.at["A", "B"] > 0.05
    assert pvalues.at["B", "constantpredictor"] < 0.05 and pvalues.at["A", "constantpredictor"] < 0.05
    name, drawn = plots.cd_diagram(ranks, pvalues, cd, "16 datasets, 1 seed(s)", tmp_path)
    assert drawn["ranks"] == pytest.approx({"A": 1.375, "B": 1.75, "constantpredictor": 2.875})
    assert drawn["crossbars"] == [pytest.approx((1.375, 1.75))]
    svg = (tmp_path / name).read_text()
    assert "16 datasets, 1 seed(s)" in svg and "CD = 0.83" in svg
    assert (tmp_path / "cd_diagram.png").stat().st_size > 0
    again = tmp_path / "again"
    again.mkdir()
    plots.cd_diagram(ranks, pvalues, cd, "16 datasets, 1 seed(s)", again)
    assert (again / name).read_bytes() == svg.encode(), "the same figure must give the same SVG (no date, fixed ids)"


def test_trajectories_are_read_robustly_and_averaged_as_step_functions(tmp_path):
    run = make_run(tmp_path / "run", [{"framework": "autodl", "task": "iris", "seed": s, "acc": 0.9} for s in (0, 1)])
    write_trajectory(run, "autodl", "iris", 0, [{"time": 1, "val_accuracy": 0.5}, {"time": 3, "val_accuracy": 0.7}])
    path = write_trajectory(run, "autodl", "iris", 1, [{"time": 2, "val_accuracy": 0.6, "test_accuracy": 0.55}])
    with open(path, "a") as fh:
        fh.write('{"time": 4, "val_acc')        # a line being written while the run goes on
    write_trajectory(run, "autodl", "iris", 1, [{"time": 2.5, "val_accuracy": 0.8}], name="ensemble_trajectory.jsonl")
    write_trajectory(run, "autodl", "iris", 0, [{"time": 2, "val_accuracy": 0.75, "kind": "ensemble"}], name="x_trajectory.jsonl")
    points = read_trajectories([run])
    assert len(points) == 5
    assert sorted(points.groupby("kind").size().items()) == [("ensemble", 2), ("incumbent", 3)]
    assert set(points["run"]) == {"fold0_seed0", "fold0_seed1"}
    inc = points[points.kind == "incumbent"]
    curve = average_curve(inc, "val", np.array([0.0, 1, 2, 3, 4]))
    # seed 0: -, .5, .5, .7, .7   seed 1: -, -, .6, .6, .6
    assert curve["time"].tolist() == [1, 2, 3, 4]
    assert curve["mean"].tolist() == pytest.approx([0.5, 0.55, 0.65, 0.65])
    assert curve["lo"].tolist() == pytest.approx([0.5, 0.5, 0.6, 0.6])
    assert curve["hi"].tolist() == pytest.approx([0.5, 0.6, 0.7, 0.7])
    assert curve["runs"].tolist() == [1, 2, 2, 2]
    assert average_curve(inc, "test", np.array([0.0, 2, 4]))["mean"].tolist() == pytest.approx([0.55, 0.55])


_DRAW_CD = """
import sys
from pathlib import Path
import pandas as pd
from benchmark.report import plots, stats
scores = pd.DataFrame({"A": [.9, .7, .6, .8] * 4, "B": [.8, .7, .9, .6] * 4, "constantpredictor": [.5, .5, .5, .6] * 4})
plots.cd_diagram(stats.average_ranks(scores), stats.nemenyi_pvalues(scores), stats.nemenyi_cd(3, 16), "16 datasets",
                 Path(sys.argv[1]))
"""


def test_a_redrawn_cd_diagram_is_the_same_file_in_every_process(tmp_path):
    """scikit-posthocs draws a crossbar's points in the order of a Python set, which changes with
    PYTHONHASHSEED; two processes whose hash seeds order {A, B} differently must still write the same SVG."""
    def run(code, seed, *args):
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                              check=True, cwd=Path(__file__).parents[1]).stdout
    order = {seed: run('print(list({"A", "B"}))', seed) for seed in range(16)}
    seeds = [0, next(seed for seed in order if order[seed] != order[0])]
    for seed in seeds:
        (tmp_path / str(seed)).mkdir()
        run(_DRAW_CD, seed, str(tmp_path / str(seed)))
    first, second = (tmp_path / str(seed) / "cd_diagram.svg" for seed in seeds)
    assert first.read_bytes() == second.read_bytes()
