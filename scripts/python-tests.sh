#!/usr/bin/env bash
# The Python package's suite: builds `wanllmdb` into target/venv-py (scripts/python-env.sh),
# then runs pytest against the real wanllmdb-server on both backends (PostgreSQL + Garage from
# TEST_DATABASE_URL / TEST_S3_*, which `scripts/services.sh run` provides) and the typing
# checks (mypy --strict, stubtest).
#
# Usage: scripts/python-tests.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# The server and the tamper helper the suite starts.
${CARGO:-cargo} build --workspace --all-features --bins
scripts/python-env.sh
cd python
exec ../target/venv-py/bin/python -m pytest "$@"
