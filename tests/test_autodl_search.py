"""BOHB through hpbandster: the serializer fix, evaluation limits, parallel workers, crashes."""
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import serpent
from ConfigSpace import ConfigurationSpace

from autodl import hpb
from autodl.bohb import DeadlineBOHB, PortfolioFirst
from autodl.search import run_search
from autodl.settings import EvaluationSettings, SearchSettings
from autodl.space import build_space, default_config
from autodl.worker import WORST_LOSS, Evaluator, WorkerSpec
from tests.autodl_fixtures import iris_frame, search_data


def test_serpent_round_trips_numpy_scalars_after_the_fix():
    hpb.install_numpy_serializer()
    values = serpent.loads(serpent.dumps({"budget": np.float64(12.5), "choice": np.str_("adam"), "n": np.int64(3)}))
    assert values == {"budget": 12.5, "choice": "adam", "n": 3}


def test_bohbs_kdes_draw_no_random_numbers_and_statsmodels_rng_warning_is_silenced():
    """BOHB's KDEs as hpbandster builds them: no warning printed into every search's log, and no draw from
    numpy's global generator (which is why statsmodels' coming change of default generator cannot touch them)."""
    code = ("import warnings; warnings.simplefilter('error', FutureWarning); from autodl import hpb; "
            "import numpy as np, statsmodels.api as sm; np.random.seed(0); data = np.random.rand(20, 2); "
            "state = np.random.get_state()[1].copy(); "
            "sm.nonparametric.KDEMultivariate(data=data, var_type='cc', bw='normal_reference'); "
            "assert (np.random.get_state()[1] == state).all()")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.mark.timeout(90)
def test_tiny_bohb_with_numpy_budgets_finishes_instead_of_hanging(tmp_path):
    """Without the serializer fix this hangs silently: budgets (np.float64) and categoricals (np.str_)
    never make it through Pyro, so no result ever comes back."""

    class Quadratic(hpb.Worker):
        def compute(self, config_id, config, budget, working_directory):
            assert isinstance(budget, float)
            return {"loss": float((config["lr"] - 0.01) ** 2), "info": {"budget": np.float64(budget),
                                                                        "opt": np.str_(config["optimizer"])}}

    nameserver = hpb.NameServer(run_id="guard", host="127.0.0.1", port=0)
    host, port = nameserver.start()
    master = None
    try:
        workers = [Quadratic(run_id="guard", nameserver=host, nameserver_port=port, id=i) for i in range(2)]
        for worker in workers:
            worker.run(background=True)
        generator = PortfolioFirst(build_space(seed=0), [default_config()])
        # ping_interval: a worker that registers after the dispatcher's first look is found within 2 s
        # (hpbandster's default, 60 s, outlasts the deadline on a loaded machine)
        master = DeadlineBOHB(generator, np.float64(1.0), np.float64(4.0), 2, run_id="guard", nameserver=host,
                              nameserver_port=port, working_directory=str(tmp_path), ping_interval=2)
        brackets = master.run_until(time.time() + 60, min_n_workers=2, max_iterations=3)
        finished = [r for it in master.iterations for r in it.data.values() if r.results]
    finally:
        if master is not None:
            master.shutdown(shutdown_workers=True)
        nameserver.shutdown()
    assert brackets == 3
    assert len(finished) >= 7
    assert all(it.is_finished for it in master.iterations)
    first = master.iterations[0].data[(0, 0, 0)]
    assert first.config == default_config()  # the initial configuration went first


@pytest.fixture(scope="module")
def iris_data(tmp_path_factory):
    X, y = iris_frame()
    return search_data(tmp_path_factory.mktemp("iris"), X, y)


def _spec(run_dir, data_path, deadline=None, **evaluation):
    return WorkerSpec(run_id="t", run_dir=str(run_dir), data_path=str(data_path), nameserver="", nameserver_port=0,
                      deadline=time.time() + 120 if deadline is None else deadline,
                      evaluation=EvaluationSettings(**{"record_gradients": False, **evaluation}))


