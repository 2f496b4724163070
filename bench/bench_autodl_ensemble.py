"""Ensemble selection on autodl's own candidate pools (not a test): which selection generalises, on the same runs.

For each dataset of the meta-train pool and each fold, one autodl job runs through the harness's
adapter exactly as in ``bench_autodl_evidence.py`` (1 core, leave-one-dataset-out portfolio,
stratified 5-fold split), and its run folder is kept. Then, on that run's final candidate pool
(the ``ensemble_nbest`` best candidates whose models are on disk: what ``EnsembleBuilder`` selects
from at the end), each variant below picks its weights from the validation predictions, and the
weighted members predict the fold's test rows:

    error            what autodl does: Caruana's greedy selection with replacement on validation
                     error (ties broken by cross-entropy), sorted initialisation, 50 picks
    cross_entropy    the same on validation cross-entropy (log loss)
    error_no_init    error, without the sorted initialisation (starts from the best candidate)
    checked          error, unless selection run on one half of the validation rows makes more errors
                     on the other half than the single best candidate of the first half (both ways
                     round): then the best single candidate (``checked_selection`` below)
    best_single      the pool's best candidate alone

Every variant scores the same fitted models on the same test rows, so differences come from the
selection alone. Last measured (2026-12-02; 60 s, 1 core per job, two jobs side by side, the 15
meta-train datasets x 2 folds of the evidence, run twice: 60 runs): mean test accuracy error 0.8644,
cross_entropy 0.8633, error_no_init 0.8622, best_single 0.8675 (better than error on 18 runs, equal
on 25, worse on 17; Wilcoxon p = 0.32); checked (second 30 runs only) 0.8645 vs error 0.8634 (better
on 2, equal on 27, worse on 1). On the 44 runs with fewer than 400 validation rows best_single leads
error by 0.46 points, on the 16 larger ones error leads by 0.16: no variant differs measurably at
60 s, so autodl keeps greedy selection on validation error. At 300 s the evidence recorded the
variants on only 5 runs (breast, bupa, cleveland-0_vs_4): best_single 0.8243 vs error 0.7981, better on 3,
equal on 2: a lead to test on more runs, not yet a reason to change. Prints mean test accuracy per variant, wins/ties/losses against ``error``, and how
many runs' ``error`` weights equal the ensemble the run itself chose (``ensemble.json``), which
checks that the pool is read as autodl reads it. Results go to ``--out`` (JSON lines; a rerun
reuses them). ``bench_autodl_evidence.py`` records the same variants on its own autodl runs;
``--from-evidence FILE --budget B`` summarises those::

    .venv/bin/python bench/bench_autodl_ensemble.py --budget 60 --folds 0,1 --datasets 4 --out /tmp/ens.jsonl
"""
from __future__ import annotations

import argparse
import json
import pickle
import shutil
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_autodl_evidence import (MATRIX, add_run_arguments, chosen_datasets, fold_split,  # noqa: E402
                                   leave_one_out_portfolio, run_job)

VARIANTS = {"error": {"objective": "error"}, "cross_entropy": {"objective": "cross_entropy"},
            "error_no_init": {"objective": "error", "sorted_init": False}}


def checked_selection(predictions, labels, size: int = 50, seed: int = 0) -> np.ndarray:
    """``ensemble_selection``, or the best single candidate where selection does not generalise on these rows.

    On a small validation set greedy selection can fit the rows' noise. So selection is run on each half of
    the rows (2-fold split) and scored on the other half, against the single candidate best on the first
    half; where the selected ensembles make more errors on the unseen halves than the single picks, the
    candidate best on all rows takes all the weight."""
    from autodl.ensemble import _best, _losses, ensemble_selection
    from autodl.splits import kfold

    probas = np.stack([np.asarray(p, dtype=np.float64) for p in predictions])
    labels = np.asarray(labels, dtype=np.int64)
    ensemble_errors = single_errors = 0
    for fit_rows, check_rows in kfold(labels, 2, seed=seed):
        weights = ensemble_selection(probas[:, fit_rows], labels[fit_rows], size)
        single = _best(*_losses(probas[:, fit_rows], labels[fit_rows]))
        ensemble_errors += int((np.tensordot(weights, probas[:, check_rows], axes=1).argmax(axis=1)
                                != labels[check_rows]).sum())
        single_errors += int((probas[single, check_rows].argmax(axis=1) != labels[check_rows]).sum())
    if ensemble_errors > single_errors:
        return np.eye(len(probas))[_best(*_losses(probas, labels))]
    return ensemble_selection(probas, labels, size)


