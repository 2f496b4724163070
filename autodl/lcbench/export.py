"""LCBench's data layout and a tidy table.

LCBench's `api.py` reads one JSON ``{dataset: {config_id: {"config", "log", "results"}}}``:
``log`` maps each per-epoch tag (``epoch``, ``time``, ``Train/...``) to a list over epochs,
``results`` holds the ``final_*`` metrics and dataset-level entries (``OpenML_task_id``,
``instances``, ``features``, ``classes``, ``model_parameters``, ...). The tidy table has one row
per (dataset, config_id, epoch): the configuration as ``config/<name>`` columns, then the tags.

Scale: LCBench stores accuracies in percent (``Train/train_accuracy``, ``Train/val_accuracy``,
``Train/test_result`` and ``final_{train,val,test}_accuracy``, 0-100) and balanced accuracies as
fractions (0-1). A sample folder's run files keep the trainer's fractions; ``collect_runs`` returns
them in LCBench's scale, so everything exported (JSON, parquet) reads like LCBench's own files.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from autodl.lcbench.sample import write_json_atomically

CONFIG_PREFIX = "config/"
PERCENT_TAGS = ("Train/train_accuracy", "Train/val_accuracy", "Train/test_result")
PERCENT_RESULTS = ("final_train_accuracy", "final_val_accuracy", "final_test_accuracy")


def _percent(value):
    return None if value is None else 100.0 * value


def to_lcbench_scale(record: dict) -> dict:
    """{config, log, results} of a run file with accuracies in percent, as LCBench stores them."""
    log = {tag: ([_percent(v) for v in values] if tag in PERCENT_TAGS else values)
           for tag, values in record["log"].items()}
    results = {key: (_percent(value) if key in PERCENT_RESULTS else value) for key, value in record["results"].items()}
    return {"config": record["config"], "log": log, "results": results}


def collect_runs(sample_dir: Path) -> dict:
    """The per-(dataset, configuration) files of a sample folder in LCBench's layout and scale."""
    files = sorted((sample_dir / "runs").glob("*/config_*.json"))
    if not files:
        raise ValueError(f"{sample_dir}: no runs/<dataset>/config_<id>.json files; "
                         "pass the --out folder of `python -m autodl.lcbench sample`")
    data: dict = {}
    for path in files:
        record = json.loads(path.read_text())
        data.setdefault(record["dataset"], {})[str(record["config_id"])] = to_lcbench_scale(record)
    # LCBench numbers configurations 0..n-1 per dataset; keep that order
    return {name: dict(sorted(runs.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else kv[0]))
            for name, runs in sorted(data.items())}


def read_lcbench_json(path: Path) -> dict:
    """Read a JSON file in LCBench's layout (LCBench's own files or ours), checking its shape."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path}: expected LCBench's layout {{dataset: {{config_id: {{config, log, results}}}}}}")
    for dataset, runs in data.items():
        for config_id, run in (runs.items() if isinstance(runs, dict) else [(None, runs)]):
            if not isinstance(run, dict) or not {"config", "log", "results"} <= run.keys():
                raise ValueError(f"{path}: dataset {dataset!r}, config {config_id!r} is not "
                                 "{config, log, results} as in LCBench's layout")
    return data


def write_lcbench_json(data: dict, path: Path) -> None:
    write_json_atomically(Path(path), data)


def to_tidy(data: dict) -> pd.DataFrame:
    """One row per dataset, configuration and epoch."""
    rows = []
    for dataset, runs in data.items():
        for config_id, run in runs.items():
            log = run["log"]
            n = max((len(v) for v in log.values() if isinstance(v, list)), default=0)
            config = {CONFIG_PREFIX + k: v for k, v in run["config"].items()}
            for i in range(n):
                row = {"dataset": dataset, "config_id": str(config_id), **config}
                row.update({tag: (values[i] if i < len(values) else None)
                            for tag, values in log.items() if isinstance(values, list)})
                rows.append(row)
    frame = pd.DataFrame(rows)
    first = [c for c in ("dataset", "config_id", "epoch") if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


def from_tidy(frame: pd.DataFrame) -> dict:
    """Configurations and logs back from the tidy table (results are not in it: see to_tidy)."""
    config_columns = [c for c in frame.columns if c.startswith(CONFIG_PREFIX)]
    tag_columns = [c for c in frame.columns if c not in config_columns and c not in ("dataset", "config_id")]
    data: dict = {}
    for (dataset, config_id), rows in frame.groupby(["dataset", "config_id"], sort=False):
        first = rows.iloc[0]
        config = {c.removeprefix(CONFIG_PREFIX): _plain(first[c]) for c in config_columns if not _is_missing(first[c])}
        log = {tag: [_plain(v) for v in rows[tag]] for tag in tag_columns if not rows[tag].isna().all()}
        data.setdefault(dataset, {})[config_id] = {"config": config, "log": log}
    return data


def write_parquet(data: dict, path: Path) -> None:
    frame = to_tidy(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _plain(value):
    return value.item() if hasattr(value, "item") else value
