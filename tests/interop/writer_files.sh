#!/usr/bin/env bash
# The Parquet writer's file tests (run by tests/run_interop.sh with TPQ_ROOT and TPQ_TMP set).
#
# 1. Compiles tests/interop/gen_writer_files.c against build/libtrailpq.a and runs it: it
#    writes into $TPQ_TMP one FILE.parquet + FILE.jsonl (the expected rows, canonical form) per
#    case: every type, every nesting case, dictionary / plain / fallback, every codec, many
#    pages and row groups, CRCs, page index and Bloom filters.
# 2. For each file, tests/interop/check_file.mjs reads it with DuckDB, arrow-rs and hyparquet
#    and compares every row with FILE.jsonl (and checks the Bloom filters).
# 3. A metadata check through DuckDB (parquet_file_metadata, parquet_metadata,
#    parquet_schema, parquet_bloom_probe) and hyparquet's footer: codec, encodings and
#    encoding_stats, TIMESTAMP(MILLIS, UTC), created_by, page index present, Bloom probes.
# Exits non-zero on any failure, after printing what differed.
set -uo pipefail

ROOT=${TPQ_ROOT:?TPQ_ROOT must name the repository}
TMP=${TPQ_TMP:?TPQ_TMP must name a scratch directory}
LIB=$ROOT/build/libtrailpq.a
mkdir -p "$TMP"
fail=0

if [ ! -f "$LIB" ]; then
	echo "FAIL: $LIB missing (run make first)"
	exit 1
fi
cc -std=c17 -O1 -D_GNU_SOURCE -I"$ROOT/include" -I"$ROOT/src" \
	"$ROOT/tests/interop/gen_writer_files.c" "$LIB" \
	-lzstd -lsnappy -ldeflate -lz -llz4 -lcurl -lexpat -lcrypto -lm -pthread \
	-o "$TMP/gen_writer_files" || { echo "FAIL: cannot build gen_writer_files"; exit 1; }

rm -rf "$TMP/files"
mkdir -p "$TMP/files"
if ! "$TMP/gen_writer_files" "$TMP/files" >"$TMP/files/MANIFEST"; then
	echo "FAIL: gen_writer_files failed"
	exit 1
fi
if [ ! -s "$TMP/files/MANIFEST" ]; then
	echo "FAIL: gen_writer_files wrote no files"
	exit 1
fi

# 2. Values, read by three readers.
while read -r name codec; do
	f=$TMP/files/$name.parquet
	if ! node "$ROOT/tests/interop/check_file.mjs" "$f" "$TMP/files/$name.jsonl" \
		--bloom id,s,st.a; then
		echo "FAIL: $name ($codec): readers disagree with the expected rows"
		fail=1
	fi
done <"$TMP/files/MANIFEST"

# 3. Metadata.
cat >"$TMP/check_meta.mjs" <<'EOF'
// check_meta.mjs ROOT DIR: the metadata checks for every file in DIR/MANIFEST.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

const [root, dir] = process.argv.slice(2);
const readers = await import(pathToFileURL(`${root}/tests/interop/readers.mjs`).href);
const { duckdbMeta, duckdbBloomProbe, hyparquetMetadata, closeDuckDB } = readers;
const manifest = fs.readFileSync(`${dir}/MANIFEST`, 'utf8').trim().split('\n').map((l) => l.split(' '));
const problems = [];
const DUCK_CODEC = { zstd: 'ZSTD', snappy: 'SNAPPY', gzip: 'GZIP', lz4_raw: 'LZ4_RAW', uncompressed: 'UNCOMPRESSED' };
const str = (v) => JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? String(x) : x));

