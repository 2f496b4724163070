"""Budgets that fit the time (not a test): brackets completed and model-based proposals, planned vs fixed ladders.

Runs real ``AutoDLClassifier`` fits (1 worker, portfolio on, traditional learners and ensemble
off so the search has the core to itself) on a generated dataset, once with budgets planned
from the time (the default: 1, 3, 9, ... epochs, rungs chosen before every bracket from the
measured seconds per epoch) and once with the old fixed ladder (12.5 / 25 / 50 epochs, eta 2),
and reads each run's records: brackets started and completed (``brackets.jsonl``), evaluations,
budgets used and the share of configurations BOHB's model proposed.

For time limits it does not run (``--project``), it projects the planned ladder with
``autodl.budgets.ladder_report`` from the seconds per epoch and per evaluation measured in the
planned run: brackets that complete, results at the most-filled budget against the
``model_points`` BOHB needs for autodl's space, and the expected model-based share::

    .venv/bin/python bench/bench_autodl_budgets.py --seconds 60 --project 300,3600 --rows 5000 --cols 40
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autodl.budgets import ladder_report, model_points  # noqa: E402
from autodl.estimator import AutoDLClassifier  # noqa: E402
from autodl.settings import SearchSettings  # noqa: E402
from autodl.space import build_space  # noqa: E402

LADDERS = {"planned": {}, "fixed 12.5-50 (eta 2)": {"min_budget": 12.5, "max_budget": 50, "eta": 2}}


def run(name: str, options: dict, X, y, seconds: float, run_dir: Path) -> dict:
    started = time.time()
    model = AutoDLClassifier(time_limit=seconds, n_workers=1, seed=0, device="cpu", run_dir=str(run_dir),
                             traditional=False, ensemble=False, record_gradients=False, keep_models=2,
                             **options).fit(X, y)
    brackets = [json.loads(line) for line in (run_dir / "brackets.jsonl").read_text().splitlines()]
    evaluations = model.evaluations_
    ok = [e for e in evaluations if e.status == "ok"]
    sampled = [c for c in map(json.loads, (run_dir / "configs.json").read_text().splitlines())]
    estimate = next((b["estimate"] for b in reversed(brackets) if b.get("estimate")), None)
    return {"ladder": name, "seconds": seconds, "wall": time.time() - started, "brackets": len(brackets),
            "completed": sum(b["completed"] for b in brackets), "evaluations": len(evaluations), "ok": len(ok),
            "budgets": sorted({e.budget for e in evaluations}),
            "max_at_one_budget": max(np.unique([e.budget for e in ok], return_counts=True)[1], default=0),
            "model_based_share": float(np.mean([bool(c[2].get("model_based_pick")) for c in sampled]))
            if sampled else 0.0,
            "val_accuracy": 1 - model.incumbent_["loss"] if model.incumbent_ else None, "estimate": estimate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", default="60", help="time limits to run, comma-separated")
    parser.add_argument("--project", default="300,3600", help="time limits to project, comma-separated")
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--cols", type=int, default=40)
    parser.add_argument("--ladders", default=",".join(LADDERS))
    args = parser.parse_args()
    X, y = make_classification(args.rows, args.cols, n_informative=10, n_classes=3, n_clusters_per_class=1,
                               random_state=0)
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(args.cols)])
    needed = model_points(len(list(build_space(0).values())))
    print(f"data: {args.rows} x {args.cols}, 3 classes (generated); 1 worker; BOHB's model needs {needed} results "
          f"at one budget (autodl's space)", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_budgets_") as tmp:
        for seconds in map(float, args.seconds.split(",")):
            for name in args.ladders.split(","):
                rows.append(run(name, LADDERS[name], X, y, seconds, Path(tmp) / f"{len(rows)}"))
                print(json.dumps(rows[-1], default=str), flush=True)
    print("\nmeasured:\n| ladder | limit s | brackets started | completed | evaluations (ok) | budgets | "
          "most results at one budget | model-based share | val acc |\n|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['ladder']} | {r['seconds']:.0f} | {r['brackets']} | {r['completed']} | {r['evaluations']} "
              f"({r['ok']}) | {', '.join(f'{b:g}' for b in r['budgets'])} | {r['max_at_one_budget']} | "
              f"{r['model_based_share']:.2f} | {r['val_accuracy'] if r['val_accuracy'] is None else round(r['val_accuracy'], 3)} |")
    planned = next((r for r in rows if r["ladder"] == "planned" and r["estimate"]), None)
    if planned is None or not args.project:
        return
    per_epoch, overhead = planned["estimate"]
    settings = SearchSettings()
    print(f"\nprojected (planned ladder, measured {per_epoch:.3f} s/epoch + {overhead:.2f} s/evaluation, "
          f"portfolio of 16 first):\n| limit s | brackets completed | evaluations | results per budget | "
          f"model from bracket | model-based share |\n|---|---|---|---|---|---|")
    for seconds in map(float, [planned["seconds"], *args.project.split(",")]):
        report = ladder_report(seconds, 1, per_epoch, overhead, eta=settings.eta, min_budget=settings.auto_min_budget,
                               max_rungs=settings.max_rungs, cycles=settings.cycles, needed=needed,
                               random_fraction=settings.random_fraction, portfolio=16)
        per_budget = ", ".join(f"{b:g}:{n}" for b, n in report.results_per_budget.items())
        print(f"| {seconds:.0f} | {report.brackets} | {report.evaluations} | {per_budget} | "
              f"{report.model_from_bracket if report.model_from_bracket is not None else 'never'} | "
              f"{report.model_based_share:.2f} |")


if __name__ == "__main__":
    main()
