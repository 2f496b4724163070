"""Competitors in their own virtual environments: build the venv, run the framework's script in it.

Venvs live outside the repository, in a cache folder reused across runs (and CI runs on the same
machine): ``$AUTOML_BENCH_VENVS/<name>``, default ``~/.cache/automl-bench/venvs/<name>``. A venv
counts as built only once ``automl-bench.json`` (the installed version and the recipe) is written
after a successful install, so a half-built venv is rebuilt; a changed recipe rebuilds it too.

A run hands the data over as parquet files plus a ``params.json`` to
``frameworks/exec/<name>_exec.py`` running on the venv's python, and reads predictions and a
``result.json`` back. Everything goes into a short-named scratch folder under the system temp
folder (short because Ray's unix sockets live under ``$TMPDIR`` and their paths are limited to
107 characters), which is removed whatever happens.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
from filelock import FileLock

from frameworks import logs
from frameworks.base import Constraint, Framework, FrameworkResult, SetupError

MARKER = "automl-bench.json"
EXEC_DIR = Path(__file__).parent / "exec"
LABEL_COLUMN = "__label__"        # the framework's own predicted label, next to the class columns
EXEC_GRACE_S = 3.0                # the exec script's time to clean up (stop its JVM) after SIGTERM
ANYTIME_FILE = "anytime/trajectory.jsonl"   # in the job folder, beside autodl's autodl/trajectory.jsonl


def venvs_root() -> Path:
    return Path(os.environ.get("AUTOML_BENCH_VENVS") or Path.home() / ".cache" / "automl-bench" / "venvs")


# ---------------------------------------------------------------- interpreters

def _python_version(exe: str) -> str | None:
    try:
        out = subprocess.run([exe, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _candidates(versions: tuple[str, ...]) -> list[str]:
    """Interpreters to try, in order: PATH, pyenv versions, uv-managed pythons, conda envs."""
    found = [shutil.which(f"python{v}") for v in versions]
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    if shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        pyenv_root = out.stdout.strip() or pyenv_root
    for v in versions:
        found += sorted(glob.glob(f"{pyenv_root}/versions/{v}.*/bin/python{v}"), reverse=True)
    if shutil.which("uv"):
        for v in versions:
            out = subprocess.run(["uv", "python", "find", v], capture_output=True, text=True)
            found.append(out.stdout.strip() if out.returncode == 0 else None)
    conda = shutil.which("conda")
    if conda:
        base = subprocess.run([conda, "info", "--base"], capture_output=True, text=True).stdout.strip()
        for v in versions:
            found += glob.glob(f"{base}/envs/*/bin/python{v}") + glob.glob(f"{base}/bin/python{v}")
    return list(dict.fromkeys(f for f in found if f))


def find_python(versions: tuple[str, ...], env_var: str) -> str:
    """An interpreter of one of ``versions`` (with the venv module). ``$env_var``, when set, is the
    only one tried: a configured path must work, not be silently replaced by a search."""
    configured = os.environ.get(env_var)
    if configured is not None:
        if _python_version(configured) in versions:
            return configured
        raise SetupError(f"{env_var}={configured!r} is not a working Python {' or '.join(versions)} with venv; "
                         f"point it at one (e.g. from `pyenv install {versions[0]}`) or unset it to search")
    for exe in _candidates(versions):
        if _python_version(exe) in versions:
            return exe
    raise SetupError(f"no Python {' or '.join(versions)} found (searched PATH, pyenv, uv, conda); install one, "
                     f"e.g. `pyenv install {versions[0]}`, or set {env_var}=/path/to/python{versions[0]}")


# ---------------------------------------------------------------- venvs

class Venv:
    """One framework's virtual environment in the venv cache."""

    def __init__(self, name: str, root: Path | None = None):
        self.path = (root or venvs_root()) / name

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def info(self) -> dict | None:
        """The marker written after a successful build, or None (not built, or half-built)."""
        try:
            return json.loads((self.path / MARKER).read_text())
        except (OSError, ValueError):
            return None

    def build(self, interpreter: str, steps: list[list[str]], package: str, recipe: str, log=print) -> dict:
        """(Re)create the venv and run each ``pip install`` step in order; write the marker last."""
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        self._check([interpreter, "-m", "venv", str(self.path)], "creating the venv")
        for step in steps:
            log(f"  pip install {' '.join(step)}")
            self._check([str(self.python), "-m", "pip", "install", "-q", *step], f"pip install {' '.join(step)}")
        version = subprocess.run([str(self.python), "-c", f"from importlib.metadata import version; print(version({package!r}))"],
                                 capture_output=True, text=True).stdout.strip()
        if not version:
            raise SetupError(f"{package} is not importable in {self.path} after installing")
        freeze = subprocess.run([str(self.python), "-m", "pip", "freeze"], capture_output=True, text=True).stdout
        info = {"package": package, "version": version, "recipe": recipe, "python": _python_version(str(self.python)),
                "build_s": round(time.monotonic() - t0, 1), "packages": freeze.split()}
        (self.path / MARKER).write_text(json.dumps(info, indent=1))
        return info

    def _check(self, cmd: list[str], what: str) -> None:
        out = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
            raise SetupError(f"{what} failed in {self.path}: {' | '.join(tail)}")


