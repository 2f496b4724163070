"""Evidence (not a test): mean ranks of autodl and its competitors on meta-train datasets, 1 core per job.

For each dataset of the meta-train pool (``--suite``, default ``../shared/datasets/metatrain``; a
stated subset with ``--datasets``), each fold (stratified 5-fold split, folds ``--folds``) and each
framework, one job runs through the harness's adapter in its own process with
``Constraint(budget, cores=1, memory)``, as the harness would. autodl runs with a
leave-one-dataset-out portfolio built from the shipped candidate x dataset matrix
(``autodl/portfolio/portfolio_matrix.json``): the evaluated dataset's column and the candidate its
own search found are removed before the greedy pick. For autodl the script also scores, on the
same run, its own best single learner (the pool member with the lowest validation loss, network
or traditional) against its ensemble, and the ensemble-selection variants of
``bench_autodl_ensemble.py`` on the run's final pool (``selection`` in each autodl record; both
read the pool with ``autodl_pool.py``).

Prints per-budget mean ranks (fold accuracies averaged per dataset, ties averaged), Friedman's
p-value, and the ensemble-vs-best-single comparison; ``--figures DIR`` also draws each budget's
critical-difference diagram (the report's, Nemenyi at alpha = 0.05) into ``DIR/<budget>s/``.

What was measured, with the tables, the experiments behind autodl's defaults and the run-to-run spread, is in
``bench/evidence/README.md``; the rows behind it are committed in ``bench/evidence/``. In short (2026-12-03;
15 meta-train datasets x 2 folds, two 1-core jobs side by side on 2 cores): at 60 s autodl ranks first (2.77,
then AutoGluon 3.23 and auto-sklearn 3.37; Friedman p = 0.0046, autodl significantly ahead of H2O only); at
300 s the rivals' rows cover 6 of the 15 datasets so far (there autodl ranks 3.92, behind AutoGluon
and auto-sklearn 2.0).

Results go to ``--out`` (JSON lines; by default ``bench/evidence/evidence.jsonl``, the committed rows,
so ``--summary-only`` reprints their tables) and are reused on a rerun. Stop a run
with Ctrl-C or SIGTERM to this script: its running jobs (their whole process trees) are ended and
write no row, and the same command resumes where it stopped::

    .venv/bin/python bench/bench_autodl_evidence.py --budgets 60 --folds 0,1 --datasets 4 \
        --frameworks autodl,randomforest,lightgbm,flaml --out /tmp/evidence.jsonl
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO.parent / "shared" / "datasets" / "metatrain" / "suite.yaml"
MATRIX = REPO / "autodl" / "portfolio" / "portfolio_matrix.json"
RECORDS = REPO / "bench" / "evidence" / "evidence.jsonl"   # the committed rows (see the docstring)
# the datasets of the committed rows (bench/evidence/README.md), the default of --datasets
EVIDENCE_DATASETS = ("abalone9-18,banana,breast,bupa,cleveland-0_vs_4,dermatology-6,ecoli1,flare-F,glass1,haberman,"
                     "hayes-roth,heart,new-thyroid1,page-blocks0,saheart")
STOP = threading.Event()   # set by Ctrl-C or SIGTERM: running jobs are ended and leave no row, so a rerun redoes them


def leave_one_out_portfolio(matrix: dict, held_out: str, path: Path, size: int = 16) -> list[str]:
    """A portfolio file without ``held_out``'s column and its own candidate; returns the chosen sources."""
    from autodl.portfolio import write_portfolio
    from autodl.portfolio.greedy import leave_one_dataset_out

    chosen, datasets = leave_one_dataset_out(matrix, held_out, size)
    write_portfolio(path, [matrix["candidates"][i]["config"] for i in chosen],
                    {"leave_one_out": held_out, "datasets": datasets})
    return [matrix["candidates"][i]["source"] for i in chosen]


def fold_split(y: np.ndarray, fold: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(5, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))[fold]


def _job(framework: str, params: dict, budget: int, memory_mb: int, data: str, workdir: str, out: str) -> None:
    from frameworks.base import Constraint
    from frameworks.registry import FRAMEWORKS, get_framework

    os.setsid()   # its own process group, so that ending the job ends every process it started
    frame = pd.read_pickle(data)
    train, test = frame[frame["_fold"] == "train"].drop(columns="_fold"), frame[frame["_fold"] == "test"].drop(
        columns="_fold")
    if params:
        target, defaults = FRAMEWORKS[framework]
        module, _, name = target.partition(":")
        import importlib

        adapter = getattr(importlib.import_module(module), name)(**{**defaults, **params})
    else:
        adapter = get_framework(framework)
    started = time.time()
    result = adapter.run(train, test.drop(columns=["class"]), "class", Constraint(budget, 1, memory_mb), 0,
                         Path(workdir))
    truth = test["class"].astype(str).to_numpy()
    record = {"accuracy": float((result.predicted_labels() == truth).mean()), "seconds": time.time() - started}
    if framework == "autodl":   # and its variants: selection variants and best single learner on the final pool
        from autodl_pool import score_variants

        selection = score_variants(Path(workdir) / "autodl", test.drop(columns=["class"]), truth)
        record["selection"] = selection
        if selection["pool"]:
            record.update(best_single_accuracy=selection["accuracy"]["best_single"],
                          best_single_tag=selection["best_single_tag"],
                          best_single_val_loss=selection["best_single_val_loss"])
    Path(out).write_text(json.dumps(record))


