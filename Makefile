# Earful's two commands: `make demo` (the main job on the embedded defaults) and `make test` (lint, then the full
# suite; CI runs it). `make test-fast` skips the tests marked slow, for everyday work; `make lint` lints alone.
# Both create .venv when missing and install Earful into it; nothing else needs doing by hand.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.earful-installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test test-fast test-ray lint install sandbox browser clean lab readme

$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,notebook,ray]'
	touch $(STAMP)

install: $(STAMP)

# bubblewrap contains the agent's generated code; best effort (Earful falls back to a limited subprocess).
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get install -y -qq bubblewrap >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && \
	   apt-get install -y -qq bubblewrap >/dev/null 2>&1)); } || true

# chromium lets the page tests check for script injection in a real browser (best effort; they skip without it)
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && \
	   apt-get install -y -qq chromium >/dev/null 2>&1)); } || true

demo: $(STAMP) sandbox
	$(BIN)/python -m earful.demo

# the README's marked console blocks rewritten from real runs (docs/readme_outputs.py): a fresh demo workspace first
# (minutes), then each block's commands; `make test` checks the cheap blocks and the demo blocks' recorded inputs
README_DEMO := $(VENV)/readme/demo.duckdb
readme: $(STAMP)
	rm -rf $(VENV)/readme && mkdir -p $(VENV)/readme
	EARFUL_DEMO_DB=$(README_DEMO) $(BIN)/python -m earful.demo
	$(BIN)/python docs/readme_outputs.py --tier all --demo-db $(README_DEMO)

# JupyterLab (installed by the set-up above, with a kernel in .venv) on the bundled notebooks; they use demo.duckdb
# when `make demo` has made it, else build a small sample workspace of their own. LAB_ARGS passes options
# (e.g. LAB_ARGS="--no-browser --port 8890"); as root (a container) Jupyter needs --allow-root, given here.
lab: $(STAMP)
	cd notebooks && ../$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# ruff, then import-linter's layer contracts (pyproject.toml). The stage folders live at the top level and install
# as earful.<stage> through package-dir, which import-linter cannot follow; it reads a tree of links that has them
# where they install (earful/ingest -> ../ingest, ...), rebuilt on every run.
LINT_TREE := $(VENV)/lint-imports
lint: $(STAMP)
	$(BIN)/ruff check .
	rm -rf $(LINT_TREE) && mkdir -p $(LINT_TREE)/earful
	for f in earful/*; do ln -s "$(CURDIR)/$$f" $(LINT_TREE)/earful/; done
	for s in ingest classify topics qa_agent; do ln -s "$(CURDIR)/$$s" $(LINT_TREE)/earful/$$s; done
	cd $(LINT_TREE) && PYTHONPATH=. $(CURDIR)/$(BIN)/lint-imports --no-cache $(CURDIR)/pyproject.toml

# the suite spreads over the 2 cores (pytest-xdist), one test file per worker at a time (--dist loadfile keeps each
# file's module fixtures, e.g. a fitted demo workspace, built once): ~21-27 min of tests here (1,330, Ray's included)
test: lint sandbox browser
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --no-loadscope-reorder

# the fast lane: the same, without the tests marked slow
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow" -n 2 --dist loadfile --no-loadscope-reorder

# the lake's Ray tests alone (a one-node cluster for the file, ~3-5 min on 2 cores); `make test` runs them too, as the
# ray extra is part of the set-up above
test-ray: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_lake_ray.py

clean:
	rm -rf $(VENV) demo.duckdb earful-output
