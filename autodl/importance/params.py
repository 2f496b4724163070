"""Hyperparameter descriptions and their numeric encoding for importance analysis.

Every hyperparameter becomes one numeric column on a bounded interval, chosen so
that the uniform distribution on that interval is the prior fANOVA marginalises
over: log-scaled values are encoded as log10, categories as their index with one
unit of width each, small integer ranges with one unit of width per integer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

KINDS = ("float", "int", "categorical")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    lower: float | None = None
    upper: float | None = None
    log: bool = False
    choices: tuple = field(default_factory=tuple)
    default: object = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"hyperparameter {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind == "categorical":
            if not self.choices:
                raise ValueError(f"hyperparameter {self.name!r}: a categorical needs choices")
        elif self.lower is None or self.upper is None or not self.lower <= self.upper:
            raise ValueError(f"hyperparameter {self.name!r}: needs lower <= upper, got {self.lower}, {self.upper}")
        elif self.log and self.lower <= 0:
            raise ValueError(f"hyperparameter {self.name!r}: a log scale needs lower > 0, got {self.lower}")

    @property
    def impute_value(self):
        """Value used where the hyperparameter is inactive (absent from a configuration): its default.

        This is the reference treatment: the fANOVA authors' tools (pimp, CAVE) impute inactive
        values with ``ConfigSpace.util.impute_inactive_values(config)`` (strategy "default") before
        fitting fANOVA. Without a default (ranges inferred from data) the mode or median stands in."""
        if self.default is not None:
            return self.default
        if self.kind == "categorical":
            return self.choices[0]
        if self.log:
            mid = math.sqrt(self.lower * self.upper)
        else:
            mid = (self.lower + self.upper) / 2
        return round(mid) if self.kind == "int" else mid

    def bounds(self) -> tuple[float, float]:
        """Interval of the encoded value; its uniform distribution is the analysis prior."""
        if self.kind == "categorical":
            return -0.5, len(self.choices) - 0.5
        if self.log:
            return math.log10(self.lower), math.log10(self.upper)
        if self.kind == "int":
            return self.lower - 0.5, self.upper + 0.5
        return float(self.lower), float(self.upper)

    def encode(self, values) -> np.ndarray:
        values = pd.Series([self.impute_value if _missing(v) else v for v in values], dtype=object)
        if self.kind == "categorical":
            index = {str(c): i for i, c in enumerate(self.choices)}
            unknown = sorted({str(v) for v in values} - index.keys())
            if unknown:
                raise ValueError(f"hyperparameter {self.name!r}: values {unknown} are not among its choices {list(self.choices)}")
            return np.array([index[str(v)] for v in values], dtype=float)
        numbers = values.astype(float).to_numpy()
        return np.log10(numbers) if self.log else numbers

    def decode(self, encoded: np.ndarray):
        """Inverse of encode (categoricals to their choice, ints rounded)."""
        encoded = np.asarray(encoded, dtype=float)
        if self.kind == "categorical":
            return [self.choices[int(round(e))] for e in encoded]
        values = 10.0 ** encoded if self.log else encoded
        return np.round(values).astype(int) if self.kind == "int" else values

    def grid(self, n_points: int) -> np.ndarray:
        """Encoded values covering the whole range: every category or integer, else an even grid."""
        lo, hi = self.bounds()
        if self.kind == "categorical":
            return np.arange(len(self.choices), dtype=float)
        if self.kind == "int" and not self.log and self.upper - self.lower + 1 <= n_points:
            return np.arange(self.lower, self.upper + 1, dtype=float)
        return np.linspace(lo, hi, n_points)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def encode_configs(configs: pd.DataFrame, params: list[Param]) -> np.ndarray:
    """Matrix of encoded values, one column per parameter; missing columns count as inactive."""
    columns = []
    for p in params:
        values = configs[p.name] if p.name in configs.columns else pd.Series([None] * len(configs))
        columns.append(p.encode(values.tolist()))
    return np.column_stack(columns) if columns else np.empty((len(configs), 0))


def infer_params(configs: pd.DataFrame) -> list[Param]:
    """Describe each column from the values seen, for runs that did not save their search space.

    Bounds are the observed range; a positive numeric range spanning two decades or more is
    treated as log-scaled (learning rates, weight decays, sizes), as search spaces usually are.
    """
    params = []
    for name in configs.columns:
        seen = configs[name].dropna()
        if seen.empty:
            continue
        if all(isinstance(v, (bool, np.bool_, str)) for v in seen):
            choices = tuple(sorted({v for v in seen}, key=str))
            params.append(Param(name, "categorical", choices=choices, default=seen.mode().iloc[0]))
            continue
        numbers = pd.to_numeric(seen, errors="raise").astype(float)
        lo, hi = float(numbers.min()), float(numbers.max())
        is_int = bool(np.all(numbers == np.round(numbers)))
        log = lo > 0 and hi / lo >= 100
        params.append(Param(name, "int" if is_int else "float", lo, hi, log=log,
                            default=float(numbers.median()) if not is_int else int(numbers.median())))
    return params


def params_from_configspace(space) -> list[Param]:
    """Translate a ConfigSpace.ConfigurationSpace (the space a BOHB run sampled from)."""
    from ConfigSpace import hyperparameters as csh

    params = []
    for hp in space.values():
        if isinstance(hp, csh.CategoricalHyperparameter):
            params.append(Param(hp.name, "categorical", choices=tuple(hp.choices), default=hp.default_value))
        elif isinstance(hp, csh.OrdinalHyperparameter):
            params.append(Param(hp.name, "categorical", choices=tuple(hp.sequence), default=hp.default_value))
        elif isinstance(hp, csh.UniformIntegerHyperparameter):
            params.append(Param(hp.name, "int", hp.lower, hp.upper, hp.log, default=hp.default_value))
        elif isinstance(hp, csh.UniformFloatHyperparameter):
            params.append(Param(hp.name, "float", hp.lower, hp.upper, hp.log, default=hp.default_value))
        elif isinstance(hp, csh.Constant):
            continue  # a constant cannot explain any variance
        else:
            raise ValueError(f"hyperparameter {hp.name!r}: type {type(hp).__name__} is not supported for importance")
    return params


def split_constant(configs: pd.DataFrame, params: list[Param]) -> tuple[list[Param], list[str]]:
    """Drop hyperparameters that take a single value in the data; return notes saying so."""
    kept, notes = [], []
    encoded = encode_configs(configs, params)
    for j, p in enumerate(params):
        column = encoded[:, j]
        if len(column) and np.all(column == column[0]):
            value = p.decode(column[:1])[0]
            notes.append(f"note: hyperparameter {p.name!r} is constant in the data (= {value}); dropped from the analysis")
        else:
            kept.append(p)
    return kept, notes
