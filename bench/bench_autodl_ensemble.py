"""Ensemble selection on autodl's own candidate pools (not a test): which selection generalises, on the same runs.

For each dataset of the meta-train pool and each fold, one autodl job runs through the harness's
adapter exactly as in ``bench_autodl_evidence.py`` (1 core, leave-one-dataset-out portfolio,
stratified 5-fold split). Then, on that run's final candidate pool
(what ``EnsembleBuilder`` selects from at the end: ``autodl.ensemble.select_pool`` over the candidates whose
models are on disk), each variant below picks its weights from the validation predictions, and the
weighted members predict the fold's test rows:

    error            what autodl does: Caruana's greedy selection with replacement on validation
                     error (ties broken by cross-entropy), sorted initialisation, 50 picks
    cross_entropy    the same on validation cross-entropy (log loss)
    error_no_init    error, without the sorted initialisation (starts from the best candidate)
    checked          error, unless selection run on one half of the validation rows makes more errors
                     on the other half than the single best candidate of the first half (both ways
                     round): then the best single candidate (``autodl_pool.checked_selection``)
    best_single      the pool's best candidate alone
    nbest_only       error, on the ``ensemble_nbest`` best alone (the pool before 2026-12-03: at long
                     budgets network evaluations pushed traditional learners out of it)
    traditional_only error, on the traditional learners alone (what the networks add)

Every variant scores the same fitted models on the same test rows, so differences come from the selection (or
the pool) alone. What was measured, and the decisions taken, are in ``bench/evidence/README.md``. Prints mean
test accuracy per variant, wins/ties/losses against ``error``, and how many runs' ``error`` weights equal the
ensemble the run itself chose (``ensemble.json``), which checks that the pool is read as autodl reads it.
Results go to ``--out`` (JSON lines, by default ``bench/evidence/ensemble_variants.jsonl``; a rerun reuses
them). Ctrl-C or SIGTERM ends the running jobs, which write no row, and the same command resumes.
``--keep DIR`` keeps each run folder (mostly the pool's models: 147 MB for glass1 at 30 s), so that a later
selection rule is scored on the same runs with a new ``--out`` and no new search. ``bench_autodl_evidence.py``
records the same variants on its own autodl runs; ``--from-evidence FILE --budget B`` summarises those::

    .venv/bin/python bench/bench_autodl_ensemble.py --budget 60 --folds 0,1 --datasets 4 --out /tmp/ens.jsonl
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from autodl_pool import score_variants  # noqa: E402
from bench_autodl_evidence import (MATRIX, REPO, add_run_arguments, chosen_datasets, fold_split,  # noqa: E402
                                   STOP, exit_if_stopped, leave_one_out_portfolio, run_job,
                                   stop_on_signals)

def summary(records: list[dict]) -> None:
    scored = [r for r in records if r.get("accuracy")]
    if len(scored) < len(records):
        print(f"{len(records) - len(scored)} run(s) left no pool to score (a failed job)")
    if not scored:
        print("no scored runs")
        return
    table = pd.DataFrame([{"dataset": r["dataset"], "fold": r["fold"], **r["accuracy"]} for r in scored])
    print(table.groupby("dataset")[list(table.columns[2:])].mean().round(4).to_string())
    print(f"\n{len(scored)} runs ({table['dataset'].nunique()} datasets); mean test accuracy per variant:")
    for name in table.columns[2:]:
        diff = table[name] - table["error"]
        print(f"  {name:14s} {table[name].mean():.4f}   vs error: better on {(diff > 0).sum()}, "
              f"equal on {(diff == 0).sum()}, worse on {(diff < 0).sum()}")
    reproduced = sum(r["reproduced"] for r in scored)
    print(f"error variant equals the run's own ensemble on {reproduced} of {len(scored)} runs")


def main() -> None:
    from autodl.portfolio.build import read_suite
    from autodl.suite_file import read_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_arguments(parser)
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=1, help="jobs run side by side, 1 core each")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "evidence" / "ensemble_variants.jsonl")
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep run folders in DIR/<dataset>_<fold>_<budget>s; "
                             "a kept run is scored again, not rerun")
    parser.add_argument("--from-evidence", type=Path, metavar="JSONL",
                        help="summarise the selection variants recorded by bench_autodl_evidence.py instead")
    args = parser.parse_args()
    if args.from_evidence:
        rows = [json.loads(line) for line in args.from_evidence.read_text().splitlines()]
        summary([{"dataset": r["dataset"], "fold": r["fold"], **r["selection"]} for r in rows
                 if r["framework"] == "autodl" and r["budget"] == args.budget and "selection" in r])
        return
    suite = read_suite(args.suite)
    names = [d.name for d in suite]
    chosen = chosen_datasets(names, args.datasets)
    records = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.exists() else []
    done = {(r["dataset"], r["fold"], r["budget"]) for r in records}
    matrix = json.loads(MATRIX.read_text())
    written = threading.Lock()

    def one(dataset, fold: int, tmp: Path) -> None:
        if STOP.is_set():
            return
        frame = read_table(dataset.path)
        frame["class"] = frame["class"].astype(str)
        train_rows, test_rows = fold_split(frame["class"].to_numpy(), fold)
        kept = args.keep / f"{dataset.name}_{fold}_{args.budget}s" if args.keep else None
        folder = Path(tempfile.mkdtemp(dir=tmp, prefix=f"{dataset.name}_{fold}_"))
        if kept and (kept / "ensemble.json").exists():   # a kept run: scored again, not rerun
            run_dir, job = kept, json.loads((kept / "harness.json").read_text())
        else:
            portfolio = folder / "portfolio.json"
            leave_one_out_portfolio(matrix, dataset.name, portfolio)
            job = run_job("autodl", {"portfolio_path": str(portfolio)}, args.budget, args.memory, frame, train_rows,
                          test_rows, folder)
            if job is None:   # ended by a stop: no row, so a rerun redoes it
                shutil.rmtree(folder, ignore_errors=True)
                return
            run_dir = next(folder.glob("tmp*/autodl"), None)
            if kept and run_dir is not None and (run_dir / "ensemble.json").exists():
                shutil.copytree(run_dir, kept, dirs_exist_ok=True)
                (kept / "harness.json").write_text(json.dumps(job))
        test = frame.iloc[test_rows]
        record = {"dataset": dataset.name, "fold": fold, "budget": args.budget, "harness_accuracy": job.get("accuracy")}
        if run_dir is not None and (run_dir / "ensemble.json").exists():
            record.update(score_variants(run_dir, test.drop(columns=["class"]), test["class"].to_numpy()))
        shutil.rmtree(folder, ignore_errors=True)
        with written:
            records.append(record)
            with open(args.out, "a") as fh:
                fh.write(json.dumps(record) + "\n")
            print(f"[{len(records)}] {json.dumps(record)}", flush=True)

    if not args.summary_only:
        pending = [(d, fold) for d in suite if d.name in chosen for fold in map(int, args.folds.split(","))
                   if (d.name, fold, args.budget) not in done]
        known, stopped_by = len(records), stop_on_signals()
        with tempfile.TemporaryDirectory(prefix="ensemble_") as tmp, ThreadPoolExecutor(args.jobs) as pool:
            for future in [pool.submit(one, d, fold, Path(tmp)) for d, fold in pending]:
                future.result()
        exit_if_stopped(stopped_by, len(pending) - (len(records) - known))
    summary([r for r in records if r["dataset"] in chosen and r["budget"] == args.budget])


if __name__ == "__main__":
    main()
