# dank: the two commands are `make train` and `make test`; both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PRESET ?= cpu
RUN ?= runs/default
STARTER := data/starter
DATA ?= data/build/starter
FULL_SOURCE ?= ../shared/data/memes
FULL_DATA ?= data/build/full

export TF_ENABLE_ONEDNN_OPTS ?= 1
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: help setup data train train-vision train-language train-full samples test \
	test-all lint bench paper export tensorboard clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)  ## Create .venv and install dank with pinned dependencies.

$(DATA)/.built: $(STAMP) $(wildcard $(STARTER)/*.csv*)
	$(BIN)/dank data build --source $(STARTER) --out $(DATA)
	@touch $@

data: $(DATA)/.built  ## Build TFRecords from the committed starter set.

train: data  ## Train both models (preset $(PRESET)) into $(RUN) and draw sample memes.
	$(BIN)/dank train vision --preset $(PRESET) --data $(DATA) --run $(RUN)
	$(BIN)/dank train language --preset $(PRESET) --data $(DATA) --run $(RUN)
	$(BIN)/dank generate --run $(RUN) --samples

train-full: setup  ## Build the full catalogue from $(FULL_SOURCE) and train vision on every template.
	$(BIN)/dank data build --source $(FULL_SOURCE) --out $(FULL_DATA)
	$(BIN)/dank train vision --preset $(PRESET) --data $(FULL_DATA) --run runs/full

test: setup  ## Fast test suite (what CI runs).
	$(BIN)/python -m pytest -q

test-all: setup  ## Every test, including slow training runs and golden images.
	$(BIN)/python -m pytest -q -m ""

lint: setup  ## ruff check.
	$(BIN)/ruff check .

bench: setup  ## Benchmarks (not built yet).
	@echo "make bench: not built yet (issue 10)."; exit 2

paper: setup  ## Reproduce the paper's variants (not built yet).
	@echo "make paper: not built yet (issue 8)."; exit 2

export: setup  ## Export SavedModel and ONNX (not built yet).
	@echo "make export: not built yet (issue 6)."; exit 2

tensorboard: setup  ## Serve TensorBoard over runs/.
	$(BIN)/tensorboard --logdir runs --host 127.0.0.1

clean:  ## Remove built data and runs (keeps .venv).
	rm -rf data/build runs
