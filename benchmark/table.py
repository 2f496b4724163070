"""The paper's comparison table and the per-framework summary, from ``results.csv`` rows.

Accuracy is averaged over folds within a seed, then reported as mean ± std over seeds. A cell
is ``-`` when the framework produced no predictions for that dataset; a cell where some of its
jobs failed gets a footnote mark; the best mean of each row is marked; autodl's cell on a dataset
its shipped portfolio was built with (named in the portfolio's provenance) is footnoted too.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

FORMATS = ("md", "latex", "csv")
HARNESS = "harness"      # failure kind of the harness's own part (loading, scoring): never charged to a framework
PORTFOLIO_NOTE = "autodl's portfolio was built with this dataset"


def portfolio_tasks(tasks) -> set[str]:
    """Tasks whose dataset (the task name, or an OpenML task's ``name-t<id>``) autodl's portfolio was built with."""
    from autodl.portfolio import portfolio_datasets

    names = portfolio_datasets()
    return {t for t in tasks if t in names or re.sub(r"-t\d+$", "", str(t)) in names}


def _ok(df: pd.DataFrame) -> pd.Series:
    return df["failure"].fillna("").astype(str).eq("") & df["result"].notna()


def cell_stats(df: pd.DataFrame) -> pd.DataFrame:
    """Per (task, framework): mean, std over seeds, jobs, failed jobs, failure kinds."""
    df = df.assign(ok=_ok(df))
    per_seed = (df[df.ok].groupby(["task", "framework", "seed"], observed=True)["result"].mean()
                .groupby(["task", "framework"], observed=True))
    stats = pd.DataFrame({"mean": per_seed.mean(), "std": per_seed.std(ddof=0), "seeds": per_seed.size()})
    counts = df.groupby(["task", "framework"], observed=True).agg(jobs=("ok", "size"), done=("ok", "sum"))
    kinds = (df[~df.ok].groupby(["task", "framework"], observed=True)["failure"]
             .agg(lambda s: ", ".join(sorted(set(s.fillna("exception").astype(str))))))
    out = counts.join(stats).join(kinds.rename("kinds"))
    out["failed"] = out["jobs"] - out["done"]
    return out


def comparison_table(df: pd.DataFrame, fmt: str = "md", digits: int = 4) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown table format {fmt!r}; use one of {', '.join(FORMATS)}")
    if df.empty:
        return "no results yet\n"
    stats = cell_stats(df)
    tasks = list(dict.fromkeys(df["task"]))
    frameworks = list(dict.fromkeys(df["framework"]))
    means = stats["mean"].unstack("framework").reindex(index=tasks, columns=frameworks)
    best = means.max(axis=1)
    notes: list[str] = []
    cells = {}
    seen_by_portfolio = portfolio_tasks(tasks) if "autodl" in frameworks else set()
    for (task, fw), s in stats.iterrows():
        if np.isnan(s["mean"]):
            text = "-"
        else:
            text = f"{s['mean']:.{digits}f} ± {0.0 if np.isnan(s['std']) else s['std']:.{digits}f}"
            if np.isclose(s["mean"], best[task]):
                text = {"md": f"**{text}**", "latex": f"\\textbf{{{text}}}", "csv": f"{text} *"}[fmt]
        # partial failures, and a "-" that was the harness's doing, are footnoted
        if s["failed"] and (not np.isnan(s["mean"]) or HARNESS in s["kinds"]):
            blame = "; harness: the harness's own failure, not the framework's" if HARNESS in s["kinds"] else ""
            notes.append(f"{fw} on {task}: {int(s['failed'])} of {int(s['jobs'])} jobs failed ({s['kinds']}{blame})")
            text += {"md": f" [{len(notes)}]", "latex": f"\\textsuperscript{{{len(notes)}}}", "csv": f" [{len(notes)}]"}[fmt]
        if fw == "autodl" and task in seen_by_portfolio:   # one mark per cell: joins a failure note if there is one
            if notes and notes[-1].startswith(f"{fw} on {task}: ") and text.endswith(f"{len(notes)}]" if fmt != "latex"
                                                                                else f"{{{len(notes)}}}"):
                notes[-1] += f"; {PORTFOLIO_NOTE}"
            else:
                notes.append(f"autodl on {task}: {PORTFOLIO_NOTE}")
                text += {"md": f" [{len(notes)}]", "latex": f"\\textsuperscript{{{len(notes)}}}", "csv": f" [{len(notes)}]"}[fmt]
        cells[(task, fw)] = text
    grid = pd.DataFrame([[cells.get((t, f), "") for f in frameworks] for t in tasks], index=tasks, columns=frameworks)
    grid.index.name = "dataset"
    return _render(grid, notes, fmt, variant_notes(df) if fmt == "latex" else [])


def _render(grid: pd.DataFrame, notes: list[str], fmt: str, variants: list[str] = ()) -> str:
    if fmt == "csv":
        return grid.to_csv() + "".join(f'"[{i}] {n}"\n' for i, n in enumerate(notes, 1))
    if fmt == "latex":
        header = "dataset & " + " & ".join(_tex(c) for c in grid.columns) + r" \\"
        body = "\n".join(_tex(t) + " & " + " & ".join(row.replace("±", r"$\pm$") for row in grid.loc[t]) + r" \\"
                         for t in grid.index)
        foot = "".join(f"\\footnotesize{{{i}: {_tex(n)}}}\\\\\n" for i, n in enumerate(notes, 1))
        foot += "".join(f"\\footnotesize{{{_tex(v)}}}\\\\\n" for v in variants)
        return ("\\begin{tabular}{l" + "c" * len(grid.columns) + "}\n\\toprule\n" + header + "\n\\midrule\n"
                + body + "\n\\bottomrule\n\\end{tabular}\n" + foot)
    lines = ["| dataset | " + " | ".join(grid.columns) + " |", "|---" * (len(grid.columns) + 1) + "|"]
    lines += [f"| {t} | " + " | ".join(grid.loc[t]) + " |" for t in grid.index]
    lines += [""] + [f"[{i}] {n}" for i, n in enumerate(notes, 1)]
    return "\n".join(lines) + "\n"


def _tex(text: str) -> str:
    return (str(text).replace("{", r"\{").replace("}", r"\}").replace("_", r"\_").replace("%", r"\%")
            .replace("&", r"\&"))


def variant(params) -> tuple[str, str]:
    """A job's preset and main options, from its ``params`` (the competitors' adapters write
    ``{"preset": ..., "main_options": {...}, "options": {...}}``); ``("", "")`` when not recorded."""
    try:
        doc = json.loads(params) if isinstance(params, str) and params else None
    except ValueError:
        return "", ""
    if not isinstance(doc, dict) or "preset" not in doc:
        return "", ""
    options = _flat(doc.get("main_options") or {})
    return str(doc.get("preset") or ""), ", ".join(f"{k}={v}" for k, v in sorted(options.items()))


def _flat(options: dict, prefix: str = "") -> dict:
    """Nested options as dotted keys: ``{"ds_args": {"memory_safe_fits": False}}`` -> ``ds_args.memory_safe_fits``."""
    out = {}
    for key, value in options.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _variants(g: pd.DataFrame) -> tuple[str, str]:
    found = [variant(p) for p in g["params"]] if "params" in g else []
    presets = sorted({p for p, _ in found if p})
    options = sorted({o for _, o in found if o})
    return " | ".join(presets) or "-", " | ".join(options) or "-"


def variant_notes(df: pd.DataFrame) -> list[str]:
    """One line per framework that recorded its variant: version, preset and main options."""
    notes = []
    for fw, g in df.groupby("framework", sort=False):
        preset, options = _variants(g)
        if preset != "-" or options != "-":
            versions = ", ".join(sorted(set(g["version"].dropna().astype(str)))) or "?"
            notes.append(f"{fw}: {versions}, preset {preset}" + (f" ({options})" if options != "-" else ""))
    return notes


def framework_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per framework: version, preset and main options, jobs, failures by kind, and budget overrun
    (median and worst)."""
    if df.empty:
        return pd.DataFrame()
    df = df.assign(ok=_ok(df), failure=df["failure"].fillna("").astype(str))
    rows = []
    for fw, g in df.groupby("framework", sort=False):
        versions = sorted(set(g["version"].dropna().astype(str)))
        over = pd.to_numeric(g["overrun"], errors="coerce").dropna()
        kinds = g.loc[~g.ok, "failure"].replace("", "exception").value_counts()
        harness = int(kinds.pop(HARNESS)) if HARNESS in kinds else 0     # the harness's, never the framework's
        preset, options = _variants(g)
        rows.append({"framework": fw, "version": ", ".join(versions) or "?", "preset": preset, "options": options,
                     "jobs": len(g), "done": int(g.ok.sum()),
                     "failures": ", ".join(f"{k} {v}" for k, v in kinds.items()) or "none",
                     "harness_failures": harness,
                     "overrun_median": f"{over.median():+.1%}" if len(over) else "-",
                     "overrun_worst": f"{over.max():+.1%}" if len(over) else "-"})
    return pd.DataFrame(rows).set_index("framework")
