# hex-action: `make demo` runs the action against the local Hex simulator; `make test` runs every check.
# Both set themselves up in .venv from the pinned requirements.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | sha1sum | cut -c1-12)

.PHONY: setup demo test lint unit e2e container bench image clean

$(STAMP):
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

setup: $(STAMP)

demo: setup
	$(BIN)/python scripts/demo.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	scripts/static-checks.sh $(BIN)

unit: setup
	$(BIN)/python -m pytest -m "not e2e and not container"

e2e: setup
	$(BIN)/python -m pytest -m e2e

container: setup
	eval "$$(scripts/docker-env.sh)" && $(BIN)/python -m pytest -m container

# Everything CI runs: lint and static checks, then all tests, the real container included.
test: lint
	eval "$$(scripts/docker-env.sh)" && $(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/pipeline.py

image:
	scripts/build-image.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
