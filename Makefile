# Two commands do all the set-up: `make demo` and `make test`.
# Both create .venv and (re)install pmtui with its dev tools whenever pyproject.toml changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

demo: $(STAMP)
	$(BIN)/pmtui demo

test: lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check pmtui tests bench
	$(BIN)/mypy --strict pmtui
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/parse_bench.py
	$(BIN)/python bench/schedule_quality.py --bound tight
	$(BIN)/python bench/schedule_speed.py
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/makespan.py
	$(BIN)/python bench/output_flood.py
	$(BIN)/python bench/ui_flood.py
	$(BIN)/python bench/merge_queue.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis dist build
