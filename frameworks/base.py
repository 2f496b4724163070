"""The one interface every framework implements.

A framework is given the training data (features and target in one DataFrame), the test
features, the constraint (budget, cores, memory, gpus) and the seed, and returns class
probabilities and labels for the test rows plus what it knows about its own run.

The harness calls ``Framework.run`` inside a job process of its own (see
``benchmark/job.py``): limits, containment, validation of the predictions and the result
row are the harness's business, not the adapter's. Competitors that live in their own
virtual environment implement ``run`` by handing files to a subprocess of that venv
(see ``frameworks/environments.py``).
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


# The budget arithmetic, in one place (the runner's wall limit, the adapters' fit deadlines).
OVERRUN_ALLOWANCE = 0.15     # AMLB-like: a job may run ~15% over its budget before it counts as hung
PREDICT_SHARE = 0.05         # of the budget kept back for predicting the test rows (and writing them) ...
PREDICT_FLOOR_S = 3.0        # ... but never less than this


def wall_limit_s(budget_s: float, allowance_s: float) -> float:
    """The harness's hard wall-clock limit of a job: budget + 15% + a start-up allowance (interpreter start,
    imports, data loading: outside the framework's budget). Past it the job's process group is killed."""
    return float(budget_s) * (1 + OVERRUN_ALLOWANCE) + float(allowance_s)


def predict_margin_s(budget_s: float) -> float:
    """Seconds of the budget a framework keeps for predicting after its fit (one rule for every adapter)."""
    return max(PREDICT_FLOOR_S, PREDICT_SHARE * float(budget_s))


@dataclass(frozen=True)
class Constraint:
    """The resources every framework of a run gets, the same for all.

    ``budget_s`` is wall-clock seconds for fit + predict. The arithmetic around it lives here:
    ``wall_limit_s(allowance_s)`` (the harness's kill limit), ``predict_margin_s`` (kept for predicting)
    and ``fit_deadline(started)`` (when a framework's fit must be done).
    """

    budget_s: int            # wall-clock seconds for fit + predict
    cores: int = 1
    memory_mb: int = 4096
    gpus: int = 0

    @property
    def name(self) -> str:
        return f"{self.budget_s}s{self.cores}c"

    def wall_limit_s(self, allowance_s: float) -> float:
        return wall_limit_s(self.budget_s, allowance_s)

    @property
    def predict_margin_s(self) -> float:
        return predict_margin_s(self.budget_s)

    @property
    def fit_s(self) -> float:
        """Seconds for fitting: the budget less the predict margin."""
        return float(self.budget_s) - self.predict_margin_s

    def fit_deadline(self, started: float) -> float:
        """When fitting must end (same clock as ``started``, e.g. time.time() at the adapter's entry)."""
        return started + self.fit_s


@dataclass
class FrameworkResult:
    """What a framework hands back for the test rows."""

    probabilities: pd.DataFrame          # one column per class label (as strings), rows = test rows
    labels: np.ndarray | None = None     # predicted labels; argmax of probabilities when None
    models_count: int | None = None
    training_duration: float | None = None
    predict_duration: float | None = None
    version: str | None = None
    info: dict = field(default_factory=dict)   # anything else worth keeping (presets, ...)

    def predicted_labels(self) -> np.ndarray:
        if self.labels is not None:
            return np.asarray(self.labels).astype(str)
        return self.probabilities.columns.to_numpy()[self.probabilities.to_numpy().argmax(axis=1)].astype(str)


class Framework(abc.ABC):
    """Adapter base class. Subclasses are small; heavy lifting lives in the framework itself."""

    name: str = ""

    def __init__(self, **params):
        # Variants (presets, versions) are configuration entries in frameworks/registry.py
        self.params = params

    def setup(self) -> None:
        """Make the framework runnable (build its venv, ...). Idempotent. Raise on failure."""

    def is_setup(self) -> bool:
        return True

    @abc.abstractmethod
    def version(self) -> str:
        """The installed version of the framework (without importing anything heavy if possible)."""

    @abc.abstractmethod
    def run(self, train: pd.DataFrame, test_X: pd.DataFrame, target: str, constraint: Constraint,
            seed: int, workdir: Path) -> FrameworkResult:
        """Fit on ``train`` (features + ``target`` column), predict ``test_X``. ``workdir`` is the
        job's own scratch folder; anything written there stays with the job's results."""


class SetupError(RuntimeError):
    """A framework could not be set up (no interpreter, install failed, ...)."""
