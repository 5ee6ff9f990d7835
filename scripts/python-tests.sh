#!/usr/bin/env bash
# The Python package's suite: builds `wanllmdb` (maturin, the native core in debug) into a
# virtualenv of its own (target/venv-py), then runs pytest against the real wanllmdb-server on
# both backends (PostgreSQL + Garage from TEST_DATABASE_URL / TEST_S3_*, which
# `scripts/services.sh run` provides) and the typing checks.
#
# Usage: scripts/python-tests.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=target/venv-py
PY=$VENV/bin/python
CARGO=${CARGO:-cargo}

if [ ! -x "$PY" ]; then
  python3 -m venv "$VENV"
fi
# Pinned below a major version; pip skips what is installed already.
"$PY" -m pip install --quiet --disable-pip-version-check \
  "maturin>=1.7,<2" "pytest>=8,<10" "tqdm>=4.60" "types-tqdm" "mypy>=1.10,<2" \
  "nbclient>=0.10" "nbformat>=5.10" "ipykernel>=6.29"

# The server and the tamper helper the suite starts.
$CARGO build -p wanllmdb-server -p wanllmdb-e2e --bins

# Builds the extension into the virtualenv (an editable install of python/).
(cd python && VIRTUAL_ENV="$PWD/../$VENV" PATH="$PWD/../$VENV/bin:$PATH" maturin develop --quiet)

cd python
exec "../$PY" -m pytest "$@"
