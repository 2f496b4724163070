"""Evidence for autodl's portfolio, ensemble and traditional learners (issue 4), leave-one-dataset-out.

For each held-out meta-train dataset d: a greedy portfolio is rebuilt from the build's
candidate x dataset error matrix without d's column and without the candidate that came
from d's own search, so d never judges a portfolio built with it. Then autodl runs twice
on d's training part (same budget, side by side so both see the same machine load):
with that portfolio, and without a portfolio; traditional learners and the ensemble are
on in both. Test accuracy is measured afterwards from the run folders:

- the incumbent network at 10 %, 50 %, 100 % of the budget (``trajectory.jsonl``; before the
  first network finishes: the majority class), and the ensemble at the same times
  (``ensemble_trajectory.jsonl``);
- the final ensemble vs the best single model of the pool (lowest validation loss);
- the weight of traditional learners in the final ensemble.

    python bench/bench_portfolio.py --suite ../shared/datasets/metatrain/suite.yaml \
        --datasets heart,ring --budget 60 --out /tmp/bench_portfolio
"""
from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autodl.ensemble import EnsembleMember, EnsembleModel  # noqa: E402
from autodl.portfolio import DEFAULT_PORTFOLIO, write_portfolio  # noqa: E402
from autodl.portfolio.build import load_dataset, read_suite  # noqa: E402
from autodl.splits import holdout  # noqa: E402
from autodl.portfolio.greedy import leave_one_dataset_out  # noqa: E402

FRACTIONS = (0.1, 0.5, 1.0)   # of the budget; --fractions changes them (finished runs are only re-measured)
ARMS = ("portfolio", "no_portfolio")


def loo_portfolio(matrix: dict, held_out: str, size: int, path: Path) -> int:
    chosen, datasets = leave_one_dataset_out(matrix, held_out, size)
    write_portfolio(path, [matrix["candidates"][i]["config"] for i in chosen],
                    {"leave_one_out": held_out, "datasets": datasets})
    return len(chosen)


def run_arm(arm: str, data_file: Path, run_dir: Path, portfolio: Path, budget: float) -> subprocess.Popen:
    """One autodl fit in its own process (so both arms run at once)."""
    options = {"portfolio_path": str(portfolio)} if arm == "portfolio" else {"portfolio": False}
    code = (f"import pickle; from autodl.estimator import AutoDLClassifier\n"
            f"d = pickle.load(open({str(data_file)!r}, 'rb'))\n"
            f"m = AutoDLClassifier(time_limit={budget}, n_workers=1, seed=0, device='cpu', run_dir={str(run_dir)!r}, "
            f"keep_models=100000, record_gradients=False, traditional=True, ensemble=True, "
            f"**{options!r}).fit(d['X'], d['y'])\n"
            f"print('fit_time', m.fit_time_)\n")
    log = open(run_dir.parent / f"{arm}.log", "w")
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _model_accuracy(run_dir: Path, tag: str, X, y_codes) -> float:
    with open(run_dir / "models" / f"{tag}.pkl", "rb") as fh:
        pipelines = pickle.load(fh)
    proba = np.mean([p.predict_proba(X) for p in pipelines], axis=0)
    return float((proba.argmax(axis=1) == y_codes).mean())


def _ensemble_accuracy(run_dir: Path, members: list[dict], X, y_codes) -> float:
    model = EnsembleModel.from_members([EnsembleMember(m["tag"], m["kind"], m["name"], m["weight"],
                                                       str(run_dir / "models" / f"{m['tag']}.pkl"))
                                        for m in members])
    return float((model.predict_proba(X).argmax(axis=1) == y_codes).mean())