for (const [name, codec] of manifest) {
	const file = `${dir}/${name}.parquet`;
	const before = problems.length;
	const bad = (msg) => problems.push(`${name}: ${msg}`);
	const m = await duckdbMeta(file);
	if (!String(m.file.created_by ?? '').startsWith('trailpq version '))
		bad(`created_by ${str(m.file.created_by)} does not start with "trailpq version "`);
	const want = DUCK_CODEC[codec];
	if (!want) bad(`unknown codec name ${codec} in MANIFEST`);
	if (!m.metadata.length) bad('parquet_metadata() returned no column chunks');
	for (const c of m.metadata) {
		const at = `row group ${c.row_group_id} column ${c.path_in_schema}`;
		if (c.compression !== want) bad(`${at}: compression ${c.compression}, expected ${want}`);
		const enc = String(c.encodings ?? '').split(',').map((s) => s.trim()).filter(Boolean);
		if (!enc.length) bad(`${at}: no encodings reported`);
		const dictFile = !name.startsWith('plain');
		if (dictFile && c.type !== 'BOOLEAN' && !enc.includes('RLE_DICTIONARY'))
			bad(`${at}: encodings ${c.encodings} lack RLE_DICTIONARY`);
		if (!dictFile && enc.includes('RLE_DICTIONARY'))
			bad(`${at}: dictionary disabled but encodings are ${c.encodings}`);
		if (dictFile && c.type !== 'BOOLEAN' && c.dictionary_page_offset === null)
			bad(`${at}: dictionary encoded but no dictionary_page_offset`);
	}
	// parquet_schema(): the timestamp is TIMESTAMP(MILLIS, UTC) with TIMESTAMP_MILLIS.
	const ts = m.schema.find((r) => r.name === 'ts');
	if (!ts) bad('parquet_schema() has no ts column');
	else {
		if (ts.type !== 'INT64') bad(`ts physical type ${ts.type}`);
		if (ts.converted_type !== 'TIMESTAMP_MILLIS') bad(`ts converted type ${ts.converted_type}`);
		if (!/^TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=/.test(ts.logical_type ?? ''))
			bad(`ts logical type ${ts.logical_type}`);
		if (ts.duckdb_type !== 'TIMESTAMP WITH TIME ZONE') bad(`ts read by DuckDB as ${ts.duckdb_type}`);
	}
	const s = m.schema.find((r) => r.name === 's');
	if (!s || s.converted_type !== 'UTF8' || s.logical_type !== 'StringType()')
		bad(`s is not STRING/UTF8: ${str(s)}`);
	for (const [n, lt] of [['m', 'MAP'], ['l', 'LIST'], ['ls', 'LIST'], ['ll', 'LIST']]) {
		const g = m.schema.find((r) => r.name === n);
		if (!g || g.converted_type !== lt) bad(`${n} is not annotated ${lt}: ${str(g)}`);
	}

	// hyparquet's decoded footer: page index everywhere, truthful encoding_stats.
	const hm = hyparquetMetadata(file);
	hm.row_groups.forEach((rg, r) => rg.columns.forEach((cc) => {
		const md = cc.meta_data;
		const at = `row group ${r} column ${md.path_in_schema.join('.')}`;
		if (cc.column_index_offset === undefined || cc.offset_index_offset === undefined)
			bad(`${at}: no page index`);
		const es = md.encoding_stats ?? [];
		const data = es.filter((e) => e.page_type === 'DATA_PAGE');
		if (!data.length) bad(`${at}: encoding_stats lack data pages: ${str(es)}`);
		const hasDictPage = es.some((e) => e.page_type === 'DICTIONARY_PAGE' && e.encoding === 'PLAIN');
		if (hasDictPage !== (md.dictionary_page_offset !== undefined))
			bad(`${at}: encoding_stats ${str(es)} disagree with dictionary_page_offset`);
		for (const e of es)
			if (!md.encodings.includes(e.encoding)) bad(`${at}: ${e.encoding} in encoding_stats, not in encodings`);
	}));
	if (name.startsWith('fallback')) {
		const md = hm.row_groups[0].columns.find((c) => c.meta_data.path_in_schema.join('.') === 's').meta_data;
		const es = md.encoding_stats ?? [];
		const has = (enc) => es.some((e) => e.page_type === 'DATA_PAGE' && e.encoding === enc && e.count > 0);
		if (!has('PLAIN') || !has('RLE_DICTIONARY'))
			bad(`s is not a fallback chunk (PLAIN and RLE_DICTIONARY data pages): ${str(es)}`);
	}
	if (name.startsWith('pages') || name.startsWith('rowgroups')) {
		if (hm.row_groups.length < 2) bad(`${hm.row_groups.length} row groups, expected several`);
	}

	// parquet_bloom_probe(): a present value is never excluded; an absent one is.
	const present = await duckdbBloomProbe(file, 'id', 'id-000000');
	if (!present.length || present[0].bloom_filter_excludes !== false)
		bad(`bloom: id-000000 excluded from row group 0: ${str(present)}`);
	let excluded = 0;
	for (let k = 0; k < 5; k++) {
		const rows = await duckdbBloomProbe(file, 'id', `no-such-id-${k}`);
		if (rows.length && rows.every((x) => x.bloom_filter_excludes === true)) excluded++;
	}
	if (excluded === 0) bad('bloom: no absent id is excluded by parquet_bloom_probe');
	const sRows = await duckdbBloomProbe(file, 's', 'alpha');
	if (name !== 'one_row_zstd' && sRows.some((x) => x.bloom_filter_excludes !== false))
		bad(`bloom: s = 'alpha' excluded: ${str(sRows)}`);
	console.log(`check_meta: ${name}: ${problems.length > before ? 'FAILED' : 'OK'}`);
}
for (const p of problems) console.log(`FAIL ${p}`);
closeDuckDB();
process.exit(problems.length ? 1 : 0);
EOF
if ! node "$TMP/check_meta.mjs" "$ROOT" "$TMP/files"; then
	echo "FAIL: metadata checks"
	fail=1
fi

if [ $fail -ne 0 ]; then
	echo "writer_files: FAILED"
	exit 1
fi
echo "writer_files: OK ($(wc -l <"$TMP/files/MANIFEST") files)"
