"""Traditional learners changed after the fact on kept autodl runs (not a test): would the ensemble improve?

For each run folder kept by ``bench_autodl_ensemble.py --keep DIR`` (named ``<dataset>_<fold>_<budget>s``),
learners are trained on the run's data with the run's own evaluation settings, by the code a search's
evaluation child runs (``autodl.worker._train_and_save``, into a scratch folder), and change the run's
candidates in one of two ways:

    --learners A,B   (default) the learners named (from ``autodl.traditional.LEARNERS``) join the candidates
    --repeat         each of the run's own traditional learners is trained again on a second set of k-fold
                     splits of the same rows (``autodl.splits.kfold``, seed + 1; cross-validated runs only);
                     its validation predictions become the average of the two out-of-fold sets (every row
                     still predicted by models that did not train on it) and its test predictions the average
                     of all 2k fold models: AutoGluon's repeated bagging

autodl's ensemble rule (``select_pool``, then ``ensemble_selection`` on validation error) then picks from the
run's candidates (``current``) and from the changed ones (``changed``), and both ensembles predict the fold's
test rows. Prints mean test accuracy of both, wins/ties/losses and the Wilcoxon p-value, and per learner its
own test accuracy and how often it gets weight. The replay does not charge the extra training time to the
search; a change it supports still needs full runs (``bench_autodl_evidence.py``). What was measured is in
``bench/evidence/README.md``. Rows go to ``--out`` (JSON lines; a rerun skips the runs already there)::

    .venv/bin/python bench/bench_autodl_learner_replay.py --keep DIR --out /tmp/replay.jsonl [--repeat]
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

from autodl_pool import read_candidates, accuracy_of, validated_rows  # noqa: E402
from bench_autodl_evidence import SUITE, fold_split  # noqa: E402

NEW_LEARNERS = "lightgbm_xt,lightgbm_large,random_forest_entropy,extra_trees_entropy"


def train_as_search(run_dir: Path, data_path: Path, name: str, scratch: Path):
    """Learner ``name`` trained and saved as the run's search would on ``data_path``'s splits: its full-length
    validation predictions (NaN outside the validated rows), its fold models, its validation error and
    cross-entropy."""
    from autodl.traditional import learner_config_id
    from autodl.worker import SPEC_FILE, WorkerSpec, _train_and_save, eval_tag

    spec = WorkerSpec.load(run_dir / SPEC_FILE)
    settings = dataclasses.replace(spec.evaluation, train_fn="autodl.traditional:train_learner",
                                   record_gradients=False, device="cpu")
    tag = eval_tag(learner_config_id(name), 0.0)
    summary = _train_and_save(str(scratch), str(data_path), settings, {"learner": name}, 0, tag)
    with open(summary["model_path"], "rb") as fh:
        models = pickle.load(fh)
    return (np.load(scratch / "val_predictions" / f"{tag}.npy"), models, 1.0 - summary["val_accuracy"],
            summary["val_cross_entropy"])


def second_splits_data(run_dir: Path, scratch: Path) -> Path:
    """A copy of the run's search data whose splits are a second k-fold draw of the same rows."""
    from autodl.search_data import read_search_data, write_search_data
    from autodl.splits import kfold
    from autodl.worker import SPEC_FILE, WorkerSpec

    data = read_search_data(run_dir / "data.pkl", mmap=False)
    if sum(len(val) for _, val in data["splits"]) != len(data["y_codes"]):
        raise SystemExit(f"{run_dir.name}: --repeat needs a cross-validated run (this one validated on a holdout)")
    seed = WorkerSpec.load(run_dir / SPEC_FILE).evaluation.seed + 1
    splits = kfold(data["y_codes"], len(data["splits"]), seed=seed)
    path = scratch / "data.pkl"
    write_search_data(path, data["X"], data["y"], data["y_codes"], data["classes"], data["encoder"], splits)
    return path


def test_proba(models, X_test) -> np.ndarray:
    return np.mean([m.predict_proba(X_test) for m in models], axis=0)


def ensemble_accuracy(candidates, predictions, labels, tests: dict, truth, classes) -> tuple[float, dict]:
    """Test accuracy of autodl's ensemble over ``candidates`` (sorted best first) whose test predictions are
    ``tests[tag]``, and its weights by tag."""
    from autodl.ensemble import ensemble_selection, select_pool

    chosen = {c.tag for c in select_pool(candidates)}
    members = [i for i, c in enumerate(candidates) if c.tag in chosen]
    weights = ensemble_selection([predictions[i] for i in members], labels)
    proba = sum(w * tests[candidates[i].tag] for i, w in zip(members, weights) if w > 0)
    weights_by_tag = {candidates[i].tag: float(w) for i, w in zip(members, weights) if w > 0}
    return accuracy_of(proba, classes, truth), weights_by_tag


