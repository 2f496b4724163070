"""``AutoDLClassifier``: the scikit-learn face of the search.

fit = check the input (before any compute) -> fork ``n_workers`` worker processes (this
process has torch imported, so they are ready in a fraction of a second) -> encode columns ->
validation split(s) -> BOHB over the full-pipeline space until the time limit minus what the
final steps need -> keep the incumbent's fitted pipeline(s).
BOHB starts with the portfolio's configurations (``autodl.portfolio``) at the smallest budget;
budgets are epochs planned from the time left (``autodl.budgets``) unless ``min_budget`` and
``max_budget`` are given. The traditional learners (``autodl.traditional``) take turns with
the network evaluations in ``n_workers`` core slots (``autodl.slots``): never more than
``n_workers`` computations at a time. The Caruana ensemble over all
of them (``autodl.ensemble``, rebuilt per result, ``ensemble.json`` in the run directory)
is what ``predict_proba`` uses. Each part has a switch: portfolio, traditional, ensemble.

Documented behaviour for edge cases:
- a time limit below ``MIN_TIME_LIMIT`` seconds is refused up front (workers alone need a
  few seconds to start); if no evaluation (network or traditional learner) finishes in
  time, ``fit`` raises RuntimeError (``incumbent_`` is None when only traditional learners did);
- a stratified holdout (or stratified CV) falls back to a plain random split when a class
  is too rare to stratify;
- messy columns: see ``autodl.data``.

Every evaluation's validation probabilities stay available for ensembling:
``val_predictions_[(config_id, budget)]`` (rows = training rows, NaN outside validation),
and on disk in the run directory.
"""
from __future__ import annotations

import pickle
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

import autodl.trainer  # noqa: F401 - unpickling the incumbent needs torch; import it before fit's clock runs
from autodl.data import TabularEncoder, as_frame, check_xy
from autodl.ensemble import EnsembleBuilder, EnsembleModel, network_candidate, traditional_candidate
from autodl.portfolio import load_portfolio
from autodl.search import LocalWorkers, run_search, write_search_data
from autodl.settings import from_estimator_params
from autodl.slots import CoreSlots
from autodl.space import build_space
from autodl.splits import holdout, kfold
from autodl.traditional import chosen_learners
from autodl.worker import refuse_while_bootstrapping

MIN_TIME_LIMIT = 15.0
AUTO_CV_MAX_ROWS = 5000   # validation="auto": k-fold cross-validation up to this many rows
FIVE_FOLDS_MAX_ROWS = 1000   # cv_folds=None: 5 folds up to this many rows, 3 above


def final_margin(time_limit: float) -> float:
    """Seconds reserved after the search: worker shutdown and loading the incumbent."""
    return max(2.0, 0.03 * time_limit)


