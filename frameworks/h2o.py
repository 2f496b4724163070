"""H2O AutoML in its own venv (the wheel ships h2o.jar; needs Java); see exec/h2o_exec.py for the JVM's containment."""
from frameworks.environments import VenvFramework


class H2OAutoML(VenvFramework):
    package = "h2o"
    install = [["h2o==3.46.0.12", "pandas", "pyarrow"]]
    exec_script = "h2o_exec.py"

    def venv_name(self) -> str:
        return "h2o"
