"""Building a portfolio from a suite of meta-train datasets (Auto-sklearn 2.0's recipe).

1. search: run autodl's BOHB search (portfolio, ensemble and traditional learners off; the
   estimator's default settings, so budgets are planned from the time as in any fit) on each
   dataset (or on ``search_datasets`` of them, a seeded choice) for ``search_time`` seconds; its
   incumbent becomes a candidate;
2. evaluate: train every candidate on every dataset at ``eval_epochs`` epochs on one
   stratified holdout split (datasets above ``max_rows`` rows subsampled), each in a limited
   child process (the search's ``Evaluator``) capped at ``eval_seconds`` (a candidate over it
   scores the worst error, as Auto-PyTorch's per-run limit) -> an error matrix;
3. pick: greedy portfolio construction over that matrix (``autodl.portfolio.greedy``).

Each dataset's step runs in its own process (at most ``jobs`` at a time) and leaves a JSON
file in the work directory, so an interrupted build resumes where it stopped. The error
matrix is written beside the portfolio (``<out stem>_matrix.json``): leave-one-dataset-out
checks rebuild portfolios from it without rerunning anything.

The suite is a file-suite YAML (``datasets: [{name, path (relative to the YAML), target}]``), read by
``autodl.suite_file``; a dataset's ``test_path`` is not used (the build makes its own splits).
"""
from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from autodl.splits import holdout
from autodl.suite_file import SuiteEntry, read_suite_file, read_table


@dataclass
class BuildSettings:
    search_time: float = 180.0       # long enough that BOHB's model proposes configurations on most datasets
    eval_epochs: int = 9             # the largest rung (1, 3, 9 epochs) a 60 s search plans on a few thousand rows
    eval_seconds: float = 10.0       # per-candidate time cap of the evaluation step
    max_rows: int = 2000
    jobs: int = 2
    size: int = 16
    seed: int = 0
    search_datasets: int | None = None   # search only this many datasets (a seeded choice); all are evaluated


def searched(datasets: list[str], settings: BuildSettings) -> list[str]:
    """The datasets whose searches give candidates: all, or a seeded choice of ``search_datasets``, in suite order."""
    if settings.search_datasets is None or settings.search_datasets >= len(datasets):
        return list(datasets)
    chosen = set(np.random.default_rng(settings.seed).choice(len(datasets), settings.search_datasets, replace=False))
    return [name for i, name in enumerate(datasets) if i in chosen]


def read_suite(path) -> list[SuiteEntry]:
    """The datasets of a file suite (``autodl.suite_file``: names, absolute paths, targets)."""
    return list(read_suite_file(path).datasets)


