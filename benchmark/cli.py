"""``python -m benchmark``: run, setup, prefetch, table, report, status, lcbench."""
from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
import time
from pathlib import Path

DEFAULT_FRAMEWORKS = "constantpredictor,randomforest,lightgbm,autodl"


def build_parser() -> argparse.ArgumentParser:
    from benchmark.checks import OneLineParser, finite_positive_float, non_negative_int, parse_folds, positive_int

    p = OneLineParser(prog="python -m benchmark", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    run = sub.add_parser("run", help="run every (framework, task, fold, seed) job; resumes an existing --out")
    run.add_argument("--suite", default="demo", help="demo, openml-cc18, amlb-classification, openml/t/<id> or a suite YAML")
    run.add_argument("--framework", default=DEFAULT_FRAMEWORKS, help=f"comma-separated (default {DEFAULT_FRAMEWORKS})")
    run.add_argument("--task", default=None, help="comma-separated task names or ids of the suite to run (default all)")
    run.add_argument("--budget", type=finite_positive_float, default=30, help="seconds per job for fit + predict (production: 3600)")
    run.add_argument("--cores", type=positive_int, default=1, help="cores per job")
    run.add_argument("--memory", type=positive_int, default=4096, help="memory limit per job in MB")
    run.add_argument("--gpus", type=non_negative_int, default=0, help="GPUs per job")
    run.add_argument("--seeds", type=positive_int, default=1, help="number of seeds (0..N-1)")
    run.add_argument("--folds", type=parse_folds, default=[0], help="folds, e.g. 0 or 0-9 or 0,3 (default 0)")
    run.add_argument("--jobs", type=positive_int, default=1, help="jobs in parallel on this machine (jobs x cores <= machine cores)")
    run.add_argument("--out", type=Path, default=None, help="run folder (default results/<suite>-<date>)")
    run.add_argument("--cache-dir", type=Path, default=None, help="OpenML cache root (default $OPENML_CACHE_DIR or ~/.cache/openml)")
    run.add_argument("--rerun-failed", action="store_true", help="run failed jobs again")
    run.add_argument("--executor", choices=["local", "slurm"], default="local")
    run.add_argument("--profile", type=Path, default=None, help="SLURM cluster profile YAML (with --executor slurm)")
    run.add_argument("--dry-run", action="store_true", help="plan (and with slurm write submission scripts) without running")
    run.add_argument("--autodl-workers", type=int, default=1, help="SLURM: spread each autodl search over N array tasks")
    run.add_argument("--no-wait", action="store_true", help="SLURM: submit and return (follow with status, resume with run)")

    setup = sub.add_parser("setup", help="build each framework's own environment (idempotent)")
    setup.add_argument("frameworks", nargs="+")

    pre = sub.add_parser("prefetch", help="fill the OpenML cache (data and splits) on a machine with internet")
    pre.add_argument("--suite", required=True)
    pre.add_argument("--cache-dir", type=Path, default=None)

    for name, helptext in (("table", "the comparison table"), ("status", "done / failed / running / pending")):
        sp = sub.add_parser(name, help=helptext)
        sp.add_argument("run_dir", type=Path)
        if name == "table":
            sp.add_argument("--format", choices=["md", "latex", "csv"], default="md")

    rep = sub.add_parser("report", help="HTML report with tables, statistics and plots")
    rep.add_argument("run_dirs", type=Path, nargs="+")
    rep.add_argument("--out", type=Path, default=None)
    from benchmark.lcbench import add_parser as add_lcbench_parser
    add_lcbench_parser(sub)
    return p


def cmd_run(args) -> int:
    from benchmark.checks import RunError
    from benchmark.execute import Limits
    from benchmark.runner import RunPlan
    from benchmark.suites import resolve_suite
    from frameworks.base import Constraint

    slurm_only = [flag for flag, used in (("--profile", args.profile is not None), ("--no-wait", args.no_wait),
                                          ("--autodl-workers", args.autodl_workers != 1)) if used]
    if args.executor != "slurm" and slurm_only:
        raise RunError(f"{', '.join(slurm_only)} only apply with --executor slurm; add --executor slurm or drop them")
    suite = resolve_suite(args.suite, args.cache_dir)
    suite = suite.select(args.task.split(",") if args.task else None)
    frameworks = [f.strip() for f in args.framework.split(",") if f.strip()]
    budget = int(args.budget) if float(args.budget).is_integer() else args.budget
    out = args.out or Path("results") / f"{Path(suite.name).stem.replace('/', '-')}-{dt.date.today():%Y%m%d}"
    out = out.resolve()   # job processes and SLURM array tasks run in other folders
    plan = RunPlan(suite, frameworks, Constraint(budget, args.cores, args.memory, args.gpus), args.folds,
                   list(range(args.seeds)), out, args.jobs, args.rerun_failed, Limits())
    if args.executor == "slurm":
        from slurm.executor import SlurmOptions, run_slurm  # noqa: PLC0415 - optional backend
        options = SlurmOptions.load(args.profile, args.autodl_workers, wait=not args.no_wait)
        return run_slurm(plan, options, plan_only=args.dry_run)
    if args.dry_run:
        from benchmark.checks import validate
        validate(plan)
        print(f"{len(plan.jobs())} jobs: {len(frameworks)} frameworks x {len(suite.tasks)} tasks x "
              f"{len(plan.folds)} folds x {len(plan.seeds)} seeds, {args.jobs} at a time, into {out}")
        return 0
    return _run_local(plan)


def _run_local(plan) -> int:
    from benchmark.progress import Progress
    from benchmark.runner import run_local

    def announce(jobs):
        print(f"{len(jobs)} jobs to run into {plan.out} ({len(plan.jobs()) - len(jobs)} already recorded)", flush=True)
        progress.start(jobs)

    with Progress() as progress:
        outcome = run_local(plan, progress.row, announce)
    if outcome.interrupt.signum:
        return _interrupted(plan, outcome.interrupt)
    return _print_table(plan.out)


def _interrupted(plan, interrupt) -> int:
    from benchmark.results import read_results

    done = len(set(read_results(plan.out)["job"]) & {j.key for j in plan.jobs()})
    argv = [a for a in sys.argv[1:]]
    if "--out" not in argv:
        argv += ["--out", str(plan.out)]
    print(f"interrupted by {interrupt.name}: {done} of {len(plan.jobs())} jobs recorded, "
          f"{len(plan.jobs()) - done} pending; resume with: python -m benchmark {shlex.join(argv)}",
          file=sys.stderr, flush=True)
    return interrupt.exit_code


def _print_table(run_dir: Path) -> int:
    from benchmark.results import read_results
    from benchmark.table import comparison_table, framework_summary

    df = read_results(run_dir)
    print(comparison_table(df, "md"))
    summary = framework_summary(df)
    if not summary.empty:
        print(summary.to_string())
    return 0


def cmd_table(args) -> int:
    from benchmark.results import read_results
    from benchmark.runfolder import read_identity
    from benchmark.table import comparison_table

    read_identity(args.run_dir)
    if args.format == "md":
        return _print_table(args.run_dir)
    sys.stdout.write(comparison_table(read_results(args.run_dir), args.format))
    return 0


def cmd_status(args) -> int:
    from benchmark.status import print_status
    return print_status(args.run_dir)


def cmd_setup(args) -> int:
    from benchmark.runner import prepare_frameworks
    from frameworks.registry import check_frameworks, get_framework

    check_frameworks(args.frameworks)
    errors = prepare_frameworks(args.frameworks)
    for name in args.frameworks:
        print(f"{name}: {'FAILED: ' + errors[name] if name in errors else 'ready, version ' + get_framework(name).version()}")
    return 1 if errors else 0


def cmd_prefetch(args) -> int:
    from benchmark.suites import prefetch, resolve_suite

    suite = resolve_suite(args.suite, args.cache_dir)
    t0 = time.time()
    fetched = prefetch(suite, progress=lambda tid: print(f"fetched task {tid}", flush=True))
    print(f"{len(fetched)} task(s) fetched, {len(suite.tasks) - len(fetched)} already cached ({time.time() - t0:.0f} s)")
    return 0


def cmd_report(args) -> int:
    from benchmark.report import write_report  # noqa: PLC0415
    out = write_report(args.run_dirs, args.out)
    print(f"report written to {out}")
    return 0


def main(argv=None) -> int:
    from benchmark.runfolder import IncompatibleRun
    from benchmark.runlock import RunFolderInUse
    from benchmark.checks import RunError
    from benchmark.tasks import TaskError
    from benchmark.lcbench import cmd_lcbench

    args = build_parser().parse_args(argv)
    handler = {"run": cmd_run, "setup": cmd_setup, "prefetch": cmd_prefetch, "table": cmd_table,
               "status": cmd_status, "report": cmd_report, "lcbench": cmd_lcbench}[args.command]
    try:
        return handler(args)
    except (TaskError, RunError, IncompatibleRun, RunFolderInUse, OSError, ValueError) as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:    # before any job started (jobs are stopped by the runner's own handler)
        print("interrupted before any job started", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - a bug: one line for the user, the traceback kept in a file
        import tempfile
        import traceback

        with tempfile.NamedTemporaryFile("w", prefix="benchmark-error-", suffix=".txt", delete=False) as fh:
            traceback.print_exc(file=fh)
        print(f"internal error: {_one_line(err)} (a bug in the harness; traceback in {fh.name})", file=sys.stderr)
        return 3


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, OSError) and err.filename and str(err.filename) not in text:
        text += f": {err.filename}"
    return text
