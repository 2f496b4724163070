"""Budgets planned from the time: the ladder's arithmetic, the per-epoch timer, and a real search that uses them."""
import json
import math
import time

import numpy as np
import pytest

from autodl.budgets import (PROBE_RUNGS, BudgetPlanner, EpochTimer, bracket, bracket_cost, cycle_seconds,
                            ladder_report, model_points, plan_rungs)
from autodl.search import run_search
from autodl.settings import EvaluationSettings, SearchSettings
from autodl.space import build_space
from tests.autodl_fixtures import iris_frame, search_data


def test_brackets_follow_hpbandsters_formula():
    # hpbandster's BOHB with budgets 1..27 (eta 3): brackets of 27, 9, 6 and 4 configurations
    assert [bracket(4, 3, s) for s in (3, 2, 1, 0)] == [[27, 9, 3, 1], [9, 3, 1], [6, 2], [4]]
    assert bracket_cost(4, 3, 3, 1.0) == (27 * 1 + 9 * 3 + 3 * 9 + 1 * 27, 40)


def test_more_time_plans_more_rungs_and_the_planned_cycles_fit():
    kwargs = dict(eta=3, min_budget=1.0, max_rungs=5, cycles=2)
    rungs = [plan_rungs(seconds, 1, 0.2, 0.5, **kwargs) for seconds in (10, 60, 300, 3600, 36000)]
    assert rungs == sorted(rungs) and rungs[0] == 2 and rungs[-1] == 5 and len(set(rungs)) >= 3
    for seconds, r in zip((60, 300, 3600), rungs[1:4]):
        assert 2 * cycle_seconds(r, 3, 1.0, 0.2, 0.5) <= seconds or r == 2
        if r < 5:
            assert 2 * cycle_seconds(r + 1, 3, 1.0, 0.2, 0.5) > seconds
    # two workers have twice the worker-seconds
    assert plan_rungs(300, 2, 0.2, 0.5, **kwargs) >= plan_rungs(300, 1, 0.2, 0.5, **kwargs)


def test_epoch_timer_recovers_seconds_per_epoch_and_overhead():
    timer = EpochTimer()
    assert timer.estimate() is None
    for epochs in (1, 1, 3, 9):
        timer.observe(epochs, 0.4 + 0.25 * epochs)
    per_epoch, overhead = timer.estimate()
    assert per_epoch == pytest.approx(0.25) and overhead == pytest.approx(0.4)


def test_planner_probes_first_then_plans_from_what_it_measured():
    planner = BudgetPlanner(time.time() + 3600, 1, min_budget=1, eta=3, max_rungs=5)
    assert planner.rungs() == PROBE_RUNGS
    for epochs in (1, 1, 1, 3):
        planner.observe({"status": "ok", "epochs_run": epochs, "t_start": 0.0, "t_end": 0.3 + 0.05 * epochs})
    planner.observe({"status": "timeout", "epochs": 81, "t_start": 0.0, "t_end": 1000.0})   # ignored
    assert planner.rungs() == 5 and planner.budgets(5) == [1, 3, 9, 27, 81]


def test_ladder_report_reaches_bohbs_model_only_when_enough_results_share_a_budget():
    needed = model_points(33)                       # autodl's space: 33 hyperparameters -> 68 results
    short = ladder_report(60, 1, 0.3, 0.5, eta=3, min_budget=1, max_rungs=5, needed=needed)
    long = ladder_report(3600, 1, 0.3, 0.5, eta=3, min_budget=1, max_rungs=5, needed=needed)
    assert short.model_from_bracket is None and short.model_based_share == 0
    assert long.model_from_bracket is not None and long.model_based_share > 0.3
    assert long.brackets > short.brackets >= 3
    assert max(long.results_per_budget.values()) >= needed


@pytest.mark.timeout(120)
def test_a_search_with_planned_budgets_probes_then_grows_its_ladder(tmp_path):
    X, y = iris_frame()
    data_path = search_data(tmp_path, X, y)
    settings = SearchSettings(n_workers=1, max_rungs=4, keep_models=1,
                              evaluation=EvaluationSettings(record_gradients=False))
    assert settings.planned_budgets
    outcome = run_search(build_space(seed=0), data_path, tmp_path, time.time() + 25, settings)
    plans = [json.loads(line) for line in (tmp_path / "brackets.jsonl").read_text().splitlines()]
    assert plans[0]["rungs"] == PROBE_RUNGS and plans[0]["estimate"] is None and plans[0]["budgets"] == [1.0, 3.0]
    assert max(p["rungs"] for p in plans[1:]) > PROBE_RUNGS          # planned from measured epochs: more rungs
    assert all(p["estimate"] is not None for p in plans[1:])
    ladder = {1.0, 3.0, 9.0, 27.0}
    assert {e.budget for e in outcome.evaluations} <= ladder and len({e.budget for e in outcome.evaluations}) >= 3
    assert outcome.completed_brackets >= 3 and sum(p["completed"] for p in plans) == outcome.completed_brackets
    assert math.isclose(min(e.budget for e in outcome.evaluations), 1.0)
