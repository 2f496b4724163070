"""Suites: named lists of tasks. Their structure is checked here; their data in ``benchmark.checks``.

- ``demo``, ``openml-cc18``, ``amlb-classification``: frozen in ``benchmark/suites/*.yaml``;
- ``openml/t/<id>``: one OpenML task;
- a path to a file suite ``{name: ..., datasets: [{name, path, target, test_path?, folds?}]}`` whose
  data paths are relative to the YAML file (read by ``autodl.suite_file``, the one reader).

OpenML tasks are named by their dataset (read offline from openml-python's cache), ``t<id>`` when
the task is not cached yet; ``--task`` takes that name, the task id or ``t<id>``.
"""
from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from autodl import suite_file
from benchmark.tasks import (N_FOLDS, SKLEARN_DATASETS, TaskError, TaskSpec, configure_openml, openml_cached,
                             openml_task_info)

SUITES_DIR = Path(__file__).parent / "suites"
DEFAULT_CACHE = Path(os.environ.get("OPENML_CACHE_DIR", Path.home() / ".cache" / "openml"))


@dataclass
class Suite:
    name: str
    tasks: list[TaskSpec]
    path: Path | None = None     # the suite file, for messages that name it

    def select(self, names: list[str] | None) -> "Suite":
        """The tasks named (by name, OpenML task id or ``t<id>``), in the suite's order."""
        if not names:
            return self
        chosen: dict[str, str] = {}          # task name -> how it was asked for
        unknown = []
        for asked in names:
            task = next((t for t in self.tasks if asked in _aliases(t)), None)
            if task is None:
                unknown.append(asked)
            elif task.name in chosen:
                raise TaskError(f"--task names task {task.name} twice ({chosen[task.name]!r} and {asked!r}); "
                                "name each task once")
            else:
                chosen[task.name] = asked
        if unknown:
            raise TaskError(f"unknown task(s) {', '.join(unknown)} in suite {self.name}; "
                            f"known: {', '.join(t.name for t in self.tasks)}")
        return Suite(self.name, [t for t in self.tasks if t.name in chosen], self.path)


def _aliases(task: TaskSpec) -> set[str]:
    if task.source == "openml":
        return {task.name, task.ref, f"t{task.ref}"}
    return {task.name, task.ref}


def builtin_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def resolve_suite(suite: str, cache_dir: str | Path | None = None) -> Suite:
    """Turn a suite name, ``openml/t/<id>`` or a suite YAML path into tasks (no data is loaded)."""
    cache = str(Path(cache_dir or DEFAULT_CACHE).resolve())
    if suite.startswith("openml/t/"):
        tid = suite.removeprefix("openml/t/")
        if not tid.isdigit():
            raise TaskError(f"bad OpenML task {suite!r}: expected openml/t/<integer id>, e.g. openml/t/31")
        return Suite(suite, openml_tasks([int(tid)], cache))
    if suite in builtin_suites():
        return _from_yaml(SUITES_DIR / f"{suite}.yaml", cache)
    path = Path(suite)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return _from_yaml(path, cache)
    raise TaskError(f"unknown suite {suite!r}; use one of {', '.join(builtin_suites())}, "
                    "openml/t/<task id>, or a path to a suite YAML file")


def openml_tasks(ids: list[int], cache: str) -> list[TaskSpec]:
    """OpenML tasks named by their cached dataset name (else ``t<id>``), unique within the list:
    datasets sharing a name get ``-t<id>`` appended."""
    infos = [openml_task_info(tid, cache) for tid in ids]
    names = [_folder_name(name) or f"t{tid}" for (name, _), tid in zip(infos, ids)]
    shared = {n for n in names if names.count(n) > 1}
    return [TaskSpec(name=f"{n}-t{tid}" if n in shared else n, source="openml", ref=str(tid), cache_dir=cache,
                     n_folds=folds or N_FOLDS) for n, (_, folds), tid in zip(names, infos, ids)]


def name_openml_tasks(suite: Suite) -> Suite:
    """The suite with its OpenML tasks named (and their folds counted) again from the cache, after a
    prefetch filled it."""
    openml = [t for t in suite.tasks if t.source == "openml"]
    if not openml:
        return suite
    renamed = iter(openml_tasks([int(t.ref) for t in openml], openml[0].cache_dir))
    return Suite(suite.name, [next(renamed) if t.source == "openml" else t for t in suite.tasks], suite.path)


def _folder_name(name: str | None) -> str | None:
    """A dataset name made safe as a folder name (OpenML names are mostly safe already)."""
    if not name:
        return None
    safe = re.sub(r"[^A-Za-z0-9._()+=-]+", "_", name).strip("._") or None
    return safe


def _from_yaml(path: Path, cache: str) -> Suite:
    try:
        doc = suite_file.read_suite_yaml(path)
        if "openml_tasks" in doc:
            return Suite(_suite_name(doc, path), openml_tasks(_task_ids(doc["openml_tasks"], path), cache))
        if "sklearn_datasets" in doc:
            return Suite(_suite_name(doc, path), [TaskSpec(name=d, source="sklearn", ref=d, target="class")
                                                  for d in doc["sklearn_datasets"] if _known_sklearn(d)])
        parsed = suite_file.parse_file_suite(doc, path)
    except suite_file.SuiteFileError as err:
        raise TaskError(str(err)) from None
    return Suite(parsed.name, [_file_task(entry) for entry in parsed.datasets], path)


def _suite_name(doc: dict, path: Path) -> str:
    name = doc.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise TaskError(f"suite file {path}: 'name' must be a non-empty string")
    return name


def _task_ids(ids, path: Path) -> list[int]:
    if not isinstance(ids, list) or not ids or not all(isinstance(t, int) and not isinstance(t, bool) and t > 0
                                                       for t in ids):
        raise TaskError(f"suite file {path}: 'openml_tasks' must be a non-empty list of OpenML task ids (integers)")
    twice = sorted({t for t in ids if ids.count(t) > 1})
    if twice:
        raise TaskError(f"suite file {path}: OpenML task(s) {', '.join(map(str, twice))} listed twice; list each once")
    return ids


def _known_sklearn(name: str) -> bool:
    if name not in SKLEARN_DATASETS:
        raise TaskError(f"unknown scikit-learn dataset {name!r}; choose from {', '.join(SKLEARN_DATASETS)}")
    return True


def _file_task(entry: suite_file.SuiteEntry) -> TaskSpec:
    folds = 1 if entry.test_path else (entry.folds or N_FOLDS)
    return TaskSpec(name=entry.name, source="file", ref=str(entry.path), target=entry.target,
                    test_path=str(entry.test_path) if entry.test_path else None, n_folds=folds)


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


def ensure_cached(suite: Suite) -> list[str]:
    """Fail before any job starts when OpenML tasks are missing and OpenML cannot be reached.
    Returns the task ids fetched now (their tasks can then be named by their dataset)."""
    missing = missing_from_cache(suite)
    if not missing:
        return []
    if openml_reachable():
        return prefetch(suite)
    cache = next(t.cache_dir for t in suite.tasks if t.source == "openml")
    raise TaskError(f"OpenML task(s) {', '.join(missing)} are not in the cache {cache} and OpenML cannot be "
                    f"reached; on a machine with internet run: python -m benchmark prefetch --suite {suite.name} "
                    f"--cache-dir {cache}")
