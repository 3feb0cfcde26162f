# One entry point per task; the same locally and in CI.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run serve test check lint typecheck models bench layers check-infra reliability clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: setup  ## Emulate the function locally on the bundled default model
	$(BIN)/onnx-lambda run

serve: setup  ## Serve the ASGI app under uvicorn
	$(BIN)/onnx-lambda serve

test: setup  ## The whole test suite
	$(BIN)/python -m pytest

check: lint typecheck  ## Lint and type-check

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

models: setup  ## Rebuild the bundled models
	$(BIN)/python models/build.py

bench: setup  ## Benchmarks against baselines measured in the same run
	$(BIN)/onnx-lambda bench

reliability: setup  ## Bad-input catalogue, fuzzing, faults, load and a 100,000-invocation soak: README's table
	$(BIN)/onnx-lambda reliability

layers: setup  ## Build the Lambda layers, function zip and size report; run the fixtures through them
	$(BIN)/onnx-lambda package --verify

check-infra: setup  ## cfn-lint and checkov on infra/template.yaml and the Dockerfile (also run by `make test`)
	$(BIN)/cfn-lint infra/template.yaml
	infra/checkov.sh

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache
