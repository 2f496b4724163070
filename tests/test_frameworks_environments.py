"""The venv cache and builder, interpreter search and setup failures (no real framework needed)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from frameworks.base import SetupError
from frameworks.environments import VenvFramework, Venv, find_python, venvs_root

pytestmark = pytest.mark.timeout(300)
REPO = Path(__file__).resolve().parents[1]


class Tiny(VenvFramework):
    """A framework whose venv holds nothing but pip: builds in seconds, offline."""
    package = "pip"
    install: list = []
    exec_script = "none.py"


def test_venvs_live_in_the_configured_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOML_BENCH_VENVS", str(tmp_path / "v"))
    assert venvs_root() == tmp_path / "v"
    assert Tiny().venv.path == tmp_path / "v" / "tiny"
    monkeypatch.delenv("AUTOML_BENCH_VENVS")
    assert venvs_root() == Path.home() / ".cache" / "automl-bench" / "venvs"


def test_setup_is_idempotent_and_rebuilds_half_built_or_changed_venvs(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOML_BENCH_VENVS", str(tmp_path))
    fw = Tiny()
    assert not fw.is_setup()
    with pytest.raises(SetupError, match="python -m benchmark setup"):
        fw.version()
    fw.setup(log=lambda *_: None)
    assert fw.is_setup()
    info = fw.venv.info()
    assert fw.version() == info["version"] and info["python"] == "%d.%d" % sys.version_info[:2]
    sentinel = fw.venv.path / "sentinel"
    sentinel.write_text("built once")
    fw.setup(log=lambda *_: None)                   # finished: not rebuilt
    assert sentinel.exists()
    (fw.venv.path / "automl-bench.json").unlink()   # half-built (no marker): rebuilt
    assert not fw.is_setup()
    fw.setup(log=lambda *_: None)
    assert fw.is_setup() and not sentinel.exists()
    changed = Tiny()
    changed.install = [["--no-index", "pip"]]           # a new recipe: the venv no longer counts as built
    assert not changed.is_setup()


def test_a_failed_install_raises_setup_error_and_leaves_no_venv(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOML_BENCH_VENVS", str(tmp_path))
    fw = Tiny()
    fw.install = [["--no-index", str(tmp_path / "no-such-package")]]
    with pytest.raises(SetupError, match="pip install"):
        fw.setup(log=lambda *_: None)
    assert not fw.is_setup() and not fw.venv.path.exists()


def test_a_configured_interpreter_is_the_only_one_tried(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOML_BENCH_PYTHON39", str(tmp_path / "python3.9"))
    with pytest.raises(SetupError, match="AUTOML_BENCH_PYTHON39"):
        find_python(("3.9", "3.10"), "AUTOML_BENCH_PYTHON39")
    monkeypatch.setenv("AUTOML_BENCH_PYTHON39", sys.executable)   # works, but the wrong version
    with pytest.raises(SetupError, match="not a working Python 3.9 or 3.10"):
        find_python(("3.9", "3.10"), "AUTOML_BENCH_PYTHON39")
    monkeypatch.setenv("AUTOML_BENCH_PYTHON39", sys.executable)
    assert find_python(("%d.%d" % sys.version_info[:2],), "AUTOML_BENCH_PYTHON39") == sys.executable


def test_the_search_finds_a_legacy_python_where_one_is_installed(monkeypatch):
    monkeypatch.delenv("AUTOML_BENCH_PYTHON39", raising=False)
    try:
        exe = find_python(("3.9", "3.10"), "AUTOML_BENCH_PYTHON39")
    except SetupError as err:
        assert "pyenv install 3.9" in str(err)
        pytest.skip(f"no Python 3.9/3.10 on this machine: {err}")
    out = subprocess.run([exe, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
    assert out.stdout.strip() in ("(3, 9)", "(3, 10)")


def test_missing_interpreter_is_a_setup_failure_shown_as_dash(tmp_path):
    """auto-sklearn with no usable Python 3.9/3.10: its jobs become setup rows and the table shows `-`."""
    env = {**os.environ, "AUTOML_BENCH_VENVS": str(tmp_path / "venvs"),
           "AUTOML_BENCH_PYTHON39": str(tmp_path / "nowhere" / "python3.9")}
    run = tmp_path / "run"
    out = subprocess.run([sys.executable, "-m", "benchmark", "run", "--framework", "constantpredictor,autosklearn",
                          "--task", "iris", "--budget", "5", "--out", str(run)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert "setup of autosklearn failed" in out.stdout and "AUTOML_BENCH_PYTHON39" in out.stdout
    from benchmark.results import read_results
    from benchmark.table import comparison_table, framework_summary

    df = read_results(run)
    assert set(df["framework"]) == {"constantpredictor", "autosklearn"}
    ask = df[df.framework == "autosklearn"].iloc[0]
    assert ask["failure"] == "setup" and "AUTOML_BENCH_PYTHON39" in ask["info"]
    lines = comparison_table(df).splitlines()
    cells = dict(zip([c.strip() for c in lines[0].strip("|").split("|")],
                     [c.strip() for c in next(x for x in lines if x.startswith("| iris")).strip("|").split("|")]))
    assert cells["autosklearn"] == "-" and cells["constantpredictor"] != "-"
    assert framework_summary(df).loc["autosklearn", "failures"] == "setup 1"
    assert not (tmp_path / "venvs" / "autosklearn").exists()
