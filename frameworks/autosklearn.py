"""auto-sklearn 0.15 in its own venv on Python 3.9/3.10 (it cannot install on 3.11); see exec/autosklearn_exec.py."""
from frameworks.environments import VenvFramework


class AutoSklearn(VenvFramework):
    package = "auto-sklearn"
    # Unpinned numpy breaks its import; setuptools<70 still has pkg_resources features it uses
    install = [["setuptools<70", "numpy==1.23.5", "scipy==1.9.3", "pandas==1.5.3", "pyarrow==17.0.0",
                "auto-sklearn==0.15.0"]]
    python_versions = ("3.9", "3.10")
    python_env = "AUTOML_BENCH_PYTHON39"      # an interpreter path; set, it is the only one tried
    exec_script = "autosklearn_exec.py"
    min_budget_s = 40     # auto-sklearn refuses under 30 s of fitting; start-up and the predict margin come on top