def measure(run_dir: Path, budget: float, X, y_codes, majority: float, fractions=FRACTIONS) -> dict:
    out = {"incumbent": {}, "ensemble": {}}
    trajectory = _jsonl(run_dir / "trajectory.jsonl")
    ensembles = _jsonl(run_dir / "ensemble_trajectory.jsonl")
    for fraction in fractions:
        until = fraction * budget
        seen = [r for r in trajectory if r["time"] <= until]
        tag = "_".join(str(i) for i in seen[-1]["config_id"]) + f"_b{seen[-1]['budget']:g}" if seen else None
        out["incumbent"][str(fraction)] = _model_accuracy(run_dir, tag, X, y_codes) if tag else majority
        built = [r for r in ensembles if r["time"] <= until]
        out["ensemble"][str(fraction)] = _ensemble_accuracy(run_dir, built[-1]["members"], X, y_codes) \
            if built else majority
    pool = [(r["loss"], r["info"].get("val_cross_entropy", 9e9), -r["budget"], r["info"]["tag"])
            for r in _jsonl(run_dir / "evaluations.jsonl") if r["status"] == "ok"]
    pool += [(r["loss"], r["info"].get("val_cross_entropy", 9e9), 0.0, r["info"]["tag"])
             for r in _jsonl(run_dir / "traditional.jsonl") if r["status"] == "ok"]
    if pool:
        best_tag = min(pool)[3]
        out["best_single"] = {"tag": best_tag, "accuracy": _model_accuracy(run_dir, best_tag, X, y_codes)}
    if ensembles:
        final = ensembles[-1]["members"]
        out["final_ensemble"] = {"accuracy": _ensemble_accuracy(run_dir, final, X, y_codes),
                                 "traditional_weight": sum(m["weight"] for m in final if m["kind"] == "traditional"),
                                 "members": final}
    fit_time = [line.split()[1] for line in (run_dir.parent / f"{run_dir.name}.log").read_text().splitlines()
                if line.startswith("fit_time ")]
    out["fit_time"] = float(fit_time[0]) if fit_time else None
    out["n_network_evaluations"] = sum(r["status"] == "ok" for r in _jsonl(run_dir / "evaluations.jsonl"))
    sampled = _jsonl(run_dir / "configs.json")
    out["n_portfolio_configs_sampled"] = sum(bool(line[2].get("portfolio")) for line in sampled)
    return out


def bench_dataset(dataset, matrix, args) -> dict:
    root = args.out / dataset.name
    root.mkdir(parents=True, exist_ok=True)
    portfolio = root / "loo_portfolio.json"
    size = loo_portfolio(matrix, dataset.name, args.size, portfolio)
    X, y = load_dataset(dataset, args.max_rows, seed=0)
    train, test = holdout(y, seed=0, test_size=0.33)
    data_file = root / "train.pkl"
    with open(data_file, "wb") as fh:
        pickle.dump({"X": X.iloc[train].reset_index(drop=True), "y": y[train]}, fh)
    procs = {}
    for arm in ARMS:
        if not (root / arm / "ensemble.json").exists():
            procs[arm] = run_arm(arm, data_file, root / arm, portfolio, args.budget)
    for arm, proc in procs.items():
        if proc.wait() != 0:
            print(f"{dataset.name}/{arm} failed, see {root / (arm + '.log')}", file=sys.stderr)
    classes = np.unique(y[train])
    y_codes = np.searchsorted(classes, y[test])
    majority = float((y_codes == np.bincount(np.searchsorted(classes, y[train])).argmax()).mean())
    X_test = X.iloc[test].reset_index(drop=True)
    result = {"dataset": dataset.name, "rows": len(y), "portfolio_size": size, "majority": majority}
    for arm in ARMS:
        result[arm] = (measure(root / arm, args.budget, X_test, y_codes, majority, args.fractions)
                       if (root / arm).exists() else None)
    (root / "result.json").write_text(json.dumps(result, indent=1))
    return result


