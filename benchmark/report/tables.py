"""The report's tables, as DataFrames ready for HTML and LaTeX.

The paper's table itself comes from ``benchmark.table.comparison_table`` (its CSV form is parsed
into cells here, so the page and ``python -m benchmark table`` always agree).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pandas as pd

from benchmark.table import comparison_table

_CELL = re.compile(r"^(?P<text>.*?)(?P<best> \*)?(?: \[(?P<note>\d+)\])?$")


@dataclass
class Cell:
    text: str
    best: bool
    note: int | None


@dataclass
class PaperTable:
    frameworks: list[str]
    rows: list[tuple[str, list[Cell]]]
    notes: list[str]


def paper_table(df: pd.DataFrame) -> PaperTable:
    """The comparison table's cells: text (mean ± std or ``-``), whether best, footnote number."""
    if df.empty:
        return PaperTable([], [], [])
    text = comparison_table(df, "csv")
    n_tasks = df["task"].nunique()
    lines = text.splitlines(keepends=True)
    grid = pd.read_csv(io.StringIO("".join(lines[: n_tasks + 1])), dtype=str, keep_default_na=False)
    notes = [pd.read_csv(io.StringIO(line), header=None, dtype=str).iat[0, 0] for line in lines[n_tasks + 1:] if line.strip()]
    notes = [re.sub(r"^\[\d+\] ", "", n) for n in notes]
    frameworks = list(grid.columns[1:])
    rows = []
    for _, r in grid.iterrows():
        cells = []
        for fw in frameworks:
            m = _CELL.match(r[fw])
            cells.append(Cell(m["text"], bool(m["best"]), int(m["note"]) if m["note"] else None))
        rows.append((r.iloc[0], cells))
    return PaperTable(frameworks, rows, notes)


def wtl_table(wtl: pd.DataFrame) -> pd.DataFrame:
    """``w/t/l`` strings, row framework against column framework."""
    return wtl.map(lambda v: "" if v is None else "/".join(map(str, v)))


def failure_table(df: pd.DataFrame) -> pd.DataFrame:
    """Jobs per framework and failure kind (columns: the kinds that occurred)."""
    failed = df[df["failure"].fillna("").astype(str) != ""]
    if failed.empty:
        return pd.DataFrame()
    return pd.crosstab(failed["framework"], failed["failure"])


def failure_reasons(df: pd.DataFrame, per_group: int = 3) -> pd.DataFrame:
    """The most frequent reasons per framework and failure kind, with how many jobs gave each."""
    failed = df[df["failure"].fillna("").astype(str) != ""]
    if failed.empty:
        return pd.DataFrame()
    counts = (failed.assign(info=failed["info"].fillna("").astype(str).str.slice(0, 200))
              .groupby(["framework", "failure", "info"]).size().rename("jobs").reset_index()
              .sort_values(["framework", "failure", "jobs"], ascending=[True, True, False]))
    return counts.groupby(["framework", "failure"]).head(per_group).reset_index(drop=True)
