"""The data every evaluation of a search reads: one small pickle plus the feature matrices as ``.npy`` files.

``write_search_data(path, ...)`` writes ``path`` (labels, classes, the encoder, the validation splits)
and ``<stem>.numeric.npy`` / ``<stem>.categorical.npy`` beside it. ``read_search_data(path)`` maps the
matrices read-only (``np.load(mmap_mode="r")``): every evaluation process of a search reads the same
pages of the page cache instead of unpickling a private copy of the whole training set; an evaluation
then holds only its own training and validation rows.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from autodl.data import TabularData


def _array_paths(path: Path) -> dict[str, Path]:
    return {part: path.with_name(f"{path.stem}.{part}.npy") for part in ("numeric", "categorical")}


def write_search_data(path, X: TabularData, y, y_codes, classes, encoder, splits) -> None:
    path = Path(path)
    for part, array_path in _array_paths(path).items():
        np.save(array_path, np.ascontiguousarray(getattr(X, part)))
    with open(path, "wb") as fh:
        pickle.dump({"y": y, "y_codes": y_codes, "classes": classes, "encoder": encoder, "splits": splits},
                    fh, protocol=pickle.HIGHEST_PROTOCOL)


def read_search_data(path, mmap: bool = True) -> dict:
    """The pickle's entries plus ``X``: a ``TabularData`` over the memory-mapped matrices."""
    path = Path(path)
    with open(path, "rb") as fh:
        data = pickle.load(fh)
    arrays = {part: np.load(array_path, mmap_mode="r" if mmap else None)
              for part, array_path in _array_paths(path).items()}
    data["X"] = TabularData(arrays["numeric"], arrays["categorical"])
    return data
