"""autodl with the portfolio, traditional learners and the ensemble, observed in the run's records."""
import json

import numpy as np
import pytest

from autodl.estimator import AutoDLClassifier
from autodl.portfolio import PortfolioError, write_portfolio
from autodl.space import SPACE_VERSION, default_config
from tests.autodl_fixtures import iris_frame

# tiny networks so each evaluation takes well under a second
FAST = {**default_config(), "mlp_layers": 1, "mlp_units": 64, "batch_size": 64}
PORTFOLIO = [FAST, {**FAST, "lr": 0.01, "activation": "tanh"}]
QUICK = dict(time_limit=20, min_budget=1, max_budget=2, eta=2, max_iterations=1, seed=0, device="cpu",
             record_gradients=False)


def _jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def portfolio_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("portfolio") / "portfolio.json"
    write_portfolio(path, PORTFOLIO, {"datasets": ["test"], "command": "test"})
    return path


@pytest.mark.timeout(180)
def test_the_portfolio_is_evaluated_first(tmp_path, portfolio_file):
    X, y = iris_frame()
    model = AutoDLClassifier(run_dir=tmp_path, portfolio_path=portfolio_file, traditional=False, ensemble=False,
                             **QUICK).fit(X, y)
    sampled = _jsonl(tmp_path / "configs.json")      # hpbandster's record of every configuration, in order
    assert [entry[1] for entry in sampled[:2]] == PORTFOLIO
    assert [entry[2].get("portfolio", False) for entry in sampled] == [True, True]  # 1 bracket: 2 configs
    first = _jsonl(tmp_path / "evaluations.jsonl")[0]
    assert first["config_id"] == [0, 0, 0] and first["budget"] == 1.0 and first["status"] == "ok"
    assert not (tmp_path / "traditional.jsonl").exists() and not (tmp_path / "ensemble.json").exists()
    assert model.ensemble_ is None and model.score(X, y) > 0.5


@pytest.mark.timeout(180)
def test_traditional_learners_and_the_ensemble_join_the_run(tmp_path):
    X, y = iris_frame()
    model = AutoDLClassifier(run_dir=tmp_path, portfolio=False, time_limit=25, min_budget=1, max_budget=2,
                             eta=2, max_iterations=1, seed=0, device="cpu", record_gradients=False).fit(X, y)
    learners = [r["learner"] for r in _jsonl(tmp_path / "traditional.jsonl") if r["status"] == "ok"]
    assert learners[:2] == ["lightgbm", "knn"]     # gradient boosting first (autodl.traditional.DEFAULT_LEARNERS)
    trajectory = _jsonl(tmp_path / "ensemble_trajectory.jsonl")
    assert len(trajectory) >= len(learners) + 1
    assert [r["time"] for r in trajectory] == sorted(r["time"] for r in trajectory)
    assert {m["kind"] for r in trajectory for m in r["members"]} <= {"network", "traditional"}
    kinds = {kind for _, kind, _, _ in model.ensemble_members_}
    assert kinds and sum(w for *_, w in model.ensemble_members_) == pytest.approx(1.0)
    assert not any(e[2].get("portfolio") for e in _jsonl(tmp_path / "configs.json"))
    proba = model.predict_proba(X)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(axis=1), 1)
    assert model.score(X, y) > 0.8


@pytest.mark.timeout(180)
def test_ensemble_off_predicts_with_the_single_best_model_of_the_pool(tmp_path):
    X, y = iris_frame()
    model = AutoDLClassifier(run_dir=tmp_path, portfolio=False, ensemble=False, time_limit=20, min_budget=1,
                             max_budget=2, eta=2, max_iterations=1, seed=0, device="cpu", record_gradients=False).fit(X, y)
    assert len(model.ensemble_members_) == 1 and model.ensemble_members_[0][3] == 1.0
    assert model.predict(X).shape == (150,)


def test_a_portfolio_of_another_space_version_is_refused_before_any_compute(tmp_path, portfolio_file):
    record = json.loads(portfolio_file.read_text())
    record["space_version"] = SPACE_VERSION + 1
    old = tmp_path / "old.json"
    old.write_text(json.dumps(record))
    X, y = iris_frame()
    with pytest.raises(PortfolioError, match="search space version"):
        AutoDLClassifier(run_dir=tmp_path / "run", portfolio_path=old, **QUICK).fit(X, y)
    assert not (tmp_path / "run").exists()


@pytest.mark.timeout(180)
def test_a_list_of_learners_trains_those_in_that_order(tmp_path):
    X, y = iris_frame()
    AutoDLClassifier(run_dir=tmp_path, portfolio=False, time_limit=20, min_budget=1, max_budget=2, eta=2,
                     max_iterations=1, seed=0, device="cpu", record_gradients=False,
                     traditional=["logistic_regression", "svm"]).fit(X, y)
    records = _jsonl(tmp_path / "traditional.jsonl")
    assert [(r["learner"], r["status"]) for r in records] == [("logistic_regression", "ok"), ("svm", "ok")]
    assert all(r["loss"] < 0.2 for r in records)    # iris: both far above chance
    trajectory = _jsonl(tmp_path / "ensemble_trajectory.jsonl")
    assert {m["name"] for r in trajectory for m in r["members"] if m["kind"] == "traditional"} <= {
        "logistic_regression", "svm"}
