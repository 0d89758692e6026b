# The README's commands. `make run` and `make test` set everything up on a fresh Debian machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
# hls.js for the viewer page, from npm; reinstalled when the lockfile changes
WEB_STAMP := web/node_modules/.installed-$(shell sha1sum web/package-lock.json 2>/dev/null | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: run test lint typecheck layers unit screenshots bench bench-quality bench-channels wrk system-deps venv web clean

run: system-deps venv web ## start the whole stack (Ctrl-C stops it)
	$(VENV)/bin/podium up

test: system-deps venv web lint typecheck layers ## the whole suite against real Redis, S3 and ffmpeg
	$(PY) -m pytest $(PYTEST_ARGS)

unit: venv ## only the fast tests of pure functions
	$(PY) -m pytest tests -m "not slow and not integration" $(PYTEST_ARGS)

screenshots: system-deps venv web ## rewrite docs/*.png from the browser tests
	PODIUM_SCREENSHOTS=1 $(PY) -m pytest tests/test_studio_browser.py tests/test_speaker_page_browser.py \
		tests/live/test_studio_cut_browser.py $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv
	$(VENV)/bin/mypy

layers: venv
	$(VENV)/bin/lint-imports

bench: system-deps venv ## upload-to-ready time against one plain ffmpeg command
	$(PY) bench/transcode.py

bench-quality: system-deps venv ## VMAF against bit rate: presets, fixed ladder, per-title
	$(PY) -m pip install -q -e '.[dev,quality]'
	nice -n 10 $(PY) bench/quality.py --plots docs

bench-channels: venv wrk ## playlist serving (needs `make run` in another shell)
	$(PY) bench/channels.py

wrk: ## the HTTP load generator of bench-channels (apt, when root and missing)
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing: wrk"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	  else \
	    echo "missing: wrk (run as root, or: sudo apt-get install wrk)"; exit 1; \
	  fi; \
	}

system-deps: ## apt packages, when root and missing (only the missing ones); pocketsphinx-testdata: real recorded speech for the caption tests and bench
	@missing=""; \
	for pair in ffmpeg:ffmpeg ffprobe:ffmpeg redis-server:redis-server espeak-ng:espeak-ng \
	            sox:sox docker-compose:docker-compose chromium:chromium npm:npm \
	            nginx:nginx-light srt-live-transmit:srt-tools; do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || case " $$missing " in *" $$pkg "*) ;; \
	    *) missing="$$missing $$pkg";; esac; \
	done; \
	test -f /usr/lib/nginx/modules/ngx_rtmp_module.so || missing="$$missing libnginx-mod-rtmp"; \
	[ -f /usr/share/pocketsphinx/test/data/librivox/transcription ] || \
	  missing="$$missing pocketsphinx-testdata"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing:$$missing (run as root, or: sudo apt-get install$$missing)"; exit 1; \
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

web: $(WEB_STAMP)

$(WEB_STAMP): web/package.json $(wildcard web/package-lock.json)
	@command -v npm >/dev/null 2>&1 || { echo "npm is needed for hls.js (apt-get install npm)"; exit 1; }
	if [ -f web/package-lock.json ]; then npm ci --prefix web --no-audit --no-fund; \
	else npm install --prefix web --no-audit --no-fund; fi
	rm -f web/node_modules/.installed-*
	touch $@

clean:
	rm -rf $(VENV) web/node_modules .pytest_cache .mypy_cache .ruff_cache *.egg-info
