"""``python -m autodl.portfolio build --suite SUITE.yaml [--out PATH] [--work DIR] ...``

``search-one`` and ``evaluate-one`` are the per-dataset steps the build runs in child processes.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from autodl.portfolio import DEFAULT_PORTFOLIO
from autodl.portfolio.build import BuildSettings, build, evaluate_dataset, read_suite, search_dataset


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autodl.portfolio", description=__doc__.split("\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    defaults = BuildSettings()
    for name, text in [("build", "build a portfolio from a suite of meta-train datasets"),
                       ("search-one", "(internal) search one dataset, record its incumbent"),
                       ("evaluate-one", "(internal) evaluate every candidate on one dataset")]:
        step = steps.add_parser(name, help=text)
        step.add_argument("--suite", required=True, type=Path, help="suite YAML: datasets with name, path, target")
        step.add_argument("--work", type=Path, default=Path("portfolio_work"),
                          help="work directory for per-dataset results and logs (resumable)")
        step.add_argument("--search-time", type=float, default=defaults.search_time,
                          help="seconds of search per dataset")
        step.add_argument("--eval-epochs", type=int, default=defaults.eval_epochs,
                          help="epochs of each candidate evaluation")
        step.add_argument("--eval-seconds", type=float, default=defaults.eval_seconds,
                          help="time cap of each candidate evaluation (over it: the worst error)")
        step.add_argument("--max-rows", type=int, default=defaults.max_rows,
                          help="larger datasets are stratified-subsampled to this many rows")
        step.add_argument("--seed", type=int, default=defaults.seed)
        if name == "build":
            step.add_argument("--out", type=Path, default=DEFAULT_PORTFOLIO, help="portfolio file to write")
            step.add_argument("--jobs", type=int, default=defaults.jobs, help="datasets processed in parallel")
            step.add_argument("--size", type=int, default=defaults.size, help="maximum portfolio size")
            step.add_argument("--search-datasets", type=int, default=None,
                              help="search only this many datasets (a seeded choice); every dataset is evaluated")
        else:
            step.add_argument("--dataset", required=True, help="name of the dataset in the suite")
    return parser


def main(argv=None) -> None:
    args = _parser().parse_args(argv)
    settings = BuildSettings(search_time=args.search_time, eval_epochs=args.eval_epochs, eval_seconds=args.eval_seconds,
                             max_rows=args.max_rows, seed=args.seed,
                             **({"jobs": args.jobs, "size": args.size, "search_datasets": args.search_datasets}
                                if args.step == "build" else {}))
    for value, name in [(settings.search_time, "--search-time"), (settings.eval_epochs, "--eval-epochs"),
                        (settings.eval_seconds, "--eval-seconds"), (settings.max_rows, "--max-rows"),
                        (settings.jobs, "--jobs"), (settings.size, "--size"),
                        (settings.search_datasets or 1, "--search-datasets")]:
        if value <= 0:
            sys.exit(f"error: {name} must be positive, got {value}")
    try:
        datasets = {d.name: d for d in read_suite(args.suite)}
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"error: {error}")
    if args.step == "build":
        command = "python -m autodl.portfolio " + shlex.join(argv if argv is not None else sys.argv[1:])
        provenance = build(args.suite, args.out, args.work, settings, command)
        print(f"wrote {args.out}: {len(provenance['sources'])} configurations from {provenance['n_candidates']} "
              f"candidates, meta-train mean error {provenance['meta_train_mean_error']:.4f}")
        return
    if args.dataset not in datasets:
        sys.exit(f"error: dataset {args.dataset!r} is not in {args.suite}; choose from {', '.join(datasets)}")
    dataset = datasets[args.dataset]
    if args.step == "search-one":
        search_dataset(dataset, args.work / "search" / f"{dataset.name}.json", args.work, settings)
    else:
        candidates = json.loads((args.work / "candidates.json").read_text())
        evaluate_dataset(dataset, candidates, args.work / "eval" / f"{dataset.name}.json", settings)


if __name__ == "__main__":
    main()
