"""A tiny file suite for sampler tests, and an LCBench-layout record shaped like LCBench's own files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def tiny_suite(folder: Path, rows: int = 60) -> Path:
    """One small dataset: 3 numeric features, one categorical, 2 classes, as a file suite YAML."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 3))
    frame = pd.DataFrame(X, columns=["f1", "f2", "f3"])
    frame["colour"] = rng.choice(["red", "green"], rows)
    frame["class"] = np.where(X[:, 0] + (frame["colour"] == "red") > 0.5, "yes", "no")
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "tiny.csv", index=False)
    (folder / "suite.yaml").write_text("name: tiny\ndatasets:\n  - name: tiny\n    path: tiny.csv\n    target: class\n")
    return folder / "suite.yaml"


def genuine_style_record(epochs: int = 52, seed: int = 0) -> dict:
    """One run as LCBench stores it: accuracies in percent, dataset entries in results."""
    rng = np.random.default_rng(seed)
    val = list(np.round(60 + 10 * (1 - np.exp(-np.arange(epochs) / 5)) + rng.normal(0, 0.5, epochs), 4))
    return {
        "config": {"batch_size": int(rng.integers(16, 512)), "imputation_strategy": "mean",
                   "learning_rate_scheduler": "cosine_annealing", "loss": "cross_entropy_weighted",
                   "network": "shapedmlpnet", "max_dropout": float(rng.uniform()), "normalization_strategy": "standardize",
                   "optimizer": "sgd", "cosine_annealing_T_max": 50, "cosine_annealing_eta_min": 1e-08,
                   "activation": "relu", "max_units": int(rng.integers(64, 1024)), "mlp_shape": "funnel",
                   "num_layers": int(rng.integers(1, 6)), "learning_rate": float(10 ** rng.uniform(-4, -1)),
                   "momentum": float(rng.uniform(0.1, 0.99)), "weight_decay": float(rng.uniform(1e-5, 0.1))},
        "log": {"time": list(np.cumsum(np.full(epochs, 0.5))), "epoch": list(range(1, epochs + 1)),
                "Train/loss": list(np.linspace(0.7, 0.6, epochs)), "Train/val_accuracy": [float(v) for v in val],
                "Train/lr": list(np.linspace(0.01, 0, epochs))},
        "results": {"model_parameters": 12345, "final_val_accuracy": float(val[-1]), "OpenML_task_id": 126025,
                    "test_split": 0.33, "budget": 50, "seed": 1, "instances": 48842, "classes": 2, "features": 14},
    }
