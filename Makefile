# Two commands do all the set-up: `make demo` and `make test`.
# Both create .venv and (re)install pmtui with its dev tools whenever pyproject.toml changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Real agent CLIs, pinned, in a git-ignored folder: the tests run Claude Code and Codex
# against a fake LLM server on 127.0.0.1 (`make agents` adds Gemini CLI, opencode and Aider).
AGENTS := .agents
AGENTS_STAMP := $(AGENTS)/.installed-ci
NPM_AGENTS_CI := @anthropic-ai/claude-code@2.1.197 @openai/codex@0.171.0
NPM_AGENTS_MORE := @google/gemini-cli@0.61.0 opencode-ai@1.18.33
AIDER := aider-chat==0.86.2

.PHONY: demo test lint bench clean agents

demo: $(STAMP)
	$(BIN)/pmtui demo

test: lint $(AGENTS_STAMP)
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
	$(BIN)/python bench/agents.py

$(AGENTS_STAMP): Makefile
	@command -v npm >/dev/null || { echo "npm not found: the tests of real agent CLIs will be skipped"; exit 0; }; \
	  npm install --prefix $(AGENTS) --no-audit --no-fund --loglevel=error $(NPM_AGENTS_CI) && touch $@

agents: $(AGENTS_STAMP) | $(BIN)/python
	npm install --prefix $(AGENTS) --no-audit --no-fund --loglevel=error $(NPM_AGENTS_CI) $(NPM_AGENTS_MORE)
	test -x $(AGENTS)/aider/bin/aider || { $(PYTHON) -m venv $(AGENTS)/aider && \
	  $(AGENTS)/aider/bin/pip install --quiet --disable-pip-version-check '$(AIDER)'; }
	ln -sf ../../aider/bin/aider $(AGENTS)/node_modules/.bin/aider

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) $(AGENTS) .mypy_cache .ruff_cache .pytest_cache .hypothesis dist build