class AutoDLClassifier(ClassifierMixin, BaseEstimator):
    """Auto-PyTorch-style AutoDL classifier (BOHB over preprocessing, network and training).

    Parameters
    ----------
    time_limit : seconds for the whole ``fit`` (search and final steps).
    n_workers : parallel worker processes; also the cores used: at most this many evaluations (networks
        and traditional learners together) run at a time.
    memory_limit : MB per evaluation (its own memory, USS); an evaluation above it is stopped.
    seed : seeds the space, BOHB's sampling and every training run.
    device : "auto" (CUDA when present), "cpu" or "cuda".
    min_budget, max_budget, eta : BOHB budgets in epochs (fractional budgets round up); with both budgets
        None (the default) the ladder is 1, eta, eta^2, ... epochs with as many rungs (at most
        ``max_rungs``) as let ``cycles`` whole cycles of brackets fit the time, planned from the measured
        seconds per epoch before every bracket.
    run_dir : where the run's records go; None = a temporary folder removed after fit.
    validation : "holdout" (stratified, ``val_fraction``), "cv" (stratified ``cv_folds``-fold: every
        configuration is trained once per fold and predicts with the average of its fold models), or
        "auto" (the default): "cv" up to ``AUTO_CV_MAX_ROWS`` rows, where a single holdout split is small
        and noisy and training is cheap, "holdout" above. Chosen on the meta-train pool
        (``bench/bench_autodl_evidence.py``: 15 datasets x 2 folds at 60 s, mean rank of "auto" ahead of
        "holdout").
    cv_folds : folds of "cv"; None (the default): 5 up to ``FIVE_FOLDS_MAX_ROWS`` rows, 3 above. 5 folds
        led 3 on those datasets at 60 s and 300 s (60 pairs, 0.8688 vs 0.8643 mean accuracy, Wilcoxon
        p = 0.098), on the 13 with under 900 training rows (0.8580 vs 0.8531); on the two with about 4300 it
        made no difference (4 better, 3 worse), and above 1000 rows 5 folds cost 5/3 of the time per
        configuration (the first network result at 3000 rows: 5.3 s instead of 3.6 s).
    threads_per_worker : torch threads of each evaluation.
    eval_time_limit : seconds per evaluation (None: only the search deadline).
    max_iterations : stop after this many BOHB brackets (None: use the whole time limit).
    initial_configs : configurations (dicts in ``autodl.space`` names) evaluated first, e.g. a portfolio.
    patience : early-stopping patience in epochs (None: off).
    keep_models : fitted pipelines kept on disk during the search (the best by validation loss).
    host, nic_name : interface of the nameserver/master (multi-node runs).
    portfolio : evaluate the portfolio's configurations first (after ``initial_configs``).
    portfolio_path : a portfolio file (None: the one shipped in ``autodl/portfolio/portfolio.json``).
    traditional : also train LightGBM, k-NN, random forest, extra trees and CatBoost (True: in that order,
        taking turns with the networks for the cores, each capped to a share of the time left; under the same
        per-evaluation limits) for the ensemble pool; or a list of names from ``autodl.traditional.LEARNERS``
        (which adds logistic regression and an RBF SVM), trained in the order given; False: none.
    ensemble : predict with a Caruana ensemble (``ensemble_size`` members with replacement, chosen from
        the ``ensemble_nbest`` best candidates of all budgets and every traditional learner); when off,
        the best single model of that pool predicts.
    """

    def __init__(self, time_limit=60, n_workers=1, memory_limit=None, seed=0, device="auto", min_budget=None,
                 max_budget=None, eta=3, max_rungs=5, cycles=2.0, run_dir=None, validation="auto", val_fraction=0.33,
                 cv_folds=None, threads_per_worker=1, eval_time_limit=None, max_iterations=None, initial_configs=None,
                 patience=None, keep_models=20, record_gradients=True, host="127.0.0.1", nic_name=None,
                 portfolio=True, portfolio_path=None, traditional=True, ensemble=True, ensemble_size=50,
                 ensemble_nbest=20):
        self.time_limit = time_limit
        self.n_workers = n_workers
        self.memory_limit = memory_limit
        self.seed = seed
        self.device = device
        self.min_budget = min_budget
        self.max_budget = max_budget
        self.eta = eta
        self.max_rungs = max_rungs
        self.cycles = cycles
        self.run_dir = run_dir
        self.validation = validation
        self.val_fraction = val_fraction
        self.cv_folds = cv_folds
        self.threads_per_worker = threads_per_worker
        self.eval_time_limit = eval_time_limit
        self.max_iterations = max_iterations
        self.initial_configs = initial_configs
        self.patience = patience
        self.keep_models = keep_models
        self.record_gradients = record_gradients
        self.host = host
        self.nic_name = nic_name
        self.portfolio = portfolio
        self.portfolio_path = portfolio_path
        self.traditional = traditional
        self.ensemble = ensemble
        self.ensemble_size = ensemble_size
        self.ensemble_nbest = ensemble_nbest

    def _check_params(self) -> None:
        if self.time_limit is None or self.time_limit < MIN_TIME_LIMIT:
            raise ValueError(f"time_limit={self.time_limit} s is too small to start workers and train one minimal "
                             f"configuration: use at least {MIN_TIME_LIMIT:g} s")
        if int(self.n_workers) < 1:
            raise ValueError(f"n_workers must be >= 1, got {self.n_workers}")
        if self.validation not in ("holdout", "cv", "auto"):
            raise ValueError(f"validation must be 'holdout', 'cv' or 'auto', got {self.validation!r}")
        if self.validation in ("holdout", "auto") and not 0 < self.val_fraction < 1:   # auto: on large data
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.validation in ("cv", "auto") and self.cv_folds is not None and int(self.cv_folds) < 2:
            raise ValueError(f"cv_folds must be >= 2, got {self.cv_folds}")
        if (self.min_budget is None) != (self.max_budget is None):
            raise ValueError(f"give both min_budget and max_budget, or neither (budgets planned from the time), got "
                             f"{self.min_budget}, {self.max_budget}")
        if self.min_budget is not None and not 0 < self.min_budget < self.max_budget:
            raise ValueError(f"need 0 < min_budget < max_budget, got {self.min_budget}, {self.max_budget}")
        if int(self.max_rungs) < 2 or float(self.eta) < 2:
            raise ValueError(f"need max_rungs >= 2 and eta >= 2, got {self.max_rungs}, {self.eta}")
        if int(self.ensemble_size) < 1 or int(self.ensemble_nbest) < 1:
            raise ValueError(f"ensemble_size and ensemble_nbest must be >= 1, got {self.ensemble_size}, "
                             f"{self.ensemble_nbest}")
        chosen_learners(self.traditional)
        if self.device not in ("auto", "cpu") and not str(self.device).startswith("cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:i]', got {self.device!r}")

    def _splits(self, y_codes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        validation = self.validation
        if validation == "auto":
            validation = "cv" if len(y_codes) <= AUTO_CV_MAX_ROWS else "holdout"
        if validation == "holdout":
            train, val = holdout(y_codes, test_size=self.val_fraction, seed=self.seed)
            return [(np.sort(train), np.sort(val))]
        folds = self.cv_folds if self.cv_folds is not None else 5 if len(y_codes) <= FIVE_FOLDS_MAX_ROWS else 3
        # a handful of rows: as many folds as rows (an explicit cv_folds with "cv" was checked in fit)
        return kfold(y_codes, min(int(folds), len(y_codes)), seed=self.seed)

    def fit(self, X, y):
        started = time.time()
        refuse_while_bootstrapping()
        self._check_params()
        frame, y = check_xy(X, y)
        initial_configs = list(self.initial_configs or [])
        if self.portfolio:  # a bad portfolio file fails here, before any compute
            initial_configs += load_portfolio(self.portfolio_path)
        if len(y) < 4:
            raise ValueError(f"X has {len(y)} rows: autodl needs at least 4 to hold out validation data")
        if self.validation == "cv" and self.cv_folds is not None and len(y) < int(self.cv_folds):
            raise ValueError(f"X has {len(y)} rows, fewer than cv_folds={self.cv_folds}: lower cv_folds or use "
                             f"validation='holdout'")
        temporary = self.run_dir is None
        run_dir = Path(tempfile.mkdtemp(prefix="autodl_")) if temporary else Path(self.run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        settings = from_estimator_params(self.get_params())
        # forked now, from this process (torch imported), while the data are encoded below
        workers = LocalWorkers(settings.n_workers, run_dir)
        learners = chosen_learners(self.traditional)
        if learners and settings.n_workers >= 2:
            # the learners' imports beside the encoding: two busy processes, within the cores
            from autodl.traditional import start_learner_server

            start_learner_server()
        runner = None
        try:
            self.classes_ = np.unique(y)
            y_codes = np.searchsorted(self.classes_, y).astype(np.int64)
            encoder = TabularEncoder().fit(frame)
            data = encoder.transform(frame)
            splits = self._splits(y_codes)
            self.n_features_in_ = frame.shape[1]
            self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
            write_search_data(run_dir / "data.pkl", data, y, y_codes, self.classes_, encoder, splits)
            del data
            deadline = started + float(self.time_limit) - final_margin(float(self.time_limit))
            slots = CoreSlots(settings.n_workers)
            builder = None
            if self.ensemble or learners:
                val_rows = np.sort(np.concatenate([val for _, val in splits]))
                builder = EnsembleBuilder(run_dir, y_codes, val_rows, int(self.ensemble_size) if self.ensemble else 1,
                                          int(self.ensemble_nbest), started)
                settings.keep_models = max(settings.keep_models, builder.nbest)  # members' models stay on disk
            for name in ("ensemble.json", "ensemble_trajectory.jsonl", "traditional.jsonl"):  # a reused run_dir
                (run_dir / name).unlink(missing_ok=True)
            if learners:
                from autodl.traditional import TraditionalRunner

                slots.searching(True)   # the first slot goes to a network evaluation
                runner = TraditionalRunner.for_search(run_dir, run_dir / "data.pkl", deadline, settings,
                                                      lambda name, result: builder.add(
                                                          traditional_candidate(name, result, run_dir)),
                                                      slots=slots, learners=learners).start()
            on_evaluation = (lambda evaluation: builder.add(network_candidate(evaluation))) if builder else None
            outcome = run_search(build_space(seed=int(self.seed)), run_dir / "data.pkl", run_dir, deadline, settings,
                                 initial_configs=initial_configs, started=started, on_evaluation=on_evaluation,
                                 slots=slots, workers=workers)
            if runner is not None:
                runner.finish(deadline)
            self._keep_results(outcome, y_codes, splits, builder)
        finally:
            if runner is not None:
                runner.stop()
            workers.stop(wait=0)   # a no-op after the search (it stops them); after a failure before it, needed
            if temporary:
                shutil.rmtree(run_dir, ignore_errors=True)
        self.brackets_ = (outcome.brackets, outcome.completed_brackets)
        self.run_dir_ = None if temporary else run_dir
        self.fit_time_ = time.time() - started
        return self

    def _keep_results(self, outcome, y_codes, splits, builder=None) -> None:
        self.evaluations_ = outcome.evaluations
        self.n_evaluations_ = sum(e.status == "ok" for e in outcome.evaluations)
        if builder is not None and any(m.model_path and not Path(m.model_path).exists() for m in builder.members):
            builder.rebuild()
        members = builder.members if builder is not None else []
        # the ensemble (or, with ensemble=False, the best single model of the pool) predicts
        self.ensemble_ = EnsembleModel.from_members(members) if members else None
        self.ensemble_members_ = [(m.tag, m.kind, m.name, m.weight) for m in members]
        incumbent = outcome.incumbent
        if incumbent is None and members:  # only traditional learners finished
            self.pipelines_, self.incumbent_, self.val_predictions_ = [], None, {}
            self.val_labels_ = y_codes
            self.val_rows_ = np.sort(np.concatenate([val for _, val in splits]))
            return
        if incumbent is None:
            statuses = sorted({e.status for e in outcome.evaluations}) or ["none started"]
            raise RuntimeError(f"no configuration finished within time_limit={self.time_limit} s "
                               f"({len(outcome.evaluations)} evaluations: {', '.join(statuses)}); increase "
                               f"time_limit or lower min_budget/max_budget")
        with open(incumbent.model_path, "rb") as fh:
            self.pipelines_ = pickle.load(fh)
        # "epochs": BOHB's budget of the incumbent's evaluation (autodl's budgets are epochs, not seconds)
        self.incumbent_ = {"config_id": incumbent.config_id, "epochs": incumbent.budget, "loss": incumbent.loss,
                           "config": incumbent.config}
        self.val_predictions_ = {(e.config_id, e.budget): np.load(e.val_predictions_path)
                                 for e in outcome.evaluations if e.status == "ok"}
        self.val_labels_ = y_codes
        self.val_rows_ = np.sort(np.concatenate([val for _, val in splits]))

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "pipelines_")
        frame = as_frame(X)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {frame.shape[1]} columns but the classifier was fitted on {self.n_features_in_}")
        if not isinstance(X, pd.DataFrame):  # arrays: columns by position
            frame = frame.set_axis(list(self.feature_names_in_), axis=1)
        if getattr(self, "ensemble_", None) is not None:
            return self.ensemble_.predict_proba(frame)
        probas = [pipeline.predict_proba(frame) for pipeline in self.pipelines_]
        return np.mean(probas, axis=0)

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]
