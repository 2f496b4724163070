"""Importance per budget and group: fANOVA main effects and LPI around the incumbent."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from autodl.importance.data import InputError, Study
from autodl.importance.fanova import FANOVA
from autodl.importance.lpi import local_importance
from autodl.importance.params import encode_configs, split_constant

MIN_EVALUATIONS = 3


@dataclass
class Importance:
    rows: pd.DataFrame  # budget, group, method, hyperparameter, importance, std (fANOVA: over trees)
    notes: list[str] = field(default_factory=list)
    pairs: pd.DataFrame | None = None  # budget, group, first, second, importance, std (fANOVA interactions)

    def summary(self) -> pd.DataFrame:
        """Mean and std over groups per budget, method and hyperparameter, ranked within budget and method."""
        out = (self.rows.groupby(["budget", "method", "hyperparameter"], sort=False)["importance"]
               .agg(importance="mean", std_over_groups="std", groups="count").reset_index())
        out["std_over_groups"] = out["std_over_groups"].fillna(0.0)
        out = out.sort_values(["budget", "method", "importance"], ascending=[True, True, False], kind="stable")
        out["rank"] = out.groupby(["budget", "method"]).cumcount() + 1
        return out.reset_index(drop=True)


def analyse(study: Study, budgets: list[float], *, n_trees: int = 64, seed: int = 0, pairs: bool = False) -> Importance:
    params, notes = split_constant(study.all_configs(), study.params)
    notes = list(study.notes) + notes
    if not params:
        raise InputError("every hyperparameter is constant in the data; nothing varies, so nothing can be ranked")
    bounds = np.array([p.bounds() for p in params])
    names = [p.name for p in params]
    categories = [len(p.choices) if p.kind == "categorical" else None for p in params]
    rows, pair_rows = [], []
    for budget in budgets:
        for group in study.groups:
            configs, y = study.table(group, budget)
            where = f"{group!r} at budget {budget:g}" if study.source == "lcbench" else f"budget {budget:g}"
            if len(y) < MIN_EVALUATIONS:
                if len(y):
                    notes.append(f"note: {where}: only {len(y)} evaluation(s), need {MIN_EVALUATIONS}; skipped")
                continue
            if np.all(y == y[0]):
                notes.append(f"note: {where}: every evaluation scored {y[0]:g}; nothing to explain, skipped")
                continue
            if len(y) < len(params):
                notes.append(f"note: {where}: {len(y)} evaluations for {len(params)} hyperparameters; "
                             "the surrogate sees too little data for reliable importances")
            X = encode_configs(configs, params)
            model = FANOVA(X, y, bounds, names, categories=categories, n_trees=n_trees, seed=seed)
            for name, (mean, std) in model.main_effects().items():
                rows.append((budget, group, "fanova", name, mean, std))
            if pairs:
                for (first, second), (mean, std) in model.pair_effects().items():
                    pair_rows.append((budget, group, first, second, mean, std))
            best = int(np.argmax(y) if study.maximize else np.argmin(y))
            for name, share in local_importance(model.predict, X[best], params).items():
                rows.append((budget, group, "lpi", name, share, np.nan))
    if not rows:
        raise InputError(f"no budget among {', '.join(f'{b:g}' for b in budgets)} has {MIN_EVALUATIONS} or more "
                         "evaluations that differ in performance; pick a budget with more finished evaluations")
    frame = pd.DataFrame(rows, columns=["budget", "group", "method", "hyperparameter", "importance", "std"])
    pair_frame = pd.DataFrame(pair_rows, columns=["budget", "group", "first", "second", "importance", "std"]) \
        if pairs else None
    return Importance(frame, notes, pair_frame)
