# Jam: `make demo` and `make test` each do the whole set-up on a fresh Debian/Ubuntu machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
JAM := $(VENV)/bin/jam
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
SYSTEM_PACKAGES := libfluidsynth3 fluidsynth fluid-soundfont-gm timgm6mb-soundfont libsndfile1 libopus0 libcairo2 espeak-ng
TEST_PACKAGES := postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system demo test lint data train train-vae train-hum eval bench clean

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
	@echo "compiling the pitch tracker's kernels into numba's cache (about 35 s, once)"
	$(PY) -c "from engine.listen.audio import warm_up; warm_up()"
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
	$(JAM) chorales

train-vae: setup
	$(JAM) train vae

# The shipped models, as they were made (engine/weights/MODEL_CARD.md): the VAE starts from the first
# one (1,750 steps, no context; kept in git history) and learns its context, then the conductor and
# the latent GAN learn in the new VAE's latent space. CUDA when torch sees a GPU; resumes from runs/.
FIRST_VAE := d8b11ef:engine/weights/melody_vae.pt
train: setup
	$(JAM) data
	mkdir -p runs && git show $(FIRST_VAE) > runs/first_vae.pt
	$(JAM) train vae --init-from runs/first_vae.pt --steps 8000 --lr 5e-4 --lr-min 5e-5 \
		--beta-ramp-steps 1 --eval-every 500 --out-dir runs/vae2
	$(JAM) train conductor --out-dir runs/conductor
	$(JAM) train gan --out-dir runs/gan2
	$(JAM) eval --json > runs/eval.json
	$(MAKE) train-hum

# The note model that transcribes hummed clips (engine/weights/HUM_MODEL_CARD.md): it performs and renders
# its clips first (data/hum_*.pt), then trains; one thread: its convolutions are too small to split.
train-hum: setup
	$(JAM) data
	OMP_NUM_THREADS=1 $(JAM) train hum --out-dir runs/hum

eval: setup
	$(JAM) eval --json

bench: setup
	$(PY) bench/bench_compose.py

clean:
	rm -rf $(VENV) out runs .pytest_cache .ruff_cache
