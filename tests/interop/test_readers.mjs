// The three readers must agree on the canonical row form for every type and nesting case the
// CloudTrail table uses; check_file.mjs must pass a matching file and pinpoint a mismatch; our
// Bloom probe must agree with DuckDB's. Test files are written by DuckDB (COPY ... TO ...).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	readDuckDB, readArrow, readHyparquet, duckdbQuery, duckdbMeta, duckdbBloomProbe, deepEqual, diffValues,
} from './readers.mjs';
import { checkFile } from './check_file.mjs';
import { xxh64, readBloomFilters, bloomProbe } from './bloom.mjs';

let tmp, file, bloomFile;

// Row i of the test file, in the canonical form.
const EXPECTED = [
	{ i: 1, s: 'a', b: true, l: '9007199254740993', ts: 1710319080123,
		st: { x: '1', y: { z: null } }, li: [{ arn: 'r1', t: null }, null],
		m: [['2', 'v2'], ['1', 'v1'], ['__proto__', null]] },
	{ i: 2, s: null, b: null, l: null, ts: null, st: null, li: null, m: null },
	{ i: 3, s: 'ü😀\n"\t\\', b: false, l: '-9223372036854775808', ts: -1,
		st: { x: null, y: null }, li: [], m: [] },
	{ i: -2147483648, s: '', b: true, l: '9223372036854775807', ts: 253402300799999,
		st: { x: '', y: { z: 7 } }, li: [null, null, { arn: null, t: -1 }], m: [['', '']] },
];

