# Two commands matter: `make run` (the market on embedded defaults, with demo data) and
# `make test` (the full suite). Both install what they need into .venv and are idempotent.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-packages
HOST ?= 127.0.0.1
PORT ?= 8000
CODE := matching anonymize market api datamarket bench tests

.PHONY: install matching-native run test lint check-services clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The matching engine compiled with mypyc (needs gcc and the Python headers); the interpreted
# modules stay importable, and the tests run both builds.
NATIVE_STAMP := matching/_native/.built
$(NATIVE_STAMP): $(STAMP) $(filter-out matching/_build.py matching/__init__.py,$(wildcard matching/*.py))
	$(BIN)/python -m matching._build
	touch $(NATIVE_STAMP)

matching-native: $(NATIVE_STAMP)

# Debian packages the tests use (none beyond the base image yet); the machine runs as root.
$(SYSTEM_STAMP): $(STAMP)
	@if [ -n "$(SYSTEM_PACKAGES)" ]; then apt-get update -qq && apt-get install -y -qq $(SYSTEM_PACKAGES); fi
	touch $(SYSTEM_STAMP)

run: $(NATIVE_STAMP)
	$(BIN)/datamarket serve --demo --host $(HOST) --port $(PORT)

check-services: $(STAMP)
	$(BIN)/python -m tests.services

test: $(SYSTEM_STAMP) $(NATIVE_STAMP) check-services
	$(BIN)/python -m pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy matching anonymize market api datamarket

clean:
	rm -rf $(VENV) build *.egg-info
	rm -f matching/_native/*.so matching/_native__mypyc*.so
	rm -f $(NATIVE_STAMP)
