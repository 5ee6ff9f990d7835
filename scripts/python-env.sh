#!/usr/bin/env bash
# Makes target/venv-py: a virtualenv with the Python package `wanllmdb` built from this checkout
# (maturin develop: an editable install of python/ with the native core), and what its tests and
# benchmarks use. `--release` builds the core optimized (the benchmarks); default is debug.
#
# Usage: scripts/python-env.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=$PWD/target/venv-py
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
# Bounded below a major version; pip skips what is installed already.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  "maturin>=1.7,<2" "pytest>=8,<10" "tqdm>=4.60" "types-tqdm" "mypy>=1.10,<2" \
  "nbclient>=0.10" "nbformat>=5.10" "ipykernel>=6.29"
(cd python && VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" maturin develop --quiet "$@")
