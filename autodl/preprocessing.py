"""The configurable preprocessing: imputation, categorical encoding, scaling, truncated SVD.

Fitted on the training split only and applied unchanged to validation and test data. The
output is what the network eats: a float matrix, plus a matrix of category indices when
categoricals are embedded (index 0 = missing/unseen, so embeddings have ``card + 1`` rows).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

from autodl.data import TabularData


@dataclass
class Prepared:
    dense: np.ndarray        # (n, d) float32
    indices: np.ndarray      # (n, p_cat) int64 category indices for embeddings, or (n, 0)


class Preprocessor:
    def __init__(self, config: dict, cardinalities: list[int], seed: int = 0):
        self.imputation = config.get("imputation", "median")
        self.embed = config.get("cat_encoding", "one_hot") == "embedding"
        self.scaling = config.get("scaling", "standard")
        self.svd_dim = config.get("svd_dim") if config.get("svd", "off") == "on" else None
        self.cardinalities = list(cardinalities)
        self.seed = seed

    def fit(self, data: TabularData) -> "Preprocessor":
        self.imputer_ = None
        if data.numeric.shape[1]:
            self.imputer_ = SimpleImputer(strategy=self.imputation, keep_empty_features=True)
            self.imputer_.fit(data.numeric)
        self.one_hot_ = None
        if data.categorical.shape[1] and not self.embed:
            categories = [np.arange(-1, card) for card in self.cardinalities]
            self.one_hot_ = OneHotEncoder(categories=categories, handle_unknown="ignore",
                                          sparse_output=False, dtype=np.float32)
            self.one_hot_.fit(data.categorical)
        dense = self._dense(data)
        # in place (copy=False): the matrices it scales are fresh ones from _dense, and copies of a
        # training split are what an evaluation's memory is made of
        self.scaler_ = {"standard": StandardScaler(copy=False), "minmax": MinMaxScaler(copy=False),
                        "none": None}[self.scaling]
        if self.scaler_ is not None and dense.shape[1]:
            dense = self.scaler_.fit_transform(dense)
        self.svd_ = None
        if self.svd_dim is not None and dense.shape[1] > 2:
            components = int(min(self.svd_dim, dense.shape[1] - 1))
            self.svd_ = TruncatedSVD(n_components=components, random_state=self.seed).fit(dense)
        return self

    def _dense(self, data: TabularData) -> np.ndarray:
        parts = []
        if self.imputer_ is not None:
            parts.append(self.imputer_.transform(data.numeric))
        if self.one_hot_ is not None:
            parts.append(self.one_hot_.transform(data.categorical))
        return np.hstack(parts) if parts else np.zeros((len(data), 0), dtype=np.float32)

    def transform(self, data: TabularData) -> Prepared:
        dense = self._dense(data)
        if self.scaler_ is not None and dense.shape[1]:
            dense = self.scaler_.transform(dense)
        if self.svd_ is not None:
            dense = self.svd_.transform(dense)
        if self.embed and data.categorical.shape[1]:
            indices = data.categorical + 1
        else:
            indices = np.zeros((len(data), 0), dtype=np.int64)
        return Prepared(np.ascontiguousarray(dense, dtype=np.float32), indices.astype(np.int64))

    @property
    def embedding_cardinalities(self) -> list[int]:
        return [card + 1 for card in self.cardinalities] if self.embed else []

    def fit_transform(self, data: TabularData) -> Prepared:
        return self.fit(data).transform(data)
