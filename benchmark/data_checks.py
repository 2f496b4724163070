"""Checks of each task's data before any job runs: its files are read once and whatever would make
every job of the task fail, or score it wrongly, is refused in one line naming the file (and line
or column) and the fix.

Decisions (also in README, "Data checks"):
- a missing target value is refused, naming the count and the first file lines;
- infinite feature values become missing values in every job (``TaskSpec.load_fold``); the check
  prints how many there are;
- a target column named twice in a header is refused (pandas would turn the copy into a feature);
- a class with fewer rows than the locally made folds is refused, naming the largest fold count
  that works (a file suite's ``folds:``);
- a test file must have the train file's columns, and only labels seen in training.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.suites import Suite
from benchmark.tasks import (TaskError, TaskSpec, infinite_counts, load_openml, load_sklearn, openml_cached,
                             read_header, read_table)

SHOWN = 5                # rows, columns or labels named in a message


def check_data(suite: Suite, folds: list[int], log=print) -> None:
    """Load each task's data once and refuse what would make every job of it fail or mislead."""
    for task in suite.tasks:
        check_task(task, folds, log, suite.path)


def check_task(task: TaskSpec, folds: list[int], log=print, suite_path: Path | None = None) -> None:
    if task.source == "file":
        _check_file_task(task, log, suite_path)
    elif task.source == "sklearn":
        frame = load_sklearn(task.ref)
        _check_labelled(frame, "class", f"scikit-learn dataset {task.ref}", _rows)
        _check_class_sizes(frame["class"], task, f"scikit-learn dataset {task.ref}", suite_path)
    elif task.source == "openml" and openml_cached(int(task.ref), task.cache_dir):
        _check_openml_task(task, folds, log)


def _check_file_task(task: TaskSpec, log, suite_path: Path | None) -> None:
    train = _checked_table(Path(task.ref), task.target, log)
    if not task.test_path:
        _check_class_sizes(train[task.target], task, task.ref, suite_path)
        return
    test_file = Path(task.test_path)
    test = _checked_table(test_file, task.target, log)
    missing = [str(c) for c in train.columns if c not in test.columns]
    extra = [str(c) for c in test.columns if c not in train.columns]
    if missing or extra:
        what = "; ".join(filter(None, [missing and f"missing {_names(missing)}", extra and f"extra {_names(extra)}"]))
        raise TaskError(f"{test_file}: columns differ from the train file {Path(task.ref).name}: {what}; "
                        "give both files the same header")
    unseen = sorted(set(test[task.target].astype(str)) - set(train[task.target].astype(str)))
    if unseen:
        raise TaskError(f"{test_file}: label(s) {_names(unseen)} of column {task.target!r} never appear in the train "
                        f"file {Path(task.ref).name}; no framework can predict them: move such rows into training "
                        "or drop them")


def _checked_table(path: Path, target: str, log) -> pd.DataFrame:
    header = read_header(path)
    if header.count(target) > 1:
        where = ", ".join(str(i + 1) for i, c in enumerate(header) if c == target)
        raise TaskError(f"{path}: target column {target!r} appears {header.count(target)} times in the header "
                        f"(columns {where}); rename or drop the copy, or it would become a feature")
    if target not in header:
        raise TaskError(f"{path}: target column {target!r} not in {path.name} (columns: {_names(header, 20)}); "
                        "fix 'target' in the suite file")
    frame = read_table(path)
    csv = not path.name.lower().endswith((".parquet", ".pq"))
    _check_labelled(frame, target, str(path), _lines if csv else _rows)
    infinite = infinite_counts(frame, target)
    if infinite:
        log(f"{path}: {sum(infinite.values())} infinite value(s) in column(s) {_names(list(infinite))} "
            "become missing values in every job")
    return frame


def _check_labelled(frame: pd.DataFrame, target: str, where: str, rows) -> None:
    if frame.empty:
        raise TaskError(f"{where} has a header but no data rows; add rows")
    if frame.shape[1] < 2:
        raise TaskError(f"{where} has no feature columns besides the target {target!r}; add features")
    missing = frame.index[frame[target].isna().to_numpy()]
    if len(missing):
        raise TaskError(f"{where}: {len(missing)} row(s) have no value in target column {target!r} "
                        f"({rows(missing)}); fill in or drop those rows")
    classes = frame[target].astype(str).unique()
    if len(classes) < 2:
        raise TaskError(f"{where}: target column {target!r} has a single class ({classes[0]!r}); classification "
                        "needs at least two")


def _check_class_sizes(y: pd.Series, task: TaskSpec, where: str, suite_path: Path | None) -> None:
    """Locally made stratified folds need every class in every fold."""
    counts = y.astype(str).value_counts()
    rare = counts[counts < task.n_folds]
    if rare.empty:
        return
    label, count = rare.index[-1], int(rare.iloc[-1])
    if count < 2:
        raise TaskError(f"{where}: class {label!r} has {count} row, too few for any folds (each class needs 2 rows "
                        "or more); add rows of that class or drop it")
    suite = f" in {suite_path}" if suite_path else " in the suite file"
    raise TaskError(f"{where}: class {label!r} has {count} rows, fewer than the {task.n_folds} folds of task "
                    f"{task.name}; at most {count} folds work: add 'folds: {count}' to dataset {task.name!r}{suite}, "
                    "or add rows of that class")


def _check_openml_task(task: TaskSpec, folds: list[int], log) -> None:
    where = f"OpenML task {task.ref} ({task.name})"
    try:
        oml_task, frame, target = load_openml(task)
    except Exception as err:   # noqa: BLE001 - a damaged cache must not become a traceback
        raise TaskError(f"{where}: the cached files under {task.cache_dir} cannot be read "
                        f"({type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}); "
                        f"delete them and run: python -m benchmark prefetch --suite openml/t/{task.ref}") from None
    _check_labelled(frame, target, where, _rows)
    infinite = infinite_counts(frame, target)
    if infinite:
        log(f"{where}: {sum(infinite.values())} infinite value(s) in column(s) {_names(list(infinite))} "
            "become missing values in every job")
    y = frame[target].astype(str)
    for fold in folds:
        train_idx, test_idx = oml_task.get_train_test_split_indices(fold=fold)
        unseen = sorted(set(y.iloc[test_idx]) - set(y.iloc[train_idx]))
        if unseen:
            raise TaskError(f"{where}: fold {fold}'s test part holds label(s) {_names(unseen)} that its training "
                            "part lacks; no framework can predict them: choose other --folds or drop this task")


# --- message pieces --------------------------------------------------------------------------------

def _lines(index) -> str:
    """File lines of CSV data rows (the header is line 1)."""
    shown = ", ".join(str(int(i) + 2) for i in index[:SHOWN])
    return f"line{'s' if len(index) > 1 else ''} {shown}{', ...' if len(index) > SHOWN else ''}"


def _rows(index) -> str:
    shown = ", ".join(str(int(i) + 1) for i in index[:SHOWN])
    return f"row{'s' if len(index) > 1 else ''} {shown}{', ...' if len(index) > SHOWN else ''} (counting from 1)"


def _names(names: list, limit: int = SHOWN) -> str:
    shown = ", ".join(repr(str(n)) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
