"""Traditional learners that join the ensemble pool (as in Auto-PyTorch Tabular).

Fixed configurations: LightGBM, CatBoost, random forest (300 trees), extra trees (300 trees),
k-nearest neighbours, logistic regression and an RBF support-vector machine, and ``VARIANTS`` of some of
them (LightGBM with extremely randomised splits or larger trees, forests split on entropy). ``DEFAULT_LEARNERS``
are trained cheapest-to-land first (LightGBM first, so a gradient-boosting model is in the pool
early); ``AutoDLClassifier(traditional=[...])`` picks others. They adapt to the data's size and the time
left: a learner's configuration may carry ``max_seconds``, after which boosting stops adding
rounds (LightGBM, CatBoost: a callback) and forests stop adding trees (grown in chunks), each
keeping what it has; with a short share on large data, boosting trains on a random subsample of
rows (``boosting_rows``), so that binning the data does not eat the share; k-NN trains on at most
``KNN_MAX_ROWS`` rows and the SVM (whose fit grows with rows squared) on at most ``SVM_MAX_ROWS``: a
random subsample, topped up to two rows of every class (``subsample``).
``TraditionalRunner`` gives each learner a share of the time left and runs it in a core slot
(``autodl.slots``), never beside the network evaluations. They are evaluated like networks: ``train_learner``
has the trainer's signature, so the worker's ``Evaluator`` runs each one in a limited
child process (same time and memory limits), on the same encoded data and validation
split(s), and writes ``val_predictions/<tag>.npy`` and ``models/<tag>.pkl`` in the
networks' format. Preprocessing is the networks' own ``Preprocessor`` with its defaults
(median imputation, one-hot categoricals, standard scaling).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from autodl.data import TabularData, TabularEncoder, as_frame, resolve_encoding
from autodl.metrics import classification_metrics
from autodl.preprocessing import Preprocessor

# every learner; its index is part of the learner's config_id, so new ones are appended
LEARNERS = ("lightgbm", "knn", "random_forest", "extra_trees", "catboost", "logistic_regression", "svm",
            "lightgbm_xt", "lightgbm_large", "random_forest_entropy", "extra_trees_entropy")
# variants of a learner: its family's model with these settings changed (configurations of AutoGluon's
# "default" hyperparameter set, as published there, not tuned on this project's data)
VARIANTS = {"lightgbm_xt": ("lightgbm", {"extra_trees": True}),
            "lightgbm_large": ("lightgbm", {"learning_rate": 0.03, "num_leaves": 128, "colsample_bytree": 0.9,
                                            "min_child_samples": 3}),
            "random_forest_entropy": ("random_forest", {"criterion": "entropy"}),
            "extra_trees_entropy": ("extra_trees", {"criterion": "entropy"})}
DEFAULT_LEARNERS = ("lightgbm", "knn", "random_forest", "extra_trees", "catboost")   # in the order they are trained
TREES = 300                 # forests' trees (without a time cap)
TREE_CHUNK = 25             # forests grow this many trees between looks at the clock
KNN_MAX_ROWS = 20_000       # k-NN's training rows (its predictions cost rows x validation rows)
SVM_MAX_ROWS = 5_000        # the SVM's training rows (its fit, with Platt scaling's internal CV, is ~quadratic)
BOOSTING_CELLS_PER_SECOND = 2_000_000   # boosting learners' training cells (rows x columns) per second of their share
MIN_BOOSTING_ROWS = 5_000
MIN_LEARNER_SECONDS = 2.0
PREPROCESSING = {"imputation": "median", "cat_encoding": "one_hot", "scaling": "standard", "svd": "off"}
TRADITIONAL_ITERATION = -1   # config_id (-1, 0, i): never collides with BOHB's ids (iterations count from 0)


def chosen_learners(traditional) -> tuple[str, ...]:
    """The learners that ``AutoDLClassifier(traditional=...)`` trains: True for ``DEFAULT_LEARNERS``, False for
    none, or names from ``LEARNERS`` (in the order given)."""
    if isinstance(traditional, (bool, np.bool_)):
        return DEFAULT_LEARNERS if traditional else ()
    names = tuple(traditional) if isinstance(traditional, (list, tuple)) else (traditional,)
    unknown = [n for n in names if n not in LEARNERS]
    if unknown or len(set(names)) < len(names):
        problem = f"unknown {unknown}" if unknown else "a learner named twice"
        raise ValueError(f"traditional must be True, False or a list of distinct learners from {', '.join(LEARNERS)}; "
                         f"got {traditional!r} ({problem})")
    return names


def learner_config_id(name: str) -> tuple[int, int, int]:
    return (TRADITIONAL_ITERATION, 0, LEARNERS.index(name))


def learner_name(config_id) -> str | None:
    """The learner behind a config_id, or None for a network evaluation."""
    config_id = tuple(int(i) for i in config_id)
    if len(config_id) == 3 and config_id[0] == TRADITIONAL_ITERATION and 0 <= config_id[2] < len(LEARNERS):
        return LEARNERS[config_id[2]]
    return None


def family(name: str) -> str:
    """The learner whose model and fitting a variant shares (the name itself for the others)."""
    return VARIANTS[name][0] if name in VARIANTS else name


def make_model(name: str, n_train: int, threads: int, seed: int):
    """The fixed configuration of each learner."""
    if name in VARIANTS:
        base, settings = VARIANTS[name]
        return make_model(base, n_train, threads, seed).set_params(**settings)
    if name == "lightgbm":
        from lightgbm import LGBMClassifier
        return LGBMClassifier(n_estimators=300, learning_rate=0.05, num_leaves=31, min_child_samples=5,
                              subsample=0.8, subsample_freq=1, colsample_bytree=0.8, n_jobs=threads,
                              random_state=seed, verbose=-1)
    if name == "catboost":
        from catboost import CatBoostClassifier
        return CatBoostClassifier(iterations=300, learning_rate=0.1, depth=6, thread_count=threads,
                                  random_seed=seed, verbose=False, allow_writing_files=False)
    if name == "random_forest":
        from sklearn.ensemble import RandomForestClassifier
        return RandomForestClassifier(n_estimators=TREES, max_features="sqrt", n_jobs=threads, random_state=seed)
    if name == "extra_trees":
        from sklearn.ensemble import ExtraTreesClassifier
        return ExtraTreesClassifier(n_estimators=TREES, max_features="sqrt", n_jobs=threads, random_state=seed)
    if name == "knn":
        from sklearn.neighbors import KNeighborsClassifier
        return KNeighborsClassifier(n_neighbors=max(1, min(7, n_train)), weights="uniform", n_jobs=threads)
    if name == "logistic_regression":
        from sklearn.linear_model import LogisticRegression
        return LogisticRegression(C=1.0, max_iter=1000)
    if name == "svm":   # probabilities by Platt scaling on cross-validated decision values (folds: fit_model)
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import SVC
        return CalibratedClassifierCV(SVC(C=1.0, kernel="rbf", gamma="scale", random_state=seed),
                                      method="sigmoid", ensemble=False)
    raise ValueError(f"unknown traditional learner {name!r}; choose from {', '.join(LEARNERS)}")


def boosting_rows(name: str, n_rows: int, n_columns: int, max_seconds: float | None) -> int:
    """Training rows of a boosting learner: all of them, unless its time share is too short to bin them
    (LightGBM takes ~15 s on one loaded core to bin 47000 x 784 before its first round) and still boost:
    then at most ``BOOSTING_CELLS_PER_SECOND`` cells per second of the share, and ``MIN_BOOSTING_ROWS``."""
    if family(name) not in ("lightgbm", "catboost") or max_seconds is None:
        return n_rows
    cells = float(max_seconds) * BOOSTING_CELLS_PER_SECOND
    return int(min(n_rows, max(MIN_BOOSTING_ROWS, cells // max(1, n_columns))))


def fit_model(name: str, model, X: np.ndarray, y: np.ndarray, max_seconds: float | None, seed: int = 0):
    """Fit ``model``; with ``max_seconds``, stop adding rounds or trees once that time has passed."""
    ends = None if max_seconds is None else time.time() + float(max_seconds)
    name = family(name)
    if name == "lightgbm" and ends is not None:
        return model.fit(X, y, callbacks=[_lightgbm_stop_at(ends)])
    if name == "catboost" and ends is not None:
        return model.fit(X, y, callbacks=[_CatBoostStopAt(ends)])
    if name in ("random_forest", "extra_trees") and ends is not None:
        model.set_params(warm_start=True)
        for trees in range(TREE_CHUNK, TREES + TREE_CHUNK, TREE_CHUNK):
            model.set_params(n_estimators=min(trees, TREES))
            model.fit(X, y)
            if time.time() > ends:
                break
        return model
    most = {"knn": KNN_MAX_ROWS, "svm": SVM_MAX_ROWS}.get(name)
    if most is not None and len(y) > most:
        rows = subsample(y, most, seed)
        X, y = X[rows], y[rows]
    if name == "svm":
        smallest = int(np.bincount(y).min())
        if smallest < 2:
            raise ValueError("svm: a class has a single training row, and calibrating its probabilities needs two")
        model.set_params(cv=min(5, smallest))
    return model.fit(X, y)


def subsample(y: np.ndarray, most: int, seed: int) -> np.ndarray:
    """Sorted indices of ``most`` random rows, topped up so that each class keeps two rows where it has
    them (the model still predicts every class it was given; the SVM's calibration needs two)."""
    rows = np.random.default_rng(seed).choice(len(y), most, replace=False)
    drawn = np.zeros(len(y), bool)
    drawn[rows] = True
    for c in np.unique(y):
        short = 2 - int(drawn[y == c].sum())
        if short > 0:
            drawn[np.flatnonzero((y == c) & ~drawn)[:short]] = True
    return np.flatnonzero(drawn)


def _lightgbm_stop_at(ends: float):
    from lightgbm.callback import EarlyStopException

    def stop_at(env):
        if time.time() > ends:
            raise EarlyStopException(env.iteration, env.evaluation_result_list or [])
    stop_at.order = 40
    return stop_at


class _CatBoostStopAt:
    def __init__(self, ends: float):
        self.ends = ends

    def after_iteration(self, info) -> bool:   # False stops training
        return time.time() <= self.ends


def rounds_fitted(name: str, model) -> int | None:
    """Boosting rounds or trees in a fitted model (None for the others)."""
    name = family(name)
    if name == "lightgbm":
        return int(model.booster_.current_iteration())
    if name == "catboost":
        return int(model.tree_count_)
    if name in ("random_forest", "extra_trees"):
        return len(model.estimators_)
    return None


@dataclass
class TraditionalPipeline:
    """Column encoding + shared preprocessing + a fitted sklearn-style model; predicts like ``FittedPipeline``."""

    name: str
    classes: np.ndarray
    encoder: TabularEncoder
    preprocessor: Preprocessor
    model: object
    seen_codes: np.ndarray      # class codes the model saw in training (columns of its predict_proba)

    def predict_proba(self, X, device: str = "cpu") -> np.ndarray:
        data = X if isinstance(X, TabularData) else self.encoder.transform(as_frame(X))
        dense = self.preprocessor.transform(data).dense
        proba = np.zeros((len(dense), len(self.classes)))
        if len(self.seen_codes) == 1:   # a one-class training split: the model cannot be asked
            proba[:, self.seen_codes[0]] = 1.0
        else:
            proba[:, self.seen_codes] = self.model.predict_proba(dense)
        return proba


@dataclass
class TraditionalResult:
    """What the worker's evaluation child reads from a trainer result."""

    val_proba: np.ndarray
    pipeline: TraditionalPipeline
    curve: list = field(default_factory=list)     # no epochs: an empty learning curve
    final: dict = field(default_factory=dict)


def _codes(y, classes) -> np.ndarray:
    codes = pd.Index(classes).get_indexer(np.asarray(y))
    if (codes < 0).any():
        raise ValueError(f"labels {sorted(set(np.asarray(y)[codes < 0]))[:5]} are not among the classes")
    return codes


def train_learner(config: dict, X_train, y_train, X_val, y_val, epochs: int = 1, *, device: str = "cpu",
                  threads: int = 1, seed: int = 0, record_gradients: bool = False, patience=None,
                  encoder: TabularEncoder | None = None, classes=None) -> TraditionalResult:
    """Fit learner ``config["learner"]`` on the training split; the trainer's signature (epochs etc. unused)."""
    name = config.get("learner")
    if name not in LEARNERS:
        raise ValueError(f"config needs 'learner' in {LEARNERS}, got {name!r}")
    encoder, classes = resolve_encoding(X_train, y_train, y_val, encoder, classes)
    train = X_train if isinstance(X_train, TabularData) else encoder.transform(as_frame(X_train))
    y_codes = _codes(y_train, classes)
    rows = boosting_rows(name, len(y_codes), train.numeric.shape[1] + train.categorical.shape[1],
                         config.get("max_seconds"))
    if rows < len(y_codes):   # a short time share on large data: boost on a subsample (sorted: same row order)
        keep = np.sort(np.random.default_rng(seed).choice(len(y_codes), rows, replace=False))
        train, y_codes = train.take(keep), y_codes[keep]
    preprocessor = Preprocessor(PREPROCESSING, encoder.cardinalities, seed)
    dense = preprocessor.fit_transform(train).dense
    seen = np.unique(y_codes)
    model = make_model(name, len(y_codes), max(1, int(threads)), seed)
    if len(seen) > 1:
        # relabel to 0..m-1 so every library agrees on the column order of predict_proba
        fit_model(name, model, dense, np.searchsorted(seen, y_codes), config.get("max_seconds"), seed)
    pipeline = TraditionalPipeline(name, classes, encoder, preprocessor, model, seen)
    val_proba = pipeline.predict_proba(X_val)
    y_val_codes = _codes(y_val, classes)
    accuracy, _, cross_entropy = classification_metrics(val_proba, y_val_codes)
    final = {"rounds": rounds_fitted(name, model) if len(seen) > 1 else None, "train_rows": len(y_codes),
             "final_val_accuracy": accuracy, "final_val_cross_entropy": cross_entropy}
    return TraditionalResult(val_proba, pipeline, [], final)


def learner_seconds(seconds_left: float, learners_left: int) -> float:
    """A learner's time cap: an equal share of the time left with room for the networks beside it."""
    return max(MIN_LEARNER_SECONDS, seconds_left / (learners_left + 2))


SERVER_PRELOAD = ("autodl.traditional",)   # what the learners' forkserver imports before its first child


def start_learner_server() -> None:
    """Start the learners' forkserver now: its imports (sklearn, LightGBM, CatBoost: seconds) then run
    beside what this process does next instead of in the first learner's slot. A later
    ``TraditionalRunner`` finds it running."""
    from autodl.worker import start_forkserver

    start_forkserver(SERVER_PRELOAD)


class TraditionalRunner:
    """Evaluates the learners one after another in a background thread, under the network evaluations'
    limits (the worker's ``Evaluator``, children forked from a forkserver without torch), recording each in
    ``traditional.jsonl`` and passing it to ``on_result(name, evaluation_result)``. With ``slots`` each
    learner (and ``on_result``) runs inside a core slot, taking turns with the network evaluations."""

    def __init__(self, spec, on_result, learners=DEFAULT_LEARNERS, slots=None):
        import dataclasses
        import threading

        from autodl.worker import Evaluator

        learners = chosen_learners(learners)
        evaluation = dataclasses.replace(spec.evaluation, train_fn="autodl.traditional:train_learner",
                                         record_gradients=False, device="cpu")
        self.spec = dataclasses.replace(spec, evaluation=evaluation)
        # no torch in this forkserver: the learners don't need it, and importing it takes seconds
        self.evaluator = Evaluator(self.spec, preload=SERVER_PRELOAD, start_method="forkserver")
        self.on_result = on_result
        self.learners = list(learners)
        self.slots = slots
        self.results: dict[str, dict] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autodl-traditional", daemon=True)

    @classmethod
    def for_search(cls, run_dir, data_path, deadline: float, settings, on_result, slots=None,
                   learners=DEFAULT_LEARNERS) -> "TraditionalRunner":
        """A runner with the limits of a search's network evaluations (``autodl.settings.SearchSettings``)."""
        from autodl.worker import WorkerSpec

        spec = WorkerSpec(run_id="traditional", run_dir=str(run_dir), data_path=str(data_path), nameserver="",
                          nameserver_port=0, deadline=deadline, evaluation=settings.evaluation)
        return cls(spec, on_result, learners=learners, slots=slots)

    def start(self) -> "TraditionalRunner":
        self._thread.start()
        return self

    def _run(self) -> None:
        from autodl.worker import MIN_EVAL_SECONDS

        started = False
        for index, name in enumerate(self.learners):
            if self._stop.is_set():
                break
            if self.slots is not None and not self.slots.acquire_learner(self.spec.deadline - MIN_EVAL_SECONDS):
                break
            try:
                if not started:   # in the first slot: the forkserver's imports take a core too
                    self.evaluator.start()
                    started = True
                if self._stop.is_set():
                    break
                self._evaluate(name, len(self.learners) - index)
            finally:
                if self.slots is not None:
                    self.slots.release()

    def _evaluate(self, name: str, learners_left: int) -> None:
        import json
        from pathlib import Path

        config = {"learner": name, "max_seconds": learner_seconds(self.spec.deadline - time.time(), learners_left)}
        result = self.evaluator.evaluate(learner_config_id(name), config, 0.0)
        if self._stop.is_set():
            return   # stopped while it ran: the run has moved on without it
        self.results[name] = result
        with open(Path(self.spec.run_dir) / "traditional.jsonl", "a") as fh:
            fh.write(json.dumps({"learner": name, "config_id": list(learner_config_id(name)),
                                 "loss": result["loss"], "status": result["info"]["status"],
                                 "max_seconds": config["max_seconds"], "info": result["info"]}) + "\n")
        if result["info"]["status"] == "ok":
            self.on_result(name, result)

    def finish(self, until: float) -> None:
        """Let the learners run until ``until`` (time.time()), then stop."""
        self._thread.join(max(0.0, until - time.time()))
        self.stop()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop after (or kill) the running learner and wait for the thread."""
        self._stop.set()
        self.evaluator.kill_current()
        self._thread.join(timeout)
