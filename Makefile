# One-command entry points. `make run` and `make test` are the README's quick start.
# Python 3.11-3.13: the first of python3.13, python3.12, python3.11, python3 that is one, or PYTHON=...
# `make run` installs what running needs; `make test` adds the test tools, `make lint` ruff and mypy.
PYTHON ?=
VENV   ?= .venv
BIN    := $(VENV)/bin
ENSURE := sh scripts/ensure-venv $(VENV)

.PHONY: run test lint bench clean

# The main job on the embedded default: SQLite, console transport, the bundled sample digest
# (in its own database, demo.db).
run:
	@$(ENSURE) run $(PYTHON)
	$(BIN)/paperboy demo

test:
	@$(ENSURE) test $(PYTHON)
	$(BIN)/python -m pytest -q

lint:
	@$(ENSURE) dev $(PYTHON)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench:
	@$(ENSURE) dev $(PYTHON)
	$(BIN)/python -m bench all --sizes 100000

# Everything a developer uses (what earlier instructions call `make .venv/bin/paperboy`).
$(BIN)/paperboy: pyproject.toml
	@$(ENSURE) dev $(PYTHON)

clean:
	rm -rf $(VENV) .venv-3.* *.egg-info .pytest_cache .mypy_cache .ruff_cache
