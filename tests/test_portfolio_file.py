"""The portfolio file: format, search-space version check, greedy construction, CLI input checks."""
import json
import subprocess
import sys

import numpy as np
import pytest

from autodl.portfolio import DEFAULT_PORTFOLIO, PortfolioError, load_portfolio, write_portfolio
from autodl.portfolio.greedy import greedy_portfolio, portfolio_score
from autodl.space import SPACE_VERSION, build_space, default_config

CONFIGS = [default_config(), {**default_config(), "network": "resnet", "res_groups": 1, "res_blocks": 1,
                               "res_units": 32, "res_shape": "brick", "res_shake": "none"}]


def _clean(config):
    return {k: v for k, v in config.items() if not (config.get("network") == "resnet" and k.startswith("mlp_"))}


def test_written_portfolio_loads_back_checked_against_the_space(tmp_path):
    path = tmp_path / "portfolio.json"
    write_portfolio(path, [_clean(c) for c in CONFIGS], {"datasets": ["iris"], "command": "test"})
    configs = load_portfolio(path)
    assert [c["network"] for c in configs] == ["mlp", "resnet"]
    record = json.loads(path.read_text())
    assert record["space_version"] == SPACE_VERSION and [c["name"] for c in record["configs"]] == ["p01", "p02"]


def test_a_portfolio_from_another_space_version_is_rejected_with_a_clear_error(tmp_path):
    path = tmp_path / "old.json"
    write_portfolio(path, [default_config()], {})
    record = json.loads(path.read_text())
    record["space_version"] = SPACE_VERSION + 1
    path.write_text(json.dumps(record))
    with pytest.raises(PortfolioError, match=rf"built for search space version {SPACE_VERSION + 1}.*"
                                             rf"version {SPACE_VERSION}: rebuild it"):
        load_portfolio(path)


def test_unknown_names_and_missing_files_are_rejected(tmp_path):
    path = tmp_path / "renamed.json"
    write_portfolio(path, [{**default_config(), "learning_rate": 0.1}], {})
    with pytest.raises(PortfolioError, match="'p01' does not fit the search space.*learning_rate"):
        load_portfolio(path)
    with pytest.raises(PortfolioError, match="does not exist"):
        load_portfolio(tmp_path / "nope.json")


def test_the_shipped_portfolio_fits_the_current_space_and_names_its_provenance():
    if not DEFAULT_PORTFOLIO.exists():
        pytest.skip("no portfolio shipped yet (build it with python -m autodl.portfolio build)")
    configs = load_portfolio()
    assert 1 <= len(configs) <= 16
    provenance = json.loads(DEFAULT_PORTFOLIO.read_text())["provenance"]
    assert {"datasets", "budgets", "date", "command"} <= set(provenance)
    space = build_space()
    for config in configs:
        space.check_configuration(__import__("ConfigSpace").Configuration(space, values=config))


def test_greedy_construction_minimises_the_mean_best_of_portfolio_error():
    errors = np.array([[0.10, 0.10, 0.50],    # good on datasets 0 and 1
                       [0.20, 0.20, 0.20],    # best on average alone
                       [0.50, 0.50, 0.05],    # specialist for dataset 2
                       [0.30, 0.30, 0.30]])   # dominated
    assert greedy_portfolio(errors, size=1) == [1]
    chosen = greedy_portfolio(errors, size=4)
    assert chosen[:3] == [1, 0, 2] and 3 not in chosen          # stops when nothing improves any more
    assert portfolio_score(errors, chosen) == pytest.approx((0.10 + 0.10 + 0.05) / 3)
    failed = errors.copy()
    failed[1, 0] = np.nan                                       # a failed evaluation counts as error 1
    assert greedy_portfolio(failed, size=1) == [0]


def test_cli_refuses_a_missing_suite_with_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "autodl.portfolio", "build", "--suite", str(tmp_path / "x.yaml"),
                           "--work", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [f"error: suite file {tmp_path / 'x.yaml'} does not exist: "
                                                f"pass a YAML file listing the datasets"]


def test_portfolio_datasets_come_from_the_provenance(tmp_path):
    from autodl.portfolio import portfolio_datasets

    path = tmp_path / "portfolio.json"
    write_portfolio(path, [default_config()], {"datasets": ["banana", "bupa"], "searched_datasets": ["banana", "tae"]})
    assert portfolio_datasets(path) == {"banana", "bupa", "tae"}
    assert portfolio_datasets(tmp_path / "missing.json") == set()
    # the shipped portfolio was built on the revised meta-train pool: none of the KEEL copies of CC18 and demo
    # datasets that the first pool held
    assert not portfolio_datasets() & {"letter", "optdigits", "penbased", "satimage", "texture", "vowel", "wdbc",
                                       "bands", "australian", "iris", "wine"}
