"""Anytime records of every framework in one format: competitors' per-model lines become incumbents,
untimed models are named rather than placed, and the report draws one figure per dataset plus the
normalised summary over datasets."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from benchmark.report import write_report
from benchmark.report.trajectory import normalised_summary, read_trajectories, timed, untimed
from tests.report_fixtures import make_run, rows, write_trajectory


def _model(t, val, name="m", kind="model"):
    return {"time": t, "kind": kind, "val_accuracy": val, "model": name, "source": "test"}


def _untimed(val, name="refit"):
    return {"time": None, "kind": "model", "val_accuracy": val, "model": name, "source": "test", "timing": "none"}


def test_model_lines_become_the_best_so_far_and_untimed_ones_keep_no_time(tmp_path):
    run = make_run(tmp_path / "run", rows(frameworks=("autogluon",), tasks=("iris",), seeds=(0,)))
    write_trajectory(run, "autogluon", "iris", 0, [
        _model(1.0, 0.80, "KNN"), _model(2.0, 0.70, "RF"), _model(3.5, 0.90, "LightGBM"), _model(4.0, 0.85, "CatBoost"),
        _model(5.0, 0.93, "WeightedEnsemble_L2", kind="ensemble"), _untimed(0.95)], subdir="anytime")
    points = read_trajectories([run])
    inc = timed(points[points.kind == "incumbent"]).sort_values("time")
    assert inc["time"].tolist() == [1.0, 3.5] and inc["val"].tolist() == [0.80, 0.90]   # RF and CatBoost never led
    ens = points[points.kind == "ensemble"]
    assert ens["time"].tolist() == [5.0] and ens["val"].tolist() == [0.93]
    assert untimed(points) == {"autogluon": 1}
    assert points.loc[points["time"].isna(), "val"].tolist() == [0.95]


def test_the_normalised_summary_averages_datasets_scaled_by_all_frameworks(tmp_path):
    run = make_run(tmp_path / "run", rows(frameworks=("a", "b"), tasks=("iris", "wine"), seeds=(0,)))
    write_trajectory(run, "a", "iris", 0, [_model(1, 0.6), _model(3, 0.8)], subdir="anytime")
    write_trajectory(run, "b", "iris", 0, [_model(2, 1.0)], subdir="anytime")
    write_trajectory(run, "a", "wine", 0, [_model(1, 0.5)], subdir="anytime")
    write_trajectory(run, "b", "wine", 0, [_model(1, 0.7), _model(2, 0.9, kind="ensemble")], subdir="anytime")
    write_trajectory(run, "a", "digits", 0, [_model(1, 0.5)], subdir="anytime")     # one framework only
    grid = np.array([0.0, 1, 2, 3])
    summary, skipped = normalised_summary(read_trajectories([run]), grid)
    assert skipped == ["digits"]
    a = summary[summary.framework == "a"].set_index("time")
    b = summary[summary.framework == "b"].set_index("time")
    # iris: lo .6 hi 1 -> a: 0, 0, 0, .5; b: 0, 0, 1, 1.   wine: lo .5 hi .9 -> a: 0; b: 0, .5, 1, 1 (its ensemble)
    # before a framework's first model it counts as 0, so the mean never drops when a slow dataset starts
    assert a.index.tolist() == [0, 1, 2, 3] and a["mean"].tolist() == pytest.approx([0.0, 0.0, 0.0, 0.25])
    assert b["mean"].tolist() == pytest.approx([0.0, 0.25, 1.0, 1.0]) and b["datasets"].tolist() == [2, 2, 2, 2]


def test_the_report_draws_every_framework_and_names_those_without_timing(tmp_path):
    frameworks = ("constantpredictor", "autodl", "autogluon", "h2o")
    run = make_run(tmp_path / "run", rows(frameworks=frameworks, tasks=("iris", "wine"), seeds=(0, 1)))
    for task in ("iris", "wine"):
        for seed in (0, 1):
            write_trajectory(run, "autodl", task, seed, [{"time": 2.0, "kind": "incumbent", "val_accuracy": 0.8}],
                             subdir="autodl")
            write_trajectory(run, "autogluon", task, seed, [_model(1.0, 0.85), _model(4.0, 0.9, kind="ensemble")],
                             subdir="anytime")
            write_trajectory(run, "h2o", task, seed, [_untimed(0.88, "GBM_1"), _untimed(0.9, "GLM_1")], subdir="anytime")
    page = write_report([run])
    html, out = page.read_text(), page.parent
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "No timing given for some models, which are therefore not drawn: h2o (8 models)" in text
    images = re.findall(r'<img src="([^"]+)"', html)
    assert "anytime_summary.svg" in images
    per_task = [i for i in images if re.match(r"anytime_\d\d_", i)]
    assert len(per_task) == 2
    for name in per_task:
        svg = (out / name).read_text()
        assert "autogluon incumbent (validation, 2 runs)" in svg and "autogluon ensemble (validation, 2 runs)" in svg
        assert "autodl incumbent (validation, 2 runs)" in svg
        assert "no timing given, not drawn: h2o (4 models)" in svg
        assert "no anytime record: constantpredictor" in svg        # it ran on the dataset and recorded nothing
    summary = (out / "anytime_summary.svg").read_text()
    assert "autogluon (2 datasets)" in summary and "autodl (2 datasets)" in summary and "h2o (2 datasets)" not in summary
    assert "not drawn: h2o (8 models)" in summary
    assert "normalised best validation accuracy" in summary


def test_a_report_without_any_timed_point_still_renders(tmp_path):
    run = make_run(tmp_path / "run", rows(frameworks=("constantpredictor", "h2o"), tasks=("iris",), seeds=(0,)))
    write_trajectory(run, "h2o", "iris", 0, [_untimed(0.9)], subdir="anytime")
    html = write_report([run]).read_text()
    assert "not drawn: h2o (1 models)" in html and 'src="anytime_summary.svg"' not in html
    assert pd.notna(html)
