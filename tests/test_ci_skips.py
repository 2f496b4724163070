"""Under CI=true a skipped test fails; elsewhere the run ends with one line naming what was skipped."""
import os
import subprocess
import sys

from tests.conftest import REPO

SKIPPING = '''
import pytest

def test_needs_a_service():
    pytest.skip("no frobnicator here; run `make frob`")

def test_fine():
    pass
'''


def _pytest(tmp_path, ci: str):
    (tmp_path / "test_sample.py").write_text(SKIPPING)
    env = dict(os.environ, CI=ci, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(tmp_path / "test_sample.py")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def test_a_skip_fails_under_ci(tmp_path):
    done = _pytest(tmp_path, "true")
    assert done.returncode == 1
    assert "1 failed, 1 passed" in done.stdout and "no frobnicator here" in done.stdout


def test_a_skip_outside_ci_is_named_in_the_last_line(tmp_path):
    done = _pytest(tmp_path, "")
    assert done.returncode == 0
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("1 test(s) skipped (no frobnicator here)") and "bash .ci/run" in last
