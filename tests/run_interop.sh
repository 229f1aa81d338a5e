#!/usr/bin/env bash
# The interop suite: everything trailpq writes is read back by independent readers (DuckDB,
# arrow-rs via parquet-wasm, hyparquet) and compared value by value with its source.
#
#   TRAILPQ=build/trailpq TRAILPQ_FAULT=build-fault/trailpq bash tests/run_interop.sh
#                                                        (what `make interop` runs)
#
# Steps:
#   1. the harness's own tests: node --test tests/interop/test_*.mjs (test_incremental.mjs's
#      crash tests also need TRAILPQ_FAULT, a binary with fault injection: `make FAULT=1`)
#   2. `$TRAILPQ convert` of ../shared/corpus/dev, checked by tests/interop/check_lake.mjs
#   3. `$TRAILPQ convert` of a generated bucket with every key layout, CloudTrail-Digest and
#      Config files (../shared/bench/gen_cloudtrail.py), checked the same way: nothing but
#      CloudTrail data may become rows
#   4. every tests/interop/writer_*.sh (the Parquet writer's file tests), run with TRAILPQ,
#      TPQ_ROOT (the repository) and TPQ_TMP (a scratch directory) in the environment
#   5. the S3 client, source and store (tests/interop/s3_tool.c, built here against
#      build/libtrailpq.a) against s3rver behind a SigV4-verifying proxy and a fault proxy,
#      all on 127.0.0.1: node --test tests/interop/s3_client.mjs; then `trailpq convert`, `status`
#      and `compact` end to end on S3 (tests/interop/s3_lake.mjs: S3->S3, S3->local, local->S3,
#      incremental runs, the lock, faults, SIGKILL), the same servers
#   6. the AWS credential providers over HTTP against a fake on 127.0.0.1
#      (tests/interop/creds_loopback.sh, with TPQ_ROOT and TPQ_TMP; needs node, not node_modules)
# A step whose prerequisite is missing (node_modules, the binary, its `convert`, the corpus,
# python3, build/libtrailpq.a) is a FAILURE, unless TPQ_ALLOW_SKIP=1 is set, in which case it prints "SKIP: ...".
# Exits non-zero when any step failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SHARED=$(cd "$ROOT/.." && pwd)/shared
CORPUS=$SHARED/corpus/dev
GEN=$SHARED/bench/gen_cloudtrail.py
TRAILPQ=${TRAILPQ:-}

failures=()
scratch=$(mktemp -d "${TMPDIR:-/tmp}/tpq-interop.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

missing() { # a prerequisite is missing: SKIP while allowed, else FAIL
	if [ "${TPQ_ALLOW_SKIP:-}" = 1 ]; then
		echo "SKIP: $1"
	else
		echo "FAIL: $1 (set TPQ_ALLOW_SKIP=1 to skip)"
		failures+=("missing: $1")
	fi
}

run_step() { # name, command...: runs, times, records failure
	local name=$1 t0 rc
	shift
	echo "=== $name"
	t0=$(date +%s%N)
	"$@"
	rc=$?
	local ms=$((($(date +%s%N) - t0) / 1000000))
	printf '=== %s: %s in %d.%03ds\n' "$name" "$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")" \
		$((ms / 1000)) $((ms % 1000))
	[ $rc -eq 0 ] || failures+=("$name")
	return $rc
}

have_node_modules() {
	node -e 'for (const m of ["@duckdb/node-api", "parquet-wasm", "apache-arrow", "hyparquet", "hyparquet-compressors"])
		require.resolve(m, { paths: [process.cwd()] });' 2>/dev/null
}

have_convert() {
	[ -n "$TRAILPQ" ] && [ -x "$TRAILPQ" ] && "$TRAILPQ" convert --help >/dev/null 2>&1
}

convert_and_check() { # src dst
	local src=$1 dst=$2 rc
	"$TRAILPQ" convert "$src" "$dst"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "trailpq convert exited $rc (expected 0: every input file is valid)"
		return 1
	fi
	node tests/interop/check_lake.mjs "$src" "$dst"
}