def run_job(framework, params, budget, memory, frame, train_rows, test_rows, tmp: Path) -> dict | None:
    """The job's record; ``None`` when it was ended by a stop (Ctrl-C or SIGTERM), which is no result."""
    from benchmark.processes import ProcessTreeWatch

    data = tmp / "fold.pkl"
    frame.assign(_fold=np.where(np.isin(np.arange(len(frame)), train_rows), "train", "test")).iloc[
        np.concatenate([train_rows, test_rows])].to_pickle(data)
    out = tmp / "out.json"
    out.unlink(missing_ok=True)
    work = Path(tempfile.mkdtemp(dir=tmp))
    process = multiprocessing.get_context("spawn").Process(
        target=_job, args=(framework, params, budget, memory, str(data), str(work), str(out)))
    process.start()
    deadline, watch = time.monotonic() + budget * 2 + 120, ProcessTreeWatch(process.pid)
    while process.is_alive() and not STOP.is_set() and time.monotonic() < deadline:
        watch.rss_mb()   # notes new descendants: helpers that start sessions of their own
        process.join(1)
    watch.stop_all(5)   # even after a normal exit: no framework's helper outlives its job
    process.join()
    if STOP.is_set():
        return None
    return json.loads(out.read_text()) if out.exists() else {"accuracy": None, "exit": process.exitcode}


def stop_on_signals() -> list[int]:
    """Ctrl-C or SIGTERM sets ``STOP`` (running jobs are ended and leave no row); the list gets the signal."""
    stopped_by: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, frame: (stopped_by.append(number), STOP.set()))
    return stopped_by


def exit_if_stopped(stopped_by: list[int], left: int) -> None:
    """After a stop: say how many jobs are left and exit 128 + the signal's number (130 for Ctrl-C)."""
    if STOP.is_set():
        print(f"stopped: {left} jobs left pending (no row written for them); the same command resumes", flush=True)
        sys.exit(128 + stopped_by[0])


def summary(records: list[dict], frameworks: list[str], figures: Path | None = None) -> None:
    from benchmark.report.stats import average_ranks, friedman

    table = pd.DataFrame(records)
    for budget, rows in table.groupby("budget"):
        scores = rows.pivot_table(index="dataset", columns="framework", values="accuracy", aggfunc="mean")
        scores = scores.reindex(columns=frameworks)   # a framework without rows here shows as NaN
        # ranked: datasets where every framework asked for has every fold (a stopped run, or rows of one
        # framework measured ahead of the others, leave some with fewer)
        counts = rows.pivot_table(index="dataset", columns="framework", values="accuracy", aggfunc="count")
        complete = scores[(counts.reindex_like(scores) == rows["fold"].nunique()).all(axis=1)]
        failed = rows[rows["accuracy"].isna()].groupby("framework").size()
        if len(failed):
            print("folds without a result (crash or wall limit): " +
                  ", ".join(f"{name} {count}" for name, count in failed.items()))
        print(f"\nbudget {budget} s: {len(complete)} datasets with every framework "
              f"({rows['fold'].nunique()} folds each, accuracies averaged over folds)")
        print(scores.round(4).to_string())
        if len(complete):
            ranks = average_ranks(complete)
            test = friedman(complete)
            print("\nmean rank: " + ", ".join(f"{name} {rank:.2f}" for name, rank in ranks.items()))
            print(f"Friedman p = {test.pvalue if test.pvalue is None else round(test.pvalue, 4)} "
                  f"({test.n_datasets} datasets, {test.n_frameworks} frameworks) {test.note}")
            if figures and test.pvalue is not None:
                cd_figure(complete, ranks, test, budget, rows["fold"].nunique(), figures)
        for name in sorted(n for n in rows["framework"].unique() if n.startswith("autodl")):   # and variants
            autodl = rows[(rows["framework"] == name) & rows["accuracy"].notna()]
            if "best_single_accuracy" in autodl and len(autodl):
                diff = autodl["accuracy"] - autodl["best_single_accuracy"]
                print(f"{name} ensemble vs its best single learner (same runs, {len(autodl)} folds): mean test "
                      f"accuracy {autodl['accuracy'].mean():.4f} vs {autodl['best_single_accuracy'].mean():.4f}; "
                      f"ensemble better on {(diff > 0).sum()}, equal on {(diff == 0).sum()}, "
                      f"worse on {(diff < 0).sum()}")


