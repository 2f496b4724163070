"""python -m autodl.lcbench {sample, export}: build an LCBench-style learning-curve dataset.

  sample --suite SUITE.yaml --configs N --epochs 50 --out DIR [--workers W] [--datasets a,b] [--seed S]
  export SOURCE [--json FILE] [--parquet FILE]   SOURCE: a sample folder, or an LCBench-layout JSON

SUITE.yaml is a file suite (autodl.suite_file). Named suites (demo, openml-cc18, openml/t/<id>)
and SLURM arrays are the harness's: python -m benchmark lcbench --suite SUITE ... [--executor slurm].
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_sample_arguments(parser) -> None:
    """The sampling options shared by this command and the harness's ``python -m benchmark lcbench``."""
    parser.add_argument("--configs", type=int, required=True, help="number of random configurations")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--out", type=Path, required=True, help="sample folder (rerun with it to resume)")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes (each uses 1 thread)")
    parser.add_argument("--datasets", help="comma-separated subset of the suite's datasets")
    parser.add_argument("--seed", type=int, default=0, help="seed of the configurations and of training")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m autodl.lcbench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample", help="evaluate random LCBench configurations on a suite")
    sample.add_argument("--suite", required=True, type=Path, help="a file-suite YAML (name, datasets: [{name, path, target}])")
    add_sample_arguments(sample)
    export = commands.add_parser("export", help="write LCBench's JSON layout and/or a tidy parquet table")
    export.add_argument("source", type=Path, help="a sample folder, or an LCBench-layout .json (import)")
    export.add_argument("--json", type=Path, help="LCBench-layout JSON to write")
    export.add_argument("--parquet", type=Path, help="tidy parquet table to write (one row per dataset, config, epoch)")
    return parser.parse_args(argv)


def check_counts(args) -> str | None:
    """The first count below its minimum, as an error message (shared with ``python -m benchmark lcbench``)."""
    for name, value, low in (("--configs", args.configs, 1), ("--epochs", args.epochs, 1),
                             ("--workers", args.workers, 1)):
        if value < low:
            return f"{name} must be at least {low}, got {value}"
    return None


def sample_with(datasets_of, args, submit, where: str) -> int:
    """Resolve the datasets (``datasets_of()``), run the sample, print the summary; the exit code."""
    from autodl.lcbench.datasets import select
    from autodl.lcbench.sample import run_sample

    try:
        datasets = select(datasets_of(), args.datasets.split(",") if args.datasets else None, str(args.suite))
        done, skipped, failures = run_sample(datasets, args.configs, args.epochs, args.out, seed=args.seed,
                                             submit=submit, where=where)
    except ValueError as err:   # suite and manifest problems (SuiteFileError and the harness's TaskError too)
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{done} evaluated, {skipped} skipped (already done), {len(failures)} failed; files in {args.out / 'runs'}")
    return 1 if failures else 0


def cmd_sample(args) -> int:
    from autodl.lcbench.datasets import file_datasets
    from autodl.lcbench.sample import local_submit

    problem = check_counts(args)
    if problem is None and args.suite.suffix not in (".yaml", ".yml"):
        problem = (f"--suite {args.suite}: autodl reads file suites (a .yaml file); for named suites and OpenML "
                   f"tasks run `python -m benchmark lcbench --suite {args.suite} ...`")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return sample_with(lambda: file_datasets(args.suite), args, local_submit(args.workers),
                       f"with {args.workers} worker(s)")


def cmd_export(args) -> int:
    from autodl.lcbench.export import collect_runs, read_lcbench_json, write_lcbench_json, write_parquet

    if not args.json and not args.parquet:
        print("error: nothing to write; pass --json FILE and/or --parquet FILE", file=sys.stderr)
        return 2
    try:
        if args.source.is_dir():
            data = collect_runs(args.source)
        elif args.source.suffix == ".json" and args.source.is_file():
            data = read_lcbench_json(args.source)
        else:
            raise ValueError(f"{args.source}: pass a sample folder or an LCBench-layout .json file")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    runs = sum(len(r) for r in data.values())
    if args.json:
        write_lcbench_json(data, args.json)
        print(f"wrote {args.json} ({len(data)} datasets, {runs} runs)")
    if args.parquet:
        write_parquet(data, args.parquet)
        print(f"wrote {args.parquet}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return cmd_sample(args) if args.command == "sample" else cmd_export(args)
