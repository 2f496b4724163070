"""AMLB-style summaries and the Friedman / Nemenyi statistics, from per-(task, framework) scores.

Everything starts from the score matrix: tasks as rows, frameworks as columns, the accuracy
averaged over folds within a seed and then over seeds (the same numbers as the paper's table,
``benchmark.table.cell_stats``). Higher is better.

Missing cells are of two kinds. A framework whose jobs on a task all *failed* gets the constant
predictor's score there, as AMLB does (a failure is as good as knowing nothing); a cell with no
row yet (*pending*, the run is still going) is never imputed, and a task with such a cell is left
out of the ranking until it is complete.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from benchmark.table import cell_stats

CONSTANT = "constantpredictor"
TIE_ATOL = 1e-9   # scores equal up to float noise are ties


@dataclass
class Scores:
    raw: pd.DataFrame          # mean score per task and framework; NaN where there is none
    filled: pd.DataFrame       # failed cells replaced by the constant predictor's score
    complete: pd.DataFrame     # the tasks of ``filled`` without any missing cell (ranks, Friedman, CD)
    imputed: list[tuple[str, str]] = field(default_factory=list)   # (task, framework) cells imputed
    dropped: dict[str, str] = field(default_factory=dict)          # task -> why it is not ranked
    seeds: pd.DataFrame | None = None                              # seeds per task and framework


def score_matrix(df: pd.DataFrame) -> Scores:
    """Build the score matrix from result rows (failures included) and decide imputation."""
    if df.empty:
        empty = pd.DataFrame()
        return Scores(empty, empty, empty)
    cells = cell_stats(df)
    tasks = list(dict.fromkeys(df["task"]))
    frameworks = list(dict.fromkeys(df["framework"]))
    raw = cells["mean"].unstack("framework").reindex(index=tasks, columns=frameworks)
    seeds = cells["seeds"].unstack("framework").reindex(index=tasks, columns=frameworks)
    ran = cells["jobs"].unstack("framework").reindex(index=tasks, columns=frameworks).fillna(0) > 0
    filled = raw.copy()
    imputed, dropped = [], {}
    for task in tasks:
        for fw in frameworks:
            if not np.isnan(raw.at[task, fw]):
                continue
            if not ran.at[task, fw]:
                dropped.setdefault(task, f"{fw} has no result yet")
            elif CONSTANT in raw.columns and not np.isnan(raw.at[task, CONSTANT]):
                filled.at[task, fw] = raw.at[task, CONSTANT]
                imputed.append((task, fw))
            else:
                dropped.setdefault(task, f"{fw} failed and there is no {CONSTANT} score to impute")
    complete = filled.drop(index=list(dropped))
    return Scores(raw, filled, complete, imputed, dropped, seeds)


def average_ranks(scores: pd.DataFrame) -> pd.Series:
    """Mean rank per framework over tasks (1 = best; ties get the average of their ranks)."""
    ranks = rank_table(scores)
    return ranks.mean().sort_values()


def rank_table(scores: pd.DataFrame) -> pd.DataFrame:
    rounded = scores.round(12)   # so that float noise does not break a tie
    return rounded.rank(axis=1, ascending=False, method="average")


@dataclass
class Friedman:
    statistic: float | None
    pvalue: float | None
    n_datasets: int
    n_frameworks: int
    note: str = ""


def friedman(scores: pd.DataFrame) -> Friedman:
    """Friedman's test that all frameworks perform alike (scipy's, with the tie correction)."""
    n, k = scores.shape
    if k < 3:
        return Friedman(None, None, n, k, "the Friedman test needs at least 3 frameworks")
    if n < 2:
        return Friedman(None, None, n, k, "the Friedman test needs at least 2 complete datasets")
    if (rank_table(scores).nunique(axis=1) == 1).all():
        return Friedman(0.0, 1.0, n, k, "all frameworks tie on every dataset")
    res = sps.friedmanchisquare(*[scores[c].to_numpy() for c in scores.columns])
    return Friedman(float(res.statistic), float(res.pvalue), n, k)


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Critical difference of average ranks (Demšar 2006): q_alpha * sqrt(k (k + 1) / (6 n)),
    with q_alpha the studentized range quantile for k groups and infinite degrees of freedom / sqrt 2."""
    q = sps.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6.0 * n)))


def nemenyi_pvalues(scores: pd.DataFrame) -> pd.DataFrame:
    """Pairwise Nemenyi p-values after Friedman (scikit-posthocs), frameworks x frameworks."""
    import scikit_posthocs as sp   # noqa: PLC0415 - heavy import, only for the report

    return sp.posthoc_nemenyi_friedman(scores.to_numpy()).set_axis(scores.columns, axis=0).set_axis(scores.columns, axis=1)


def wins_ties_losses(scores: pd.DataFrame) -> pd.DataFrame:
    """Cell (a, b) = (wins, ties, losses) of a against b over the tasks where both have a score."""
    fws = list(scores.columns)
    out = pd.DataFrame(index=fws, columns=fws, dtype=object)
    for a in fws:
        for b in fws:
            if a == b:
                out.at[a, b] = None
                continue
            both = scores[[a, b]].dropna()
            diff = both[a] - both[b]
            ties = int(np.isclose(diff, 0, atol=TIE_ATOL).sum())
            wins = int((diff > TIE_ATOL).sum())
            out.at[a, b] = (wins, ties, len(both) - wins - ties)
    return out


def normalised_scores(scores: pd.DataFrame) -> pd.DataFrame | None:
    """Per task, (score - constant) / (best - constant): 0 = the constant predictor, 1 = the best
    framework on that task. None when the constant predictor was not run. Tasks where no framework
    beats the constant predictor are left out (NaN)."""
    if CONSTANT not in scores.columns:
        return None
    base = scores[CONSTANT]
    span = scores.max(axis=1) - base
    span = span.where(span > TIE_ATOL)
    return scores.sub(base, axis=0).div(span, axis=0)


def rank_summary(s: Scores) -> pd.DataFrame:
    """Per framework: average rank (complete tasks), mean normalised score, W/T/L totals."""
    out = pd.DataFrame(index=s.filled.columns)
    if not s.complete.empty:
        out["avg_rank"] = average_ranks(s.complete)
    norm = normalised_scores(s.filled)
    if norm is not None:
        out["normalised_mean"] = norm.mean()
        out["normalised_tasks"] = norm.notna().sum()
    wtl = wins_ties_losses(s.filled)
    for i, name in enumerate(("wins", "ties", "losses")):
        out[name] = [sum(v[i] for v in wtl.loc[fw] if v is not None) for fw in out.index]
    return out.sort_values("avg_rank") if "avg_rank" in out else out


def resources(df: pd.DataFrame) -> pd.DataFrame:
    """Per framework over jobs that ran (setup and node failures never did): wall time, peak memory,
    models trained."""
    if df.empty:
        return pd.DataFrame()
    ran = df[~df["failure"].fillna("").astype(str).isin(["setup", "node_failure"])]
    num = lambda col: pd.to_numeric(ran[col], errors="coerce")   # noqa: E731
    g = ran.assign(duration=num("duration"), peak=num("peak_memory_mb"), models=num("models_count")).groupby(
        "framework", sort=False)
    out = pd.DataFrame({"jobs": g.size(), "wall_median_s": g["duration"].median(), "wall_max_s": g["duration"].max(),
                        "wall_total_h": g["duration"].sum() / 3600, "peak_memory_median_mb": g["peak"].median(),
                        "peak_memory_max_mb": g["peak"].max(), "models_median": g["models"].median()})
    return out
