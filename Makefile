# Sales Process Workbench. `make help` lists the targets.
# Two commands set everything up on a fresh machine with Python 3.11:
#   make report   (venv, install, sample CRM, ingest, notebooks -> reports/latest/index.html)
#   make test     (venv if needed, whole test suite)

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEALS ?= 5000
SEED ?= 20240601
MESSY ?= --messy
SAMPLE_DIR := data/raw/sample
PROCESSED_DIR := data/processed
SAMPLE_MAP := config/maps/sample.yaml
PYTEST_ARGS ?= -n 2 --dist loadfile --ignore=tests/spark
WORKERS ?= 2
# One BLAS thread per process: tests and notebook kernels already run side by
# side, and multithreaded OpenBLAS on a busy small machine is many times slower.
OPENBLAS_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS

.DEFAULT_GOAL := help
.PHONY: help setup setup-spark sample ingest report test test-spark lab lint format clean

## Show this help.
help:
	@awk '/^## /{doc=substr($$0,4); next} /^[a-z][a-z-]*:/{ if (doc) { split($$0,t,":"); printf "  %-12s %s\n", t[1], doc }; doc="" }' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required (python3.11 or python3 on PATH)."; exit 2; }
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## Create .venv and install the package with its dev tools.
setup: $(STAMP)

SPARK_STAMP := $(VENV)/.installed-spark
$(SPARK_STAMP): $(STAMP)
	@command -v java >/dev/null || { echo "Spark needs a Java runtime (e.g. apt-get install default-jre-headless)."; exit 2; }
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $(SPARK_STAMP)

## Install the optional Spark backend (pyspark; needs Java).
setup-spark: $(SPARK_STAMP)

## Generate the sample CRM export in data/raw/sample (DEALS=5000 SEED=20240601; MESSY= for a clean one).
sample: $(STAMP)
	$(BIN)/sales-workbench sample --deals $(DEALS) --seed $(SEED) --out $(SAMPLE_DIR) $(MESSY)

## Validate and ingest the sample export into data/processed (canonical Parquet).
ingest: sample
	$(BIN)/sales-workbench ingest --source $(SAMPLE_DIR) --map $(SAMPLE_MAP) --out $(PROCESSED_DIR)

## Sample, ingest and run every notebook: reports/latest/index.html.
report: ingest
	$(BIN)/sales-workbench report --workers $(WORKERS)
	@echo "Open reports/latest/index.html"

## Run the whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Run every analysis and a report on Spark local and check it against DuckDB.
test-spark: $(SPARK_STAMP)
	$(BIN)/python -m pytest tests/spark

## Start JupyterLab on the project (prints the URL with its token).
lab: $(STAMP)
	$(BIN)/sales-workbench lab

## Lint and check formatting with ruff.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks notebooks

## Format the code with ruff.
format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

## Remove generated data, reports and the virtual environment.
clean:
	rm -rf $(VENV) $(SAMPLE_DIR) $(PROCESSED_DIR) reports/[0-9]* reports/latest reports/.*.partial
