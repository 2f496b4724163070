"""Tasks: a named dataset with fixed train/test folds, loadable inside a job process.

A ``TaskSpec`` is small and serialisable (it travels to job processes and SLURM array tasks as
JSON): data is always read from its source by path or id, never pickled into a submission.
Three sources:
- ``sklearn``: a dataset bundled with scikit-learn (the offline ``demo`` suite);
- ``openml``: an OpenML task through openml-python's own code path and cache;
- ``file``: a CSV (gzipped too) or parquet file named in a file suite, with an optional test file.
Without a given test file, folds are 10 stratified folds made locally with a fixed seed.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

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
        """Return (train, test, target) for a fold; train and test hold features and the target."""
        if not 0 <= fold < self.n_folds:
            raise TaskError(f"task {self.name} has folds 0..{self.n_folds - 1}, not {fold}")
        if self.source == "openml":
            return _load_openml_fold(self, fold)
        if self.source == "sklearn":
            data, target = _load_sklearn(self.ref), "class"
        elif self.source == "file":
            data, target = read_table(Path(self.ref)), self.target
            if self.test_path:
                return data, read_table(Path(self.test_path)), target
        else:
            raise TaskError(f"unknown task source {self.source!r}")
        train_idx, test_idx = local_fold_indices(data[target], fold, self.n_folds)
        return data.iloc[train_idx].reset_index(drop=True), data.iloc[test_idx].reset_index(drop=True), target


def local_fold_indices(y: pd.Series, fold: int, n_folds: int = N_FOLDS) -> tuple[np.ndarray, np.ndarray]:
    splits = StratifiedKFold(n_folds, shuffle=True, random_state=SPLIT_SEED).split(np.zeros(len(y)), y.astype(str))
    for k, (train_idx, test_idx) in enumerate(splits):
        if k == fold:
            return train_idx, test_idx
    raise TaskError(f"fold {fold} out of range")


SKLEARN_DATASETS = ("iris", "wine", "breast_cancer", "digits")


def _load_sklearn(name: str) -> pd.DataFrame:
    import sklearn.datasets

    if name not in SKLEARN_DATASETS:
        raise TaskError(f"unknown scikit-learn dataset {name!r}; choose from {', '.join(SKLEARN_DATASETS)}")
    bunch = getattr(sklearn.datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "class"})
    frame["class"] = np.asarray(bunch.target_names)[bunch.target.to_numpy()] if hasattr(bunch, "target_names") \
        else frame["class"].astype(str)
    return frame


def read_table(path: Path, nrows: int | None = None) -> pd.DataFrame:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        frame = pd.read_parquet(path)
        return frame.head(nrows) if nrows else frame
    if name.endswith((".csv", ".csv.gz")):
        return pd.read_csv(path, nrows=nrows)
    raise TaskError(f"{path}: unsupported file type; use .csv, .csv.gz, .parquet or .pq")


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


def configure_openml(cache_dir: str | Path | None) -> None:
    import openml

    if cache_dir:
        openml.config.set_root_cache_directory(str(Path(cache_dir).resolve()))
    openml.config.connection_n_retries = 1


def _load_openml_fold(spec: TaskSpec, fold: int) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    import openml

    configure_openml(spec.cache_dir)
    task = openml.tasks.get_task(int(spec.ref), download_splits=True, download_data=True)
    X, y = task.get_X_and_y(dataset_format="dataframe") if _accepts_format(task) else task.get_X_and_y()
    train_idx, test_idx = task.get_train_test_split_indices(fold=fold)
    target = task.target_name
    data = X.copy()
    data[target] = y
    return data.iloc[train_idx].reset_index(drop=True), data.iloc[test_idx].reset_index(drop=True), target


def _accepts_format(task) -> bool:
    import inspect

    return "dataset_format" in inspect.signature(task.get_X_and_y).parameters
