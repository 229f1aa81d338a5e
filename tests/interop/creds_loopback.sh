#!/usr/bin/env bash
# The AWS credential providers over HTTP, against a fake on 127.0.0.1 (run by
# tests/run_interop.sh with TPQ_ROOT and TPQ_TMP set).
#
# 1. The library never reads the environment: no object of build/libtrailpq.a imports getenv.
# 2. Compiles tests/interop/creds_probe.c against build/libtrailpq.a.
# 3. Starts tests/interop/fake_aws_endpoints.mjs (STS, container endpoint, IMDSv2) with
#    tokens made up for this run, reads its port, runs the probe against it, and stops the
#    server by its process id.
# 4. Greps everything the probe printed, the failing cases' error messages included, for the
#    tokens and for the secrets the fake issued: any of them there is a failure.
# Exits non-zero on any failure.
set -uo pipefail

ROOT=${TPQ_ROOT:?TPQ_ROOT must name the repository}
TMP=${TPQ_TMP:?TPQ_TMP must name a scratch directory}
LIB=${TPQ_LIB:-$ROOT/build/libtrailpq.a}
mkdir -p "$TMP"

if [ ! -f "$LIB" ]; then
	echo "FAIL: $LIB missing (run make first)"
	exit 1
fi

# 1.
if nm -A "$LIB" 2>/dev/null | grep -E ' U (secure_)?getenv$'; then
	echo "FAIL: library objects above call getenv (only cli/ may read the environment)"
	exit 1
fi

# 2.
cc -std=c17 -O1 -g -D_GNU_SOURCE -I"$ROOT/include" -I"$ROOT/src" -I"$ROOT/tests/unit" \
	"$ROOT/tests/interop/creds_probe.c" "$LIB" \
	-lzstd -lsnappy -ldeflate -lz -llz4 -lcurl -lexpat -lm -pthread \
	-o "$TMP/creds_probe" || { echo "FAIL: cannot build creds_probe"; exit 1; }

# 3.
rnd=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
WIF_TOKEN="eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.wif-$rnd.c2lnbmF0dXJl"
ECS_TOKEN="Bearer ecs-$rnd"
mkdir -p "$TMP/scratch"
rm -f "$TMP/fake.out" "$TMP/fake.err" # a stale port must not be read before node starts
node "$ROOT/tests/interop/fake_aws_endpoints.mjs" --wif-token "$WIF_TOKEN" --ecs-token "$ECS_TOKEN" \
	>"$TMP/fake.out" 2>"$TMP/fake.err" &
pid=$!
stop_fake() {
	if [ -n "${pid:-}" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		pid=
	fi
}
trap stop_fake EXIT

port=
for _ in $(seq 1 100); do
	port=$(head -n 1 "$TMP/fake.out" 2>/dev/null)
	[ -n "$port" ] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		break
	fi
	sleep 0.1
done
if ! [[ "$port" =~ ^[0-9]+$ ]]; then
	echo "FAIL: the fake AWS endpoints did not start:"
	cat "$TMP/fake.err"
	exit 1
fi
echo "fake AWS endpoints on 127.0.0.1:$port (pid $pid)"

"$TMP/creds_probe" "$port" "$WIF_TOKEN" "$ECS_TOKEN" "$TMP/scratch" >"$TMP/probe.out" 2>&1
rc=$?
stop_fake
cat "$TMP/probe.out"
fail=0
if [ $rc -ne 0 ]; then
	echo "FAIL: creds_probe exited $rc"
	fail=1
fi

# 4. The failing cases must have run (their messages are what is checked), and no secret may
# be in anything printed.
nerr=$(grep -c '^error: ' "$TMP/probe.out")
if [ "$nerr" -lt 8 ]; then
	echo "FAIL: expected at least 8 error messages from the failing cases, got $nerr"
	fail=1
fi
for s in "$WIF_TOKEN" "$ECS_TOKEN" "wif-$rnd" "ecs-$rnd" fakesecret fakesessiontoken \
	AQAEAFakeImdsToken rotated-out-token-value rotated-away wrong-token-0123456789abcdef; do
	if grep -qF -- "$s" "$TMP/probe.out"; then
		echo "FAIL: a secret ($(printf %.12s "$s")...) appears in the probe's output:"
		grep -nF -- "$s" "$TMP/probe.out" | sed 's/^/    /' | cut -c1-160
		fail=1
	fi
done
[ $fail -eq 0 ] && echo "creds_loopback: all checks passed ($nerr error messages checked for secrets)"
exit $fail
