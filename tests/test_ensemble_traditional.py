"""Traditional learners: evaluated by the worker's Evaluator under the networks' limits, in their format."""
import json
import pickle
import time

import numpy as np
import pandas as pd
import pytest

from autodl.ensemble import Candidate, EnsembleBuilder, EnsembleModel
from autodl.traditional import LEARNERS, learner_config_id, learner_name, train_learner
from autodl.settings import EvaluationSettings
from autodl.worker import Evaluator, WorkerSpec
from tests.autodl_fixtures import mixed_frame, search_data


def _spec(tmp_path, data_path, **limits):
    return WorkerSpec(run_id="t", run_dir=str(tmp_path), data_path=str(data_path), nameserver="", nameserver_port=0,
                      deadline=time.time() + 120,
                      evaluation=EvaluationSettings(threads=1, record_gradients=False,
                                                    train_fn="autodl.traditional:train_learner", **limits))


@pytest.mark.timeout(300)
def test_each_learner_runs_under_the_evaluator_and_joins_the_ensemble(tmp_path):
    X, y = mixed_frame(300)            # categoricals, missing values, string labels
    data_path = search_data(tmp_path, X, y)
    evaluator = Evaluator(_spec(tmp_path, data_path, eval_time_limit=60))
    with open(data_path, "rb") as fh:
        data = pickle.load(fh)
    builder = EnsembleBuilder(tmp_path, data["y_codes"], data["splits"][0][1], size=20)
    for name in LEARNERS:
        result = evaluator.evaluate(learner_config_id(name), {"learner": name}, 0.0)
        info = result["info"]
        assert info["status"] == "ok", info
        assert result["loss"] < 0.25                      # breast cancer: every learner is far above chance
        proba = np.load(tmp_path / "val_predictions" / f"{info['tag']}.npy")
        assert proba.shape == (300, 2)
        assert np.isnan(proba).all(axis=1).sum() == int(300 * 0.67)   # NaN outside the validation rows
        assert learner_name(learner_config_id(name)) == name
        builder.add(Candidate(info["tag"], "traditional", name, result["loss"], info["val_cross_entropy"], 0.0,
                              str(tmp_path / "val_predictions" / f"{info['tag']}.npy"), info["model_path"]))
    assert learner_name((0, 0, 1)) is None
    ensemble = EnsembleModel.load(tmp_path)
    proba = ensemble.predict_proba(X)
    assert proba.shape == (300, 2) and np.allclose(proba.sum(axis=1), 1)
    assert json.loads((tmp_path / "ensemble.json").read_text())["val_accuracy"] == builder.val_accuracy


def test_the_memory_limit_of_network_evaluations_applies(tmp_path):
    # large enough that the forest is still growing at the first memory reading (100 rows ended before it)
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(20_000, 40)), columns=[f"x{i}" for i in range(40)])
    y = pd.Series(np.where(X["x0"] + rng.normal(size=len(X)) > 0, "a", "b"))
    evaluator = Evaluator(_spec(tmp_path, search_data(tmp_path, X, y), eval_memory_mb=1))
    result = evaluator.evaluate(learner_config_id("random_forest"), {"learner": "random_forest"}, 0.0)
    assert result["info"]["status"] == "memout" and result["loss"] == 1.0


def test_a_training_split_with_one_class_still_predicts_all_classes():
    X, y = mixed_frame(60)
    y = y.to_numpy()
    train = np.flatnonzero(y == y[0])[:20]
    result = train_learner({"learner": "lightgbm"}, X.iloc[train], y[train], X.iloc[:10], y[:10],
                           classes=np.unique(y))
    assert result.val_proba.shape == (10, 2) and np.allclose(result.val_proba.sum(axis=1), 1)


def test_a_variant_is_its_familys_model_with_its_own_settings():
    from autodl.traditional import VARIANTS, family, make_model

    for name, (base, settings) in VARIANTS.items():
        model, plain = make_model(name, 100, 1, 0), make_model(base, 100, 1, 0)
        assert type(model) is type(plain) and family(name) == base and name in LEARNERS
        own = {key: model.get_params()[key] for key in settings}
        assert own == settings != {key: plain.get_params().get(key) for key in settings}


def test_an_unknown_learner_is_refused():
    X, y = mixed_frame(20)
    with pytest.raises(ValueError, match="learner"):
        train_learner({"learner": "naive_bayes"}, X, y, X, y)


def test_boosting_on_a_short_share_of_large_data_trains_on_a_subsample():
    from autodl.traditional import MIN_BOOSTING_ROWS, boosting_rows

    assert boosting_rows("lightgbm", 70_000, 784, None) == 70_000            # no time share: every row
    assert boosting_rows("lightgbm", 47_000, 784, 7.0) == 17_857             # 7 s x 2e6 cells / 784 columns
    assert boosting_rows("random_forest", 47_000, 784, 7.0) == 47_000        # forests stop by trees instead
    assert boosting_rows("catboost", 47_000, 784, 0.1) == MIN_BOOSTING_ROWS
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(MIN_BOOSTING_ROWS + 1000, 4)), columns=list("abcd"))
    y = np.where(X["a"] > 0, "p", "n")
    short = train_learner({"learner": "lightgbm", "max_seconds": 0.01}, X, y, X.iloc[:50], y[:50])
    full = train_learner({"learner": "lightgbm"}, X, y, X.iloc[:50], y[:50])
    assert short.final["train_rows"] == MIN_BOOSTING_ROWS and full.final["train_rows"] == len(X)
    assert short.val_proba.shape == (50, 2)


def test_the_learners_server_starts_at_once_with_their_modules_preloaded():
    import subprocess
    import sys

    code = ("import time; from autodl.traditional import start_learner_server; start_learner_server(); "
            "from multiprocessing import forkserver; import psutil; "
            "server = psutil.Process(forkserver._forkserver._forkserver_pid); ends = time.time() + 30\n"
            "while 'forkserver import main' not in ' '.join(server.cmdline()) and time.time() < ends: time.sleep(0.05)\n"
            "print(' '.join(server.cmdline()))")   # (until the server has exec'd)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "forkserver import main" in done.stdout and "'autodl.traditional'" in done.stdout   # its preload list


def test_the_svm_trains_on_a_subsample_that_keeps_every_class_and_refuses_a_class_of_one(monkeypatch):
    import autodl.traditional as traditional

    monkeypatch.setattr(traditional, "SVM_MAX_ROWS", 50)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    y[[3, 7]] = 2                                    # a rare class, which seed 0's draw of 50 rows misses
    assert not {3, 7} & set(np.random.default_rng(0).choice(200, 50, replace=False))
    rows = traditional.subsample(y, 50, 0)
    assert len(rows) == 52 and 3 in rows and 7 in rows and (np.diff(rows) > 0).all()
    model = traditional.fit_model("svm", traditional.make_model("svm", 200, 1, 0), X, y, None)
    assert model.calibrated_classifiers_[0].estimator.shape_fit_[0] == len(rows)
    assert model.predict_proba(X).shape == (200, 3)
    y[7] = 0                                         # now the class has one training row
    with pytest.raises(ValueError, match="single training row"):
        traditional.fit_model("svm", traditional.make_model("svm", 200, 1, 0), X, y, None)