def read_pool(run_dir: Path, nbest: int):
    """The run's final pool, as ``EnsembleBuilder.pool()`` sees it: candidates best first (validation error,
    then cross-entropy, then larger budget), only those whose model is on disk and whose predictions are finite."""
    from autodl.ensemble import Candidate   # its rank_key is the order EnsembleBuilder.pool() uses
    from autodl.search_data import read_search_data

    data = read_search_data(run_dir / "data.pkl", mmap=False)
    rows = np.sort(np.concatenate([val for _, val in data["splits"]]))
    candidates = []
    for name, kind in (("evaluations.jsonl", "network"), ("traditional.jsonl", "traditional")):
        path = run_dir / name
        for line in (path.read_text().splitlines() if path.exists() else []):
            record = json.loads(line)
            if record["status"] != "ok":
                continue
            tag = record["info"]["tag"]
            candidates.append(Candidate(tag, kind, kind, float(record["loss"]),
                                        float(record["info"].get("val_cross_entropy", float("inf"))),
                                        float(record.get("budget", 0.0) if kind == "network" else 0.0),
                                        str(run_dir / "val_predictions" / f"{tag}.npy"),
                                        str(run_dir / "models" / f"{tag}.pkl")))
    usable = [c for c in candidates if Path(c.model_path).exists() and Path(c.predictions_path).exists()
              and np.isfinite(np.load(c.predictions_path)[rows]).all()]
    pool = sorted(usable, key=Candidate.rank_key)[:nbest]
    return pool, rows, data["y_codes"][rows], data["classes"]


def score_variants(run_dir: Path, X_test: pd.DataFrame, truth: np.ndarray, nbest: int = 20, size: int = 50) -> dict:
    """Test accuracy of each selection variant on the run's final pool."""
    from autodl.ensemble import ensemble_selection

    pool, rows, labels, classes = read_pool(run_dir, nbest)
    if not pool:
        return {"pool": 0}
    val = [np.load(c.predictions_path)[rows] for c in pool]
    test = []
    for candidate in pool:
        with open(candidate.model_path, "rb") as fh:
            pipelines = pickle.load(fh)
        test.append(np.mean([p.predict_proba(X_test) for p in pipelines], axis=0))
    weights = {name: ensemble_selection(val, labels, size, **options) for name, options in VARIANTS.items()}
    weights["checked"] = checked_selection(val, labels, size)
    weights["best_single"] = np.eye(len(pool))[0]
    accuracy = {name: float((np.asarray(classes)[np.tensordot(w, np.stack(test), axes=1).argmax(axis=1)].astype(str)
                             == truth).mean()) for name, w in weights.items()}
    chosen = {m["tag"]: m["weight"] for m in json.loads((run_dir / "ensemble.json").read_text())["members"]}
    mine = {c.tag: float(w) for c, w in zip(pool, weights["error"]) if w > 0}
    reproduced = chosen.keys() == mine.keys() and all(abs(chosen[t] - mine[t]) < 1e-9 for t in mine)
    return {"pool": len(pool), "val_rows": len(rows), "accuracy": accuracy, "reproduced": bool(reproduced)}


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
    print(f"error variant equals the run's own ensemble on {sum(r['reproduced'] for r in scored)} of {len(scored)} runs")


def main() -> None:
    from autodl.portfolio.build import read_suite
    from autodl.suite_file import read_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_arguments(parser)
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=1, help="jobs run side by side, 1 core each")
    parser.add_argument("--out", type=Path, default=Path("ensemble_variants.jsonl"))
    parser.add_argument("--summary-only", action="store_true")
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
        folder = Path(tempfile.mkdtemp(dir=tmp, prefix=f"{dataset.name}_{fold}_"))
        frame = read_table(dataset.path)
        frame["class"] = frame["class"].astype(str)
        train_rows, test_rows = fold_split(frame["class"].to_numpy(), fold)
        portfolio = folder / "portfolio.json"
        leave_one_out_portfolio(matrix, dataset.name, portfolio)
        job = run_job("autodl", {"portfolio_path": str(portfolio)}, args.budget, args.memory, frame, train_rows,
                      test_rows, folder)
        run_dir = next(folder.glob("tmp*/autodl"), None)
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
        with tempfile.TemporaryDirectory(prefix="ensemble_") as tmp, ThreadPoolExecutor(args.jobs) as pool:
            for future in [pool.submit(one, d, fold, Path(tmp)) for d, fold in pending]:
                future.result()
    summary([r for r in records if r["dataset"] in chosen and r["budget"] == args.budget])


if __name__ == "__main__":
    main()
