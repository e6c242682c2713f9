# Set-up on a fresh machine needs only python3: each target creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
STAMP := $(VENV)/.installed

.PHONY: demo test build dashboard dagster bench bench-ingest lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## demo: build the sample warehouse, print one demo account per role, start the dashboard
demo: $(STAMP)
	$(BIN)/scr build
	$(BIN)/scr users demo
	$(BIN)/scr dashboard --port $(PORT)

## test: run the whole test suite (unit, pipeline, CLI, dashboard, browser)
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

build: $(STAMP)
	$(BIN)/scr build

dashboard: $(STAMP)
	$(BIN)/scr dashboard --port $(PORT)

## dagster: the Dagster UI on the same definitions (http://localhost:3000)
dagster: $(STAMP)
	mkdir -p .dagster_home
	test -f .dagster_home/dagster.yaml || cp pipelines/dagster.yaml .dagster_home/dagster.yaml
	DAGSTER_HOME=$(CURDIR)/.dagster_home SCR_WAREHOUSE="$${SCR_WAREHOUSE:-$(CURDIR)/warehouse/scr.duckdb}" \
		$(BIN)/dagster dev -m pipelines.definitions

## bench: server-side render time of every dashboard page (sample and 10x data)
bench: $(STAMP)
	$(BIN)/python scripts/bench_dashboard.py

## bench-ingest: validate/ingest/build times beside bare DuckDB floors (REVIEWS=100000)
REVIEWS ?= 100000
bench-ingest: $(STAMP)
	$(BIN)/python scripts/bench_ingest.py --reviews $(REVIEWS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) warehouse/scr.duckdb warehouse/scr.snapshot.duckdb warehouse/scr.duckdb.lock
