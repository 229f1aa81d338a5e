#!/usr/bin/env bash
# bench/run.sh: trailpq against DuckDB on the same CloudTrail bucket (not a test; never part of
# `make test`). Builds trailpq, generates (or reuses) a bucket of SIZE MB of uncompressed JSON
# under bench/data/size-SIZE/, then alternates conversions by trailpq and by DuckDB
# (../shared/bench/duckdb_convert.mjs), at 1 thread and at all cores, measuring each process with
# /usr/bin/time (wall s, user+sys CPU s, peak RSS). Also times a plain libdeflate gunzip of every
# file of the bucket on one core (the single-core ceiling), prints the ratios, and ends with the
# query benchmark (bench/query_bench.mjs) over the two lakes of the last all-core runs.
#
#   bench/run.sh [--size-mb N] [--runs K] [--no-query] [--one-partition]
#
# --one-partition generates the bucket as one account, one region and one day (cached under
# bench/data/one-N/): the case where the work of a single big account/region must still be
# spread over every core.
#
# Figures are medians over the K runs of each (tool, threads) cell. MB are 10^6 bytes of
# uncompressed JSON (the bucket's bytes_json), MiB of RSS are 2^20 bytes.
set -euo pipefail

SIZE=1000
RUNS=3
QUERY=1
SHAPE=size
GEN_SHAPE=()
while [ $# -gt 0 ]; do
	case "$1" in
	--size-mb) SIZE="$2"; shift 2 ;;
	--size-mb=*) SIZE="${1#*=}"; shift ;;
	--runs) RUNS="$2"; shift 2 ;;
	--runs=*) RUNS="${1#*=}"; shift ;;
	--no-query) QUERY=0; shift ;;
	--one-partition) SHAPE=one; GEN_SHAPE=(--accounts 1 --regions us-east-1 --days 1); shift ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SHARED="$ROOT/../shared"
DATA="$ROOT/bench/data/$SHAPE-$SIZE"
OUT="$ROOT/bench/out"
NPROC="$(nproc)"
mkdir -p "$OUT"

if [ ! -x /usr/bin/time ]; then
	echo "run.sh: installing GNU time" >&2
	apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi
if [ ! -d "$ROOT/node_modules/@duckdb/node-api" ]; then
	echo "run.sh: @duckdb/node-api missing; run 'npm install' in $ROOT" >&2
	exit 1
fi

echo "== build"
if ! make -j2 build/trailpq >"$OUT/build.log" 2>&1; then
	tail -20 "$OUT/build.log" >&2
	if [ -x build/trailpq ]; then
		echo "run.sh: build failed, using the existing build/trailpq" >&2
	else
		exit 1
	fi
fi
TRAILPQ="$ROOT/build/trailpq"

echo "== data: $DATA"
if [ ! -d "$DATA" ]; then
	rm -rf "$DATA.tmp"
	python3 "$SHARED/bench/gen_cloudtrail.py" --templates "$SHARED/corpus/dev" \
		--out "$DATA.tmp" --size-mb "$SIZE" ${GEN_SHAPE[@]+"${GEN_SHAPE[@]}"}
	mv "$DATA.tmp" "$DATA"
fi
find "$DATA" -name '*.json.gz' | sort >"$OUT/files.txt"
NFILES=$(wc -l <"$OUT/files.txt")
GZBYTES=$(xargs -a "$OUT/files.txt" -d '\n' stat -c %s | awk '{s+=$1} END {print s}')
# warm the page cache so neither tool pays for the first read
xargs -a "$OUT/files.txt" -d '\n' cat >/dev/null
echo "files=$NFILES gz_bytes=$GZBYTES nproc=$NPROC runs=$RUNS load=$(cut -d' ' -f1-3 /proc/loadavg)"

