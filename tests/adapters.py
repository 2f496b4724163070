"""Test-only framework adapters that misbehave on purpose. Job processes import them by
``tests.adapters:Name``, so the repository root must be on their PYTHONPATH."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pandas as pd

from frameworks.base import Framework, FrameworkResult


class _Test(Framework):
    def version(self) -> str:
        return "test"

    @staticmethod
    def uniform(train, test_X, target) -> pd.DataFrame:
        classes = sorted(train[target].astype(str).unique())
        return pd.DataFrame(np.full((len(test_X), len(classes)), 1 / len(classes)), columns=classes)


class Crash(_Test):
    def run(self, train, test_X, target, constraint, seed, workdir):
        raise RuntimeError("boom: this adapter always crashes")


class Segfault(_Test):
    def run(self, train, test_X, target, constraint, seed, workdir):
        os.kill(os.getpid(), signal.SIGSEGV)


class Hang(_Test):
    def run(self, train, test_X, target, constraint, seed, workdir):
        import tempfile

        scratch = tempfile.mkdtemp()          # left behind on purpose: the harness must remove it
        (workdir / "scratch.txt").write_text(scratch)
        while True:
            time.sleep(1)


class LogsErrorThenHangs(_Test):
    """Logs 3 MiB of chatter and an error of its own into the job's framework log folder, prints 3 MiB
    to its console (job.log), then hangs past its limit."""

    def run(self, train, test_X, target, constraint, seed, workdir):
        from frameworks.logs import logs_dir

        chatter = "".join(f"INFO step {i} went fine\n" for i in range(150_000))   # ~3.3 MiB
        logs_dir(workdir).mkdir(parents=True, exist_ok=True)
        (logs_dir(workdir) / "solver.log").write_text(f"INFO starting\n{chatter}ERROR solver diverged at "
                                                      f"iteration 7\nINFO retrying\n")
        print(chatter, flush=True)
        while True:
            time.sleep(1)


class MemoryHog(_Test):
    def run(self, train, test_X, target, constraint, seed, workdir):
        hog = []
        while True:                      # 100 MB at a time, touched so it is resident
            hog.append(np.ones(100 * 2**20 // 8))
            time.sleep(0.05)


class WrongRows(_Test):
    def run(self, train, test_X, target, constraint, seed, workdir):
        return FrameworkResult(self.uniform(train, test_X, target).iloc[:-1])


class BadProbabilities(_Test):
    def run(self, train, test_X, target, constraint, seed, workdir):
        return FrameworkResult(self.uniform(train, test_X, target) * 3)


class Slow(_Test):
    """Sleeps a little, then predicts uniformly: lets a test kill the runner mid-run."""

    def run(self, train, test_X, target, constraint, seed, workdir):
        time.sleep(float(os.environ.get("SLOW_ADAPTER_SECONDS", "1.0")))
        return FrameworkResult(self.uniform(train, test_X, target), models_count=0)


class SlowWithHelper(_Test):
    """Like Slow, but first starts a helper in a session of its own that ignores SIGTERM (as a JVM or a
    Ray daemon may): stopping the job must still end it. The helper's command line names the job folder."""

    def run(self, train, test_X, target, constraint, seed, workdir):
        import subprocess
        import sys

        subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                          "time.sleep(600)", f"helper-of-{workdir}"], start_new_session=True)
        time.sleep(float(os.environ.get("SLOW_ADAPTER_SECONDS", "1.0")))
        return FrameworkResult(self.uniform(train, test_X, target), models_count=0)


class SlowSetup(_Test):
    """Never set up; its set-up runs an installer-like subprocess for ``SLOW_SETUP_SECONDS`` (its command
    line names ``SLOW_SETUP_TAG``), failing as a real set-up does when that process is stopped."""

    def is_setup(self) -> bool:
        return False

    def setup(self) -> None:
        import subprocess
        import sys

        from frameworks.base import SetupError

        done = subprocess.run([sys.executable, "-c", "import sys, time; time.sleep(float(sys.argv[1]))",
                               os.environ.get("SLOW_SETUP_SECONDS", "600"), os.environ.get("SLOW_SETUP_TAG", "")])
        if done.returncode:
            raise SetupError(f"installer ended with {done.returncode}")

    def run(self, train, test_X, target, constraint, seed, workdir):
        return FrameworkResult(self.uniform(train, test_X, target), models_count=0)


class ShadowCheck(_Test):
    """Writes a folder named like a package into its workdir, then starts a Python there that must
    still import the real package (autodl's run folder ``autodl/`` once shadowed the library)."""

    def run(self, train, test_X, target, constraint, seed, workdir):
        import subprocess
        import sys

        (workdir / "frameworks" / "base").mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}   # as in a user's run
        subprocess.run([sys.executable, "-c", "from frameworks.base import Framework"], cwd=workdir, env=env,
                       check=True)
        return FrameworkResult(self.uniform(train, test_X, target))
