"""The one reader of a file-suite YAML and of the data files it names (CSV, gzipped CSV, parquet).

A file suite::

    name: my-suite            # optional; defaults to the YAML file's stem
    folds: 5                  # optional; folds made locally for datasets without a test file (default 10)
    datasets:
      - name: credit          # unique within the suite; used in folder names
        path: credit.csv.gz   # relative to this YAML file (or absolute)
        target: class         # the label column
        test_path: test.csv   # optional: a fixed test file (the dataset then has one fold)
        folds: 3              # optional: overrides the suite's folds for this dataset

Every problem is a ``SuiteFileError`` (a ``ValueError``) with one line naming the file, the line
where it applies, and the fix. This module is part of the autodl library: it imports nothing from
the harness, which uses it too.
"""
from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

SUITE_KEYS = ("name", "description", "folds", "datasets")
ENTRY_KEYS = ("name", "path", "target", "test_path", "folds")
REQUIRED_KEYS = ("name", "path", "target")
TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


class SuiteFileError(ValueError):
    """A suite file, or a data file it names, cannot be used as given; the message says how to fix it."""


@dataclass(frozen=True)
class SuiteEntry:
    name: str
    path: Path                    # absolute
    target: str
    test_path: Path | None = None
    folds: int | None = None      # None: the reader's default (or one fold with a test file)


@dataclass(frozen=True)
class FileSuite:
    name: str
    path: Path
    datasets: tuple[SuiteEntry, ...]


def read_suite_file(path: str | Path) -> FileSuite:
    """Parse and check a file-suite YAML; data files are checked to exist, not read."""
    path = Path(path)
    return parse_file_suite(read_suite_yaml(path), path)


def read_suite_yaml(path: str | Path) -> dict:
    """The YAML document of a suite file, which must be a mapping."""
    path = Path(path)
    if path.is_dir():
        raise SuiteFileError(f"suite file {path} is a folder: pass the path of the suite's YAML file inside it")
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SuiteFileError(f"suite file {path} does not exist: pass a YAML file listing the datasets") from None
    except PermissionError:
        raise SuiteFileError(f"suite file {path} cannot be read (permission denied): make it readable") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SuiteFileError(f"suite file {path} cannot be read as text ({_first_line(err)}): "
                             "pass a YAML file listing the datasets") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or _first_line(err)
        raise SuiteFileError(f"suite file {path}{where} is not valid YAML ({problem}): fix the syntax there") from None
    if not isinstance(doc, dict):
        raise SuiteFileError(f"suite file {path} must be a mapping with 'name' and 'datasets' (a list of "
                             f"{{name, path, target, test_path?}}), got {_kind(doc)}")
    return doc


def parse_file_suite(doc: dict, path: str | Path) -> FileSuite:
    """Check a file-suite document read from ``path`` and resolve its data paths."""
    path = Path(path)
    where = f"suite file {path}"
    unknown = [str(k) for k in doc if k not in SUITE_KEYS]
    if unknown:
        raise SuiteFileError(f"{where}{_line(path, unknown[0])}: unknown key(s) {', '.join(map(repr, unknown))}; "
                             f"known keys: {', '.join(SUITE_KEYS)}")
    name = doc.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise SuiteFileError(f"{where}{_line(path, 'name')}: 'name' must be a non-empty string, got {_kind(name)}")
    suite_folds = _folds(doc.get("folds"), where + _line(path, "folds"))
    datasets = doc.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        raise SuiteFileError(f"{where}{_line(path, 'datasets')}: 'datasets' must be a non-empty list of "
                             f"{{name, path, target, test_path?}}, got {_kind(datasets)}")
    entries, seen = [], {}
    for i, raw in enumerate(datasets):
        entry = _entry(raw, i, path, suite_folds)
        if entry.name in seen:
            first, again = _at(path, seen[entry.name]), _at(path, i)
            raise SuiteFileError(f"{where}: dataset name {entry.name!r} appears twice ({first} and {again}); "
                                 "give each dataset its own name")
        seen[entry.name] = i
        entries.append(entry)
    return FileSuite(name, path, tuple(entries))


def _entry(raw, i: int, path: Path, suite_folds: int | None) -> SuiteEntry:
    where = f"suite file {path}{_line(path, 'datasets', i)}: dataset entry {i + 1}"
    if not isinstance(raw, dict):
        raise SuiteFileError(f"{where} must be a mapping {{name, path, target, test_path?}}, got {_kind(raw)}")
    if isinstance(raw.get("name"), str):
        where = f"suite file {path}{_line(path, 'datasets', i)}: dataset {raw['name']!r}"
    unknown = [str(k) for k in raw if k not in ENTRY_KEYS]
    if unknown:
        raise SuiteFileError(f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; "
                             f"known keys: {', '.join(ENTRY_KEYS)}")
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise SuiteFileError(f"{where} lacks {', '.join(map(repr, missing))}: each dataset needs 'name', 'path' "
                             "and 'target'")
    for key in ("name", "path", "target", "test_path"):
        value = raw.get(key)
        if (key != "test_path" or value is not None) and (not isinstance(value, str) or not value.strip()):
            hint = f"; quote it: {key}: '{value}'" if isinstance(value, (int, float)) and not isinstance(value, bool) \
                else ""
            raise SuiteFileError(f"{where}: '{key}' must be a non-empty string, got {_kind(value)}{hint}")
    name = raw["name"]
    if "/" in name or "\\" in name or name.startswith(".") or not name.isprintable():
        raise SuiteFileError(f"{where}: the name is used as a folder name, so it may not contain '/' or '\\', "
                             "start with '.' or hold control characters; rename it")
    folds = _folds(raw.get("folds"), where)
    if raw.get("test_path") is not None and folds is not None:
        raise SuiteFileError(f"{where}: 'folds' and 'test_path' exclude each other (a test file is one fold); "
                             "drop one of them")
    base = path.parent.resolve()
    data = _data_file(base / raw["path"], where)
    test = _data_file(base / raw["test_path"], where) if raw.get("test_path") is not None else None
    return SuiteEntry(name, data, raw["target"], test, folds if folds is not None or test else suite_folds)