def cd_figure(scores: pd.DataFrame, ranks: pd.Series, test, budget: int, folds: int, figures: Path) -> None:
    """The report's critical-difference diagram of one budget, in ``figures/<budget>s/``."""
    from benchmark.report.plots import cd_diagram
    from benchmark.report.stats import nemenyi_cd, nemenyi_pvalues

    out = figures / f"{budget}s"
    out.mkdir(parents=True, exist_ok=True)
    cd = nemenyi_cd(test.n_frameworks, test.n_datasets)
    caption = (f"{budget} s, 1 core per job: {test.n_frameworks} frameworks on {test.n_datasets} meta-train "
               f"datasets ({folds} folds each); Friedman p = {test.pvalue:.3g}, Nemenyi CD = {cd:.2f}")
    name, _ = cd_diagram(ranks, nemenyi_pvalues(scores), cd, caption, out)
    print(f"figure: {out / name} (and .png)")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Which runs: --suite, --datasets, --folds, --memory (shared with bench_autodl_ensemble.py)."""
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--datasets", default=EVIDENCE_DATASETS,
                        help="a count (the first N of the suite) or names, comma-separated (default: the 15 of the "
                        "committed rows)")
    parser.add_argument("--folds", default="0,1")
    parser.add_argument("--memory", type=int, default=4000)


def chosen_datasets(names: list[str], spec: str) -> list[str]:
    """``--datasets``: the first N names of the suite, or names, comma-separated."""
    return names[:int(spec)] if spec.isdigit() else spec.split(",")


def main() -> None:
    from autodl.portfolio.build import read_suite
    from autodl.suite_file import read_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_arguments(parser)
    parser.add_argument("--budgets", default="60,300")
    parser.add_argument("--frameworks", default="autodl,autogluon,autosklearn,autosklearn2,h2o,flaml,randomforest")
    parser.add_argument("--out", type=Path, default=RECORDS, help="JSON lines, one per job (default: the committed "
                        "rows, bench/evidence/evidence.jsonl; give another file for a trial run)")
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL=JSON",
                        help='an autodl variant run under LABEL, e.g. autodl_cv=\'{"validation": "cv"}\'')
    parser.add_argument("--jobs", type=int, default=1, help="jobs run side by side, 1 core each")
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--figures", type=Path, help="write a critical-difference diagram per budget here")
    args = parser.parse_args()
    suite = read_suite(args.suite)
    variants = {label: json.loads(params) for label, _, params in (v.partition("=") for v in args.variant)}
    names = [d.name for d in suite]
    chosen = chosen_datasets(names, args.datasets)
    records = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.exists() else []
    done = {(r["dataset"], r["fold"], r["budget"], r["framework"]) for r in records}
    matrix = json.loads(MATRIX.read_text())
    if not args.summary_only:
        known = len(records)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="evidence_") as tmp:
            pending = [(budget, dataset, fold, framework)
                       for budget in map(int, args.budgets.split(","))
                       for dataset in (d for d in suite if d.name in chosen)
                       for fold in map(int, args.folds.split(","))
                       for framework in args.frameworks.split(",")
                       if (dataset.name, fold, budget, framework) not in done]
            written = threading.Lock()

            def one(job, index):
                budget, dataset, fold, framework = job
                if STOP.is_set():
                    return
                folder = Path(tempfile.mkdtemp(dir=tmp, prefix=f"{index}_"))
                frame = read_table(dataset.path)
                frame["class"] = frame["class"].astype(str)
                train_rows, test_rows = fold_split(frame["class"].to_numpy(), fold)
                runs, params = framework, {}
                if framework == "autodl" or framework in variants:
                    portfolio = folder / f"portfolio_{dataset.name}.json"
                    leave_one_out_portfolio(matrix, dataset.name, portfolio)
                    runs, params = "autodl", {"portfolio_path": str(portfolio), **variants.get(framework, {})}
                result = run_job(runs, params, budget, args.memory, frame, train_rows, test_rows, folder)
                if result is None:
                    return
                record = {"dataset": dataset.name, "fold": fold, "budget": budget, "framework": framework,
                          "parallel_jobs": args.jobs, **result}
                with written:
                    records.append(record)
                    with open(args.out, "a") as fh:
                        fh.write(json.dumps(record) + "\n")
                    print(f"[{len(records)}] " + json.dumps(record), flush=True)

            stopped_by = stop_on_signals()
            # --jobs N: N jobs side by side, each on its own core (as `benchmark run --jobs N --cores 1`)
            with ThreadPoolExecutor(args.jobs) as pool:
                for future in [pool.submit(one, job, i) for i, job in enumerate(pending)]:
                    future.result()
            exit_if_stopped(stopped_by, len(pending) - (len(records) - known))
    frameworks = args.frameworks.split(",")
    summary([r for r in records if r["dataset"] in chosen and r["framework"] in frameworks], frameworks, args.figures)


if __name__ == "__main__":
    main()
