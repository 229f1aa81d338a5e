// Writes the Parquet fixtures of tests/unit/test_reader.c into this directory
// (or the directory given as the first argument).
//
//   node tests/data/reader/make_fixtures.mjs [OUTDIR]
//
// Needs @duckdb/node-api, apache-arrow and parquet-wasm (the repo's
// package.json pins them; run `npm ci` at the top, or run this script from
// any directory where they are installed: modules are also looked up from
// the current directory). The values are pure functions of the row index i;
// test_reader.c recomputes them with the same formulas, so any change here
// must be mirrored there. The committed .parquet files mean the C test does
// not need node.
import { createRequire } from 'node:module';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? here);
mkdirSync(out, { recursive: true });

async function load(name) {
	try {
		return await import(name);
	} catch {
		return createRequire(join(process.cwd(), 'noop.js'))(name);
	}
}

const { DuckDBInstance } = await load('@duckdb/node-api');
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run('SET threads = 1');

async function copy(select, file, options) {
	const path = join(out, file).replaceAll("'", "''");
	await con.run(`COPY (${select}) TO '${path}' (FORMAT parquet, ${options})`);
}

// types: one row per i in 0..199.
//   id    INT32     i
//   big   INT64     i * 3000000007 - 300000000000
//   flag  BOOLEAN   NULL if i % 11 == 0, else i % 3 == 0
//   ts    TIMESTAMP_MS  NULL if i % 13 == 0, else 1700000000000 + i * 37001 ms since the epoch
//   name  STRING    NULL if i % 5 == 0, else 'name-' || (i % 9)          (dictionary)
//   uniq  STRING    'u' || i || repeat('x', i % 4)                        (PLAIN)
//   small INT32     NULL if i % 7 == 0, else (i * i) % 1000 - 500
const types = `
	SELECT i::INTEGER AS id,
	       (i * 3000000007 - 300000000000)::BIGINT AS big,
	       CASE WHEN i % 11 = 0 THEN NULL ELSE i % 3 = 0 END AS flag,
	       CASE WHEN i % 13 = 0 THEN NULL
	            ELSE epoch_ms(1700000000000 + i * 37001)::TIMESTAMP_MS END AS ts,
	       CASE WHEN i % 5 = 0 THEN NULL ELSE 'name-' || (i % 9) END AS name,
	       'u' || i || repeat('x', (i % 4)::INTEGER) AS uniq,
	       CASE WHEN i % 7 = 0 THEN NULL ELSE ((i * i) % 1000 - 500)::INTEGER END AS small
	FROM range(200) t(i) ORDER BY i`;
for (const codec of ['uncompressed', 'snappy', 'gzip', 'zstd', 'lz4_raw'])
	await copy(types, `types_${codec}.parquet`,
		`COMPRESSION ${codec}, KV_METADATA {fixture: 'types', codec: '${codec}'}`);
// The same table with dictionaries disabled: every column PLAIN.
await copy(types, 'types_plain.parquet', 'COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 1');
// The same table as DuckDB writes it with PARQUET_VERSION v2: DELTA_BINARY_PACKED
// integers, DELTA_LENGTH_BYTE_ARRAY strings, RLE_DICTIONARY.
await copy(types, 'types_duckdb_v2.parquet', 'COMPRESSION zstd, PARQUET_VERSION v2');
// A codec the reader does not support.
await copy('SELECT i::INTEGER AS id FROM range(10) t(i)', 'brotli.parquet', 'COMPRESSION brotli');
// No rows, no row groups.
await copy('SELECT 1::INTEGER AS x WHERE false', 'empty.parquet', 'COMPRESSION zstd');

// nested: one row per i in 0..59.
//   id   INT32  i
//   s    STRUCT(a INT32, b STRING): NULL if i % 10 == 3,
//        else {a: NULL if i % 4 == 1 else i * 10, b: 'b' || i}
//   ls   LIST<STRUCT(k STRING, v INT64)>: NULL if i % 6 == 5, [] if i % 6 == 4,
//        else elements j in 0 .. i % 3: NULL if j == 1 and i % 4 == 0,
//        else {k: 'k' || j, v: NULL if (i + j) % 5 == 0 else i * 100 + j}
//   m    MAP<STRING, STRING>: NULL if i % 7 == 6, else entries j in 0 .. i % 3 - 1:
//        'key' || j -> NULL if j == 1 else 'val' || i || '_' || j
//   tags LIST<STRING>: NULL if i % 5 == 2, else elements j in 0 .. i % 4 - 1:
//        NULL if j == 2 else 't' || (i + j)
await copy(`
	SELECT i::INTEGER AS id,
	       CASE WHEN i % 10 = 3 THEN NULL
	            ELSE {'a': CASE WHEN i % 4 = 1 THEN NULL ELSE (i * 10)::INTEGER END,
	                  'b': 'b' || i} END AS s,
	       CASE WHEN i % 6 = 5 THEN NULL
	            WHEN i % 6 = 4 THEN []::STRUCT(k VARCHAR, v BIGINT)[]
	            ELSE list_transform(range(i % 3 + 1), lambda j:
	                   CASE WHEN j = 1 AND i % 4 = 0 THEN NULL
	                        ELSE {'k': 'k' || j,
	                              'v': CASE WHEN (i + j) % 5 = 0 THEN NULL
	                                        ELSE (i * 100 + j)::BIGINT END} END)
	       END AS ls,
	       CASE WHEN i % 7 = 6 THEN NULL
	            ELSE map_from_entries(list_transform(range(i % 3), lambda j:
	                   {'key': 'key' || j,
	                    'value': CASE WHEN j = 1 THEN NULL ELSE 'val' || i || '_' || j END}))
	       END::MAP(VARCHAR, VARCHAR) AS m,
	       CASE WHEN i % 5 = 2 THEN NULL
	            ELSE list_transform(range(i % 4), lambda j:
	                   CASE WHEN j = 2 THEN NULL ELSE 't' || (i + j) END)
	       END::VARCHAR[] AS tags
	FROM range(60) t(i) ORDER BY i`, 'nested.parquet', 'COMPRESSION snappy');

