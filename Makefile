# Quick start:  make demo   (venv + install + `cxml train` on the bundled CDNOW data)
#               make test   (venv + install with test extras + the whole test suite)
# Every install is constrained to the tested versions in constraints.txt (`make lock`
# refreshes it); pyproject.toml keeps the compatible ranges.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=
INSTALL := $(BIN)/python -m pip install --quiet -c constraints.txt
# The Python the lock is resolved for (CI's and the developers' 3.11; mkdocs-material's
# pymdown-extensions needs >= 3.11.5).
LOCK_PYTHON ?= 3.11.7
LOCK_EXTRAS := --extra test --extra spark --extra dev --extra docs
LINT_PATHS  := src tests benchmarks

.PHONY: demo test test-fast lint lint-style docs lock lock-upgrade bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.base: pyproject.toml constraints.txt | $(BIN)/python
	$(INSTALL) -e .
	touch $@

$(VENV)/.test: pyproject.toml constraints.txt | $(BIN)/python
	$(INSTALL) -e ".[test,spark]"
	touch $@ $(VENV)/.base

# spark too: mypy follows cxml.spark's imports of pyspark
$(VENV)/.dev: pyproject.toml constraints.txt | $(BIN)/python
	$(INSTALL) -e ".[dev,spark]"
	touch $@ $(VENV)/.base

$(VENV)/.docs: pyproject.toml constraints.txt | $(BIN)/python
	$(INSTALL) -e ".[docs]"
	touch $@ $(VENV)/.base

demo: $(VENV)/.base
	$(BIN)/cxml train

test: $(VENV)/.test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.test
	$(BIN)/python -m pytest -m "not slow and not spark" $(PYTEST_ARGS)

# ruff (rules and format) and mypy, versions pinned in the `dev` extra; all three run and
# report before lint fails
# the style gate CI runs on every submission: ruff's rules and its formatter
lint-style: $(VENV)/.dev
	@status=0; \
	$(BIN)/ruff check $(LINT_PATHS) || status=1; \
	$(BIN)/ruff format --check $(LINT_PATHS) || status=1; \
	exit $$status

lint: $(VENV)/.dev
	@status=0; \
	$(BIN)/ruff check $(LINT_PATHS) || status=1; \
	$(BIN)/ruff format --check $(LINT_PATHS) || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

# documentation site into site/ (user guide, notebooks not executed, API reference);
# strict: a broken link, a missing page or a docstring that cannot be rendered fails
docs: $(VENV)/.docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# Refresh constraints.txt after changing a dependency range: keeps every pin that still
# satisfies pyproject.toml; `make lock-upgrade` moves all pins to the newest allowed versions
# (then run `make test` and commit constraints.txt with the CHANGELOG entry).
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --quiet pyproject.toml --python-version $(LOCK_PYTHON) $(LOCK_EXTRAS) \
	    -o constraints.txt

lock-upgrade: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --quiet pyproject.toml --python-version $(LOCK_PYTHON) $(LOCK_EXTRAS) \
	    --upgrade -o constraints.txt

bench: $(VENV)/.test
	$(BIN)/python benchmarks/bench_features.py
	$(BIN)/python benchmarks/bench_models.py

clean:
	rm -rf $(VENV) site mlflow.db mlruns mlartifacts .pytest_cache .hypothesis
