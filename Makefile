# dank: the two commands are `make train` and `make test`; both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The TensorFlow extra: `make setup GPU=1` installs the GPU build (CUDA from pip)
# instead of the CPU one. A venv never holds both (docs/scaling.md): one
# made for the other extra is recreated.
GPU ?=
TF_EXTRA := $(if $(GPU),gpu,cpu)
OTHER_EXTRA := $(if $(GPU),cpu,gpu)
STAMP := $(VENV)/.installed-$(TF_EXTRA)
PRESET ?= cpu
RUN ?= runs/default
STARTER := data/starter
DATA ?= data/build/starter
FULL_SOURCE ?= ../shared/data/memes
FULL_DATA ?= data/build/full

export TF_ENABLE_ONEDNN_OPTS ?= 1
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: help setup data train train-vision train-language train-full test \
	test-all lint bench paper quality export tensorboard doctor clean faults soak \
	smoke-gpu

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

$(STAMP): setup.cfg pyproject.toml
	@if [ -e $(VENV)/.installed-$(OTHER_EXTRA) ]; then rm -rf $(VENV); fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[$(TF_EXTRA),dev]'
	@touch $(STAMP)

setup: $(STAMP)  ## Create .venv and install dank with pinned dependencies.

$(DATA)/.built: $(wildcard $(STARTER)/*.csv*) | $(STAMP)
	$(BIN)/dank data build --source $(STARTER) --out $(DATA)
	@touch $@

data: $(DATA)/.built  ## Build TFRecords from the committed starter set.

# Each model is a file target: re-running `make train` after an interruption
# resumes the unfinished model (BackupAndRestore) and skips a finished one.
$(RUN)/vision/model.keras: $(DATA)/.built
	$(BIN)/dank train vision --preset $(PRESET) --data $(DATA) --run $(RUN)

$(RUN)/language/model.keras: $(DATA)/.built
	$(BIN)/dank train language --preset $(PRESET) --data $(DATA) --run $(RUN)

train: $(RUN)/vision/model.keras $(RUN)/language/model.keras  ## Train both models (preset $(PRESET)) into $(RUN), draw sample memes.
	$(BIN)/dank generate --run $(RUN) --samples
	$(BIN)/dank summary --run $(RUN)

train-vision: $(RUN)/vision/model.keras  ## Train only the template classifier.

train-language: $(RUN)/language/model.keras  ## Train only the caption model.

# The full catalogue: every merged template of $(FULL_SOURCE) (2,980), preset
# `full` for both models. Vision: 64 px, warm-started from the starter model's
# backbone with an imprinted head, 2,900 steps: about 20-34 min on 2 cores
# (by the day). Captions: the paper's model size (LSTM 512, embedding 300) on
# all 280k training captions with an adaptive softmax, about 39 min. With the
# data build about 64 min in all for 1,900 vision steps, about 75 on the same
# day for 2,900 (experiments/results/run-make-train-full.json,
# vision-full-2900-2026-12-05.json, docs/performance.md); 44.4 min on a fast
# day (run-make-train-full-7709b47.json).
FULL_RUN ?= runs/full
$(FULL_DATA)/.built: | $(STAMP)
	$(BIN)/dank data build --source $(FULL_SOURCE) --out $(FULL_DATA)
	@touch $@

$(FULL_RUN)/vision/model.keras: $(FULL_DATA)/.built $(RUN)/vision/model.keras
	$(BIN)/dank train vision --preset full --data $(FULL_DATA) --run $(FULL_RUN) \
		--weights $(RUN)/vision/model.keras

$(FULL_RUN)/language/model.keras: $(FULL_DATA)/.built
	$(BIN)/dank train language --preset full --data $(FULL_DATA) --run $(FULL_RUN)

train-full: $(FULL_RUN)/vision/model.keras $(FULL_RUN)/language/model.keras  ## Train both models on every template of the full catalogue (after `make train`; ~60-75 min on 2 cores).

test: setup  ## Fast test suite (what CI runs).
	$(BIN)/python -m pytest -q

test-all: setup  ## Every test, including slow training runs and golden images.
	$(BIN)/python -m pytest -q -m ""

# Seeded: the same FAULTS_ARGS give the same inputs. Trains a tiny run first
# unless FAULTS_ARGS names one (--run DIR).
FAULTS_ARGS ?= --count 1000 --csv-count 100 --seed 0
faults: setup  ## Fuzz classify, generate and data build with 1,000+ bad inputs; counts tracebacks (must be 0).
	$(BIN)/python -m tools.fuzz_faults $(FAULTS_ARGS)

# 50 clients, 2,000 generate requests on 127.0.0.1; trains a tiny run first
# unless SOAK_ARGS names one (--run DIR). Stops by itself (--max-seconds).
SOAK_ARGS ?=
smoke-gpu:  ## For accelerator owners: GPU install, tiny vision+captions with XLA, 8 memes, exports (CPU: says so, ~8 min).
	PYTHON=$(BIN)/python tools/accelerator_smoke.sh $(SMOKE_DIR)

soak: setup  ## Soak `dank serve` on loopback: 50 clients, 2,000 requests; 5xx (must be 0) and RSS (flat within 5%).
	$(BIN)/python -m tools.soak_serve $(SOAK_ARGS)

lint: setup  ## ruff check, ruff format --check, and the import-linter layer contracts (setup.cfg).
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

bench: setup  ## Benchmarks as ratios to the machine's ceiling (BENCH_ARGS=--quick: ~2 min).
	$(BIN)/python -m experiments.benchmarks.run $(BENCH_ARGS)

# The four caption variants of experiments/configs/*-$(PAPER_SIZE).json: trains
# what is missing (cpu: about 25 min per variant on 2 cores, plus the vision model
# once if the run has none), evaluates, writes experiments/results/.
PAPER_SIZE ?= cpu
paper: setup  ## Our variants beside the paper: experiments/results/paper.md (cpu: ~25 min per missing variant; PAPER_SIZE=paper for a GPU).
	$(BIN)/dank experiment run '*-$(PAPER_SIZE)'

# Issue 22's table: each decoder's captions on the run's test split against the
# strong real-vs-generated detector and the other generation metrics. Trains
# the humour model first if the run has none (its score and rerank rows).
$(RUN)/humor/model.keras: $(RUN)/language/model.keras
	$(BIN)/dank train humor --data $(DATA) --run $(RUN)

quality: $(RUN)/language/model.keras $(RUN)/humor/model.keras  ## Caption quality per decoder: experiments/results/quality.json and docs/quality.md.
	$(BIN)/python -m experiments.quality --run $(RUN)

doctor: setup  ## Check the install, the data and $(RUN), and explain any problem.
	$(BIN)/dank doctor --run $(RUN)

export: setup  ## Export $(RUN) as SavedModel and ONNX into exports/.
	$(BIN)/dank export --run $(RUN) --format savedmodel --out exports/savedmodel
	$(BIN)/dank export --run $(RUN) --format onnx --out exports/onnx

tensorboard: setup  ## Serve TensorBoard over runs/.
	$(BIN)/tensorboard --logdir runs --host 127.0.0.1

clean:  ## Remove built data and runs (keeps .venv).
	rm -rf data/build runs