// multi_rg: i in 0..4999 in row groups of 2048, 2048, 904.
//   id INT64 i;  k INT32 i % 7;  s STRING 's' || (i % 5)
await copy(`
	SELECT i::BIGINT AS id, (i % 7)::INTEGER AS k, 's' || (i % 5) AS s
	FROM range(5000) t(i) ORDER BY i`, 'multi_rg.parquet',
	'COMPRESSION zstd, ROW_GROUP_SIZE 2048');

// arrow_v2: written by arrow-rs (parquet-wasm) with data pages v2, RLE
// booleans and a page index. One row per i in 0..99:
//   id   INT32   i
//   name STRING  NULL if i % 4 == 0, else 'n' || (i % 6)
//   flag BOOLEAN NULL if i % 3 == 0, else i % 2 == 0
//   big  INT64   i * 10000000000 - 7
{
	const arrow = await load('apache-arrow');
	const pw = await load('parquet-wasm/node');
	const n = 100;
	const name = [], flag = [];
	const id = new Int32Array(n), big = new BigInt64Array(n);
	for (let i = 0; i < n; i++) {
		id[i] = i;
		name.push(i % 4 === 0 ? null : 'n' + (i % 6));
		flag.push(i % 3 === 0 ? null : i % 2 === 0);
		big[i] = BigInt(i) * 10000000000n - 7n;
	}
	const table = arrow.tableFromArrays({ id, name, flag, big });
	const wt = pw.Table.fromIPCStream(arrow.tableToIPC(table, 'stream'));
	const props = new pw.WriterPropertiesBuilder()
		.setWriterVersion(pw.WriterVersion.V2)
		.setCompression(pw.Compression.ZSTD)
		.setCreatedBy('trailpq make_fixtures (arrow-rs)')
		.build();
	writeFileSync(join(out, 'arrow_v2.parquet'), pw.writeParquet(wt, props));
}

// arrow_delta: arrow-rs without dictionaries, every DELTA encoding. One row
// per i in 0..299:
//   id   INT64   i * i * 7919 - 1000000 (DELTA_BINARY_PACKED)
//   n32  INT32   NULL if i % 10 == 9, else (i * 2654435761) mod 2^32 as signed (DELTA_BINARY_PACKED)
//   url  STRING  'https://example.com/a/' || (i / 10) || '/item-' || i (DELTA_BYTE_ARRAY)
//   note STRING  NULL if i % 7 == 3, else 'note' || repeat('.', i % 5) || i (DELTA_LENGTH_BYTE_ARRAY)
{
	const arrow = await load('apache-arrow');
	const pw = await load('parquet-wasm/node');
	const n = 300;
	const id = new BigInt64Array(n), n32 = [], url = [], note = [];
	for (let i = 0; i < n; i++) {
		id[i] = BigInt(i) * BigInt(i) * 7919n - 1000000n;
		n32.push(i % 10 === 9 ? null : Number(BigInt.asIntN(32, BigInt(i) * 2654435761n)));
		url.push('https://example.com/a/' + Math.floor(i / 10) + '/item-' + i);
		note.push(i % 7 === 3 ? null : 'note' + '.'.repeat(i % 5) + i);
	}
	const table = new arrow.Table({
		id: arrow.vectorFromArray(id, new arrow.Int64()),
		n32: arrow.vectorFromArray(n32, new arrow.Int32()),
		url: arrow.vectorFromArray(url, new arrow.Utf8()),
		note: arrow.vectorFromArray(note, new arrow.Utf8()),
	});
	const wt = pw.Table.fromIPCStream(arrow.tableToIPC(table, 'stream'));
	const props = new pw.WriterPropertiesBuilder()
		.setDictionaryEnabled(false)
		.setCompression(pw.Compression.SNAPPY)
		.setColumnEncoding('id', pw.Encoding.DELTA_BINARY_PACKED)
		.setColumnEncoding('n32', pw.Encoding.DELTA_BINARY_PACKED)
		.setColumnEncoding('url', pw.Encoding.DELTA_BYTE_ARRAY)
		.setColumnEncoding('note', pw.Encoding.DELTA_LENGTH_BYTE_ARRAY)
		.setCreatedBy('trailpq make_fixtures (arrow-rs)')
		.build();
	writeFileSync(join(out, 'arrow_delta.parquet'), pw.writeParquet(wt, props));
}

// Check every fixture reads back in DuckDB and stays small.
for (const f of ['types_uncompressed', 'types_snappy', 'types_gzip', 'types_zstd',
	'types_lz4_raw', 'types_plain', 'types_duckdb_v2', 'arrow_delta', 'brotli', 'empty', 'nested', 'multi_rg', 'arrow_v2']) {
	const path = join(out, `${f}.parquet`);
	const size = statSync(path).size;
	if (size >= 20 * 1024)
		throw new Error(`${f}.parquet is ${size} bytes, over the 20 KB budget`);
	const r = await con.runAndReadAll(`SELECT count(*) FROM '${path.replaceAll("'", "''")}'`);
	console.log(`${f}.parquet: ${size} bytes, ${r.getRows()[0][0]} rows`);
}
