"""Datasets for the sampler: a suite resolved to picklable tasks, and LCBench-style splits.

Suites come from the harness (`benchmark.suites.resolve_suite`: suite names, openml/t/<id>,
file-suite YAML) when it is importable; autodl itself does not need the harness, so a
file-suite YAML ``{name, datasets: [{name, path, target}]}`` is also read directly.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

VAL_FRACTION = 0.33
SPLIT_SEED = 0


@dataclass(frozen=True)
class FileDataset:
    """A CSV/parquet file and its target column; fold 0 holds out a stratified third as test."""

    name: str
    ref: str
    target: str
    source: str = "file"

    def load_fold(self, fold: int) -> tuple[pd.DataFrame, pd.DataFrame, str]:
        path = Path(self.ref)
        data = pd.read_parquet(path) if path.suffix in (".parquet", ".pq") else pd.read_csv(path)
        train, test = _split(data, data[self.target], 1 / 3)
        return train, test, self.target


def resolve_datasets(suite: str, names: list[str] | None = None) -> list:
    """Tasks of a suite (each with .name, .source, .ref and .load_fold(fold)), optionally a subset by name."""
    try:
        from benchmark.suites import resolve_suite
    except ImportError:
        tasks = _file_suite(Path(suite))
    else:
        tasks = resolve_suite(suite).tasks
    if names:
        unknown = sorted(set(names) - {t.name for t in tasks})
        if unknown:
            raise ValueError(f"dataset(s) {', '.join(unknown)} are not in suite {suite}; "
                             f"it has {', '.join(t.name for t in tasks)}")
        tasks = [t for t in tasks if t.name in names]
    return tasks


def _file_suite(path: Path) -> list[FileDataset]:
    import yaml

    if path.suffix not in (".yaml", ".yml") or not path.is_file():
        raise ValueError(f"suite {path}: without the benchmark package only a file-suite YAML can be used")
    doc = yaml.safe_load(path.read_text())
    entries = doc.get("datasets") if isinstance(doc, dict) else None
    if not entries or not all(isinstance(e, dict) and {"name", "path", "target"} <= e.keys() for e in entries):
        raise ValueError(f"suite {path}: expected {{name, datasets: [{{name, path, target}}]}}")
    return [FileDataset(str(e["name"]), str(path.parent / e["path"]), str(e["target"])) for e in entries]


def _split(frame: pd.DataFrame, y: pd.Series, fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified where every class has two rows or more, else plain random."""
    counts = y.astype(str).value_counts()
    stratify = y.astype(str) if counts.min() >= 2 and len(counts) <= fraction * len(y) else None
    first, second = train_test_split(np.arange(len(frame)), test_size=fraction, random_state=SPLIT_SEED,
                                     stratify=stratify)
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


def load_splits(task, val_fraction: float = VAL_FRACTION) -> Splits:
    """Train/validation/test: the task's fold 0 test set, and `val_fraction` of its training part."""
    train, test, target = task.load_fold(0)
    train, val = _split(train, train[target], val_fraction)

    def xy(frame):
        return frame.drop(columns=[target]), frame[target].to_numpy()

    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = xy(train), xy(val), xy(test)
    labels = np.concatenate([y_tr, y_va, y_te])
    return Splits(X_tr, y_tr, X_va, y_va, X_te, y_te, features=X_tr.shape[1],
                  classes=len(pd.unique(labels)), instances=len(labels))
