# Loket — `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= auto

.DEFAULT_GOAL := help
.PHONY: help deps run build test fmt fmt-check lint test-sqlite test-postgres contract resilience browser openapi bench clean-db

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

deps: ## Install system packages the build needs (libpq) when missing
	@scripts/ensure-build-deps.sh

build: deps ## Build the loket binary (debug)
	$(CARGO) build --bin loket

run: build ## Build and serve on an embedded SQLite file (loket.db)
	./target/debug/loket serve

test: deps fmt-check lint test-sqlite test-postgres contract resilience browser ## Everything CI runs: fmt, clippy, tests on SQLite and PostgreSQL, schemathesis, resilience
	@echo "make test: all checks passed"

fmt: ## Format the code
	$(CARGO) fmt --all

fmt-check: ## Check formatting
	$(CARGO) fmt --all -- --check

lint: deps ## Clippy with warnings as errors
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-sqlite: build ## Unit and integration tests against SQLite
	LOKET_TEST_BACKEND=sqlite scripts/nextest.sh

test-postgres: build ## Integration tests against a throw-away PostgreSQL server
	LOKET_TEST_POSTGRES_URL="$$(scripts/ensure-postgres.sh)" LOKET_TEST_BACKEND=postgres scripts/nextest.sh -p loket-tests

contract: build ## schemathesis against the live /openapi.json, the examples, the kill -9 webhook test
	tests/contract/schemathesis.sh
	tests/contract/webhooks_crash.sh

resilience: build ## The real server under kill -9 (SQLite, PostgreSQL), a database outage, slow and oversized requests (a few minutes at most)
	tests/resilience/run.sh

browser: build ## Real-browser test: headless Chromium logs in via Swagger UI and calls GET /api/v1/me
	tests/browser/run.sh

openapi: ## Regenerate the committed openapi/openapi.json
	$(CARGO) run -q --bin loket -- admin openapi > openapi/openapi.json

bench: deps ## Benchmarks (figures, not pass/fail): HTTP load with wrk on SQLite and PostgreSQL (bench/README.md, writes bench/results.json), webhook deliveries/s, one week of 10,000 appointments
	scripts/ensure-bench-tools.sh
	$(CARGO) build -q --release -p loket-gateway -p loket-bench
	LOKET_TEST_POSTGRES_URL="$$(scripts/ensure-postgres.sh)" $(CARGO) run -q --release -p loket-bench --bin loket-bench
	$(CARGO) bench -q -p loket-webhooks --bench throughput
	LOKET_TEST_BACKEND=sqlite $(CARGO) test -q --release -p loket-tests --test api -- --ignored --nocapture --exact agenda::bench_list_one_week_of_10000_appointments
