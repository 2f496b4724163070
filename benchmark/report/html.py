"""Render the report page from its template (jinja2, autoescaped; DataFrames via pandas)."""
from __future__ import annotations

from pathlib import Path

import jinja2
import pandas as pd

TEMPLATES = Path(__file__).parent / "templates"


def frame_html(df: pd.DataFrame | None, table_id: str, digits: int = 3, index: bool = True) -> str:
    """A DataFrame as an escaped HTML table ("" for none)."""
    if df is None or df.empty:
        return ""
    return df.to_html(table_id=table_id, border=0, na_rep="-", escape=True, index=index,
                      float_format=lambda v: f"{v:.{digits}f}")


def render(context: dict) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("report.html").render(**context)
