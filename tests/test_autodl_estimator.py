"""AutoDLClassifier: scikit-learn API, mixed data, time limit, reproducibility, bad input."""
import time

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import (check_get_params_invariance, check_no_attributes_set_in_init,
                                            check_parameters_default_constructible, check_set_params)

from autodl.estimator import AutoDLClassifier
from tests.autodl_fixtures import iris_frame, mixed_frame


@pytest.mark.parametrize("check", [check_parameters_default_constructible, check_no_attributes_set_in_init,
                                   check_get_params_invariance, check_set_params])
def test_sklearn_estimator_rules(check):
    check("AutoDLClassifier", AutoDLClassifier())


def test_clone_keeps_parameters():
    clf = AutoDLClassifier(time_limit=99, n_workers=3, seed=7, min_budget=2, max_budget=8)
    assert clone(clf).get_params() == clf.get_params()
    with pytest.raises(NotFittedError):
        clf.predict(np.zeros((2, 2)))


@pytest.mark.parametrize("kwargs, X, y, message", [
    ({"time_limit": 5}, [[1], [2], [3], [4]], [0, 1, 0, 1], "too small"),
    ({}, [[1], [2], [3], [4]], [1, 1, 1, 1], "single class"),
    ({}, [[1], [2], [3], [4]], [0, 1, None, 1], "missing values"),
    ({}, [[1], [2], [3]], [0, 1, 0, 1], "3 rows but y has 4"),
    ({"validation": "kfold"}, [[1], [2], [3], [4]], [0, 1, 0, 1], "validation must be"),
    ({"validation": "auto", "val_fraction": 1.5}, [[1], [2], [3], [4]], [0, 1, 0, 1], "val_fraction"),
    ({"cv_folds": 1}, [[1], [2], [3], [4]], [0, 1, 0, 1], "cv_folds"),
    ({"validation": "cv", "cv_folds": 5}, [[1], [2], [3], [4]], [0, 1, 0, 1], "fewer than cv_folds=5"),
    ({"n_workers": 0}, [[1], [2], [3], [4]], [0, 1, 0, 1], "n_workers"),
    ({"min_budget": 1}, [[1], [2], [3], [4]], [0, 1, 0, 1], "give both"),
    ({"eta": 1}, [[1], [2], [3], [4]], [0, 1, 0, 1], "eta >= 2"),
    ({"ensemble_size": 0}, [[1], [2], [3], [4]], [0, 1, 0, 1], "ensemble_size"),
    ({"device": "tpu"}, [[1], [2], [3], [4]], [0, 1, 0, 1], "device must be"),
    ({"traditional": ["svm", "naive_bayes"]}, [[1], [2], [3], [4]], [0, 1, 0, 1], r"unknown \['naive_bayes'\]"),
    ({"traditional": ["knn", "knn"]}, [[1], [2], [3], [4]], [0, 1, 0, 1], "named twice"),
    ({"traditional": None}, [[1], [2], [3], [4]], [0, 1, 0, 1], "traditional must be True, False or a list"),
])
def test_bad_input_fails_before_any_compute(kwargs, X, y, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        AutoDLClassifier(run_dir=tmp_path / "run", **kwargs).fit(np.asarray(X, dtype=object), y)
    assert not (tmp_path / "run").exists()


@pytest.mark.timeout(120)
def test_auto_validation_cross_validates_small_data_and_holds_out_on_large(monkeypatch):
    import autodl.estimator

    monkeypatch.setattr(autodl.estimator, "AUTO_CV_MAX_ROWS", 100)
    model = AutoDLClassifier(validation="auto", cv_folds=4)
    small, large = model._splits(np.arange(100) % 2), model._splits(np.arange(101) % 2)
    assert len(small) == 4 and sorted(np.concatenate([val for _, val in small]).tolist()) == list(range(100))
    assert len(large) == 1 and abs(len(large[0][1]) - 101 * model.val_fraction) < 1.5
    default = AutoDLClassifier(validation="cv")   # cv_folds=None: 5 folds on small data, 3 above, <= rows
    assert [len(default._splits(np.arange(rows) % 2)) for rows in (4, 1000, 1001)] == [4, 5, 3]


def test_mixed_data_two_workers_string_labels_within_time_limit(tmp_path):
    X, y = mixed_frame()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    time_limit = 30
    started = time.time()
    clf = AutoDLClassifier(time_limit=time_limit, n_workers=2, min_budget=2, max_budget=8, seed=1,
                           run_dir=tmp_path, record_gradients=False).fit(X_train, y_train)
    elapsed = time.time() - started
    assert elapsed <= time_limit * 1.1, elapsed   # fit (final steps included) stops within its limit
    assert list(clf.classes_) == ["benign", "malignant"]
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2) and np.allclose(proba.sum(axis=1), 1)
    assert (clf.predict(X_test) == y_test.to_numpy()).mean() > 0.8
    assert clf.n_evaluations_ >= 1 and len(clf.val_predictions_) == clf.n_evaluations_
    assert all(p.shape == (len(X_train), 2) for p in clf.val_predictions_.values())
    assert (tmp_path / "results.json").exists() and (tmp_path / "trajectory.jsonl").exists()