def summarise(results: list[dict], budget: float, fractions=FRACTIONS) -> None:
    print(f"\n## autodl portfolio / ensemble / traditional learners, budget {budget:g} s, test accuracy\n")
    print("| dataset | rows | " + " | ".join(f"{a} {int(f * 100)}%" for f in fractions for a in ("pf", "no pf"))
          + " | ensemble | best single | trad. weight |")
    print("|---" * (3 + 2 * len(fractions) + 2) + "|")
    ahead = {f: [0, 0, 0] for f in fractions}   # portfolio ahead, tied, behind
    ahead_ensemble = {f: [0, 0, 0] for f in fractions}
    gaps, trad_used, trad_weights = [], 0, []
    for r in results:
        pf, no = r["portfolio"], r["no_portfolio"]
        if not pf or not no:
            continue
        cells = []
        for f in fractions:
            a, b = pf["incumbent"][str(f)], no["incumbent"][str(f)]
            cells += [f"{a:.3f}", f"{b:.3f}"]
            ahead[f][0 if a > b + 1e-9 else 1 if abs(a - b) <= 1e-9 else 2] += 1
            a, b = pf["ensemble"][str(f)], no["ensemble"][str(f)]
            ahead_ensemble[f][0 if a > b + 1e-9 else 1 if abs(a - b) <= 1e-9 else 2] += 1
        ens = pf.get("final_ensemble", {})
        single = pf.get("best_single", {})
        for arm in (pf, no):
            if "final_ensemble" in arm and "best_single" in arm:
                gaps.append(arm["final_ensemble"]["accuracy"] - arm["best_single"]["accuracy"])
                trad_weights.append(arm["final_ensemble"]["traditional_weight"])
                trad_used += arm["final_ensemble"]["traditional_weight"] > 0
        print(f"| {r['dataset']} | {r['rows']} | " + " | ".join(cells) +
              f" | {ens.get('accuracy', float('nan')):.3f} | {single.get('accuracy', float('nan')):.3f} "
              f"| {ens.get('traditional_weight', float('nan')):.2f} |")
    print("\nincumbent network, portfolio vs none (ahead / tied / behind):",
          ", ".join(f"{int(f * 100)}%: {a}/{t}/{b}" for f, (a, t, b) in ahead.items()))
    print("ensemble (what autodl predicts with), portfolio vs none (ahead / tied / behind):",
          ", ".join(f"{int(f * 100)}%: {a}/{t}/{b}" for f, (a, t, b) in ahead_ensemble.items()))
    for key in ("incumbent", "ensemble"):
        means = {f: (np.mean([r["portfolio"][key][str(f)] for r in results if r["portfolio"] and r["no_portfolio"]]),
                     np.mean([r["no_portfolio"][key][str(f)] for r in results if r["portfolio"] and r["no_portfolio"]]))
                 for f in fractions}
        print(f"mean test accuracy of the {key}, portfolio / none:",
              ", ".join(f"{int(f * 100)}%: {a:.3f} / {b:.3f}" for f, (a, b) in means.items()))
    if gaps:
        print(f"final ensemble - best single model (test accuracy, both arms, n={len(gaps)}): "
              f"mean {np.mean(gaps):+.4f}, min {np.min(gaps):+.4f}, max {np.max(gaps):+.4f}")
        print(f"ensembles with a traditional learner: {trad_used}/{len(gaps)}; "
              f"mean traditional weight {np.mean(trad_weights):.2f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--matrix", type=Path, default=DEFAULT_PORTFOLIO.with_name("portfolio_matrix.json"))
    parser.add_argument("--datasets", required=True, help="comma-separated names from the suite")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--max-rows", type=int, default=1500)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--fractions", type=lambda text: tuple(float(f) for f in text.split(",")),
                        default=FRACTIONS, help="points of the budget to measure at, e.g. 0.1,0.5,1")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench_portfolio")
    args = parser.parse_args(argv)
    matrix = json.loads(args.matrix.read_text())
    suite = {d.name: d for d in read_suite(args.suite)}
    names = args.datasets.split(",")
    unknown = [n for n in names if n not in suite or n not in matrix["datasets"]]
    if unknown:
        sys.exit(f"error: datasets {unknown} are not in both the suite and the matrix")
    results = []
    for name in names:
        results.append(bench_dataset(suite[name], matrix, args))
        print(f"{name}: done", flush=True)
    (args.out / "summary.json").write_text(json.dumps(results, indent=1))
    summarise(results, args.budget, args.fractions)


if __name__ == "__main__":
    main()
