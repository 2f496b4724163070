"""The portfolio: configurations that did well on the meta-train datasets, evaluated first by BOHB.

File format (``autodl/portfolio/portfolio.json`` ships with the package)::

    {"schema": 1, "space_version": <autodl.space.SPACE_VERSION it was built for>,
     "configs": [{"name": "p01", "config": {<autodl.space names>: value}}, ...],
     "provenance": {"suite", "datasets", "budgets", "date", "command", ...}}

A file built for another search-space version is refused (``PortfolioError``): its names
or ranges may no longer mean the same thing. Build one with
``python -m autodl.portfolio build --suite SUITE.yaml`` (see ``autodl.portfolio.build``).
"""
from __future__ import annotations

import json
from pathlib import Path

PORTFOLIO_SCHEMA = 1
DEFAULT_PORTFOLIO = Path(__file__).with_name("portfolio.json")


class PortfolioError(ValueError):
    """A portfolio file that cannot be used with this version of autodl."""


def load_portfolio(path=None) -> list[dict]:
    """The configurations of a portfolio file (default: the shipped one), checked against the space."""
    from autodl.space import SPACE_VERSION, complete_config

    path = Path(path) if path is not None else DEFAULT_PORTFOLIO
    if not path.is_file():
        raise PortfolioError(f"portfolio file {path} does not exist: pass an existing file, or portfolio=False")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise PortfolioError(f"portfolio file {path} is not valid JSON ({error}): rebuild it with "
                             f"'python -m autodl.portfolio build'") from None
    if record.get("schema") != PORTFOLIO_SCHEMA:
        raise PortfolioError(f"portfolio file {path} has schema {record.get('schema')!r}, this autodl reads "
                             f"schema {PORTFOLIO_SCHEMA}: rebuild it with 'python -m autodl.portfolio build'")
    if record.get("space_version") != SPACE_VERSION:
        raise PortfolioError(f"portfolio file {path} was built for search space version "
                             f"{record.get('space_version')!r} but autodl's space is version {SPACE_VERSION}: "
                             f"rebuild it with 'python -m autodl.portfolio build --suite SUITE', or pass "
                             f"portfolio=False")
    configs = []
    for entry in record.get("configs", []):
        try:
            configs.append(complete_config(entry["config"]))
        except (KeyError, ValueError, TypeError) as error:
            raise PortfolioError(f"portfolio file {path}: configuration {entry.get('name', '?')!r} does not fit "
                                 f"the search space ({error}); rebuild the portfolio") from None
    return configs


def portfolio_datasets(path=None) -> set[str]:
    """Names of the datasets a portfolio file was built with (searched for candidates or scored on), read from
    its provenance; empty when the file has none. The harness footnotes tasks of these datasets."""
    path = Path(path) if path is not None else DEFAULT_PORTFOLIO
    try:
        provenance = json.loads(path.read_text()).get("provenance") or {}
    except (OSError, json.JSONDecodeError):
        return set()
    return set(provenance.get("datasets") or []) | set(provenance.get("searched_datasets") or [])


def write_portfolio(path, configs: list[dict], provenance: dict) -> None:
    from autodl.space import SPACE_VERSION

    record = {"schema": PORTFOLIO_SCHEMA, "space_version": SPACE_VERSION,
              "configs": [{"name": f"p{i + 1:02d}", "config": config} for i, config in enumerate(configs)],
              "provenance": provenance}
    Path(path).write_text(json.dumps(record, indent=1) + "\n")
