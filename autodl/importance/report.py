"""Tables and figures: importances per hyperparameter and budget (the Auto-PyTorch Tabular paper's
Figure 3) and, for LCBench-style data, validation accuracy of configurations across datasets (Figure 2)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from autodl.importance.analysis import Importance  # noqa: E402
from autodl.importance.data import Study  # noqa: E402

METHOD_TITLES = {"fanova": "fANOVA", "lpi": "LPI"}


def ranking_text(importance: Importance, study: Study) -> str:
    """Hyperparameters ranked per budget and method, most important first."""
    summary = importance.summary()
    lines = []
    for budget, by_budget in summary.groupby("budget", sort=True):
        groups = importance.rows.loc[importance.rows["budget"] == budget, "group"].unique()
        evaluations = study.evaluations[(study.evaluations["budget"] == budget) & study.evaluations["group"].isin(groups)]
        where = f"{len(groups)} dataset(s)" if study.source == "lcbench" else "the run"
        lines.append(f"budget {budget:g} {study.budget_unit} ({where}, {len(evaluations)} evaluations, "
                     f"metric {study.metric}):")
        for method in ("fanova", "lpi"):
            part = by_budget[by_budget["method"] == method]
            ranked = ", ".join(f"{r.hyperparameter} {r.importance:.3f}" for r in part.itertuples())
            lines.append(f"  {METHOD_TITLES[method]:7s} {ranked}")
        if importance.pairs is not None:
            part = importance.pairs[importance.pairs["budget"] == budget]
            top = part.groupby(["first", "second"])["importance"].mean().sort_values(ascending=False).head(3)
            lines.append("  pairs   " + ", ".join(f"{a} x {b} {v:.3f}" for (a, b), v in top.items()))
    return "\n".join(lines)


def markdown_table(importance: Importance) -> str:
    summary = importance.summary()
    wide = summary.pivot_table(index=["budget", "hyperparameter"], columns="method", values="importance").reset_index()
    wide = wide.sort_values(["budget", "fanova"], ascending=[True, False])
    lines = ["| budget | hyperparameter | fANOVA | LPI |", "|---:|---|---:|---:|"]
    for r in wide.itertuples():
        lines.append(f"| {r.budget:g} | {r.hyperparameter} | {r.fanova:.3f} | {r.lpi:.3f} |")
    return "\n".join(lines) + "\n"


def plot_importance(importance: Importance, path: Path) -> None:
    """Bars per hyperparameter, one per budget; error bars: std over datasets (fANOVA of one run: over trees)."""
    summary = importance.summary()
    budgets = sorted(summary["budget"].unique())
    order = (summary[summary["method"] == "fanova"].groupby("hyperparameter")["importance"].mean()
             .sort_values(ascending=False).index.tolist())
    single_group = importance.rows["group"].nunique() == 1
    if len(order) <= 10:  # side by side; many hyperparameters (a full autodl space) get a row each
        fig, axes = plt.subplots(1, 2, figsize=(2 * max(4.0, 0.8 * len(order)), 4.2), sharey=True)
    else:
        fig, axes = plt.subplots(2, 1, figsize=(min(24.0, 3 + 0.45 * len(order)), 8.4), sharey=True)
    width = 0.8 / len(budgets)
    colours = plt.cm.viridis(np.linspace(0.15, 0.85, len(budgets)))
    for ax, method in zip(axes, ("fanova", "lpi")):
        for k, budget in enumerate(budgets):
            part = summary[(summary["method"] == method) & (summary["budget"] == budget)].set_index("hyperparameter")
            part = part.reindex(order)
            if single_group and method == "fanova":
                spread = importance.rows[(importance.rows["method"] == method) & (importance.rows["budget"] == budget)]
                err = spread.set_index("hyperparameter")["std"].reindex(order).to_numpy()
            else:
                err = part["std_over_groups"].to_numpy()
            x = np.arange(len(order)) + (k - (len(budgets) - 1) / 2) * width
            ax.bar(x, part["importance"].to_numpy(), width, yerr=err, capsize=2, color=colours[k], label=f"{budget:g}")
        ax.set_xticks(np.arange(len(order)), order, rotation=30, ha="right")
        ax.set_title(METHOD_TITLES[method])
        ax.grid(axis="y", alpha=0.3)
    top = (summary["importance"] + summary["std_over_groups"]).max()
    axes[0].set_ylim(0, max(0.05, min(1.05, 1.1 * top)))
    for ax in axes if len(order) > 10 else axes[:1]:
        ax.set_ylabel("importance (fraction of variance)")
    axes[1].legend(title="budget", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def accuracy_matrix(study: Study, budget: float) -> pd.DataFrame:
    """Datasets x configurations at one budget, both axes sorted by their mean (best first)."""
    rows = study.evaluations[study.evaluations["budget"] == budget]
    matrix = rows.pivot_table(index="group", columns="config_id", values="y")
    matrix = matrix.loc[matrix.mean(axis=1).sort_values(ascending=False).index]
    return matrix[matrix.mean(axis=0).sort_values(ascending=False).index]


def plot_accuracy_heatmap(study: Study, budget: float, path: Path) -> None:
    matrix = accuracy_matrix(study, budget)
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.35 * len(matrix)))
    image = ax.imshow(matrix.to_numpy(), aspect="auto", interpolation="nearest", cmap="viridis")
    ax.set_yticks(np.arange(len(matrix)), matrix.index)
    ax.set_xlabel(f"configurations, sorted by mean {study.metric} over datasets")
    ax.set_title(f"{study.metric} at {study.budget_unit} {budget:g}")
    fig.colorbar(image, ax=ax, label=study.metric)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_outputs(importance: Importance, study: Study, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "importance.csv", out / "importance_summary.csv", out / "importance.md", out / "importance.png"]
    importance.rows.to_csv(written[0], index=False)
    importance.summary().to_csv(written[1], index=False)
    written[2].write_text(markdown_table(importance))
    plot_importance(importance, written[3])
    if importance.pairs is not None:
        written.append(out / "importance_pairs.csv")
        importance.pairs.to_csv(written[-1], index=False)
    if study.source == "lcbench":
        budget = max(importance.rows["budget"])
        heatmap = out / f"val_accuracy_by_dataset_epoch{budget:g}.png"
        plot_accuracy_heatmap(study, budget, heatmap)
        written.append(heatmap)
    return written
