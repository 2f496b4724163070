"""Where a framework's own logs live in its job folder, their size cap, and the last error line in them.

Every competitor writes its own logs straight into ``<job folder>/framework_logs/`` while it runs
(auto-sklearn's ``autosklearn.log`` and dask's ``distributed.log``, AutoGluon's ``autogluon.log``,
FLAML's ``flaml.log`` and trial log ``flaml_trials.jsonl``, H2O's JVM logs in ``h2o/``, the JVM's
``h2o_jvm.err`` and the client's ``h2o_client.log``), plus ``console.log``, what the framework printed
(``ConsoleTee``), and ``traceback.log`` when its exec script failed. So they survive a timeout or a
kill of the job. Python loggers write through a rotating handler (``MAX_BYTES`` per file, one
backup), as does the console; files written by others (the JVM, H2O's client) are cut to their last
``MAX_BYTES`` by ``cap_logs`` when the adapter ends, SIGTERM included.

Standard library only: the harness reads these for a failure row, and ``frameworks/exec`` scripts
running in the frameworks' own venvs (Python 3.9 for auto-sklearn) import nothing from here.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

LOGS_DIR = "framework_logs"
MAX_BYTES = 2 << 20          # per log file (a rotated logger keeps one backup as well)
_TAIL_BYTES = 1 << 20        # how much of the end of a file is searched for the last error

# A log record at error level, in the formats our frameworks use: Python logging (``ERROR``,
# ``CRITICAL``, ``[ERROR]``), H2O's JVM (``ERRR``, ``FATAL``), Java (``SEVERE``).
_LEVEL = re.compile(r"(?<![A-Za-z])(ERROR|ERRR|CRITICAL|FATAL|SEVERE)(?![A-Za-z])")
# The last line of a Python traceback or a Java exception: ``ValueError: ...``, ``java.lang.OutOfMemoryError``.
_EXCEPTION = re.compile(r"^\s*(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception)(?::\s.*)?$")
_MAX_LINE = 300
# written by the exec script, not by the framework: searched after the framework's own logs
_SECOND_HAND = ("console.log", "traceback.log")


def logs_dir(job_dir: Path) -> Path:
    """The folder holding the framework's own logs in a job folder."""
    return Path(job_dir) / LOGS_DIR


def reset_logs(job_dir: Path) -> Path:
    """An empty log folder for a new attempt (a rerun must not report the last attempt's errors)."""
    folder = logs_dir(job_dir)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cap_logs(job_dir: Path, max_bytes: int = MAX_BYTES) -> None:
    """Cut every log file over ``max_bytes`` to its last ``max_bytes`` (the end holds the errors)."""
    for path in _files(logs_dir(job_dir)):
        cap_file(path, max_bytes)


def cap_file(path: Path, max_bytes: int = MAX_BYTES) -> None:
    """Cut ``path`` to its last ``max_bytes`` at a line boundary, saying how much was cut (no-op when smaller)."""
    try:
        size = path.stat().st_size
        if size <= max_bytes:
            return
        with open(path, "rb") as fh:
            fh.seek(size - max_bytes)
            tail = fh.read()
        cut = tail.find(b"\n")
        head = f"[... first {size - max_bytes + cut + 1} bytes cut by automl-bench ...]\n".encode()
        path.write_bytes(head + tail[cut + 1:] if 0 <= cut < len(tail) - 1 else head + tail)
    except OSError:
        pass


def last_error_line(job_dir: Path) -> str | None:
    """The framework's own last error line in ``<job_dir>/framework_logs/``, or None.

    The framework's own log files are searched first, newest first (by modification time); in the
    first file holding one, the last line logged at an error level or naming an exception wins. Only
    when they hold none are ``console.log`` and ``traceback.log`` searched: the exec script writes
    those last, and their exception usually repeats the harness's message, while the framework's
    own line (a JVM's OutOfMemoryError, auto-sklearn's crashed run) says why. Cut to 300 characters."""
    files = sorted(_files(logs_dir(job_dir)), key=_mtime, reverse=True)
    files.sort(key=lambda p: p.name.startswith(_SECOND_HAND))     # stable: the framework's own first, each newest first
    for path in files:
        for line in reversed(_tail_lines(path)):
            text = line.strip()
            if text and (_LEVEL.search(text) or _EXCEPTION.match(text)):
                return text if len(text) <= _MAX_LINE else text[: _MAX_LINE - 3] + "..."
    return None


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]


def _mtime(path: Path) -> tuple[float, str]:
    try:
        return path.stat().st_mtime, path.name
    except OSError:
        return 0.0, path.name


def _tail_lines(path: Path) -> list[str]:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - _TAIL_BYTES))
            data = fh.read()
    except OSError:
        return []
    if b"\0" in data[:4096]:          # not a text file
        return []
    return data.decode("utf-8", errors="replace").splitlines()


class ConsoleTee:
    """Copies a framework process's console output (stdout and stderr, one pipe) to this process's
    stdout (the job's ``job.log``) and to ``framework_logs/console.log`` as it arrives, rotating that
    file at ``max_bytes`` (one backup). What a framework prints rather than logs (Ray forwarding its
    workers' lines, warnings, a traceback) is then kept with its logs too."""

    def __init__(self, stream, job_dir: Path, max_bytes: int = MAX_BYTES):
        import threading

        self._stream, self._max = stream, max_bytes
        self._path = logs_dir(job_dir) / "console.log"
        self._thread = threading.Thread(target=self._pump, name="console-tee", daemon=True)

    def start(self) -> "ConsoleTee":
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _pump(self) -> None:
        import os
        import sys

        out = open(self._path, "ab")
        try:
            for chunk in iter(lambda: self._stream.read1(1 << 16), b""):
                try:
                    sys.stdout.flush()
                    os.write(sys.stdout.fileno(), chunk)
                except (OSError, ValueError):
                    pass
                if out.tell() + len(chunk) > self._max:
                    out.close()
                    os.replace(self._path, self._path.with_name(self._path.name + ".1"))
                    out = open(self._path, "ab")
                out.write(chunk[-self._max:])
                out.flush()
        except (OSError, ValueError):
            pass
        finally:
            out.close()