@pytest.mark.timeout(120)
def test_evaluator_records_ok_crash_timeout_and_memory_out(tmp_path, iris_data):
    evaluator = Evaluator(_spec(tmp_path, iris_data, train_fn="tests.autodl_fixtures:crash_on_resnet"))
    ok = evaluator.evaluate((0, 0, 0), default_config(), 2.0)
    assert ok["info"]["status"] == "ok" and ok["loss"] < WORST_LOSS
    assert (tmp_path / "models" / "0_0_0_b2.pkl").exists()
    assert np.load(tmp_path / "val_predictions" / "0_0_0_b2.npy").shape == (150, 3)
    curve = json.loads((tmp_path / "curves" / "0_0_0_b2.json").read_text())
    assert len(curve["curves"][0]) == 2

    raised = evaluator.evaluate((0, 0, 1), dict(default_config(), optimizer="bogus"), 1.0)
    assert raised == {"loss": WORST_LOSS, "info": raised["info"]} and raised["info"]["status"] == "crash"
    assert "unknown optimizer" in raised["info"]["error"]

    resnet = {"network": "resnet", "res_groups": 1, "res_blocks": 1, "res_units": 32}
    aborted = evaluator.evaluate((0, 0, 2), resnet, 1.0)
    assert aborted["info"]["status"] == "crash" and "died" in aborted["info"]["error"]

    slow = Evaluator(_spec(tmp_path, iris_data, eval_time_limit=2.0))
    timeout = slow.evaluate((0, 0, 3), dict(default_config(), batch_size=16), 10_000)
    assert timeout["info"]["status"] == "timeout" and timeout["loss"] == WORST_LOSS

    # the limit counts the evaluation's own memory, not the torch libraries shared with the forkserver;
    # 600 MB leaves room for a child that imports torch itself (~300 MB), when an earlier test in the same
    # process already started the forkserver without the trainer preloaded
    roomy = Evaluator(_spec(tmp_path, iris_data, eval_memory_mb=600))
    assert roomy.evaluate((0, 0, 4), default_config(), 2)["info"]["status"] == "ok"
    hog = Evaluator(_spec(tmp_path, iris_data, eval_memory_mb=600, train_fn="tests.autodl_fixtures:hog_memory"))
    memout = hog.evaluate((0, 0, 6), default_config(), 1)
    assert memout["info"]["status"] == "memout" and memout["loss"] == WORST_LOSS

    late = Evaluator(_spec(tmp_path, iris_data, deadline=time.time()))
    assert late.evaluate((0, 0, 5), default_config(), 1)["info"]["status"] == "skipped"


@pytest.mark.timeout(180)
def test_bohb_with_two_worker_processes_completes_several_brackets(tmp_path, iris_data):
    settings = SearchSettings(n_workers=2, min_budget=1, max_budget=4, eta=2, max_iterations=4, keep_models=3,
                              evaluation=EvaluationSettings(record_gradients=False))
    outcome = run_search(build_space(seed=0), iris_data, tmp_path, time.time() + 150, settings)
    assert outcome.brackets == 4
    assert len(outcome.evaluations) == 7 + 3 + 3 + 7
    assert {e.status for e in outcome.evaluations} == {"ok"}
    assert len({e.info["worker_pid"] for e in outcome.evaluations}) == 2
    assert {e.budget for e in outcome.evaluations} == {1.0, 2.0, 4.0}
    results = [json.loads(line) for line in (tmp_path / "results.json").read_text().splitlines()]
    assert len(results) == 20 and (tmp_path / "configs.json").exists()
    trajectory = [json.loads(line) for line in (tmp_path / "trajectory.jsonl").read_text().splitlines()]
    assert trajectory and [t["loss"] for t in trajectory] == sorted((t["loss"] for t in trajectory), reverse=True)
    assert outcome.incumbent.loss == min(e.loss for e in outcome.evaluations)
    assert len(list((tmp_path / "models").glob("*.pkl"))) == 3   # pruned to keep_models
    assert len(list((tmp_path / "val_predictions").glob("*.npy"))) == 20
    assert len(list((tmp_path / "curves").glob("*.json"))) == 20
    assert ConfigurationSpace.from_json(tmp_path / "configspace.json") == build_space()
    assert json.loads((tmp_path / "search.json").read_text())["settings"]["n_workers"] == 2


