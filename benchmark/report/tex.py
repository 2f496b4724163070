"""The report's tables as LaTeX files (booktabs), ready to ``\\input`` into a paper."""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_tex(df: pd.DataFrame | None, path: Path, caption: str, digits: int = 3) -> Path | None:
    if df is None or df.empty:
        return None
    text = df.to_latex(float_format=lambda v: f"{v:.{digits}f}", na_rep="-", escape=True, caption=caption)
    Path(path).write_text(text)
    return Path(path)
