"""The report's figures (matplotlib, Agg backend), each saved as SVG (the page) and PNG (slides)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.fonttype"] = "none"   # text stays text in the SVG: smaller, searchable
matplotlib.rcParams["svg.hashsalt"] = "automl-bench"   # fixed element ids (with no date, see save)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark.report.trajectory import average_curve, normalised_summary, time_grid, timed, untimed  # noqa: E402

FORMATS = ("svg", "png")


def save(fig, out_dir: Path, stem: str, tight: bool = False) -> str:
    """Write ``stem.svg`` and ``stem.png``; return the SVG's file name (what the page shows).
    ``tight`` crops to what was drawn (for text outside the axes); it costs a second drawing pass,
    so figures that can use a constrained layout do."""
    for fmt in FORMATS:
        fig.savefig(Path(out_dir) / f"{stem}.{fmt}", bbox_inches="tight" if tight else None, dpi=150,
                    metadata={"Date": None} if fmt == "svg" else None)   # no timestamp: redrawn figures diff clean
    plt.close(fig)
    return f"{stem}.svg"


def cd_diagram(ranks: pd.Series, pvalues: pd.DataFrame, cd: float, caption: str, out_dir: Path,
               alpha: float = 0.05) -> tuple[str, dict]:
    """Demšar's critical-difference diagram (scikit-posthocs draws it): average ranks on the axis,
    frameworks not significantly different (Nemenyi) joined by a bar, the CD drawn above.
    Returns the file name and the rank of each framework as placed on the axis."""
    import scikit_posthocs as sp   # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.3 * len(ranks)))
    drawn = sp.critical_difference_diagram(ranks, pvalues, alpha=alpha, ax=ax,
                                           label_fmt_left="{label} ({rank:.2f})",
                                           label_fmt_right="({rank:.2f}) {label}")
    # Read back what was drawn: each label's marker position and each crossbar's extent.
    placed = {"ranks": {}, "crossbars": []}
    for label, marker in zip(drawn["labels"], drawn["markers"]):
        text = label.get_text()
        name = next(fw for fw in ranks.index if text.startswith(f"{fw} (") or text.endswith(f") {fw}"))
        placed["ranks"][name] = float(marker.get_offsets()[0][0])
    for bar in drawn["crossbars"]:
        line = bar[0] if isinstance(bar, list) else bar
        xs, ys = line.get_data()
        line.set_data(sorted(xs), ys)   # drawn from a set, in hash order: sorted, the file is the same every run
        placed["crossbars"].append((float(min(xs)), float(max(xs))))
    # The CD bar, drawn here clear of the tick labels (scikit-posthocs puts it on top of them).
    start = float(ranks.min())
    bottom, _ = ax.get_ylim()
    ax.set_ylim(bottom, 2.6)
    ax.plot([start, start + cd], [1.7, 1.7], color="k", lw=1.5)
    ax.plot([start, start], [1.55, 1.85], color="k", lw=1.5)
    ax.plot([start + cd, start + cd], [1.55, 1.85], color="k", lw=1.5)
    ax.text(start + cd / 2, 1.95, f"CD = {cd:.2f}", ha="center", fontsize=9)
    ax.set_title(caption.replace("; ", "\n"), fontsize=9)
    return save(fig, out_dir, "cd_diagram", tight=True), placed


def _no_timing_note(fig, points: pd.DataFrame, absent=()) -> None:
    """Say in the figure which frameworks reported models without timing, and which ran but left no
    anytime record at all (baselines, failed jobs): neither is drawn."""
    missing = untimed(points)
    lines = []
    if missing:
        lines.append("no timing given, not drawn: " + ", ".join(
            f"{fw} ({n} model{'s' * (n > 1)})" for fw, n in missing.items()))
    if absent:
        lines.append("no anytime record: " + ", ".join(absent))
    if lines:
        fig.text(0.01, 0.005, "\n".join(lines), fontsize=7, color="#a00000", ha="left", va="bottom")


def framework_colours(frameworks) -> dict[str, str]:
    """One colour per framework, the same in every figure of a report."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {fw: cycle[i % len(cycle)] for i, fw in enumerate(sorted(set(frameworks)))}