def load_dataset(dataset: SuiteEntry, max_rows: int | None, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Features and labels, stratified-subsampled to ``max_rows`` rows."""
    frame = read_table(dataset.path)
    if dataset.target not in frame.columns:
        raise ValueError(f"dataset {dataset.name}: target column {dataset.target!r} not in {list(frame.columns)[:8]}")
    y = frame.pop(dataset.target).astype(str).to_numpy()
    if max_rows is not None and len(y) > max_rows:
        rows = holdout(y, train_size=max_rows, seed=seed)[0]
        frame, y = frame.iloc[rows].reset_index(drop=True), y[rows]
    return frame, y


def config_key(config: dict) -> str:
    return json.dumps(config, sort_keys=True)


# --- step 1: one dataset's search (runs in its own process)

def search_params(dataset: SuiteEntry, work: Path, settings: BuildSettings) -> dict:
    """AutoDLClassifier's parameters for one dataset's search (the estimator's defaults otherwise)."""
    # a seed per dataset: with one seed every search would sample the same configurations
    seed = settings.seed + zlib.crc32(dataset.name.encode()) % 100_000
    return {"time_limit": settings.search_time, "n_workers": 1, "seed": seed, "device": "cpu",
            "run_dir": str(work / "runs" / dataset.name), "keep_models": 1, "record_gradients": False,
            "portfolio": False, "ensemble": False, "traditional": False}


def search_dataset(dataset: SuiteEntry, out: Path, work: Path, settings: BuildSettings) -> None:
    from autodl.estimator import AutoDLClassifier

    X, y = load_dataset(dataset, settings.max_rows, settings.seed)
    started = time.time()
    model = AutoDLClassifier(**search_params(dataset, work, settings)).fit(X, y)
    run_dir = work / "runs" / dataset.name
    brackets = [json.loads(line) for line in (run_dir / "brackets.jsonl").read_text().splitlines()]
    out.write_text(json.dumps({"dataset": dataset.name, "config": model.incumbent_["config"],
                               "loss": model.incumbent_["loss"], "epochs": model.incumbent_["epochs"],
                               "n_evaluations": model.n_evaluations_,
                               "budgets": sorted({e.budget for e in model.evaluations_}),
                               "brackets": len(brackets), "completed_brackets": sum(b["completed"] for b in brackets),
                               "model_based": sum(e.model_based for e in model.evaluations_),
                               "seconds": time.time() - started}))


# --- step 2: every candidate on one dataset (runs in its own process)

def evaluate_dataset(dataset: SuiteEntry, candidates: list[dict], out: Path, settings: BuildSettings) -> None:
    import shutil

    from autodl.data import TabularEncoder
    from autodl.search import write_search_data
    from autodl.settings import EvaluationSettings
    from autodl.worker import Evaluator, WorkerSpec

    X, y = load_dataset(dataset, settings.max_rows, settings.seed)
    train, val = holdout(y, test_size=0.33, seed=settings.seed)
    encoder = TabularEncoder().fit(X.iloc[train])
    classes = np.unique(y)
    run_dir = out.with_suffix(".run")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_search_data(run_dir / "data.pkl", encoder.transform(X), y, np.searchsorted(classes, y), classes, encoder,
                      [(np.sort(train), np.sort(val))])
    evaluation = EvaluationSettings(eval_time_limit=settings.eval_seconds, threads=1, device="cpu", seed=settings.seed,
                                    record_gradients=False)
    evaluator = Evaluator(WorkerSpec(run_id="portfolio", run_dir=str(run_dir), data_path=str(run_dir / "data.pkl"),
                                     nameserver="", nameserver_port=0, deadline=time.time() + 10 ** 7,
                                     evaluation=evaluation))
    evaluator.start()
    done = json.loads(out.read_text())["errors"] if out.exists() else {}
    for i, candidate in enumerate(candidates):
        key = config_key(candidate["config"])
        if key in done:
            continue
        result = evaluator.evaluate((0, 0, i), candidate["config"], settings.eval_epochs)
        info = result["info"]
        if info["status"] != "ok":   # a failing or over-time candidate gets the worst error, the build goes on
            print(f"{dataset.name}: candidate from {candidate['source']}: {info['status']} {info.get('error', '')}",
                  file=sys.stderr)
        done[key] = {"error": result["loss"], "status": info["status"],
                     "seconds": info["t_end"] - info["t_start"]}
        out.write_text(json.dumps({"dataset": dataset.name, "errors": done}))
    shutil.rmtree(run_dir, ignore_errors=True)


# --- the driver

def _run_steps(commands: list[list[str]], jobs: int, log_dir: Path) -> None:
    def run(command):
        name = command[command.index("--dataset") + 1]
        with open(log_dir / f"{command[3]}_{name}.log", "ab") as log:
            code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT)
        print(f"{command[3]} {name}: {'ok' if code == 0 else f'FAILED (exit {code})'}", flush=True)

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        list(pool.map(run, commands))


def _step_command(step: str, suite: Path, dataset: str, work: Path, settings: BuildSettings) -> list[str]:
    return [sys.executable, "-m", "autodl.portfolio", step, "--suite", str(suite), "--dataset", dataset,
            "--work", str(work), "--search-time", str(settings.search_time), "--eval-epochs",
            str(settings.eval_epochs), "--eval-seconds", str(settings.eval_seconds), "--max-rows",
            str(settings.max_rows), "--seed", str(settings.seed)]


def _statuses(records: list[dict]) -> dict:
    """How many candidate evaluations ended ok, over the time cap (timeout) or otherwise."""
    return dict(Counter(record.get("status", "ok") for record in records))


def build(suite: Path, out: Path, work: Path, settings: BuildSettings, command: str) -> dict:
    """All three steps; returns the provenance written into the portfolio."""
    from autodl.portfolio import write_portfolio
    from autodl.portfolio.greedy import greedy_portfolio, portfolio_score

    datasets = read_suite(suite)
    for sub in ("search", "eval", "logs", "runs"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    started = time.time()
    to_search = searched([d.name for d in datasets], settings)
    todo = [name for name in to_search if not (work / "search" / f"{name}.json").exists()]
    _run_steps([_step_command("search-one", suite, name, work, settings) for name in todo], settings.jobs,
               work / "logs")
    searches = {name: json.loads((work / "search" / f"{name}.json").read_text())
                for name in to_search if (work / "search" / f"{name}.json").exists()}
    candidates, seen = [], set()
    for name, record in searches.items():
        if config_key(record["config"]) not in seen:
            seen.add(config_key(record["config"]))
            candidates.append({"source": name, "config": record["config"]})
    if not candidates:
        raise RuntimeError(f"no search finished; see the logs in {work / 'logs'}")
    (work / "candidates.json").write_text(json.dumps(candidates, indent=1))
    search_seconds = time.time() - started
    _run_steps([_step_command("evaluate-one", suite, d.name, work, settings) for d in datasets], settings.jobs,
               work / "logs")
    # each evaluated dataset's records, read once: config key -> {error, status, seconds}
    done_by_dataset = {d.name: json.loads((work / "eval" / f"{d.name}.json").read_text())["errors"]
                       for d in datasets if (work / "eval" / f"{d.name}.json").exists()}
    evaluated = list(done_by_dataset)
    errors = np.ones((len(candidates), len(evaluated)))
    for j, done in enumerate(done_by_dataset.values()):
        for i, candidate in enumerate(candidates):
            errors[i, j] = done.get(config_key(candidate["config"]), {"error": 1.0})["error"]
    chosen = greedy_portfolio(errors, settings.size)
    from autodl.estimator import AutoDLClassifier
    from autodl.settings import from_estimator_params

    search = from_estimator_params(AutoDLClassifier(**search_params(datasets[0], work, settings)).get_params())
    evaluations = [record for done in done_by_dataset.values() for record in done.values()]
    model_based = int(sum(r.get("model_based", 0) for r in searches.values()))
    provenance = {
        "suite": suite.name, "datasets": evaluated, "searched_datasets": sorted(searches),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "command": command,
        "budgets": {"search_seconds_per_dataset": settings.search_time, "search_workers": search.n_workers,
                    "search_epoch_budgets": "planned from the time" if search.planned_budgets
                    else [search.min_budget, search.max_budget],
                    "search_ladder": {"min_budget": search.auto_min_budget, "eta": search.eta,
                                      "max_rungs": search.max_rungs, "cycles": search.cycles},
                    "search_budgets_used": sorted({b for r in searches.values() for b in r.get("budgets", [])}),
                    "search_evaluations_median": float(np.median([r.get("n_evaluations", 0)
                                                                 for r in searches.values()])),
                    # did BOHB matter: configurations its model proposed, over all the searches' evaluations
                    "search_model_based_total": model_based,
                    "search_model_based_share": round(model_based / max(1, sum(r.get("n_evaluations", 0)
                                                                                 for r in searches.values())), 3),
                    "searches_with_model": sum(r.get("model_based", 0) > 0 for r in searches.values()),
                    "eval_epochs": settings.eval_epochs, "eval_seconds_cap": settings.eval_seconds,
                    "max_rows": settings.max_rows, "search_seed": "seed + crc32(dataset name) % 100000",
                    "eval_split": "one stratified holdout, 33% validation",
                    "parallel_processes": settings.jobs, "seed": settings.seed,
                    "search_datasets": settings.search_datasets},
        "method": "candidates = each searched dataset's incumbent (deduplicated); every candidate evaluated on "
                  "every dataset; greedy portfolio construction minimising the mean best-of-portfolio "
                  "validation error (Feurer et al. 2022), stopping when no candidate improves it",
        "n_candidates": len(candidates), "sources": [candidates[i]["source"] for i in chosen],
        "meta_train_mean_error": portfolio_score(errors, chosen),
        # this invocation's wall time (steps whose files a previous invocation left are reused, not rerun) and the
        # searches' own measured time, whichever invocation ran them
        "wall_seconds": {"search": round(search_seconds), "total": round(time.time() - started),
                         "searches_measured": round(sum(r.get("seconds", 0.0) for r in searches.values())),
                         "evaluations_measured": round(sum(r.get("seconds", 0.0) for r in evaluations))},
        "eval_statuses": _statuses(evaluations),
    }
    write_portfolio(out, [candidates[i]["config"] for i in chosen], provenance)
    matrix = {"datasets": evaluated, "candidates": candidates, "errors": errors.tolist(), "provenance": provenance}
    out.with_name(out.stem + "_matrix.json").write_text(json.dumps(matrix, indent=1) + "\n")
    return provenance