@pytest.mark.timeout(240)
def test_same_seed_one_worker_reproduces_the_run_with_cv():
    X, y = iris_frame()
    def fit():
        return AutoDLClassifier(time_limit=90, n_workers=1, seed=3, min_budget=1, max_budget=4, max_iterations=1,
                                validation="cv", cv_folds=2, record_gradients=False).fit(X, y)
    first, second = fit(), fit()
    assert [e.config for e in first.evaluations_] == [e.config for e in second.evaluations_]
    assert [e.loss for e in first.evaluations_] == [e.loss for e in second.evaluations_]
    assert first.incumbent_ == second.incumbent_
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))
    assert len(first.pipelines_) == 2   # one pipeline per CV fold, averaged
    assert set(first.predict(X)) <= {0, 1, 2}


def test_no_finished_evaluation_is_a_clear_error():
    from autodl.search import Evaluation, SearchOutcome

    timed_out = Evaluation((0, 0, 0), 12.5, 1.0, "timeout", {})
    with pytest.raises(RuntimeError, match="no configuration finished within time_limit=20 s.*timeout"):
        AutoDLClassifier(time_limit=20)._keep_results(SearchOutcome([timed_out], None, 1), np.array([0, 1]), [])


def test_every_estimator_parameter_reaches_the_settings_or_is_the_estimators_own():
    """A new parameter must be routed on purpose: settings (by name, or renamed in ESTIMATOR_NAMES) or
    the estimator's own list below; nothing is dropped on the way."""
    from dataclasses import fields

    from autodl.settings import ESTIMATOR_NAMES, EvaluationSettings, SearchSettings, from_estimator_params

    own = {"cv_folds", "ensemble", "ensemble_nbest", "ensemble_size", "initial_configs", "portfolio",
           "portfolio_path", "run_dir", "time_limit", "traditional", "val_fraction", "validation"}
    given = {"cycles": 5.0, "device": "cuda:3", "eta": 4.0, "eval_time_limit": 77, "host": "10.1.2.3",
             "keep_models": 9, "max_budget": 31, "max_iterations": 6, "max_rungs": 7, "memory_limit": 1234,
             "min_budget": 3, "n_workers": 5, "nic_name": "eth7", "patience": 11, "record_gradients": False,
             "seed": 42, "threads_per_worker": 3}   # none of them a default
    params = AutoDLClassifier().get_params()
    assert set(params) == own | set(given), "route the new parameter: add it to `given` or to `own`"
    settings = from_estimator_params({**params, **given})
    search = {f.name for f in fields(SearchSettings)} - {"evaluation"}
    for name, value in given.items():
        assert params[name] != value
        field = ESTIMATOR_NAMES.get(name, name)
        assert field in search | {f.name for f in fields(EvaluationSettings)}, f"{name} reaches no setting"
        assert getattr(settings if field in search else settings.evaluation, field) == value, name


@pytest.mark.timeout(180)
def test_a_script_without_a_main_guard_gets_the_fix_and_leaves_no_process_behind(tmp_path):
    """The traditional learners run in forkserver children, which re-import the user's script as Python
    does; one that calls fit at its top level must not start a search in each of them (its forked
    workers outlived them): such a child refuses with the fix, and fit itself still succeeds."""
    import os
    import subprocess
    import sys

    import psutil

    script = tmp_path / "unguarded.py"
    script.write_text("from sklearn.datasets import load_iris\n"
                      "from autodl import AutoDLClassifier\n"
                      "X, y = load_iris(return_X_y=True, as_frame=True)\n"
                      "clf = AutoDLClassifier(time_limit=25, n_workers=2, min_budget=1, max_budget=3,\n"
                      "                       record_gradients=False).fit(X, y)\n"
                      "print('accuracy', (clf.predict(X) == y).mean())\n")
    tag = f"unguarded-{os.getpid()}"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=150, cwd=tmp_path,
                          env=dict(os.environ, AUTODL_TEST_TAG=tag))
    assert done.returncode == 0, done.stderr[-3000:]
    assert float(done.stdout.split()[-1]) > 0.8
    assert 'put the code that calls fit under `if __name__ == "__main__":`' in done.stderr

    def tagged():
        found = []
        for p in psutil.process_iter():
            try:
                if p.environ().get("AUTODL_TEST_TAG") == tag:
                    found.append(p)
            except psutil.Error:
                pass
        return found

    deadline = time.time() + 10
    while tagged() and time.time() < deadline:
        time.sleep(0.5)
    assert tagged() == [], [p.cmdline() for p in tagged()]
