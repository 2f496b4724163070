"""Datasets for the sampler, and LCBench-style splits.

The sampler takes any picklable object with ``name``, ``openml_task_id`` (an int or None) and
``load() -> (train frame, test frame, target column)``: ``FileDataset`` here (a file suite's
dataset, read with ``autodl.suite_file``), or one the harness builds from its own suites
(``benchmark.lcbench``). A file dataset's test rows are its ``test_path`` file, else a stratified
third of its rows (LCBench's test split of 0.33); the sampler then holds out ``VAL_FRACTION`` of
the training rows for validation.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from autodl.splits import holdout
from autodl.suite_file import read_suite_file, read_table

VAL_FRACTION = 0.33
TEST_FRACTION = 1 / 3
SPLIT_SEED = 0


@dataclass(frozen=True)
class FileDataset:
    """A file suite's dataset: a CSV/parquet file and its target column (and optionally a test file)."""

    name: str
    path: str
    target: str
    test_path: str | None = None
    openml_task_id = None

    def load(self) -> tuple[pd.DataFrame, pd.DataFrame, str]:
        data = read_table(self.path)
        if self.target not in data.columns:
            raise ValueError(f"dataset {self.name}: target column {self.target!r} is not in {self.path}")
        if self.test_path is not None:
            return data, read_table(self.test_path), self.target
        train, test = split_frame(data, self.target, TEST_FRACTION)
        return train, test, self.target


def file_datasets(suite: str | Path) -> list[FileDataset]:
    """The datasets of a file-suite YAML (``autodl.suite_file``)."""
    return [FileDataset(e.name, str(e.path), e.target, None if e.test_path is None else str(e.test_path))
            for e in read_suite_file(suite).datasets]


def select(datasets: list, names: list[str] | None, suite: str) -> list:
    """The datasets named (all when ``names`` is empty), in the suite's order."""
    if not names:
        return list(datasets)
    unknown = sorted(set(names) - {d.name for d in datasets})
    if unknown:
        raise ValueError(f"dataset(s) {', '.join(unknown)} are not in suite {suite}; "
                         f"it has {', '.join(d.name for d in datasets)}")
    return [d for d in datasets if d.name in names]


def split_frame(frame: pd.DataFrame, target: str, fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rest, held-out ``fraction``): stratified by the target where possible (``autodl.splits.holdout``)."""
    first, second = holdout(frame[target].astype(str).to_numpy(), test_size=fraction, seed=SPLIT_SEED)
    return frame.iloc[first].reset_index(drop=True), frame.iloc[second].reset_index(drop=True)


@dataclass
class Splits:
    X_train: pd.DataFrame
    y_train: np.ndarray
    X_val: pd.DataFrame
    y_val: np.ndarray
    X_test: pd.DataFrame
    y_test: np.ndarray
    features: int
    classes: int
    instances: int


def load_splits(dataset, val_fraction: float = VAL_FRACTION) -> Splits:
    """Train/validation/test: the dataset's test rows, and ``val_fraction`` of its training rows."""
    train, test, target = dataset.load()
    train, val = split_frame(train, target, val_fraction)

    def xy(frame):
        return frame.drop(columns=[target]), frame[target].to_numpy()

    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = xy(train), xy(val), xy(test)
    labels = np.concatenate([y_tr, y_va, y_te])
    return Splits(X_tr, y_tr, X_va, y_va, X_te, y_te, features=X_tr.shape[1],
                  classes=len(pd.unique(labels)), instances=len(labels))
