"""Splitting rows: stratified by label where the classes allow it, else plain random (one rule for autodl).

``holdout`` is used for the estimator's validation split, the portfolio build's subsampling and
evaluation split, and the LCBench sampler's test and validation splits; ``kfold`` for the
estimator's cross-validation. Indices come back in the order scikit-learn draws them (callers
that need sorted rows sort them).
"""
from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split


def holdout(y, *, seed: int, test_size: float | int | None = None,
            train_size: float | int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows) of ``len(y)`` rows: stratified by ``y``, or random when a class is too rare
    to appear on both sides (scikit-learn refuses to stratify then)."""
    rows = np.arange(len(y))
    try:
        first, second = train_test_split(rows, train_size=train_size, test_size=test_size, stratify=y,
                                          random_state=seed)
    except ValueError:
        first, second = train_test_split(rows, train_size=train_size, test_size=test_size, random_state=seed)
    return np.asarray(first), np.asarray(second)


def kfold(y, folds: int, *, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` (train rows, validation rows) pairs: stratified when every class has ``folds`` rows or more."""
    _, codes = np.unique(np.asarray(y), return_inverse=True)
    stratified = np.bincount(codes).min() >= folds
    splitter = (StratifiedKFold if stratified else KFold)(folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(codes)), codes))
