#!/usr/bin/env bash
# Starts (or stops) the services the test suite needs. Today every test runs on the in-memory
# adapters, so there is nothing to start; the PostgreSQL and Garage adapters add their servers here.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-start}" in
  start) echo "services: the current test suite needs no external service" ;;
  stop) ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