edge_cases() { # src dst: every hand-written edge-case file as a CloudTrail object; the bad_*
	# ones must be rejected (exit 3, one line each), the others must match the oracle exactly
	local src=$1 dst=$2 d f n rc bad want
	d=$src/AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/01
	mkdir -p "$d"
	for f in tests/data/records/*.json; do
		n=$(basename "$f" .json | tr -c 'a-zA-Z0-9\n' 'x')
		cp "$f" "$d/123456789012_CloudTrail_us-east-1_20240101T0000Z_$n.json"
	done
	"$TRAILPQ" convert --quiet "$src" "$dst" 2>"$src.err"
	rc=$?
	want=$(ls tests/data/records/bad_*.json | wc -l)
	bad=$(grep -c '^trailpq: rejected ' "$src.err")
	if [ $rc -ne 3 ] || [ "$bad" -ne "$want" ]; then
		echo "expected exit 3 and $want rejected files, got exit $rc and $bad:"
		cat "$src.err"
		return 1
	fi
	node tests/interop/check_lake.mjs "$src" "$dst"
}

make_bucket() { # dir: small bucket with every key layout, digests and Config files
	local b=$1
	python3 "$GEN" --records-per-file 60 --out "$b/o-a1b2c3d4e5" --org o-a1b2c3d4e5 --size-mb 0.4 --accounts 2 --days 2 \
		--digests --config --seed 11 >/dev/null &&            # Control Tower: o-id/AWSLogs/o-id/ACCOUNT
	python3 "$GEN" --records-per-file 60 --out "$b/o-f6g7h8i9j0" --org '' --size-mb 0.2 --accounts 1 --days 1 \
		--start 2024-02-28 --seed 12 >/dev/null &&            # older Control Tower: o-id/AWSLogs/ACCOUNT
	python3 "$GEN" --records-per-file 60 --out "$b" --org o-zz99yy88xx --size-mb 0.2 --accounts 1 --days 1 \
		--start 2023-12-31 --digests --seed 13 >/dev/null &&  # organization trail: AWSLogs/o-id/ACCOUNT
	python3 "$GEN" --records-per-file 60 --out "$b/any/prefix" --org '' --size-mb 0.2 --accounts 1 --days 1 \
		--config --seed 14 >/dev/null                         # account trail under a prefix
}

# 1. The harness's own tests.
if have_node_modules; then
	run_step "harness tests (node --test tests/interop/test_*.mjs)" \
		node --test tests/interop/test_*.mjs
	node_ok=1
else
	missing "node_modules (run: npm ci)"
	node_ok=0
fi

# 2 and 3. Conversions.
if [ $node_ok = 1 ]; then
	if ! have_convert; then
		missing "trailpq convert (TRAILPQ='$TRAILPQ' is not a binary with a convert subcommand)"
	else
		if [ -f "$CORPUS/MANIFEST.tsv" ]; then
			run_step "convert ../shared/corpus/dev + check_lake" \
				convert_and_check "$CORPUS" "$scratch/corpus-lake" &&
			run_step "trailpq ddl --engine duckdb over the converted corpus" \
				env TRAILPQ="$TRAILPQ" TPQ_DDL_LAKE="$scratch/corpus-lake" \
				node --test tests/interop/test_ddl_duckdb.mjs
		else
			missing "corpus $CORPUS"
		fi
		run_step "convert the edge-case records (tests/data/records) + check_lake" \
			edge_cases "$scratch/edge" "$scratch/edge-lake"
		if ! command -v python3 >/dev/null 2>&1 || [ ! -f "$GEN" ]; then
			missing "python3 and $GEN"
		elif make_bucket "$scratch/bucket"; then
			run_step "convert generated bucket (all layouts, digests, Config) + check_lake" \
				convert_and_check "$scratch/bucket" "$scratch/bucket-lake"
		else
			echo "FAIL: gen_cloudtrail.py failed"
			failures+=("gen_cloudtrail.py")
		fi
	fi
fi

# 4. The Parquet writer's file tests.
shopt -s nullglob
writers=(tests/interop/writer_*.sh)
if [ ${#writers[@]} -eq 0 ]; then
	echo "note: no tests/interop/writer_*.sh yet"
elif [ $node_ok = 1 ]; then
	for w in "${writers[@]}"; do
		mkdir -p "$scratch/$(basename "$w" .sh)"
		run_step "$w" env TRAILPQ="$TRAILPQ" TPQ_ROOT="$ROOT" TPQ_TMP="$scratch/$(basename "$w" .sh)" bash "$w"
	done
fi

# 5. The S3 client against s3rver through the verifying and fault proxies.
have_s3_modules() {
	node -e 'for (const m of ["s3rver", "@smithy/signature-v4", "@aws-crypto/sha256-js"])
		require.resolve(m, { paths: [process.cwd()] });' 2>/dev/null
}
build_s3_tool() {
	cc -std=c17 -O1 -g -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Werror -I"$ROOT/include" -I"$ROOT/src" \
		"$ROOT/tests/interop/s3_tool.c" "$ROOT/build/libtrailpq.a" $(make -s -C "$ROOT" print-libs) \
		-o "$scratch/s3_tool"
}
if ! have_s3_modules; then
	missing "s3rver and @smithy/signature-v4 in node_modules (run: npm ci)"
elif [ ! -f "$ROOT/build/libtrailpq.a" ]; then
	missing "build/libtrailpq.a (run make first)"
elif run_step "build tests/interop/s3_tool.c" build_s3_tool; then
	run_step "S3 client, source and store vs s3rver behind SigV4-verifying and fault proxies" \
		env S3_TOOL="$scratch/s3_tool" node --test tests/interop/s3_client.mjs
fi
if ! have_s3_modules || [ $node_ok = 0 ]; then
	: # reported above
elif ! have_convert; then
	missing "trailpq convert for the S3 lake tests"
elif [ ! -f "$CORPUS/MANIFEST.tsv" ]; then
	missing "corpus $CORPUS for the S3 lake tests"
else
	run_step "trailpq convert/status/compact end to end on S3 (s3_lake.mjs)" \
		env TRAILPQ="$TRAILPQ" TPQ_CORPUS="$CORPUS" node --test tests/interop/s3_lake.mjs
fi

# 6. The AWS credential providers against a loopback fake of STS, ECS and IMDSv2.
if command -v node >/dev/null 2>&1; then
	mkdir -p "$scratch/creds"
	run_step "AWS credential providers against a loopback fake (creds_loopback.sh)" \
		env TPQ_ROOT="$ROOT" TPQ_TMP="$scratch/creds" bash tests/interop/creds_loopback.sh
else
	missing "node (tests/interop/fake_aws_endpoints.mjs)"
fi

if [ ${#failures[@]} -ne 0 ]; then
	echo "interop: FAILED: ${failures[*]}"
	exit 1
fi
echo "interop: all steps passed"
