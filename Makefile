# The README's commands. `make run` and `make test` set everything up on a fresh Debian machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
APT_PACKAGES := ffmpeg redis-server espeak-ng sox docker-compose
PYTEST_ARGS ?=

.PHONY: run test lint typecheck layers unit bench system-deps venv clean

run: system-deps venv ## start the whole stack (Ctrl-C stops it)
	$(VENV)/bin/podium up

test: system-deps venv lint typecheck layers ## the whole suite against real Redis, S3 and ffmpeg
	$(PY) -m pytest $(PYTEST_ARGS)

unit: venv ## only the fast tests of pure functions
	$(PY) -m pytest tests -m "not slow" -k "not integration" $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv
	$(VENV)/bin/mypy

layers: venv
	$(VENV)/bin/lint-imports

bench: system-deps venv ## upload-to-ready time against one plain ffmpeg command
	$(PY) bench/transcode.py

system-deps: ## apt packages, when root and missing
	@missing=""; \
	for cmd in ffmpeg ffprobe redis-server espeak-ng sox docker-compose; do \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$cmd"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	  else \
	    echo "missing:$$missing (run as root, or: sudo apt-get install $(APT_PACKAGES))"; exit 1; \
	  fi; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11+ is needed ($(PYTHON) is $$($(PYTHON) --version))"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
