"""python -m autodl.lcbench {sample, export}: build an LCBench-style learning-curve dataset.

  sample --suite SUITE --configs N --epochs 50 --out DIR [--workers W] [--datasets a,b] [--seed S]
         [--executor slurm --profile slurm/profiles/NAME.yaml [--unit-minutes M] [--memory MB] [--no-wait]]
  export SOURCE [--json FILE] [--parquet FILE]   SOURCE: a sample folder, or an LCBench-layout JSON
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m autodl.lcbench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample", help="evaluate random LCBench configurations on a suite")
    sample.add_argument("--suite", required=True, help="suite name, openml/t/<id>, or a file-suite YAML")
    sample.add_argument("--configs", type=int, required=True, help="number of random configurations")
    sample.add_argument("--epochs", type=int, default=50)
    sample.add_argument("--out", type=Path, required=True, help="sample folder (rerun with it to resume)")
    sample.add_argument("--workers", type=int, default=1, help="local worker processes (each uses 1 thread)")
    sample.add_argument("--datasets", help="comma-separated subset of the suite's datasets")
    sample.add_argument("--seed", type=int, default=0, help="seed of the configurations and of training")
    sample.add_argument("--executor", choices=["local", "slurm"], default="local")
    sample.add_argument("--profile", help="SLURM cluster profile YAML (slurm/profiles/); default: the default partition")
    sample.add_argument("--unit-minutes", type=int, default=60, help="SLURM time limit of one evaluation (minutes)")
    sample.add_argument("--memory", type=int, default=4096, help="SLURM memory of one evaluation (MB)")
    sample.add_argument("--no-wait", action="store_true", help="SLURM: return once the array is submitted")
    export = commands.add_parser("export", help="write LCBench's JSON layout and/or a tidy parquet table")
    export.add_argument("source", type=Path, help="a sample folder, or an LCBench-layout .json (import)")
    export.add_argument("--json", type=Path, help="LCBench-layout JSON to write")
    export.add_argument("--parquet", type=Path, help="tidy parquet table to write (one row per dataset, config, epoch)")
    return parser.parse_args(argv)


def cmd_sample(args) -> int:
    from autodl.lcbench.datasets import resolve_datasets

    for name, value, low in (("--configs", args.configs, 1), ("--epochs", args.epochs, 1), ("--workers", args.workers, 1),
                             ("--unit-minutes", args.unit_minutes, 1), ("--memory", args.memory, 64)):
        if value < low:
            print(f"error: {name} must be at least {low}, got {value}", file=sys.stderr)
            return 2
    try:
        tasks = resolve_datasets(args.suite, args.datasets.split(",") if args.datasets else None)
    except ValueError as err:  # benchmark's TaskError is a ValueError too
        print(f"error: {err}", file=sys.stderr)
        return 2
    from autodl.lcbench.sample import run_sample

    slurm = None
    if args.executor == "slurm":
        slurm = {"profile_path": args.profile, "minutes": args.unit_minutes, "memory_mb": args.memory,
                 "wait": not args.no_wait}
    elif args.profile or args.no_wait:
        print("error: --profile and --no-wait go with --executor slurm", file=sys.stderr)
        return 2
    try:
        done, skipped, failures = run_sample(tasks, args.configs, args.epochs, args.out,
                                             seed=args.seed, workers=args.workers, slurm=slurm)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{done} evaluated, {skipped} skipped (already done), {len(failures)} failed; files in {args.out / 'runs'}")
    return 1 if failures else 0


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


if __name__ == "__main__":
    sys.exit(main())
