"""``python -m benchmark report RUN [RUN ...]``: a self-contained HTML page with the paper's table,
AMLB-style summaries, the Friedman test and critical-difference diagram, anytime curves and
resource use, plus the SVG/PNG figures and LaTeX tables it shows, all in one folder that opens
offline (no scripts, no CDN).
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd

from benchmark.report import plots, stats
from benchmark.report.html import frame_html, render
from benchmark.report.load import Runs, load_runs
from benchmark.report.tables import failure_reasons, failure_table, paper_table, wtl_table
from benchmark.report.tex import write_tex
from benchmark.report.trajectory import read_trajectories, untimed
from benchmark.table import comparison_table, framework_summary

ALPHA = 0.05
REPORT_FILE = "index.html"
# Column headings for readers (the statistics keep short programmatic names).
HEADINGS = {"avg_rank": "average rank", "normalised_mean": "normalised score", "normalised_tasks": "tasks scored",
            "jobs": "jobs", "wall_median_s": "wall time median [s]", "wall_max_s": "wall time max [s]",
            "wall_total_h": "wall time total [h]", "peak_memory_median_mb": "peak memory median [MB]",
            "peak_memory_max_mb": "peak memory max [MB]", "models_median": "models trained (median)",
            "overrun_median": "overrun median", "overrun_worst": "overrun worst", "options": "main options"}


def _readable(df: pd.DataFrame) -> pd.DataFrame:
    df = df.rename(columns=HEADINGS)
    df.index.name = df.columns.name = None
    return df


def default_out(run_dirs: list[Path]) -> Path:
    first = Path(run_dirs[0])
    return first / ("report" if len(run_dirs) == 1 else "report-merged")


def write_report(run_dirs: list[Path], out: Path | None = None) -> Path:
    """Write the report for one run folder, or several merged; return the page's path."""
    runs = load_runs(list(run_dirs))
    out = Path(out) if out else default_out(runs.dirs)
    out.mkdir(parents=True, exist_ok=True)
    for pattern in ("cd_diagram.*", "resources.*", "anytime_*"):   # figures of an earlier report
        for old in out.glob(pattern):
            old.unlink()
    context = _header(runs) | _table_section(runs.results, out) | _summary_sections(runs.results, out)
    context |= _failure_sections(runs.results) | _resource_section(runs.results, out)
    context |= _anytime_section(runs, out)
    page = out / REPORT_FILE
    page.write_text(render(context))
    return page