@pytest.mark.timeout(180)
def test_crashing_evaluations_do_not_stop_the_search(tmp_path, iris_data, job_env):
    settings = SearchSettings(n_workers=1, min_budget=1, max_budget=4, eta=2, max_iterations=3,
                              evaluation=EvaluationSettings(train_fn="tests.autodl_fixtures:crash_on_resnet",
                                                            record_gradients=False))
    outcome = run_search(build_space(seed=1), iris_data, tmp_path, time.time() + 150, settings)
    crashes = [e for e in outcome.evaluations if e.status == "crash"]
    oks = [e for e in outcome.evaluations if e.status == "ok"]
    assert crashes and oks, [e.config["network"] for e in outcome.evaluations]
    assert all(e.loss == WORST_LOSS for e in crashes)
    assert max(e.info["t_start"] for e in oks) > min(e.info["t_end"] for e in crashes)  # went on after a crash
    assert outcome.brackets == 3 and len(outcome.evaluations) == 7 + 3 + 3
    assert Path(outcome.incumbent.model_path).exists()


def _small_space(seed):
    """Two hyperparameters: hpbandster's BOHB builds a budget's model once it has min_points_in_model good
    results and more than 2 others (its KDEs need more points than dimensions)."""
    from ConfigSpace import Float, Integer

    space = ConfigurationSpace(seed=seed)
    space.add([Float("lr", (1e-3, 0.1), log=True), Integer("mlp_units", (8, 64), log=True)])
    return space


def _model_based_search(run_dir, data_path, seed):
    # budgets 1, 3, 9 epochs (eta 3): one bracket evaluates 9 configurations at 1 epoch, so BOHB's KDE
    # for that budget exists after 4 + 3 results (min_points_in_model 4; hpbandster's default would be 3)
    # and may propose the last two
    settings = SearchSettings(n_workers=1, min_budget=1, max_budget=9, eta=3, max_iterations=1, keep_models=1,
                              min_points_in_model=4, evaluation=EvaluationSettings(record_gradients=False, seed=seed))
    return run_search(_small_space(seed), data_path, run_dir, time.time() + 150, settings,
                      initial_configs=[{"lr": 0.01, "mlp_units": 16}])


@pytest.mark.timeout(240)
def test_bohb_reaches_model_based_proposals_and_a_seeded_search_repeats_them(tmp_path, iris_data):
    np.random.seed(1)    # whatever numpy's global state was before, the search's seed decides
    first = _model_based_search(tmp_path / "a", iris_data, seed=4)
    np.random.seed(2)
    again = _model_based_search(tmp_path / "b", iris_data, seed=4)
    picks = [(e.config_id, e.budget, e.config, e.model_based) for e in first.evaluations]
    assert len(picks) == 9 + 3 + 1 and {e.status for e in first.evaluations} == {"ok"}
    assert picks[0][2] == {"lr": 0.01, "mlp_units": 16} and not picks[0][3]          # the portfolio first
    model_based = [p for p in picks if p[3]]
    assert model_based and all(config_id[2] >= 7 for config_id, *_ in model_based)  # only once the KDE exists
    logged = [json.loads(line) for line in (tmp_path / "a" / "configs.json").read_text().splitlines()]
    assert sum(bool(entry[2].get("model_based_pick")) for entry in logged) == len({p[0] for p in model_based})
    assert [(e.config_id, e.budget, e.config, e.model_based) for e in again.evaluations] == picks
    assert [e.loss for e in again.evaluations] == [e.loss for e in first.evaluations]


def test_bohb_model_settings_reach_hpbandsters_config_generator():
    settings = SearchSettings(min_points_in_model=40, random_fraction=0.5)
    generator = PortfolioFirst(build_space(seed=0), [], **settings.bohb_options())
    assert generator.model.min_points_in_model == 40 and generator.model.random_fraction == 0.5
