"""autodl: an Auto-PyTorch-Tabular-style AutoDL system (BOHB over a full-pipeline space).

Importing the package is cheap; ``AutoDLClassifier`` and ``train_pipeline`` load on first use.
"""
from autodl.version import __version__

__all__ = ["AutoDLClassifier", "train_pipeline", "__version__"]


def __getattr__(name):
    if name == "AutoDLClassifier":
        from autodl.estimator import AutoDLClassifier
        return AutoDLClassifier
    if name == "train_pipeline":
        from autodl.trainer import train_pipeline
        return train_pipeline
    raise AttributeError(f"module 'autodl' has no attribute {name!r}")