# ---------------------------------------------------------------- adapters

class VenvFramework(Framework):
    """A framework living in its own venv. Subclasses declare the recipe and name their exec script."""

    package: str = ""                         # distribution whose version is recorded
    install: list[list[str]] = []             # pip install steps, in order (pins!)
    python_versions: tuple[str, ...] = ()     # empty: the interpreter running the harness
    python_env: str = ""                      # env var naming an interpreter of python_versions
    exec_script: str = ""                     # file in frameworks/exec/
    min_budget_s: float = 0                   # below this the framework refuses to start

    @property
    def venv(self) -> Venv:
        return Venv(self.venv_name())

    def venv_name(self) -> str:
        # Variants of a framework (presets) share one venv
        return type(self).__name__.lower()

    def recipe(self) -> str:
        text = json.dumps({"install": self.install, "python": self.python_versions})
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def is_setup(self) -> bool:
        info = self.venv.info()
        return bool(info) and info.get("recipe") == self.recipe()

    def setup(self, log=print) -> None:
        venv = self.venv
        venv.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(venv.path) + ".lock"):       # a concurrent setup of the same venv waits
            if self.is_setup():
                return
            interpreter = find_python(self.python_versions, self.python_env) if self.python_versions else sys.executable
            log(f"building {venv.path} with {interpreter}")
            try:
                info = venv.build(interpreter, self.install, self.package, self.recipe(), log)
            except BaseException:
                shutil.rmtree(venv.path, ignore_errors=True)
                raise
            log(f"{self.package} {info['version']} ready ({info['build_s']} s)")

    def version(self) -> str:
        info = self.venv.info()
        if not info or info.get("recipe") != self.recipe():
            raise SetupError(f"{self.name or self.venv_name()} is not set up; run `python -m benchmark setup {self.name}`")
        return info["version"]

    def run(self, train: pd.DataFrame, test_X: pd.DataFrame, target: str, constraint: Constraint,
            seed: int, workdir: Path) -> FrameworkResult:
        version = self.version()
        if constraint.budget_s < self.min_budget_s:
            raise ValueError(f"{self.name or self.venv_name()} needs a budget of at least {self.min_budget_s:g} s, "
                             f"got {constraint.budget_s} s; use --budget {self.min_budget_s:g} or more")
        deadline = time.time() + constraint.budget_s
        scratch = Path(tempfile.mkdtemp(prefix="ab-"))
        # The framework logs into the job folder as it runs, so its logs outlive a kill of the job
        log_dir = logs.reset_logs(Path(workdir).resolve())
        (Path(workdir) / ANYTIME_FILE).unlink(missing_ok=True)
        proc = None
        # The harness's SIGTERM (timeout, memory) must still run the clean-up below
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _raise_exit) if in_main else None
        try:
            train = train.rename(columns=str).astype({str(target): str})
            train.to_parquet(scratch / "train.parquet")
            test_X.rename(columns=str).to_parquet(scratch / "test.parquet")
            params = {"target": str(target), "train": str(scratch / "train.parquet"), "test": str(scratch / "test.parquet"),
                      "predictions": str(scratch / "predictions.parquet"), "result": str(scratch / "result.json"),
                      "scratch": str(scratch), "budget_s": constraint.budget_s, "deadline": deadline,
                      "predict_margin_s": constraint.predict_margin_s, "cores": constraint.cores,
                      "memory_mb": constraint.memory_mb, "gpus": constraint.gpus, "seed": seed,
                      "framework_params": self.params, "logs": str(log_dir),
                      "anytime": str(Path(workdir).resolve() / ANYTIME_FILE)}
            (scratch / "params.json").write_text(json.dumps(params, indent=1))
            env = {**os.environ, "TMPDIR": str(scratch), "PYTHONNOUSERSITE": "1"}
            env.pop("PYTHONPATH", None)          # the venv sees its own packages only
            env.pop("PYTHONSAFEPATH", None)      # the exec script imports exec_common from its own folder
            # Same session as the job process: the harness's kill of the group reaches the framework
            proc = subprocess.Popen([str(self.venv.python), str(EXEC_DIR / self.exec_script), str(scratch / "params.json")],
                                    env=env, cwd=scratch, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
            tee = logs.ConsoleTee(proc.stdout, workdir).start()      # job.log and framework_logs/console.log
            returncode = proc.wait()
            tee.join(timeout=5)
            return self._read_back(scratch, workdir, returncode, version, {"host_started": deadline - constraint.budget_s,
                                                                           "exec_exited": time.time()})
        finally:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:     # well inside the harness's grace period before its SIGKILL
                    proc.wait(timeout=EXEC_GRACE_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
            if proc is not None:
                _kill_rest_of_session()
            if in_main:
                signal.signal(signal.SIGTERM, previous)
            shutil.rmtree(scratch, ignore_errors=True)
            logs.cap_logs(workdir)

    def _read_back(self, scratch: Path, workdir: Path, returncode: int, version: str, host: dict) -> FrameworkResult:
        try:
            result = json.loads((scratch / "result.json").read_text())
        except (OSError, ValueError):
            raise RuntimeError(f"{self.exec_script} exited with code {returncode} without writing a result") from None
        result["timeline"] = {**host, **result.get("timeline", {})}
        # Kept with the job's results: what the framework reported about its run (models, options, JVM, ...)
        (Path(workdir) / "framework_result.json").write_text(json.dumps(result, indent=1))
        if result.get("error"):
            raise RuntimeError(f"{self.name or self.venv_name()}: {result['error']}")
        predictions = pd.read_parquet(scratch / "predictions.parquet")
        labels = predictions.pop(LABEL_COLUMN).to_numpy() if LABEL_COLUMN in predictions else None
        return FrameworkResult(predictions.rename(columns=str), labels=labels,
                               models_count=result.get("models_count"),
                               training_duration=result.get("training_duration"),
                               predict_duration=result.get("predict_duration"),
                               version=result.get("version") or version,
                               info={"params": json.dumps({"preset": result.get("preset"),
                                                           "main_options": result.get("main_options", {}),
                                                           "options": result.get("options", {})},
                                                          sort_keys=True, default=str)})


def _kill_rest_of_session() -> None:
    """Kill what the framework left in this job's session: Ray starts its workers in process groups
    of their own, which a kill of the job's process group does not reach, and a worker started while
    the job was being stopped outlived it by seconds. Only in a job process (the leader of a session
    of its own, as the harness starts it); elsewhere (a test calling ``run``) nothing is touched."""
    import psutil

    me = os.getpid()
    if os.getsid(0) != me:
        return
    for p in psutil.process_iter():
        try:
            if p.pid != me and os.getsid(p.pid) == me:
                p.kill()
        except (psutil.Error, OSError):
            continue


def _raise_exit(signum, frame):
    # Once is enough: the harness signals the group and then each process, and a second
    # SystemExit would interrupt the clean-up in ``finally``
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(f"terminated by signal {signum}")
