#!/usr/bin/env bash
# The README's first command: installs what is missing (Debian 12, as root), builds trailpq,
# converts the example bucket into a Parquet lake and queries it with DuckDB.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive
want=(build-essential pkg-config libzstd-dev libsnappy-dev libdeflate-dev liblz4-dev zlib1g-dev
	libcurl4-openssl-dev libexpat1-dev)
command -v node >/dev/null 2>&1 || want+=(nodejs npm)
missing=()
for p in "${want[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
[ -d node_modules/@duckdb/node-api ] || npm ci --no-audit --no-fund
make -j"$(nproc)"
lake=${1:-/tmp/trailpq-example-lake}
rm -rf "$lake"
./trailpq convert examples/bucket "$lake"
echo
echo "Lake at $lake:"
find "$lake" -name '*.parquet' | head -5
echo "..."
echo
node examples/query.mjs "$lake"
