#!/usr/bin/env bash
# The domain crate must not depend on databases, object stores, HTTP or an async runtime:
# adapters depend on the domain, never the reverse. This reads the domain's real dependency
# tree (normal dependencies, with the `memory` feature on) and fails on any infrastructure crate.
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='^(diesel|diesel_migrations|r2d2|pq-sys|libsqlite3-sys|rusqlite|sqlx|postgres|tokio-postgres|actix-web|actix-rt|actix-http|actix-server|axum|hyper|reqwest|rust-s3|aws-sdk-s3|aws-config|object_store|tokio|async-std|mio)$'

tree=$(cargo tree -p wanllmdb-domain --features memory -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
if [ -z "$tree" ]; then
  echo "check-domain-deps: cargo tree printed nothing for wanllmdb-domain" >&2
  exit 1
fi
bad=$(printf '%s\n' "$tree" | grep -E "$forbidden" || true)
if [ -n "$bad" ]; then
  echo "check-domain-deps: wanllmdb-domain depends on infrastructure crates:" >&2
  printf '  %s\n' $bad >&2
  echo "Move that code into an adapter crate." >&2
  exit 1
fi
echo "check-domain-deps: wanllmdb-domain has $(printf '%s\n' "$tree" | wc -l) dependencies, none of them infrastructure"
