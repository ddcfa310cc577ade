# groundqa: `make run` installs everything, indexes seeds/ and starts the app; `make test` installs and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export GROUNDQA_HOME ?= $(CURDIR)/.groundqa
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
# llama.cpp is built from source: portable CPU flags, so a cached wheel runs on any x86-64 with AVX2.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: install run ui test test-unit bench browser clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel setuptools
	$(PY) -m pip install -e '.[dev]'
	touch $(STAMP)

# Debian's chromium for the browser tests (playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: install
	$(PY) app.py

test: install browser
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest -m unit

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) .groundqa .pytest_cache
