# wanllmdb: `make test` and `make lint` do all set-up themselves on a fresh machine.
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test test-python test-web lint fmt services services-stop bench check-domain-deps schemathesis openapi

## Serve the API and the web UI on 127.0.0.1:8080 with the embedded default: SQLite at
## data/wanllmdb.db and blobs under data/blobs. Builds the UI first (npm ci, vite build) and
## embeds it. The first start prints the administrator's API key once.
run:
	scripts/web.sh build
	$(CARGO) run --release -p wanllmdb-server --features ui -- serve

## Run every test in the workspace: starts a throwaway PostgreSQL and Garage for the run (unless
## TEST_DATABASE_URL / TEST_S3_ENDPOINT name existing ones), and stops them afterwards; the
## Python package's pytest suite on both backends; then schemathesis against the live server
## and its generated OpenAPI document.
test:
	scripts/web.sh build
	scripts/services.sh run -- sh -c '$(CARGO) test --workspace --all-features && scripts/python-tests.sh && scripts/web.sh test'
	$(CARGO) build --workspace --all-features --bins
	scripts/schemathesis.sh

## Only the Python package's suite (starts PostgreSQL and Garage like `make test`).
test-python:
	scripts/services.sh run -- scripts/python-tests.sh

## Only the web UI's suites: Vitest, then Playwright in Chromium against the real server on
## SQLite and on PostgreSQL + Garage.
test-web:
	scripts/services.sh run -- scripts/web.sh test

## Format check, clippy with warnings as errors, the domain-dependency check, and the UI's type
## check (against the API types generated from web/openapi.json) and eslint.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	scripts/check-domain-deps.sh
	scripts/web.sh lint

## Rewrite web/openapi.json from the code (the UI's API types are generated from it; a test
## fails while the two differ).
openapi:
	UPDATE_OPENAPI=1 $(CARGO) test -p wanllmdb-http --test openapi_snapshot

fmt:
	$(CARGO) fmt --all

## Start what the tests need and leave it running (see scripts/services.sh); then
## `set -a; . target/services/env; set +a` and run `cargo test -p ...` by hand.
services:
	scripts/services.sh start

services-stop:
	scripts/services.sh stop

## Benchmarks; figures go to stdout. Starts PostgreSQL and Garage like `make test`.
bench:
	$(CARGO) bench -p wanllmdb-domain --features memory --bench domain
	scripts/web.sh bench
	scripts/python-env.sh --release
	scripts/services.sh run -- sh -c '$(CARGO) bench -p wanllmdb-store-sql --bench store && $(CARGO) bench -p wanllmdb-blob-s3 --bench blobs && $(CARGO) bench -p wanllmdb-e2e --bench sdk && $(CARGO) bench -p wanllmdb-e2e --bench cli && $(CARGO) bench -p wanllmdb-e2e --bench python && $(CARGO) bench -p wanllmdb-e2e --bench finalize'

## Proves the domain crate has no infrastructure dependency.
check-domain-deps:
	scripts/check-domain-deps.sh

## Only the schemathesis run (builds the server first).
schemathesis:
	$(CARGO) build --workspace --all-features --bins
	scripts/schemathesis.sh
