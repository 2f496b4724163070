"""python -m autodl.importance PATH --budget B [--out DIR]: rank hyperparameters by fANOVA and LPI."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autodl.importance.data import InputError, load, select_budgets


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m autodl.importance", description=__doc__)
    parser.add_argument("path", type=Path, help="autodl run folder, or a JSON file in LCBench's layout")
    parser.add_argument("--budget", required=True,
                        help="budget(s) to analyse, comma-separated, or 'all': epochs of the BOHB evaluation "
                             "for a run folder; the epoch to read validation accuracy at for LCBench data")
    parser.add_argument("--out", type=Path, help="folder for tables and plots (default: PATH's folder/importance)")
    parser.add_argument("--trees", type=int, default=64, help="trees in the random-forest surrogate (default 64)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs", action="store_true", help="also fANOVA's pairwise interactions (importance_pairs.csv)")
    return parser.parse_args(argv)


def default_out(path: Path) -> Path:
    return path / "importance" if path.is_dir() else path.parent / f"{path.stem}_importance"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.trees < 1:
        print("error: --trees must be at least 1", file=sys.stderr)
        return 2
    try:
        study = load(args.path)
        budgets = select_budgets(study, args.budget)
        from autodl.importance.analysis import analyse  # sklearn and matplotlib only once the input is valid
        from autodl.importance.report import ranking_text, write_outputs

        importance = analyse(study, budgets, n_trees=args.trees, seed=args.seed, pairs=args.pairs)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for note in importance.notes:
        print(note, file=sys.stderr)
    print(ranking_text(importance, study))
    for path in write_outputs(importance, study, args.out or default_out(args.path)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
