# Jam: `make demo` and `make test` each do the whole set-up on a fresh Debian/Ubuntu machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
JAM := $(VENV)/bin/jam
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
SYSTEM_PACKAGES := libfluidsynth3 fluidsynth fluid-soundfont-gm timgm6mb-soundfont libsndfile1 libopus0 libcairo2
TEST_PACKAGES := postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system demo test lint data train-vae eval bench clean

setup: system $(STAMP)

system:  ## Debian packages: FluidSynth, General MIDI soundfonts, libsndfile, libopus, cairo (+ PostgreSQL for the tests)
	@missing=$$(for p in $(SYSTEM_PACKAGES) $(if $(filter test,$(MAKECMDGOALS)),$(TEST_PACKAGES)); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:" $$missing; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch goes first, pinned, so that pip takes the CPU wheel on this machine (or CUDA on a GPU box).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev,scale]'
	touch $(STAMP)

demo: setup
	$(JAM) compose "a cheerful folk tune" --out out --seed 1

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

data: setup
	$(JAM) data

train-vae: setup
	$(JAM) train vae

eval: setup
	$(JAM) eval --json

bench: setup
	$(PY) bench/bench_compose.py

clean:
	rm -rf $(VENV) out runs .pytest_cache .ruff_cache
