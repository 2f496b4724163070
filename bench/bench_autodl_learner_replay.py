"""More traditional learners, replayed on kept autodl runs (not a test): would they improve the ensemble?

For each run folder kept by ``bench_autodl_ensemble.py --keep DIR`` (named ``<dataset>_<fold>_<budget>s``),
each learner of ``--learners`` (names from ``autodl.traditional.LEARNERS``) is trained on the run's own
cross-validation splits with the run's own evaluation settings, by the code a search's evaluation child runs
(``autodl.worker._train_and_save``, into a scratch folder), and joins the run's candidates as a traditional
learner. autodl's ensemble rule (``select_pool``, then ``ensemble_selection`` on validation error) then picks
from the run's candidates (``current``) and from the extended ones (``extended``), and both ensembles predict
the fold's test rows. Prints mean test accuracy of both, wins/ties/losses, the Wilcoxon p-value, each new
learner's own test accuracy and how often it gets weight. The replay does not charge the learners' training
time to the search; a change it supports still needs full runs (``bench_autodl_evidence.py``).
Rows go to ``--out`` (JSON lines; a rerun skips the runs already there)::

    .venv/bin/python bench/bench_autodl_learner_replay.py --keep DIR --out /tmp/replay.jsonl
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autodl_pool import read_candidates  # noqa: E402
from bench_autodl_evidence import SUITE, fold_split  # noqa: E402

NEW_LEARNERS = "lightgbm_xt,lightgbm_large,random_forest_entropy,extra_trees_entropy"


def replay_learner(run_dir: Path, name: str, scratch: Path):
    """``name`` trained and saved as the run's search would have; returns its Candidate."""
    from autodl.ensemble import Candidate
    from autodl.traditional import learner_config_id
    from autodl.worker import SPEC_FILE, WorkerSpec, _train_and_save, eval_tag

    spec = WorkerSpec.load(run_dir / SPEC_FILE)
    settings = dataclasses.replace(spec.evaluation, train_fn="autodl.traditional:train_learner",
                                   record_gradients=False, device="cpu")
    tag = eval_tag(learner_config_id(name), 0.0)
    summary = _train_and_save(str(scratch), str(run_dir / "data.pkl"), settings, {"learner": name}, 0, tag)
    return Candidate(tag, "traditional", name, 1.0 - summary["val_accuracy"], summary["val_cross_entropy"], 0.0,
                     str(scratch / "val_predictions" / f"{tag}.npy"), summary["model_path"])


def ensemble_accuracy(candidates, predictions, labels, X_test, truth, classes) -> tuple[float, dict]:
    """Test accuracy of autodl's ensemble over ``candidates`` (sorted best first), and its weights by tag."""
    from autodl.ensemble import ensemble_selection, select_pool

    chosen = {c.tag for c in select_pool(candidates)}
    members = [i for i, c in enumerate(candidates) if c.tag in chosen]
    weights = ensemble_selection([predictions[i] for i in members], labels)
    proba = 0.0
    for i, w in zip(members, weights):
        if w > 0:
            with open(candidates[i].model_path, "rb") as fh:
                pipelines = pickle.load(fh)
            proba = proba + w * np.mean([p.predict_proba(X_test) for p in pipelines], axis=0)
    accuracy = float((np.asarray(classes)[np.argmax(proba, axis=1)].astype(str) == truth).mean())
    return accuracy, {candidates[i].tag: float(w) for i, w in zip(members, weights) if w > 0}


def replay_run(run_dir: Path, learners: list[str], suite: dict) -> dict:
    from autodl.suite_file import read_table

    dataset, fold, budget = run_dir.name.rsplit("_", 2)
    frame = read_table(suite[dataset].path)
    frame["class"] = frame["class"].astype(str)
    _, test_rows = fold_split(frame["class"].to_numpy(), int(fold))
    test = frame.iloc[test_rows]
    X_test, truth = test.drop(columns=["class"]), test["class"].to_numpy()
    candidates, predictions, labels, classes = read_candidates(run_dir)
    rows = np.sort(np.concatenate([val for _, val in _splits(run_dir)]))
    current, _ = ensemble_accuracy(candidates, predictions, labels, X_test, truth, classes)
    with tempfile.TemporaryDirectory(prefix="replay_") as scratch:
        alone, tags = {}, {}
        for name in learners:
            new = replay_learner(run_dir, name, Path(scratch))
            candidates.append(new)
            tags[name] = new.tag
            predictions.append(np.load(new.predictions_path)[rows])
            with open(new.model_path, "rb") as fh:
                proba = np.mean([p.predict_proba(X_test) for p in pickle.load(fh)], axis=0)
            alone[name] = {"val_loss": new.loss,
                           "test": float((np.asarray(classes)[proba.argmax(axis=1)].astype(str) == truth).mean())}
        order = sorted(range(len(candidates)), key=lambda i: candidates[i].rank_key())
        candidates, predictions = [candidates[i] for i in order], [predictions[i] for i in order]
        extended, weights = ensemble_accuracy(candidates, predictions, labels, X_test, truth, classes)
    return {"dataset": dataset, "fold": int(fold), "budget": int(budget.rstrip("s")), "current": current,
            "extended": extended, "learners": alone,
            "weights": {name: weights.get(tag, 0.0) for name, tag in tags.items()}}


def _splits(run_dir: Path):
    from autodl.search_data import read_search_data

    return read_search_data(run_dir / "data.pkl")["splits"]


def summary(records: list[dict], learners: list[str]) -> None:
    from scipy.stats import wilcoxon

    if not records:
        return
    current = np.array([r["current"] for r in records])
    extended = np.array([r["extended"] for r in records])
    diff = extended - current
    p = wilcoxon(extended, current).pvalue if (diff != 0).any() else 1.0
    print(f"{len(records)} runs: current ensemble {current.mean():.4f}, extended {extended.mean():.4f}; "
          f"extended better on {(diff > 0).sum()}, equal on {(diff == 0).sum()}, worse on {(diff < 0).sum()}; "
          f"Wilcoxon p = {p:.3g}")
    for name in learners:
        tests = [r["learners"][name]["test"] for r in records if name in r["learners"]]
        weighted = sum(r["weights"].get(name, 0) > 0 for r in records)
        print(f"  {name:24s} alone {np.mean(tests):.4f}, in the ensemble on {weighted} of {len(records)} runs")


def main() -> None:
    from autodl.portfolio.build import read_suite
    from autodl.traditional import LEARNERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, required=True, help="run folders kept by bench_autodl_ensemble.py")
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--learners", default=NEW_LEARNERS)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    learners = args.learners.split(",")
    unknown = [n for n in learners if n not in LEARNERS]
    if unknown:
        parser.error(f"unknown learners {unknown}; choose from {', '.join(LEARNERS)}")
    runs = sorted(d for d in args.keep.iterdir() if (d / "ensemble.json").exists())
    if not runs:
        parser.error(f"{args.keep} holds no kept run folder (make them with bench_autodl_ensemble.py --keep)")
    suite = {d.name: d for d in read_suite(args.suite)}
    records = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.exists() else []
    done = {(r["dataset"], r["fold"], r["budget"]) for r in records}
    for run_dir in runs:
        dataset, fold, budget = run_dir.name.rsplit("_", 2)
        if (dataset, int(fold), int(budget.rstrip("s"))) in done:
            continue
        record = replay_run(run_dir, learners, suite)
        records.append(record)
        with open(args.out, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        print(f"[{len(records)}/{len(runs)}] {json.dumps(record)}", flush=True)
    summary(records, learners)


if __name__ == "__main__":
    main()
