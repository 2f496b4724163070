"""Shared helpers for the autodl tests: small real datasets and a deliberately crashing trainer."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_iris

from autodl.data import TabularEncoder
from autodl.search import write_search_data


def iris_frame() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


def mixed_frame(n_rows: int | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """breast_cancer with a categorical column, a bool column, missing values and string labels."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :8].copy()
    rng = np.random.default_rng(0)
    X["colour"] = pd.Series(rng.choice(["red", "green", "blue"], len(X)), dtype="category")
    X["flag"] = rng.random(len(X)) > 0.5
    X.loc[X.index[::7], "colour"] = None
    X.iloc[::5, 1] = np.nan
    y = y.map({0: "malignant", 1: "benign"})
    if n_rows is not None:
        X, y = X.iloc[:n_rows], y.iloc[:n_rows]
    return X, y


def search_data(directory: Path, X: pd.DataFrame, y: pd.Series, seed: int = 0) -> Path:
    """Writes the file workers load: encoded features, labels, one holdout split."""
    encoder = TabularEncoder().fit(X)
    classes = np.unique(y)
    codes = np.searchsorted(classes, y)
    order = np.random.default_rng(seed).permutation(len(y))
    cut = int(len(y) * 0.67)
    path = Path(directory) / "data.pkl"
    write_search_data(path, encoder.transform(X), np.asarray(y), codes, classes, encoder,
                      [(np.sort(order[:cut]), np.sort(order[cut:]))])
    return path


def crash_on_resnet(config, *args, **kwargs):
    """A trainer that hard-crashes the evaluation process (no Python exception) for ResNets."""
    if config.get("network") == "resnet":
        os.abort()
    from autodl.trainer import train_pipeline
    return train_pipeline(config, *args, **kwargs)


def hog_memory(config, *args, **kwargs):
    """A trainer that holds ~800 MB of its own memory for a while (for the memory limit)."""
    import time

    block = np.ones(100_000_000)  # 800 MB, written so the pages are really there
    time.sleep(10)
    return block
