# Quick start:  make demo   (venv + install + `cxml train` on the bundled CDNOW data)
#               make test   (venv + install with test extras + the whole test suite)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test test-fast bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,spark]"
	touch $@ $(VENV)/.base

demo: $(VENV)/.base
	$(BIN)/cxml train

test: $(VENV)/.test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.test
	$(BIN)/python -m pytest -m "not slow and not spark" $(PYTEST_ARGS)

bench: $(VENV)/.test
	$(BIN)/python benchmarks/bench_features.py
	$(BIN)/python benchmarks/bench_models.py

clean:
	rm -rf $(VENV) mlflow.db mlruns mlartifacts .pytest_cache .hypothesis