def _data_file(file: Path, where: str) -> Path:
    if not file.name.lower().endswith(TABLE_SUFFIXES):
        raise SuiteFileError(f"{where}: {file} has an unsupported file type; use {', '.join(TABLE_SUFFIXES)}")
    if file.is_dir():
        raise SuiteFileError(f"{where}: {file} is a folder, not a data file; name the CSV or parquet file")
    if not file.exists():
        raise SuiteFileError(f"{where}: file {file} does not exist (paths are relative to the suite file's folder)")
    return file


def _folds(value, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise SuiteFileError(f"{where}: 'folds' must be a whole number of at least 2, got {_kind(value)}")
    return value


# --- data files -----------------------------------------------------------------------------------

def read_table(path: str | Path, nrows: int | None = None) -> pd.DataFrame:
    """A CSV (gzipped too) or parquet file as a data frame; one-line ``SuiteFileError`` when unreadable."""
    path = Path(path)
    parquet = _check_table_path(path)
    try:
        if parquet:
            frame = pd.read_parquet(path)
            return frame.head(nrows) if nrows is not None else frame
        return pd.read_csv(path, nrows=nrows)
    except Exception as err:   # noqa: BLE001 - every reader failure becomes one line naming the file
        raise _table_error(path, err) from None


def read_header(path: str | Path) -> list[str]:
    """The column names exactly as written, duplicates kept (pandas renames a second ``y`` to ``y.1``)."""
    path = Path(path)
    parquet = _check_table_path(path)
    try:
        if parquet:
            import pyarrow.parquet as pq

            return [str(n) for n in pq.read_schema(path).names]
        first = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
        return [str(v) for v in first.iloc[0]] if len(first) else []
    except Exception as err:   # noqa: BLE001
        raise _table_error(path, err) from None


def _check_table_path(path: Path) -> bool:
    name = path.name.lower()
    if not name.endswith(TABLE_SUFFIXES):
        raise SuiteFileError(f"{path}: unsupported file type; use .csv, .csv.gz, .parquet or .pq")
    if path.is_dir():
        raise SuiteFileError(f"{path} is a folder, not a data file; name the CSV or parquet file")
    if not path.exists():
        raise SuiteFileError(f"{path} does not exist")
    parquet = name.endswith((".parquet", ".pq"))
    if not parquet and b"\0" in _head(path):
        raise SuiteFileError(f"{path} holds binary data, not CSV text: save it as a UTF-8 CSV")
    return parquet


def _head(path: Path, size: int = 8192) -> bytes:
    """The first bytes of a CSV file, decompressed when it ends in .gz."""
    try:
        with (gzip.open(path) if path.name.lower().endswith(".gz") else path.open("rb")) as fh:
            return fh.read(size)
    except Exception as err:   # noqa: BLE001
        raise _table_error(path, err) from None


def _table_error(path: Path, err: Exception) -> SuiteFileError:
    if isinstance(err, PermissionError):
        return SuiteFileError(f"{path} cannot be read (permission denied): make it readable (chmod +r)")
    if isinstance(err, pd.errors.EmptyDataError):
        return SuiteFileError(f"{path} is empty (not even a header line): write a header and data rows")
    if isinstance(err, (gzip.BadGzipFile, EOFError, zlib.error)):
        return SuiteFileError(f"{path} is not a valid gzip file (corrupt or truncated): write it again "
                              "or drop the .gz ending if it is plain CSV")
    if isinstance(err, UnicodeDecodeError):
        return SuiteFileError(f"{path} is not UTF-8 text (binary data or another encoding): "
                              "save it as a UTF-8 CSV")
    if isinstance(err, pd.errors.ParserError):
        return SuiteFileError(f"{path} cannot be parsed as CSV ({_first_line(err)}): fix that line")
    if path.name.lower().endswith((".parquet", ".pq")):
        return SuiteFileError(f"{path} is not a readable parquet file ({_first_line(err)}): write it again")
    return SuiteFileError(f"{path} cannot be read ({type(err).__name__}: {_first_line(err)})")


# --- messages -------------------------------------------------------------------------------------

def _kind(value) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _at(path: Path, index: int) -> str:
    return _line(path, "datasets", index).strip() or f"entry {index + 1}"


def _line(path: Path, key: str, index: int | None = None) -> str:
    """`` line N`` of a top-level key (or of item ``index`` of its list) in a suite file, for messages."""
    try:
        node = yaml.compose(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ""
    if not isinstance(node, yaml.MappingNode):
        return ""
    for k, v in node.value:
        if k.value == key:
            if index is None:
                return f" line {k.start_mark.line + 1}"
            if isinstance(v, yaml.SequenceNode) and index < len(v.value):
                return f" line {v.value[index].start_mark.line + 1}"
    return ""
