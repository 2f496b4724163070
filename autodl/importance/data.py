"""Read evaluations for importance analysis: autodl (hpbandster) run folders and LCBench-layout JSON.

Both become a Study: for each group (a dataset, or the one run) and budget, the configurations
evaluated there and one performance value each.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from autodl.importance.params import Param, infer_params, params_from_configspace

LCBENCH_METRIC = "Train/val_accuracy"


class InputError(ValueError):
    """Input that cannot be analysed; the message says what is wrong and how to fix it."""


@dataclass
class Study:
    source: str  # "autodl-run" or "lcbench"
    metric: str
    maximize: bool
    params: list[Param]
    budget_unit: str
    # One row per (group, budget, config_id) evaluation: columns group, budget, config_id, y.
    evaluations: pd.DataFrame
    configs: dict[str, pd.DataFrame]  # group -> configurations indexed by config_id
    notes: list[str] = field(default_factory=list)

    @property
    def budgets(self) -> list[float]:
        return sorted(self.evaluations["budget"].unique().tolist())

    @property
    def groups(self) -> list[str]:
        return sorted(self.evaluations["group"].unique().tolist())

    def table(self, group: str, budget: float) -> tuple[pd.DataFrame, np.ndarray]:
        """Configurations evaluated for `group` at `budget` and their performance values."""
        rows = self.evaluations[(self.evaluations["group"] == group) & (self.evaluations["budget"] == budget)]
        return self.configs[group].loc[rows["config_id"].tolist()].reset_index(drop=True), rows["y"].to_numpy(float)

    def all_configs(self) -> pd.DataFrame:
        return pd.concat(list(self.configs.values()), ignore_index=True)


def load(path: str | Path) -> Study:
    """An autodl run folder or an LCBench-layout JSON file."""
    path = Path(path)
    if path.is_dir():
        return load_autodl_run(path)
    if path.is_file() and path.suffix == ".json":
        return load_lcbench_json(path)
    raise InputError(f"{path}: not found or not a run folder / .json file; pass an autodl run folder "
                     "(with hpbandster's configs.json and results.json) or an LCBench-layout .json file")


def _find_logger_folder(run: Path) -> Path:
    if (run / "results.json").is_file() and (run / "configs.json").is_file():
        return run
    found = sorted({p.parent for p in run.rglob("results.json") if (p.parent / "configs.json").is_file()})
    if len(found) == 1:
        return found[0]
    if not found:
        raise InputError(f"{run}: no configs.json + results.json (hpbandster's json_result_logger) in this folder "
                         "or below; pass the folder of an autodl run")
    raise InputError(f"{run}: several BOHB logs below ({', '.join(str(f) for f in found)}); pass one of those folders")


def _read_json_lines(path: Path) -> list:
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise InputError(f"{path}:{number}: not a JSON line ({err.msg}); is the file truncated?") from err
    return rows


def _run_params(folder: Path, configs: pd.DataFrame, notes: list[str]) -> list[Param]:
    for candidate in (folder / "configspace.json", folder.parent / "configspace.json"):
        if candidate.is_file():
            from ConfigSpace import ConfigurationSpace

            return [p for p in params_from_configspace(ConfigurationSpace.from_json(candidate)) if p.name in configs]
    own = _autodl_space_params(configs)
    if own is not None:
        return own
    notes.append("note: no configspace.json in the run folder; hyperparameter ranges are the ranges seen in the data")
    return infer_params(configs)


def _autodl_space_params(configs: pd.DataFrame) -> list[Param] | None:
    """autodl's own search space, when every hyperparameter in the run is one of its names."""
    try:
        from autodl.space import build_space
    except ImportError:
        return None
    space = build_space()
    if not set(configs.columns) <= set(space.keys()):
        return None
    return [p for p in params_from_configspace(space) if p.name in configs.columns]


def evaluation_outcome(result, exception) -> str:
    """'ok', or why an evaluation has no loss to learn from: the worker's status (crash, timeout, memout,
    skipped: autodl records those with the worst loss as a placeholder), 'exception', or 'no loss'."""
    if exception:
        return "exception"
    status = ((result or {}).get("info") or {}).get("status", "ok")
    if status != "ok":
        return str(status)
    loss = (result or {}).get("loss")
    if loss is None or not math.isfinite(float(loss)):
        return "no loss"
    return "ok"


