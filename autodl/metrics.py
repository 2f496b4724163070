"""Classification metrics of class probabilities, in one place for the trainer, the traditional
learners, the evaluation worker and the ensemble (numpy only: importing it costs no torch)."""
from __future__ import annotations

import numpy as np

EPS = 1e-12   # probabilities are clipped to [EPS, 1] before the log


def classification_metrics(proba: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(accuracy, balanced accuracy, cross-entropy) of class probabilities against integer labels."""
    pred = proba.argmax(axis=1)
    accuracy = float((pred == y).mean())
    recalls = [float((pred[y == c] == c).mean()) for c in np.unique(y)]
    cross_entropy = float(-np.log(np.clip(proba[np.arange(len(y)), y], EPS, 1.0)).mean())
    return accuracy, float(np.mean(recalls)), cross_entropy
