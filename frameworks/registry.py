"""Framework names -> adapter classes and their parameters.

Variants (presets, versions) are entries here, not new code: ``"autogluon_best": ("frameworks.autogluon:AutoGluon",
{"presets": "best_quality"})``. Adapters are imported only when used, so a broken optional
framework never stops the others.
"""
from __future__ import annotations

import importlib

from frameworks.base import Framework

FRAMEWORKS: dict[str, tuple[str, dict]] = {
    "constantpredictor": ("frameworks.baselines:ConstantPredictor", {}),
    "randomforest": ("frameworks.baselines:RandomForest", {"n_estimators": 300}),
    "lightgbm": ("frameworks.baselines:LightGBM", {}),
    # Ours, in the project's own venv
    "autodl": ("frameworks.autodl:AutoDL", {}),
    # Competitors, each in its own venv (frameworks/environments.py); `python -m benchmark setup NAME` builds it
    # As AMLB defines them (resources/frameworks.yaml): AutoGluon's default preset (medium_quality) and
    # best_quality; auto-sklearn 1.0 and 2.0 (AMLB's ``_askl2``) from the same install. Parameters
    # starting with ``_`` are read by the exec script, the others go to the framework.
    "autogluon": ("frameworks.autogluon:AutoGluon", {"presets": "medium_quality"}),
    "autogluon_best": ("frameworks.autogluon:AutoGluon", {"presets": "best_quality"}),
    "autosklearn": ("frameworks.autosklearn:AutoSklearn", {}),
    "autosklearn2": ("frameworks.autosklearn:AutoSklearn", {"_askl2": True}),
    "h2o": ("frameworks.h2o:H2OAutoML", {}),
    "flaml": ("frameworks.flaml:FLAML", {}),
}


def register(name: str, target: str, **params) -> None:
    """Add a framework (tests use this for their own adapters)."""
    FRAMEWORKS[name] = (target, params)


def known_frameworks() -> list[str]:
    return sorted(FRAMEWORKS)


def check_frameworks(names: list[str]) -> None:
    unknown = [n for n in names if n not in FRAMEWORKS and ":" not in n]
    if unknown:
        raise ValueError(f"unknown framework(s) {', '.join(unknown)}; known: {', '.join(known_frameworks())}")


def get_framework(name: str) -> Framework:
    """An adapter instance. ``module:Class`` is accepted too (test-only adapters)."""
    target, params = FRAMEWORKS.get(name, (name, {}))
    if ":" not in target:
        check_frameworks([name])
    module, cls = target.split(":")
    adapter = getattr(importlib.import_module(module), cls)(**params)
    adapter.name = name
    return adapter
