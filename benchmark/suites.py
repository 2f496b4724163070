"""Suites: named lists of tasks. Everything is validated here, before any job starts.

- ``demo``, ``openml-cc18``, ``amlb-classification``: frozen in ``benchmark/suites/*.yaml``;
- ``openml/t/<id>``: one OpenML task;
- a path to a file suite ``{name: ..., datasets: [{name, path, target, test_path?}]}`` whose
  data paths are relative to the YAML file.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmark.tasks import (SKLEARN_DATASETS, TaskError, TaskSpec, configure_openml, openml_cached,
                             read_table)

SUITES_DIR = Path(__file__).parent / "suites"
DEFAULT_CACHE = Path(os.environ.get("OPENML_CACHE_DIR", Path.home() / ".cache" / "openml"))


@dataclass
class Suite:
    name: str
    tasks: list[TaskSpec]

    def select(self, names: list[str] | None) -> "Suite":
        if not names:
            return self
        known = {t.name for t in self.tasks} | {t.ref for t in self.tasks}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise TaskError(f"unknown task(s) {', '.join(unknown)} in suite {self.name}; "
                            f"known: {', '.join(t.name for t in self.tasks)}")
        return Suite(self.name, [t for t in self.tasks if t.name in names or t.ref in names])


def builtin_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def resolve_suite(suite: str, cache_dir: str | Path | None = None) -> Suite:
    """Turn a suite name, ``openml/t/<id>`` or a suite YAML path into tasks (no data is loaded)."""
    cache = str(Path(cache_dir or DEFAULT_CACHE).resolve())
    if suite.startswith("openml/t/"):
        tid = suite.removeprefix("openml/t/")
        if not tid.isdigit():
            raise TaskError(f"bad OpenML task {suite!r}: expected openml/t/<integer id>, e.g. openml/t/31")
        return Suite(suite, [_openml_task(int(tid), cache)])
    if suite in builtin_suites():
        return _from_yaml(SUITES_DIR / f"{suite}.yaml", cache)
    path = Path(suite)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise TaskError(f"suite file {path} does not exist")
        return _from_yaml(path, cache)
    raise TaskError(f"unknown suite {suite!r}; use one of {', '.join(builtin_suites())}, "
                    "openml/t/<task id>, or a path to a suite YAML file")


def _openml_task(tid: int, cache: str) -> TaskSpec:
    return TaskSpec(name=f"t{tid}", source="openml", ref=str(tid), cache_dir=cache)


def _from_yaml(path: Path, cache: str) -> Suite:
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise TaskError(f"suite file {path} is not valid YAML: {err}".splitlines()[0]) from None
    if not isinstance(doc, dict) or "name" not in doc:
        raise TaskError(f"suite file {path} must be a mapping with 'name' and 'datasets' "
                        "(a list of {name, path, target, test_path?})")
    name = str(doc["name"])
    if "openml_tasks" in doc:
        return Suite(name, [_openml_task(int(t), cache) for t in doc["openml_tasks"]])
    if "sklearn_datasets" in doc:
        return Suite(name, [TaskSpec(name=d, source="sklearn", ref=d, target="class") for d in doc["sklearn_datasets"]
                            if _known_sklearn(d)])
    datasets = doc.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        raise TaskError(f"suite file {path}: 'datasets' must be a non-empty list of {{name, path, target}}")
    tasks = [_file_task(entry, path.parent.resolve(), path) for entry in datasets]
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise TaskError(f"suite file {path}: dataset names must be unique")
    return Suite(name, tasks)


def _known_sklearn(name: str) -> bool:
    if name not in SKLEARN_DATASETS:
        raise TaskError(f"unknown scikit-learn dataset {name!r}; choose from {', '.join(SKLEARN_DATASETS)}")
    return True


def _file_task(entry: dict, base: Path, suite_path: Path) -> TaskSpec:
    if not isinstance(entry, dict) or not {"name", "path", "target"} <= set(entry):
        raise TaskError(f"suite file {suite_path}: each dataset needs 'name', 'path' and 'target', got {entry!r}")
    data = base / entry["path"]
    test = base / entry["test_path"] if entry.get("test_path") else None
    for p in (data, test):
        if p is not None and not p.exists():
            raise TaskError(f"suite file {suite_path}: dataset {entry['name']!r}: file {p} does not exist")
    for p in (data, test):
        if p is not None:
            columns = list(read_table(p, nrows=5).columns)
            if entry["target"] not in columns:
                raise TaskError(f"suite file {suite_path}: dataset {entry['name']!r}: target column "
                                f"{entry['target']!r} not in {p.name} (columns: {', '.join(map(str, columns[:20]))})")
    return TaskSpec(name=str(entry["name"]), source="file", ref=str(data), target=str(entry["target"]),
                    test_path=str(test) if test else None)


# --- the OpenML cache ---------------------------------------------------------------------------

def missing_from_cache(suite: Suite) -> list[str]:
    return [t.ref for t in suite.tasks if t.source == "openml" and not openml_cached(int(t.ref), t.cache_dir)]


def openml_reachable(timeout: float = 3.0) -> bool:
    try:
        socket.create_connection(("www.openml.org", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def prefetch(suite: Suite, progress=None) -> list[str]:
    """Download every OpenML task of a suite with its data and splits into the cache. Returns task ids
    fetched. ``get_dataset`` is not multiprocess-safe, so this runs before jobs fan out."""
    import openml

    fetched = []
    for spec in suite.tasks:
        if spec.source != "openml" or openml_cached(int(spec.ref), spec.cache_dir):
            continue
        configure_openml(spec.cache_dir)
        task = openml.tasks.get_task(int(spec.ref), download_splits=True, download_data=True)
        task.get_dataset(download_data=True)
        fetched.append(spec.ref)
        if progress:
            progress(spec.ref)
    return fetched


def ensure_cached(suite: Suite) -> None:
    """Fail before any job starts when OpenML tasks are missing and OpenML cannot be reached."""
    missing = missing_from_cache(suite)
    if not missing:
        return
    if openml_reachable():
        prefetch(suite)
        return
    cache = suite.tasks[0].cache_dir
    raise TaskError(f"OpenML task(s) {', '.join(missing)} are not in the cache {cache} and OpenML cannot be "
                    f"reached; on a machine with internet run: python -m benchmark prefetch --suite {suite.name} "
                    f"--cache-dir {cache}")
