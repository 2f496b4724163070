"""BOHB scheduling overhead of autodl's search (not a test).

Runs the real search (nameserver, master, ``--workers`` worker processes, evaluations in
limited child processes) on a synthetic dataset sized so evaluations take over a second,
then reads the workers' own timestamps from ``evaluations.jsonl``:

- idle share: per worker, the time between the end of one evaluation and the start of the
  next (hpbandster round trip, BOHB sampling, result bookkeeping) over the worker's span from
  first start to last end. Target: under 5 % once evaluations take over a second.
- evaluation-process overhead: an evaluation's wall time minus the training time its learning
  curve reports (fork from the forkserver, loading data, saving the model), as a share.

    .venv/bin/python bench/bench_autodl_bohb.py [--seconds 60] [--workers 2] [--rows 4000]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autodl.data import TabularEncoder  # noqa: E402
from autodl.search import run_search, write_search_data  # noqa: E402
from autodl.settings import EvaluationSettings, SearchSettings  # noqa: E402
from autodl.space import build_space  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--min-budget", type=float, default=2)
    parser.add_argument("--max-budget", type=float, default=8)
    args = parser.parse_args()
    X, y = make_classification(args.rows, 30, n_informative=8, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    encoder = TabularEncoder().fit(frame)
    order = np.random.default_rng(0).permutation(len(y))
    cut = int(0.67 * len(y))
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        write_search_data(run_dir / "data.pkl", encoder.transform(frame), y, y, np.array([0, 1]), encoder,
                          [(np.sort(order[:cut]), np.sort(order[cut:]))])
        settings = SearchSettings(n_workers=args.workers, min_budget=args.min_budget, max_budget=args.max_budget,
                                  eta=2, evaluation=EvaluationSettings(record_gradients=False))
        started = time.time()
        outcome = run_search(build_space(seed=0), run_dir / "data.pkl", run_dir, started + args.seconds, settings)
        wall = time.time() - started
        records = [json.loads(line) for line in (run_dir / "evaluations.jsonl").read_text().splitlines()]
        training = {}
        for path in (run_dir / "curves").glob("*.json"):
            curves = json.loads(path.read_text())["curves"]
            training[path.stem] = sum(curve[-1]["time"] for curve in curves if curve)
    ok = [r for r in records if r["status"] == "ok"]
    by_worker = defaultdict(list)
    for r in ok:
        by_worker[r["info"]["worker_pid"]].append((r["info"]["t_start"], r["info"]["t_end"]))
    idle_shares, gaps = [], []
    for spans in by_worker.values():
        spans.sort()
        busy = sum(end - start for start, end in spans)
        span = spans[-1][1] - spans[0][0]
        gaps += [b[0] - a[1] for a, b in zip(spans, spans[1:])]
        idle_shares.append(1 - busy / span if span > 0 else 0.0)
    durations = [r["info"]["t_end"] - r["info"]["t_start"] for r in ok]
    process_overhead = [1 - training[r["info"]["tag"]] / d for r, d in zip(ok, durations) if r["info"]["tag"] in training]
    first_start = min(s for spans in by_worker.values() for s, _ in spans)
    print(f"{len(records)} evaluations ({len(ok)} ok) by {len(by_worker)} workers in {wall:.1f} s, "
          f"{outcome.brackets} brackets; median evaluation {statistics.median(durations):.2f} s")
    print(f"worker start-up (search start -> first evaluation): {first_start - started:.1f} s")
    print(f"idle share between evaluations: {100 * statistics.mean(idle_shares):.2f} % "
          f"(median gap {1000 * statistics.median(gaps):.0f} ms, max {1000 * max(gaps):.0f} ms)  target < 5 %")
    print(f"evaluation-process overhead (fork, load data, save model): median "
          f"{100 * statistics.median(process_overhead):.1f} % of an evaluation's wall time")


if __name__ == "__main__":
    main()