def _header(runs: Runs) -> dict:
    return {"title": "Benchmark report: " + runs.identity["suite"], "runs": [str(d) for d in runs.dirs],
            "identity": runs.identity, "states": runs.states, "partial": runs.partial, "notes": runs.notes,
            "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _table_section(df: pd.DataFrame, out: Path) -> dict:
    if not df.empty:
        (out / "table.tex").write_text(comparison_table(df, "latex"))
    return {"paper": paper_table(df)}


def _span(values) -> str:
    values = sorted(set(int(v) for v in values if pd.notna(v)))
    if not values:
        return "0"
    return str(values[0]) if values[0] == values[-1] else f"{values[0]}-{values[-1]}"


def _summary_sections(df: pd.DataFrame, out: Path) -> dict:
    s = stats.score_matrix(df)
    ctx = {"n_complete": len(s.complete), "score_notes": [], "no_constant": "", "alpha": ALPHA, "cd_figure": "",
           "cd_caption": "", "pvalues_html": "", "summary_html": "", "wtl_html": ""}
    if s.filled.empty:
        ctx["friedman_text"] = "No results yet."
        return ctx
    if s.imputed:
        ctx["score_notes"].append(f"{len(s.imputed)} failed cell(s) count as the constant predictor's score "
                                  f"(as in AMLB): " + ", ".join(f"{fw} on {t}" for t, fw in s.imputed) + ".")
    if s.dropped:
        ctx["score_notes"].append("Not ranked: " + "; ".join(f"{t} ({why})" for t, why in s.dropped.items()) + ".")
    if stats.CONSTANT not in s.filled.columns:
        ctx["no_constant"] = (f"No normalised scores: the {stats.CONSTANT} baseline was not run, and failures "
                              f"cannot be imputed. Add it with --framework {stats.CONSTANT},...")
    summary = _readable(stats.rank_summary(s))
    ctx["summary_html"] = frame_html(summary, "rank-summary")
    write_tex(summary, out / "summary.tex", "Average rank, mean normalised score and wins/ties/losses per framework.")
    wtl = wtl_table(stats.wins_ties_losses(s.filled))
    ctx["wtl_html"] = frame_html(wtl, "wins-ties-losses")
    write_tex(wtl, out / "wins_ties_losses.tex", "Wins/ties/losses of the row framework against the column framework.")
    ctx |= _statistics(df, s, out)
    return ctx


def _statistics(df: pd.DataFrame, s: stats.Scores, out: Path) -> dict:
    f = stats.friedman(s.complete)
    if f.statistic is None:
        return {"friedman_text": f"No Friedman test: {f.note} (have {f.n_frameworks} framework(s) and "
                                 f"{f.n_datasets} complete dataset(s))."}
    seeds = s.seeds.loc[s.complete.index]
    folds = _span(df.loc[df["task"].isin(s.complete.index)].groupby("task")["fold"].nunique())
    ranks = stats.average_ranks(s.complete)
    cd = stats.nemenyi_cd(f.n_frameworks, f.n_datasets, ALPHA)
    caption = (f"{f.n_frameworks} frameworks on {f.n_datasets} datasets ({folds} fold(s) each), "
               f"{_span(seeds.to_numpy().ravel())} seed(s) per dataset and framework; "
               f"Friedman p = {f.pvalue:.3g}, Nemenyi CD = {cd:.2f} (α = {ALPHA})")
    text = (f"Friedman test over {f.n_frameworks} frameworks on {f.n_datasets} datasets: "
            f"χ² = {f.statistic:.3f}, p = {f.pvalue:.3g}"
            + (f" ({f.note})." if f.note else ".")
            + (" The frameworks differ significantly." if f.pvalue < ALPHA else
               " No significant difference: the post-hoc comparison below is only indicative."))
    pvalues = _readable(stats.nemenyi_pvalues(s.complete))
    figure, _ = plots.cd_diagram(ranks, pvalues, cd, caption, out, ALPHA)
    return {"friedman_text": text, "cd_figure": figure, "cd_caption": caption,
            "pvalues_html": frame_html(pvalues, "nemenyi-pvalues", digits=3)}


def _failure_sections(df: pd.DataFrame) -> dict:
    kinds, reasons = failure_table(df), failure_reasons(df)
    return {"framework_html": frame_html(_readable(framework_summary(df)), "framework-summary"),
            "failure_html": frame_html(_readable(kinds), "failures-by-kind"),
            "reasons_html": frame_html(reasons, "failure-reasons", index=False)}


def _resource_section(df: pd.DataFrame, out: Path) -> dict:
    table = _readable(stats.resources(df))
    if table.empty:
        return {"resources_html": "", "resources_figure": ""}
    write_tex(table, out / "resources.tex", "Resources per framework (median and worst job).", digits=1)
    return {"resources_html": frame_html(table, "resources", digits=1), "resources_figure": plots.resources(df, out)}


def _anytime_section(runs: Runs, out: Path) -> dict:
    """One figure per dataset with every framework's anytime record, and the normalised summary."""
    points = read_trajectories(runs.dirs)
    budget = runs.identity.get("budget")
    colours = plots.framework_colours(points["framework"])
    ran = runs.results.groupby("task")["framework"].unique() if not runs.results.empty else {}
    figures = []
    for i, (task, g) in enumerate(points.groupby("task", sort=True)):
        stem = f"anytime_{i:02d}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', task)[:60]}"
        absent = sorted(set(ran.get(task, ())) - set(g["framework"]))   # ran there, recorded nothing
        figures.append((task, plots.anytime(g, task, budget, out, stem, colours, absent)))
    summary, skipped, missing = "", [], untimed(points)
    if not points.empty:
        summary, skipped = plots.anytime_summary(points, budget, out, colours)
    return {"anytime": figures, "anytime_summary": summary, "anytime_skipped": skipped,
            "anytime_untimed": ", ".join(f"{fw} ({n} models)" for fw, n in missing.items())}
