"""Plain baselines: what every AutoML framework has to beat."""
from __future__ import annotations

import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from frameworks.base import Constraint, Framework, FrameworkResult


def _encode(train_X: pd.DataFrame, test_X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Ordinal-encode categoricals and impute, fitted on train (trees need nothing more)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    cats = [c for c in train_X.columns if not pd.api.types.is_numeric_dtype(train_X[c])]
    nums = [c for c in train_X.columns if c not in cats]
    enc = ColumnTransformer([
        ("num", SimpleImputer(strategy="median", keep_empty_features=True), nums),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent", keep_empty_features=True),
                              OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)), cats),
    ])
    return enc.fit_transform(train_X.astype({c: str for c in cats})), enc.transform(test_X.astype({c: str for c in cats}))


class _SklearnBaseline(Framework):
    package = "scikit-learn"

    def version(self) -> str:
        return version(self.package)

    def make_model(self, constraint: Constraint, seed: int):
        raise NotImplementedError

    def run(self, train, test_X, target, constraint, seed, workdir: Path) -> FrameworkResult:
        X, y = train.drop(columns=[target]), train[target].astype(str)
        t0 = time.perf_counter()
        Xtr, Xte = _encode(X, test_X)
        model = self.make_model(constraint, seed).fit(Xtr, y)
        t1 = time.perf_counter()
        proba = model.predict_proba(Xte)
        t2 = time.perf_counter()
        return FrameworkResult(pd.DataFrame(proba, columns=[str(c) for c in model.classes_]),
                               models_count=1, training_duration=t1 - t0, predict_duration=t2 - t1,
                               version=self.version())


class ConstantPredictor(_SklearnBaseline):
    """Predicts the training class frequencies for every row."""

    def make_model(self, constraint, seed):
        from sklearn.dummy import DummyClassifier
        return DummyClassifier(strategy="prior")


class RandomForest(_SklearnBaseline):
    def make_model(self, constraint, seed):
        from sklearn.ensemble import RandomForestClassifier
        return RandomForestClassifier(n_jobs=constraint.cores, random_state=seed, **self.params)


class LightGBM(_SklearnBaseline):
    package = "lightgbm"

    def make_model(self, constraint, seed):
        from lightgbm import LGBMClassifier
        return LGBMClassifier(n_jobs=constraint.cores, random_state=seed, verbose=-1, **self.params)
