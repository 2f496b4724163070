# Two commands from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0  # pinned CPU wheel first: an unpinned torch pulls a multi-GB CUDA build
	$(PY) -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install  ## the main job on the embedded, offline demo suite
	$(PY) -m benchmark run --out results/demo

test: install  ## the whole test suite
	$(PY) -m pytest -q

bench: install
	$(PY) bench/bench_harness.py

clean:
	rm -rf $(VENV) results/demo