# --- the single-core ceiling: read + inflate every file with libdeflate, nothing else
cat >"$OUT/gunzip_ceiling.c" <<'EOF'
/* Reads file names from stdin, reads and gunzips each with libdeflate into a reused buffer,
 * prints "<uncompressed bytes> <seconds>" (read + inflate, one thread). */
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	char name[4096];
	unsigned char *in = NULL, *out = NULL;
	size_t incap = 0, outcap = 0;
	unsigned long long total = 0;
	double t0 = now();
	while (fgets(name, sizeof name, stdin)) {
		name[strcspn(name, "\n")] = 0;
		FILE *f = fopen(name, "rb");
		if (!f) { perror(name); return 1; }
		fseek(f, 0, SEEK_END);
		long n = ftell(f);
		fseek(f, 0, SEEK_SET);
		if ((size_t)n > incap) { incap = (size_t)n; in = realloc(in, incap); }
		if (fread(in, 1, (size_t)n, f) != (size_t)n) { perror(name); return 1; }
		fclose(f);
		size_t want = n >= 4 ? (size_t)in[n - 4] | (size_t)in[n - 3] << 8 |
			(size_t)in[n - 2] << 16 | (size_t)in[n - 1] << 24 : 0;
		for (;;) {
			if (want + 1 > outcap) { outcap = want + 1; out = realloc(out, outcap); }
			size_t got = 0;
			enum libdeflate_result r = libdeflate_gzip_decompress(d, in, (size_t)n, out,
				outcap, &got);
			if (r == LIBDEFLATE_SUCCESS) { total += got; break; }
			if (r != LIBDEFLATE_INSUFFICIENT_SPACE) { fprintf(stderr, "%s: bad gzip\n", name); return 1; }
			want = outcap * 2;
		}
	}
	printf("%llu %.4f\n", total, now() - t0);
	return 0;
}
EOF
cc -std=c17 -O2 -Wall -D_GNU_SOURCE "$OUT/gunzip_ceiling.c" -ldeflate -o "$OUT/gunzip_ceiling"
best_ceiling=""
for _ in 1 2 3; do
	line=$("$OUT/gunzip_ceiling" <"$OUT/files.txt")
	secs=${line#* }
	if [ -z "$best_ceiling" ] || awk -v a="$secs" -v b="${best_ceiling#* }" 'BEGIN {exit !(a < b)}'; then
		best_ceiling="$line"
	fi
done
echo "gunzip ceiling (libdeflate, 1 core, best of 3): ${best_ceiling#* } s for ${best_ceiling% *} bytes"

# --- the runs: each line of results.tsv is
# tool threads run wall user sys maxrss_kib records bytes_json bytes_out self_seconds loadavg1
# (loadavg1: the 1-minute load average just before the run; other work on the machine skews
# wall-clock figures, CPU seconds much less)
RES="$OUT/results.tsv"
: >"$RES"
TP_OUT="$OUT/lake-trailpq"
DD_OUT="$OUT/lake-duckdb"

run_trailpq() { # threads run
	rm -rf "$TP_OUT"
	LOAD=$(cut -d' ' -f1 /proc/loadavg)
	local rc=0
	/usr/bin/time -f '%e %U %S %M' -o "$OUT/time.txt" "$TRAILPQ" convert "$DATA" "$TP_OUT" \
		--threads "$1" --compression zstd --json --quiet >"$OUT/trailpq.json" || rc=$?
	if [ "$rc" -ne 0 ]; then echo "trailpq exited $rc" >&2; fi
	local j recs bj bo secs
	j=$(cat "$OUT/trailpq.json")
	recs=$(sed -n 's/.*"records":\([0-9]*\).*/\1/p' <<<"$j")
	bj=$(sed -n 's/.*"bytes_json":\([0-9]*\).*/\1/p' <<<"$j")
	secs=$(sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p' <<<"$j")
	bo=$(find "$TP_OUT" -name '*.parquet' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
	echo "trailpq $1 $2 $(tail -1 "$OUT/time.txt") $recs $bj $bo $secs $LOAD" >>"$RES"
}

run_duckdb() { # threads run
	rm -rf "$DD_OUT"
	LOAD=$(cut -d' ' -f1 /proc/loadavg)
	/usr/bin/time -f '%e %U %S %M' -o "$OUT/time.txt" node "$SHARED/bench/duckdb_convert.mjs" \
		"$DATA" "$DD_OUT" "$1" >"$OUT/duckdb.txt"
	local recs secs bo
	recs=$(sed -n 's/.*rows=\([0-9]*\).*/\1/p' "$OUT/duckdb.txt")
	secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$OUT/duckdb.txt")
	bo=$(find "$DD_OUT" -name '*.parquet' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
	echo "duckdb $1 $2 $(tail -1 "$OUT/time.txt") $recs - $bo $secs $LOAD" >>"$RES"
}

THREADS="1 $NPROC"
[ "$NPROC" -eq 1 ] && THREADS="1"
for t in $THREADS; do
	for r in $(seq 1 "$RUNS"); do
		echo "== run $r, $t thread(s)"
		run_trailpq "$t" "$r"
		tail -1 "$RES"
		run_duckdb "$t" "$r"
		tail -1 "$RES"
	done
done

# --- report
python3 - "$RES" "$best_ceiling" "$NPROC" <<'EOF'
import statistics, sys
res, ceiling, nproc = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
rows = [l.split() for l in open(res) if l.strip()]
bytes_json = next(int(r[8]) for r in rows if r[0] == 'trailpq' and r[8].isdigit())
ceil_mbs = int(ceiling[0]) / 1e6 / float(ceiling[1])

print()
print(f"input: {bytes_json / 1e6:.1f} MB of JSON; MB/s = uncompressed JSON MB per wall second")
print(f"{'tool':8} {'thr':>3} {'run':>3} {'wall s':>7} {'JSON MB/s':>9} {'records/s':>10} "
      f"{'CPU s':>7} {'MB/CPU-s':>8} {'RSS MiB':>8} {'out bytes':>11} {'self s':>7} {'load':>5}")
cells = {}
for r in rows:
    tool, thr, run = r[0], int(r[1]), r[2]
    wall, user, sys_, rss = float(r[3]), float(r[4]), float(r[5]), int(r[6]) / 1024
    recs, out, self_s, load = int(r[7] or 0), int(r[9]), r[10], r[11]
    cpu = user + sys_
    d = dict(wall=wall, mbs=bytes_json / 1e6 / wall, rps=recs / wall, cpu=cpu,
             mbcpu=bytes_json / 1e6 / cpu, rss=rss, out=out, recs=recs)
    cells.setdefault((tool, thr), []).append(d)
    print(f"{tool:8} {thr:3} {run:>3} {wall:7.2f} {d['mbs']:9.1f} {d['rps']:10.0f} {cpu:7.2f} "
          f"{d['mbcpu']:8.1f} {rss:8.0f} {out:11d} {self_s:>7} {load:>5}")

med = {k: {f: statistics.median(d[f] for d in v) for f in v[0]} for k, v in cells.items()}
print()
print("medians and ratios (trailpq / DuckDB; >1 means trailpq is faster / bigger):")
for thr in sorted({k[1] for k in med}):
    t, d = med.get(('trailpq', thr)), med.get(('duckdb', thr))
    if not t or not d:
        continue
    label = "per core, 1 thread" if thr == 1 else f"{thr} threads"
    print(f"  {label:20} trailpq {t['mbs']:7.1f} MB/s ({t['rps']:8.0f} rec/s, RSS {t['rss']:6.0f} MiB)"
          f" | DuckDB {d['mbs']:7.1f} MB/s ({d['rps']:8.0f} rec/s, RSS {d['rss']:6.0f} MiB)")
    print(f"  {'':20} throughput x{t['mbs'] / d['mbs']:.2f}   per CPU-second x{t['mbcpu'] / d['mbcpu']:.2f}"
          f"   peak RSS x{t['rss'] / d['rss']:.3f}   output size x{t['out'] / d['out']:.3f}"
          f"   records {t['recs']:.0f} vs {d['recs']:.0f}")
best = {k: max(d['mbs'] for d in v) for k, v in cells.items()}
print("  best runs (least disturbed by other load):", "   ".join(
    f"{thr} thr: trailpq {best[('trailpq', thr)]:.1f} / DuckDB {best[('duckdb', thr)]:.1f} MB/s"
    f" = x{best[('trailpq', thr)] / best[('duckdb', thr)]:.2f}"
    for thr in sorted({k[1] for k in best}) if ('trailpq', thr) in best and ('duckdb', thr) in best))
print()
t1 = med.get(('trailpq', 1))
print(f"single-core ceiling (libdeflate gunzip of every file, read included): {ceil_mbs:.1f} MB/s")
if t1:
    print(f"  trailpq 1 thread = {100 * t1['mbs'] / ceil_mbs:.1f}% of the ceiling")
if nproc > 1:
    for tool in ('trailpq', 'duckdb'):
        a, b = med.get((tool, 1)), med.get((tool, nproc))
        if a and b:
            print(f"  scaling {tool:8} {nproc} threads / ({nproc} x 1 thread) = "
                  f"{b['mbs'] / (nproc * a['mbs']):.2f} (medians), "
                  f"{best[(tool, nproc)] / (nproc * best[(tool, 1)]):.2f} (best runs)")
EOF

if [ "$QUERY" -eq 1 ]; then
	echo
	echo "== queries (lakes of the last $NPROC-thread runs)"
	node "$ROOT/bench/query_bench.mjs" "$TP_OUT" "$DD_OUT"
fi