const sqlRow = (r) => {
	const str = (v) => (v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`);
	const st = r.st === null ? 'NULL' : `{'x': ${str(r.st.x)}, 'y': ${r.st.y === null ? 'NULL::STRUCT(z INTEGER)' : `{'z': ${r.st.y.z ?? 'NULL'}::INTEGER}`}}`;
	const li = r.li === null ? 'NULL' : `[${r.li.map((e) => (e === null ? 'NULL' : `{'arn': ${str(e.arn)}, 't': ${e.t ?? 'NULL'}::INTEGER}`)).join(', ')}]::STRUCT(arn VARCHAR, t INTEGER)[]`;
	const m = r.m === null ? 'NULL' : `MAP {${r.m.map(([k, v]) => `${str(k)}: ${str(v)}`).join(', ')}}::MAP(VARCHAR, VARCHAR)`;
	return `((${r.i})::INTEGER, ${str(r.s)}, ${r.b ?? 'NULL'}::BOOLEAN, ${r.l === null ? 'NULL' : `'${r.l}'`}::BIGINT, ` +
		`${r.ts === null ? 'NULL' : `make_timestamp((${r.ts})::BIGINT * 1000)`}::TIMESTAMPTZ, ${st}, ${li}, ${m})`;
};

before(async () => {
	tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tpq-readers-'));
	file = path.join(tmp, 'types.parquet');
	await duckdbQuery(`COPY (SELECT * FROM (VALUES ${EXPECTED.map(sqlRow).join(',\n')}) t(i, s, b, l, ts, st, li, m))
		TO '${file}' (FORMAT parquet, COMPRESSION zstd)`);
	bloomFile = path.join(tmp, 'bloom.parquet');
	await duckdbQuery(`COPY (SELECT 'id' || (i % 50) AS k, {'arn': 'arn' || (i % 30)} AS u, (i % 40)::INTEGER AS n
		FROM range(10000) t(i)) TO '${bloomFile}' (FORMAT parquet, ROW_GROUP_SIZE 5000)`);
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('DuckDB, arrow-rs and hyparquet give the same canonical rows', async () => {
	const d = await readDuckDB(file);
	const a = readArrow(file);
	const h = await readHyparquet(file);
	assert.deepEqual(diffValues(EXPECTED, d), []);
	assert.deepEqual(diffValues(EXPECTED, a), []);
	assert.deepEqual(diffValues(EXPECTED, h), []);
	// NULL struct vs struct of NULLs, NULL list vs empty list, NULL element, map order.
	assert.equal(h[1].st, null);
	assert.deepEqual(h[2].st, { x: null, y: null });
	assert.equal(a[1].li, null);
	assert.deepEqual(a[2].li, []);
	assert.deepEqual(d[0].m.map(([k]) => k), ['2', '1', '__proto__']);
	assert.equal(typeof d[0].l, 'string');
});

test('deepEqual ignores object key order but not array order', () => {
	assert.ok(deepEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }));
	assert.ok(!deepEqual({ a: [1, 2] }, { a: [2, 1] }));
	assert.ok(!deepEqual({ a: null }, {}));
	assert.ok(!deepEqual('1', 1));
});

test('check_file passes a matching file and pinpoints a difference', async () => {
	const ok = await checkFile(file, EXPECTED, { createdBy: 'DuckDB version ' });
	assert.deepEqual(ok.problems, []);
	assert.ok(ok.ok);
	const wrong = structuredClone(EXPECTED);
	wrong[2].st.x = 'changed';
	wrong[3].m = [['', 'x']];
	const bad = await checkFile(file, wrong, { createdBy: 'DuckDB version ' });
	assert.ok(!bad.ok);
	for (const r of ['duckdb', 'arrow', 'hyparquet']) {
		assert.ok(bad.problems.includes(`[${r}] row 2: st.x: expected "changed", got null`), bad.problems.join('\n'));
		assert.ok(bad.problems.some((p) => p.startsWith(`[${r}] row 3: m[0][1]: expected "x", got ""`)), bad.problems.join('\n'));
	}
	const short = await checkFile(file, EXPECTED.slice(0, 3), { createdBy: 'DuckDB version ' });
	assert.ok(short.problems.includes('[arrow] 4 rows, expected 3'));
	const trailpq = await checkFile(file, EXPECTED, {});
	assert.match(trailpq.problems[0], /^created_by "DuckDB version .*" does not start with "trailpq version "$/);
});

test('duckdbMeta returns footer, column chunk and schema rows', async () => {
	const m = await duckdbMeta(file);
	assert.equal(m.file.num_rows, '4');
	assert.equal(m.file.num_row_groups, '1');
	assert.ok(m.metadata.some((r) => r.path_in_schema === 'm, key_value, key'));
	assert.ok(m.metadata.every((r) => r.compression === 'ZSTD'));
	const ts = m.schema.find((r) => r.name === 'ts');
	assert.equal(ts.type, 'INT64');
	assert.deepEqual(m.schema.filter((r) => ['list', 'element', 'key_value', 'key', 'value'].includes(r.name))
		.map((r) => `${r.name}:${r.repetition_type}`), ['list:REPEATED', 'element:OPTIONAL', 'key_value:REPEATED', 'key:REQUIRED', 'value:OPTIONAL']);
});

test('xxh64 matches the reference vectors', () => {
	assert.equal(xxh64(Buffer.from('')).toString(16), 'ef46db3751d8e999');
	assert.equal(xxh64(Buffer.from('a')).toString(16), 'd24ec4f1a98c6e5b');
	assert.equal(xxh64(Buffer.from('abc')).toString(16), '44bc2cf5ad770999');
});

test('our Bloom probe agrees with parquet_bloom_probe and handles nested columns', async () => {
	const f = readBloomFilters(bloomFile);
	assert.deepEqual([...f.keys()], ['k', 'u.arn', 'n']);
	let excluded = 0;
	for (let i = 0; i < 100; i++) {
		for (const [col, v, t] of [['k', `id${i}`, 'BYTE_ARRAY'], ['n', i, 'INT32']]) {
			const ours = bloomProbe(f, col, v, t).map((x) => x.excludes);
			const theirs = (await duckdbBloomProbe(bloomFile, col, String(v))).map((x) => x.bloom_filter_excludes);
			assert.deepEqual(ours, theirs, `${col}=${v}`);
			if (i < (col === 'k' ? 50 : 40)) assert.deepEqual(ours, [false, false], `${col}=${v} present`);
			if (ours[0]) excluded++;
		}
	}
	assert.ok(excluded > 80, `only ${excluded} absent values excluded`);
	assert.deepEqual(bloomProbe(f, 'u.arn', 'arn3').map((x) => x.excludes), [false, false]);
	assert.deepEqual(bloomProbe(f, 'u.arn', 'arn30').map((x) => x.excludes), [true, true]);
});
