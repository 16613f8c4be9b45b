# One-command entry points. `make run` and `make test` are the README's quick start.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/paperboy: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The main job on the embedded default: SQLite, console transport, the bundled sample digest.
run: $(BIN)/paperboy
	$(BIN)/paperboy demo

test: $(BIN)/paperboy
	$(BIN)/python -m pytest -q

lint: $(BIN)/paperboy
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(BIN)/paperboy
	$(BIN)/python -m bench all --sizes 100000

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
