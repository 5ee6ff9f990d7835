# wanllmdb: `make test` and `make lint` do all set-up themselves on a fresh machine.
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test test-python lint fmt services services-stop bench check-domain-deps schemathesis

## Serve the API on 127.0.0.1:8080 with the embedded default: SQLite at data/wanllmdb.db and
## blobs under data/blobs. The first start prints the administrator's API key once.
run:
	$(CARGO) run --release -p wanllmdb-server -- serve

## Run every test in the workspace: starts a throwaway PostgreSQL and Garage for the run (unless
## TEST_DATABASE_URL / TEST_S3_ENDPOINT name existing ones), and stops them afterwards; the
## Python package's pytest suite on both backends; then schemathesis against the live server
## and its generated OpenAPI document.
test:
	scripts/services.sh run -- sh -c '$(CARGO) test --workspace --all-features && scripts/python-tests.sh'
	$(CARGO) build --workspace --all-features --bins
	scripts/schemathesis.sh

## Only the Python package's suite (starts PostgreSQL and Garage like `make test`).
test-python:
	scripts/services.sh run -- scripts/python-tests.sh

## Format check, clippy with warnings as errors, and the domain-dependency check.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	scripts/check-domain-deps.sh

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
	scripts/python-env.sh --release
	scripts/services.sh run -- sh -c '$(CARGO) bench -p wanllmdb-store-sql --bench store && $(CARGO) bench -p wanllmdb-blob-s3 --bench blobs && $(CARGO) bench -p wanllmdb-e2e --bench sdk && $(CARGO) bench -p wanllmdb-e2e --bench cli && $(CARGO) bench -p wanllmdb-e2e --bench python && $(CARGO) bench -p wanllmdb-e2e --bench finalize'

## Proves the domain crate has no infrastructure dependency.
check-domain-deps:
	scripts/check-domain-deps.sh

## Only the schemathesis run (builds the server first).
schemathesis:
	$(CARGO) build --workspace --all-features --bins
	scripts/schemathesis.sh
