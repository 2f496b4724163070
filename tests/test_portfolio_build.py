"""The portfolio build pipeline on a two-dataset suite (searches pre-recorded so the test stays fast)."""
import json
import subprocess
import sys

import pytest
from sklearn.datasets import load_iris, load_wine

from autodl.portfolio import load_portfolio
from autodl.portfolio.build import BuildSettings, evaluate_dataset, read_suite
from autodl.space import default_config

SMALL = {**default_config(), "mlp_layers": 1, "mlp_units": 64, "batch_size": 32, "lr": 0.01}
BROKEN_LR = {**SMALL, "lr": 1e-4, "optimizer": "sgd", "momentum": 0.1}   # learns nothing in 2 epochs


@pytest.mark.timeout(300)
def test_build_evaluates_every_candidate_everywhere_and_writes_portfolio_and_matrix(tmp_path):
    for name, loader in [("iris", load_iris), ("wine", load_wine)]:
        frame = loader(as_frame=True).frame.rename(columns={"target": "class"})
        frame.to_csv(tmp_path / f"{name}.csv.gz", index=False)
    (tmp_path / "suite.yaml").write_text("datasets:\n" + "".join(
        f"  - {{name: {n}, path: {n}.csv.gz, target: class}}\n" for n in ("iris", "wine")))
    work = tmp_path / "work"
    (work / "search").mkdir(parents=True)
    for name, config, model_based in [("iris", SMALL, 4), ("wine", BROKEN_LR, 0)]:   # what each search found
        (work / "search" / f"{name}.json").write_text(json.dumps({"dataset": name, "config": config,
                                                                   "n_evaluations": 10, "model_based": model_based}))
    out = tmp_path / "portfolio.json"
    done = subprocess.run([sys.executable, "-m", "autodl.portfolio", "build", "--suite", str(tmp_path / "suite.yaml"),
                           "--work", str(work), "--out", str(out), "--eval-epochs", "2", "--size", "4"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    matrix = json.loads((tmp_path / "portfolio_matrix.json").read_text())
    assert matrix["datasets"] == ["iris", "wine"] and [c["source"] for c in matrix["candidates"]] == ["iris", "wine"]
    errors = matrix["errors"]
    assert len(errors) == 2 and all(len(row) == 2 for row in errors)
    assert errors[0][0] < errors[1][0] and errors[0][1] < errors[1][1]   # the sensible config wins on both
    configs = load_portfolio(out)
    assert len(configs) == 1 and configs[0]["lr"] == SMALL["lr"]      # the other one adds nothing
    provenance = json.loads(out.read_text())["provenance"]
    assert provenance["datasets"] == ["iris", "wine"] and provenance["budgets"]["eval_epochs"] == 2
    assert provenance["command"].startswith("python -m autodl.portfolio build --suite")
    # the budgets recorded are the settings the searches ran with, not literals
    from autodl.settings import SearchSettings

    defaults = SearchSettings()
    assert provenance["budgets"]["search_ladder"] == {"min_budget": defaults.auto_min_budget, "eta": defaults.eta,
                                                      "max_rungs": defaults.max_rungs, "cycles": defaults.cycles}
    assert provenance["budgets"]["eval_seconds_cap"] == BuildSettings().eval_seconds
    # how much BOHB's model mattered, read from the searches' records
    assert provenance["budgets"]["search_model_based_share"] == 0.2
    assert provenance["budgets"]["searches_with_model"] == 1
    assert provenance["eval_statuses"] == {"ok": 4}


def test_a_candidate_over_the_time_cap_scores_the_worst_error(tmp_path):
    frame = load_iris(as_frame=True).frame.rename(columns={"target": "class"})
    frame.to_csv(tmp_path / "iris.csv.gz", index=False)
    (tmp_path / "suite.yaml").write_text("datasets:\n  - {name: iris, path: iris.csv.gz, target: class}\n")
    [dataset] = read_suite(tmp_path / "suite.yaml")
    candidates = [{"source": "iris", "config": SMALL}]
    capped, roomy = tmp_path / "capped.json", tmp_path / "roomy.json"
    evaluate_dataset(dataset, candidates, capped, BuildSettings(eval_epochs=5000, eval_seconds=1.5))
    evaluate_dataset(dataset, candidates, roomy, BuildSettings(eval_epochs=2, eval_seconds=60))
    [over] = json.loads(capped.read_text())["errors"].values()
    [within] = json.loads(roomy.read_text())["errors"].values()
    assert over["status"] == "timeout" and over["error"] == 1.0
    assert within["status"] == "ok" and within["error"] < 0.5
