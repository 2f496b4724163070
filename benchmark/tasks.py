"""Tasks: a named dataset with fixed train/test folds, loadable inside a job process.

A ``TaskSpec`` is small and serialisable (it travels to job processes and SLURM array tasks as
JSON): data is always read from its source by path or id, never pickled into a submission.
Three sources:
- ``sklearn``: a dataset bundled with scikit-learn (the offline ``demo`` suite);
- ``openml``: an OpenML task through openml-python's own code path and cache;
- ``file``: a CSV (gzipped too) or parquet file named in a file suite, with an optional test file.
Without a given test file, folds are stratified folds made locally with a fixed seed (10, or the
suite's ``folds``); with one, the task has a single fold.

Infinite feature values become missing values here, in every job alike (``benchmark.checks``
prints how many there are before the run).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from autodl import suite_file

N_FOLDS = 10
SPLIT_SEED = 0


class TaskError(ValueError):
    """A task or suite cannot be used as given."""


@dataclass(frozen=True)
class TaskSpec:
    name: str                 # used in result rows and job folders; unique within a suite
    source: str               # "sklearn" | "openml" | "file"
    ref: str                  # sklearn dataset name, OpenML task id, or data file path
    target: str | None = None
    test_path: str | None = None
    n_folds: int = N_FOLDS
    cache_dir: str | None = None   # OpenML cache root (openml source only)

    @property
    def id(self) -> str:
        """The AMLB-style task id for the ``id`` column."""
        if self.source == "openml":
            return f"openml.org/t/{self.ref}"
        return f"{self.source}/{self.name}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TaskSpec":
        return cls(**d)

    def load_fold(self, fold: int) -> tuple[pd.DataFrame, pd.DataFrame, str]:
        """Return (train, test, target) for a fold; train and test hold features and the target.
        Infinite feature values are returned as missing values."""
        if not 0 <= fold < self.n_folds:
            raise TaskError(f"task {self.name} has folds 0..{self.n_folds - 1}, not {fold}")
        train, test, target = self._load_fold(fold)
        return infinite_to_missing(train, target), infinite_to_missing(test, target), target

    def _load_fold(self, fold: int) -> tuple[pd.DataFrame, pd.DataFrame, str]:
        if self.source == "openml":
            return _load_openml_fold(self, fold)
        if self.source == "sklearn":
            data, target = load_sklearn(self.ref), "class"
        elif self.source == "file":
            data, target = read_table(Path(self.ref)), self.target
            if self.test_path:
                return data, read_table(Path(self.test_path)), target
        else:
            raise TaskError(f"unknown task source {self.source!r}")
        train_idx, test_idx = local_fold_indices(data[target], fold, self.n_folds)
        return data.iloc[train_idx].reset_index(drop=True), data.iloc[test_idx].reset_index(drop=True), target


def infinite_counts(frame: pd.DataFrame, target: str | None) -> dict[str, int]:
    """Infinite values per numeric feature column (the target is a label and is left alone)."""
    counts = {}
    for col in frame.columns:
        if col != target and pd.api.types.is_float_dtype(frame[col]):
            n = int(np.isinf(frame[col].to_numpy(dtype=float, na_value=np.nan)).sum())
            if n:
                counts[str(col)] = n
    return counts


def infinite_to_missing(frame: pd.DataFrame, target: str | None) -> pd.DataFrame:
    """``frame`` with every infinite feature value replaced by a missing value."""
    cols = list(infinite_counts(frame, target))
    if not cols:
        return frame
    frame = frame.copy()
    frame[cols] = frame[cols].replace([np.inf, -np.inf], np.nan)
    return frame


def local_fold_indices(y: pd.Series, fold: int, n_folds: int = N_FOLDS) -> tuple[np.ndarray, np.ndarray]:
    splits = StratifiedKFold(n_folds, shuffle=True, random_state=SPLIT_SEED).split(np.zeros(len(y)), y.astype(str))
    for k, (train_idx, test_idx) in enumerate(splits):
        if k == fold:
            return train_idx, test_idx
    raise TaskError(f"fold {fold} out of range")


SKLEARN_DATASETS = ("iris", "wine", "breast_cancer", "digits")


def load_sklearn(name: str) -> pd.DataFrame:
    import sklearn.datasets

    if name not in SKLEARN_DATASETS:
        raise TaskError(f"unknown scikit-learn dataset {name!r}; choose from {', '.join(SKLEARN_DATASETS)}")
    bunch = getattr(sklearn.datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "class"})
    frame["class"] = np.asarray(bunch.target_names)[bunch.target.to_numpy()] if hasattr(bunch, "target_names") \
        else frame["class"].astype(str)
    return frame


def read_table(path: Path, nrows: int | None = None) -> pd.DataFrame:
    """A CSV (gzipped too) or parquet file; ``TaskError`` in one line naming the file when unreadable."""
    try:
        return suite_file.read_table(path, nrows)
    except suite_file.SuiteFileError as err:
        raise TaskError(str(err)) from None


def read_header(path: Path) -> list[str]:
    """Column names as written in the file, duplicates kept."""
    try:
        return suite_file.read_header(path)
    except suite_file.SuiteFileError as err:
        raise TaskError(str(err)) from None


# --- OpenML -----------------------------------------------------------------------------------

def openml_www(cache_dir: str | Path) -> Path:
    """Where openml-python keeps files for the default server under a cache root."""
    return Path(cache_dir) / "org" / "openml" / "www"


def openml_cached(task_id: int, cache_dir: str | Path) -> bool:
    """True when task, splits and dataset are all on disk, so openml-python makes zero requests.

    Checked by file layout before openml-python is asked: a cache miss makes it try the network
    and, on failure, delete the task's and dataset's cache folders.
    """
    www = openml_www(cache_dir)
    tdir = www / "tasks" / str(task_id)
    task_xml = tdir / "task.xml"
    if not (task_xml.exists() and (tdir / "datasplits.arff").exists()):
        return False
    match = re.search(r"<oml:data_set_id>(\d+)</oml:data_set_id>", task_xml.read_text())
    if not match:
        return False
    ddir = www / "datasets" / match.group(1)
    has_data = (ddir / "dataset.arff").exists() or any(ddir.glob("dataset_*.pq"))
    return has_data and all((ddir / f).exists() for f in ("description.xml", "features.xml"))


def openml_task_info(task_id: int, cache_dir: str | Path | None) -> tuple[str | None, int | None]:
    """(dataset name, number of folds) of a task, read offline from openml-python's cached
    ``task.xml`` and ``description.xml``; None for what is not cached or cannot be read."""
    if not cache_dir:
        return None, None
    www = openml_www(cache_dir)
    try:
        task_xml = (www / "tasks" / str(task_id) / "task.xml").read_text()
    except (OSError, UnicodeDecodeError):
        return None, None
    folds = re.search(r'<oml:parameter name="number_folds">\s*(\d+)\s*</oml:parameter>', task_xml)
    n_folds = int(folds.group(1)) if folds and int(folds.group(1)) > 0 else None
    dataset = re.search(r"<oml:data_set_id>(\d+)</oml:data_set_id>", task_xml)
    if not dataset:
        return None, n_folds
    try:
        root = ET.parse(www / "datasets" / dataset.group(1) / "description.xml").getroot()
    except (OSError, ET.ParseError):
        return None, n_folds
    name = (root.findtext("{http://openml.org/openml}name") or "").strip()
    return name or None, n_folds


def configure_openml(cache_dir: str | Path | None) -> None:
    import openml

    if cache_dir:
        openml.config.set_root_cache_directory(str(Path(cache_dir).resolve()))
    openml.config.connection_n_retries = 1


def load_openml(spec: TaskSpec):
    """(openml task, features and target in one frame, target name) through openml-python's cache."""
    import openml

    configure_openml(spec.cache_dir)
    task = openml.tasks.get_task(int(spec.ref), download_splits=True, download_data=True)
    X, y = task.get_X_and_y(dataset_format="dataframe") if _accepts_format(task) else task.get_X_and_y()
    target = task.target_name
    data = X.copy()
    data[target] = y
    return task, data, target


def _load_openml_fold(spec: TaskSpec, fold: int) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    task, data, target = load_openml(spec)
    train_idx, test_idx = task.get_train_test_split_indices(fold=fold)
    return data.iloc[train_idx].reset_index(drop=True), data.iloc[test_idx].reset_index(drop=True), target


def _accepts_format(task) -> bool:
    import inspect

    return "dataset_format" in inspect.signature(task.get_X_and_y).parameters