def replay_run(run_dir: Path, learners: list[str], repeat: bool, suite: dict) -> dict:
    from autodl.ensemble import Candidate
    from autodl.metrics import classification_metrics
    from autodl.search_data import read_search_data
    from autodl.suite_file import read_table

    dataset, fold, budget = run_dir.name.rsplit("_", 2)
    frame = read_table(suite[dataset].path)
    frame["class"] = frame["class"].astype(str)
    _, test_rows = fold_split(frame["class"].to_numpy(), int(fold))
    test = frame.iloc[test_rows]
    X_test, truth = test.drop(columns=["class"]), test["class"].to_numpy()
    candidates, predictions, labels, classes = read_candidates(run_dir)
    rows = validated_rows(read_search_data(run_dir / "data.pkl")["splits"])   # the rows of `predictions`
    tests = {}
    for c in candidates:
        with open(c.model_path, "rb") as fh:
            tests[c.tag] = test_proba(pickle.load(fh), X_test)
    current, _ = ensemble_accuracy(candidates, predictions, labels, tests, truth, classes)

    learned = [json.loads(line) for line in (run_dir / "traditional.jsonl").read_text().splitlines()]
    learner_of = {record["info"]["tag"]: record["learner"] for record in learned}
    alone, tags = {}, {}
    with tempfile.TemporaryDirectory(prefix="replay_") as scratch:
        scratch = Path(scratch)
        if repeat:
            data_path = second_splits_data(run_dir, scratch)
            for i, c in enumerate(candidates):
                if c.kind != "traditional":
                    continue
                name = learner_of[c.tag]
                val, models, _, _ = train_as_search(run_dir, data_path, name, scratch)
                val = (predictions[i] + val[rows]) / 2
                accuracy, _, entropy = classification_metrics(val, labels)
                loss = 1.0 - accuracy   # as the search scores a candidate (autodl.worker)
                once = accuracy_of(tests[c.tag], classes, truth)
                tests[c.tag] = (tests[c.tag] + test_proba(models, X_test)) / 2   # equal numbers of fold models
                candidates[i] = dataclasses.replace(c, loss=loss, cross_entropy=entropy)
                predictions[i] = val
                alone[name] = {"val_loss": loss, "test": accuracy_of(tests[c.tag], classes, truth), "test_once": once}
                tags[name] = c.tag
        else:
            for name in learners:
                val, models, loss, entropy = train_as_search(run_dir, run_dir / "data.pkl", name, scratch)
                new = Candidate(f"new_{name}", "traditional", name, loss, entropy, 0.0, "", None)
                candidates.append(new)
                predictions.append(val[rows])
                tests[new.tag] = test_proba(models, X_test)
                alone[name] = {"val_loss": loss, "test": accuracy_of(tests[new.tag], classes, truth)}
                tags[name] = new.tag
    order = sorted(range(len(candidates)), key=lambda i: candidates[i].rank_key())
    changed, weights = ensemble_accuracy([candidates[i] for i in order], [predictions[i] for i in order], labels,
                                         tests, truth, classes)
    return {"dataset": dataset, "fold": int(fold), "budget": int(budget.rstrip("s")), "current": current,
            "changed": changed, "learners": alone,
            "weights": {name: weights.get(tag, 0.0) for name, tag in tags.items()}}


def summary(records: list[dict]) -> None:
    from scipy.stats import wilcoxon

    if not records:
        return
    current = np.array([r["current"] for r in records])
    changed = np.array([r["changed"] for r in records])
    diff = changed - current
    p = wilcoxon(changed, current).pvalue if (diff != 0).any() else 1.0
    print(f"{len(records)} runs: current ensemble {current.mean():.4f}, changed {changed.mean():.4f}; "
          f"changed better on {(diff > 0).sum()}, equal on {(diff == 0).sum()}, worse on {(diff < 0).sum()}; "
          f"Wilcoxon p = {p:.3g}")
    for name in sorted({name for r in records for name in r["learners"]}):
        seen = [r for r in records if name in r["learners"]]
        once = [r["learners"][name]["test_once"] for r in seen if "test_once" in r["learners"][name]]
        weighted = sum(r["weights"].get(name, 0) > 0 for r in seen)
        print(f"  {name:24s} alone {np.mean([r['learners'][name]['test'] for r in seen]):.4f}"
              + (f" (one repeat: {np.mean(once):.4f})" if once else "")
              + f", in the ensemble on {weighted} of {len(seen)} runs")


def main() -> None:
    from autodl.portfolio.build import read_suite
    from autodl.traditional import LEARNERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, required=True, help="run folders kept by bench_autodl_ensemble.py")
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--learners", default=NEW_LEARNERS, help="learners that join the candidates")
    parser.add_argument("--repeat", action="store_true", help="instead: the run's own learners, bagged twice")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    learners = args.learners.split(",")
    unknown = [n for n in learners if n not in LEARNERS]
    if unknown:
        parser.error(f"unknown learners {unknown}; choose from {', '.join(LEARNERS)}")
    runs = sorted(d for d in args.keep.iterdir() if (d / "ensemble.json").exists()) if args.keep.is_dir() else []
    if not runs:
        parser.error(f"{args.keep} holds no kept run folder (make them with bench_autodl_ensemble.py --keep)")
    suite = {d.name: d for d in read_suite(args.suite)}
    records = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.exists() else []
    done = {(r["dataset"], r["fold"], r["budget"]) for r in records}
    for run_dir in runs:
        dataset, fold, budget = run_dir.name.rsplit("_", 2)
        if (dataset, int(fold), int(budget.rstrip("s"))) in done:
            continue
        record = replay_run(run_dir, learners, args.repeat, suite)
        records.append(record)
        with open(args.out, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        print(f"[{len(records)}/{len(runs)}] {json.dumps(record)}", flush=True)
    summary(records)


if __name__ == "__main__":
    main()
