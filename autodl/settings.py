"""The settings of a search, in one place.

``EvaluationSettings`` says how one evaluation runs (limits, threads, device, seed, trainer);
the search (``SearchSettings.evaluation``) and every worker (``WorkerSpec.evaluation``) hold the
same object, so nothing is copied field by field. ``SearchSettings`` adds the loop's own
settings (workers, BOHB's budgets in epochs and its model, where the nameserver listens). Budgets
are planned from the time the search has (``autodl.budgets``) unless ``min_budget`` and
``max_budget`` are both given.
``from_estimator_params`` maps ``AutoDLClassifier``'s parameters onto both, with the two names
that differ listed in ``ESTIMATOR_NAMES``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

TRAIN_FN = "autodl.trainer:train_pipeline"


def _optional(cast, value):
    return None if value is None else cast(value)


@dataclass
class EvaluationSettings:
    """How one configuration is evaluated: the worker's child process gets exactly this."""

    eval_time_limit: float | None = None   # seconds per evaluation (None: only the search's deadline)
    eval_memory_mb: int | None = None      # the evaluation's own memory (USS); above it, it is stopped
    threads: int = 1                       # torch threads of the evaluation
    device: str = "cpu"
    seed: int = 0                          # seeds every training run (and, in the search, BOHB's sampling)
    patience: int | None = None            # early-stopping patience in epochs
    record_gradients: bool = True
    train_fn: str = TRAIN_FN               # "module:function" with train_pipeline's signature

    def __post_init__(self):
        self.eval_time_limit = _optional(float, self.eval_time_limit)
        self.eval_memory_mb = _optional(int, self.eval_memory_mb)
        self.threads = int(self.threads)
        self.seed = int(self.seed)
        self.patience = _optional(int, self.patience)
        self.record_gradients = bool(self.record_gradients)


@dataclass
class SearchSettings:
    """The loop: worker processes, BOHB (budgets are epochs), and the records it keeps."""

    n_workers: int = 1
    # epochs; both None: a ladder auto_min_budget * eta**k planned from the time left (autodl.budgets), with
    # at most max_rungs rungs and `cycles` whole cycles of brackets fitting the time
    min_budget: float | None = None
    max_budget: float | None = None
    eta: float = 3.0
    auto_min_budget: float = 1.0
    max_rungs: int = 5
    cycles: float = 2.0
    host: str = "127.0.0.1"                # nameserver/master interface; None with nic_name for multi-node
    nic_name: str | None = None
    max_iterations: int | None = None      # brackets; None = until the deadline
    keep_models: int = 20                  # fitted pipelines kept on disk (the best by validation loss)
    worker_start_timeout: float = 60.0
    # BOHB's model: a KDE per budget once that budget has min_points_in_model results (None: hpbandster's
    # default, the number of hyperparameters + 1); random_fraction of the proposals stay random
    min_points_in_model: int | None = None
    random_fraction: float = 1 / 3
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)

    def __post_init__(self):
        self.n_workers = int(self.n_workers)
        self.min_budget, self.max_budget = _optional(float, self.min_budget), _optional(float, self.max_budget)
        if (self.min_budget is None) != (self.max_budget is None):
            raise ValueError(f"give both min_budget and max_budget (a fixed ladder) or neither (budgets planned "
                             f"from the time), got {self.min_budget}, {self.max_budget}")
        self.eta, self.auto_min_budget, self.cycles = float(self.eta), float(self.auto_min_budget), float(self.cycles)
        self.max_rungs = int(self.max_rungs)
        self.max_iterations = _optional(int, self.max_iterations)
        self.keep_models = int(self.keep_models)
        self.min_points_in_model = _optional(int, self.min_points_in_model)
        if isinstance(self.evaluation, Mapping):   # read back from JSON
            self.evaluation = EvaluationSettings(**self.evaluation)

    @property
    def planned_budgets(self) -> bool:
        return self.min_budget is None

    def bohb_options(self) -> dict:
        """Keyword arguments of hpbandster's BOHB configuration generator."""
        return {"min_points_in_model": self.min_points_in_model, "random_fraction": self.random_fraction}


# AutoDLClassifier's parameter names where they differ from the settings' field names
ESTIMATOR_NAMES = {"memory_limit": "eval_memory_mb", "threads_per_worker": "threads"}


def from_estimator_params(params: Mapping) -> SearchSettings:
    """Settings from ``AutoDLClassifier.get_params()``: every parameter that names a settings field
    (after ``ESTIMATOR_NAMES``) goes there; the others (time limit, validation, portfolio, ...) are the
    estimator's own."""
    values = {ESTIMATOR_NAMES.get(name, name): value for name, value in params.items()}
    evaluation = EvaluationSettings(**_known(EvaluationSettings, values))
    return SearchSettings(**_known(SearchSettings, values), evaluation=evaluation)


def _known(cls, values: Mapping) -> dict:
    return {f.name: values[f.name] for f in fields(cls) if f.name in values and f.name != "evaluation"}