def anytime(points: pd.DataFrame, task: str, budget_s: float | None, out_dir: Path, stem: str,
            colours: dict[str, str] | None = None, absent=()) -> str:
    """One dataset: each framework's incumbent (solid) and ensemble (dashed) validation accuracy over
    wall-clock time, mean over seeds and folds with a min-max band; test accuracy dotted where logged.
    Frameworks whose models came without timing, and those in ``absent`` (they ran on the dataset but
    left no record), are named at the bottom, not drawn."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    grid = time_grid(points, budget_s)
    colours = colours or framework_colours(points["framework"])
    styles = {("incumbent", "val"): "-", ("ensemble", "val"): "--", ("incumbent", "test"): ":",
              ("ensemble", "test"): "-."}
    for fw, g in timed(points).groupby("framework", sort=True):
        colour = colours[fw]
        for kind, k in g.groupby("kind", sort=True):
            for value in ("val", "test"):
                curve = average_curve(k, value, grid)
                if curve.empty:
                    continue
                runs = int(curve["runs"].max())
                name = f"{fw} {kind} ({'validation' if value == 'val' else 'test'}, {runs} run{'s' * (runs > 1)})"
                ax.step(curve["time"], curve["mean"], where="post", ls=styles[(kind, value)], color=colour, label=name)
                if runs > 1:
                    ax.fill_between(curve["time"], curve["lo"], curve["hi"], step="post", color=colour, alpha=0.15)
    if budget_s:
        ax.axvline(budget_s, color="grey", lw=0.8, ls=":")
    ax.set(xlabel="wall-clock time since fit started [s]", ylabel="validation accuracy",
           title=f"{task}: anytime performance")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    _no_timing_note(fig, points, absent)
    return save(fig, out_dir, stem)


def anytime_summary(points: pd.DataFrame, budget_s: float | None, out_dir: Path,
                    colours: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """All datasets: each framework's best validation accuracy so far (incumbent or ensemble),
    normalised per dataset to [0, 1] over every framework's curve on it, averaged over datasets.
    Returns the file name ("" when no dataset has two frameworks to compare) and the datasets left
    out (one framework only, or all values equal)."""
    grid = time_grid(points, budget_s)
    summary, skipped = normalised_summary(points, grid)
    if summary.empty:            # no dataset with two frameworks to normalise between
        return "", skipped
    colours = colours or framework_colours(points["framework"])
    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    for fw, g in summary.groupby("framework", sort=True):
        n = int(g["datasets"].max())
        ax.step(g["time"], g["mean"], where="post", color=colours[fw], label=f"{fw} ({n} dataset{'s' * (n > 1)})")
    if budget_s:
        ax.axvline(budget_s, color="grey", lw=0.8, ls=":")
    ax.set(xlabel="wall-clock time since fit started [s]", ylabel="normalised validation accuracy",
           title="mean over datasets of the normalised best validation accuracy so far", ylim=(-0.05, 1.05))
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    _no_timing_note(fig, points)
    return save(fig, out_dir, "anytime_summary"), skipped


def resources(df: pd.DataFrame, out_dir: Path) -> str:
    """Per framework: distribution of wall time, peak memory and models trained over jobs."""
    ran = df[~df["failure"].fillna("").astype(str).isin(["setup", "node_failure"])]
    fws = list(dict.fromkeys(ran["framework"]))
    fig, axes = plt.subplots(1, 3, figsize=(11, 1.2 + 0.45 * max(len(fws), 2)), layout="constrained")
    for ax, (col, label) in zip(axes, (("duration", "wall time [s]"), ("peak_memory_mb", "peak memory [MB]"),
                                       ("models_count", "models trained"))):
        data = [pd.to_numeric(ran.loc[ran["framework"] == fw, col], errors="coerce").dropna().to_numpy() for fw in fws]
        data = [d if len(d) else np.array([np.nan]) for d in data]
        ax.boxplot(data[::-1], orientation="horizontal", tick_labels=fws[::-1])   # first framework on top
        values = np.concatenate(data)
        values = values[np.isfinite(values) & (values > 0)]
        if len(values) and values.max() / values.min() > 20:   # seconds to hours, MB to GB: log scale
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3, axis="x")
        if ax is not axes[0]:
            ax.set_yticklabels([])
    fig.suptitle("resources per job", fontsize=10)
    return save(fig, out_dir, "resources")
