"""Input checks and the column encoding that turns user data into two plain arrays.

``TabularEncoder`` maps a DataFrame (or array) to ``TabularData``: a float matrix of the
numeric columns (NaN = missing) and an int matrix of category codes (-1 = missing or
unseen). Everything later in the pipeline (preprocessing, networks) works on these.

Documented behaviour for messy columns:
- category/bool columns, and object/string columns of text, are categorical;
- an object/string column whose non-missing values all parse as numbers is numeric (values
  that do not parse at predict time become missing);
- an object/string column whose non-missing values are mostly (>= 90 %) numbers but not all
  is rejected with an error naming the column and an offending value (clean it, or cast it
  to ``category`` if it really is categorical);
- +-inf in numeric columns is treated as missing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NUMERIC_GARBAGE_SHARE = 0.9


@dataclass
class TabularData:
    numeric: np.ndarray       # (n, p_num) float32 (what networks and tree learners compute in), NaN = missing
    categorical: np.ndarray   # (n, p_cat) int64, -1 = missing/unseen

    def __len__(self) -> int:
        return len(self.numeric)

    def take(self, index) -> "TabularData":
        return TabularData(self.numeric[index], self.categorical[index])


def as_frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(f"X must be 2-dimensional (rows x columns), got shape {array.shape}")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def check_target(y) -> np.ndarray:
    y = np.asarray(pd.Series(y).to_numpy() if isinstance(y, (pd.Series, pd.Categorical)) else y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional, got shape {y.shape}")
    if len(y) == 0:
        raise ValueError("y is empty: pass at least two rows of each class")
    if pd.isna(pd.Series(y)).any():
        raise ValueError("y contains missing values (NaN/None): drop those rows before fitting")
    if len(np.unique(y.astype(str))) < 2:
        raise ValueError(f"y has a single class ({y[0]!r}): classification needs at least two")
    return y


def check_xy(X, y) -> tuple[pd.DataFrame, np.ndarray]:
    """All checks on user input that must fail before any compute is spent."""
    frame = as_frame(X)
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"X is empty (shape {frame.shape}): pass at least one row and one column")
    y = check_target(y)
    if len(y) != len(frame):
        raise ValueError(f"X has {len(frame)} rows but y has {len(y)}: pass one label per row")
    return frame, y


def _is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _numbers_as_text(name, series: pd.Series) -> bool:
    """True for a text column holding only numbers; raises for a mostly-numeric one with garbage."""
    values = series.dropna()
    if values.empty or isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(series):
        return False
    parsed = pd.to_numeric(values.astype(str), errors="coerce")
    share = parsed.notna().mean()
    if share == 1.0:
        return True
    if share >= NUMERIC_GARBAGE_SHARE:
        bad = values[parsed.isna()].iloc[0]
        raise ValueError(f"column {name!r} is mostly numeric but contains non-numeric values such as "
                         f"{bad!r}: clean it (e.g. pd.to_numeric(..., errors='coerce')) or cast it to "
                         f"'category' if it is categorical")
    return False


class TabularEncoder:
    """Learns which columns are numeric/categorical and the category lists on training data."""

    def fit(self, X) -> "TabularEncoder":
        frame = as_frame(X)
        self.columns_ = list(frame.columns)
        self.categorical_columns_ = [c for c in frame.columns
                                     if _is_categorical(frame[c]) and not _numbers_as_text(c, frame[c])]
        self.numeric_columns_ = [c for c in frame.columns if c not in self.categorical_columns_]
        self.categories_ = {}
        for c in self.categorical_columns_:
            values = frame[c].dropna().astype(str)
            self.categories_[c] = np.array(sorted(values.unique()), dtype=object)
        return self

    @property
    def cardinalities(self) -> list[int]:
        return [len(self.categories_[c]) for c in self.categorical_columns_]

    def transform(self, X) -> TabularData:
        frame = as_frame(X)
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise ValueError(f"X lacks the columns {missing[:5]} seen during fit: pass the same columns")
        n = len(frame)
        if self.numeric_columns_:
            numeric = frame[self.numeric_columns_].apply(
                lambda col: col if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
                else pd.to_numeric(col.astype(object).where(col.notna(), None), errors="coerce"))
            numeric = numeric.to_numpy(dtype=np.float32, na_value=np.nan, copy=True)
            numeric[~np.isfinite(numeric)] = np.nan
        else:
            numeric = np.zeros((n, 0), dtype=np.float32)
        categorical = np.full((n, len(self.categorical_columns_)), -1, dtype=np.int64)
        for j, c in enumerate(self.categorical_columns_):
            values = frame[c]
            present = values.notna().to_numpy()
            codes = pd.Index(self.categories_[c]).get_indexer(values[present].astype(str))
            categorical[present, j] = codes  # unseen categories get -1, like missing ones
        return TabularData(numeric, categorical)

    def fit_transform(self, X) -> TabularData:
        return self.fit(X).transform(X)


def resolve_encoding(X_train, y_train, y_val, encoder: TabularEncoder | None = None,
                     classes=None) -> tuple[TabularEncoder, np.ndarray]:
    """The encoder and class list a learner trains with: given ones, or fitted on the training data."""
    if encoder is None:
        if isinstance(X_train, TabularData):
            raise ValueError("encoded TabularData needs the encoder that produced it: pass encoder=")
        encoder = TabularEncoder().fit(as_frame(X_train))
    if classes is None:
        classes = np.unique(np.concatenate([np.asarray(y_train), np.asarray(y_val)]))
    return encoder, np.asarray(classes)
