# sepviz: `make book` builds the executed book, `make test` runs the tests.
# Both create .venv and install everything themselves (torch 2.13.0 CPU build first).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.sepviz-installed
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba
export MPLBACKEND ?= Agg
export PYTHONHASHSEED ?= 0

.PHONY: venv book test lint format bench clean browser-deps ort pretrained

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	# torch first: the CPU build on local disk; a bare `torch` would pull a multi-GB CUDA build.
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# The chapters' kernels draw with matplotlib's inline backend (Agg would drop every figure).
BOOK_ENV := TQDM_DISABLE=1 MPLBACKEND=module://matplotlib_inline.backend_inline

# onnxruntime-web (pinned, SHA-256 checked) into _extra/ort/ for the live sliders, and MathJax
# (pinned, SHA-256 checked) into _extra/mathjax/ so the pages typeset their math offline; without
# npm each warns and the book keeps the static sliders only and MathJax from its CDN.
ort: $(STAMP)
	$(PY) tools/fetch_ort.py
	$(PY) tools/fetch_mathjax.py

book: $(STAMP) ort
	# TQDM_DISABLE: progress bars are for people; the published pages do not need them.
	# The chapters run side by side into the build's cache first (one thread each), then the
	# build renders them.
	$(BOOK_ENV) $(PY) tools/execute_book.py
	$(BOOK_ENV) $(VENV)/bin/jupyter-book build . -W --keep-going

# The quick budget's models shipped in data/pretrained/: retrain the ones the code changed
# (tests/test_zoo.py fails while one is stale). About 4 hours on 2 cores for all 82 of them.
pretrained: $(STAMP)
	$(BOOK_ENV) $(PY) tools/pretrain.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Debian's Chromium for the browser test of the built book (Playwright drives it; no own download).
browser-deps:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) \
		|| echo "chromium could not be installed: the browser test will be skipped"

test: $(STAMP) lint browser-deps ort
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf _build .pytest_cache .ruff_cache
