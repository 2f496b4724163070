"""The table footnotes autodl's cells on datasets its shipped portfolio was built with."""
from __future__ import annotations

import pandas as pd

from autodl.portfolio import portfolio_datasets
from benchmark.table import PORTFOLIO_NOTE, comparison_table


def _rows(tasks):
    return pd.DataFrame([{"task": t, "framework": fw, "seed": 0, "fold": 0, "result": 0.9, "failure": ""}
                         for t in tasks for fw in ("autodl", "lightgbm")])


def test_tasks_of_portfolio_datasets_are_footnoted_for_autodl_only():
    seen = sorted(portfolio_datasets())[0]            # a meta-train dataset the shipped portfolio names
    table = comparison_table(_rows([seen, f"{seen}-t123", "not-a-portfolio-dataset"]))
    assert f"autodl on {seen}: {PORTFOLIO_NOTE}" in table
    assert f"autodl on {seen}-t123: {PORTFOLIO_NOTE}" in table     # OpenML tasks named name-t<id>
    assert "not-a-portfolio-dataset: " + PORTFOLIO_NOTE not in table
    assert f"lightgbm on {seen}" not in table
    assert table.count(PORTFOLIO_NOTE) == 2


def test_a_cell_with_a_failure_keeps_one_mark_and_the_report_reads_it():
    from benchmark.report.tables import paper_table

    seen = sorted(portfolio_datasets())[0]
    rows = _rows([seen, "other"])
    failed = rows.iloc[0].copy()
    failed["seed"], failed["result"], failed["failure"] = 1, None, "timeout"
    rows = pd.concat([rows, failed.to_frame().T], ignore_index=True)
    table = comparison_table(rows)
    assert f"autodl on {seen}: 1 of 2 jobs failed (timeout); {PORTFOLIO_NOTE}" in table
    paper = paper_table(rows)
    assert any(PORTFOLIO_NOTE in n for n in paper.notes)
    cell = dict(zip(paper.frameworks, dict(paper.rows)[seen]))["autodl"]
    assert cell.note == 1 and cell.text.endswith("± 0.0000")