def load_autodl_run(run: Path) -> Study:
    """Finished evaluations of a BOHB run; the others (crashed, out of memory, cut by the deadline,
    skipped) are left out: their recorded loss is a placeholder, not a measurement."""
    folder = _find_logger_folder(run)
    configs = {tuple(entry[0]): entry[1] for entry in _read_json_lines(folder / "configs.json")}
    rows, left_out = [], Counter()
    for config_id, budget, _stamps, result, exception in _read_json_lines(folder / "results.json"):
        outcome = evaluation_outcome(result, exception)
        if outcome != "ok":
            left_out[outcome] += 1
            continue
        rows.append({"group": "run", "budget": float(budget), "config_id": str(tuple(config_id)),
                     "y": float(result["loss"])})
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(left_out.items()))
    if not rows:
        raise InputError(f"{folder}: no finished evaluations ({kinds or 'none'} in results.json); "
                         "wait for the run to finish some evaluations or pass another run folder")
    table = pd.DataFrame.from_dict({str(k): v for k, v in configs.items()}, orient="index")
    notes: list[str] = []
    if left_out:
        notes.append(f"note: {sum(left_out.values())} evaluation(s) without a measured loss left out ({kinds})")
    return Study("autodl-run", "loss", False, _run_params(folder, table, notes), "epochs",
                 pd.DataFrame(rows), {"run": table}, notes)


def _epochs(log: dict) -> list[float]:
    """Epoch numbers of a curve: the `epoch` tag when present, else 1..n."""
    any_curve = next((v for k, v in log.items() if k.startswith("Train/")), [])
    epochs = log.get("epoch") or list(range(1, len(any_curve) + 1))
    return [float(e) for e in epochs]


def load_lcbench_json(path: Path, metric: str = LCBENCH_METRIC) -> Study:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err.msg} at line {err.lineno}); pass an LCBench-layout file") from err
    layout_hint = "expected LCBench's layout {dataset: {config_id: {'config', 'log', 'results'}}}"
    if not isinstance(data, dict) or not data:
        raise InputError(f"{path}: {layout_hint}")
    columns: dict[str, list] = {"group": [], "budget": [], "config_id": [], "y": []}  # lists: LCBench has millions
    configs = {}
    for dataset, runs in data.items():
        if not isinstance(runs, dict) or not all(isinstance(r, dict) and {"config", "log"} <= r.keys() for r in runs.values()):
            raise InputError(f"{path}: dataset {dataset!r} is not {{config_id: {{'config', 'log', 'results'}}}}; {layout_hint}")
        configs[dataset] = pd.DataFrame.from_dict({cid: r["config"] for cid, r in runs.items()}, orient="index")
        for cid, run in runs.items():
            curve = run["log"].get(metric)
            if curve is None:
                raise InputError(f"{path}: dataset {dataset!r} config {cid} has no {metric!r} curve in its log")
            for epoch, value in zip(_epochs(run["log"]), curve):
                if value is not None and math.isfinite(float(value)):
                    for key, item in (("group", dataset), ("budget", epoch), ("config_id", cid), ("y", float(value))):
                        columns[key].append(item)
    if not columns["y"]:
        raise InputError(f"{path}: no finished evaluations (every {metric!r} curve is empty)")
    notes: list[str] = []
    all_configs = pd.concat(list(configs.values()), ignore_index=True)
    return Study("lcbench", metric, True, _lcbench_params(all_configs, notes), "epoch",
                 pd.DataFrame(columns), configs, notes)


def _lcbench_params(configs: pd.DataFrame, notes: list[str]) -> list[Param]:
    from autodl.lcbench.space import HYPERPARAMETERS, lcbench_params

    if set(HYPERPARAMETERS) <= set(configs.columns):
        return lcbench_params()
    notes.append("note: the configurations do not hold LCBench's 7 hyperparameters; ranges are the ranges seen in the data")
    numeric_or_text = configs.loc[:, [c for c in configs.columns if configs[c].map(np.isscalar).all()]]
    return infer_params(numeric_or_text)


def select_budgets(study: Study, requested: str) -> list[float]:
    """Parse --budget ('all' or comma-separated numbers) against the budgets in the data."""
    available = study.budgets
    if requested.strip().lower() == "all":
        return available
    chosen = []
    for token in requested.split(","):
        try:
            value = float(token)
        except ValueError:
            raise InputError(f"--budget {requested!r}: {token!r} is not a number; give e.g. --budget 50 or 12.5,25,50 or all") from None
        match = [b for b in available if math.isclose(b, value, rel_tol=1e-9, abs_tol=1e-9)]
        if not match:
            raise InputError(f"budget {token} is not in the data; {study.budget_unit} available: {format_budgets(available)}")
        chosen.append(match[0])
    return chosen


def format_budgets(budgets: list[float]) -> str:
    text = [f"{b:g}" for b in budgets]
    consecutive = len(budgets) > 3 and all(b == round(b) for b in budgets) and np.all(np.diff(budgets) == 1)
    return f"{text[0]}-{text[-1]}" if consecutive else ", ".join(text)
