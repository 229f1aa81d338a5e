// Self-test of check_lake.mjs: the checker must pass a lake holding exactly the expected rows
// and must catch every kind of damage with a precise message. The lake is built by DuckDB from
// the oracle's own rows of the dev corpus (so this tests the readers, the comparison and the
// layout checks, not the oracle; test_oracle.mjs does that). DuckDB is not trailpq, so the
// created_by and exact-schema checks are switched off here, and tested on their own below.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectedLake, RECORD_FIELDS, TABLES, PARTITION_COLUMNS, COLUMN_NAMES } from './oracle.mjs';
import { duckdbQuery, hyparquetMetadata } from './readers.mjs';
import { checkLake, parseLakePath, schemaProblems } from './check_lake.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CORPUS = path.resolve(here, '../../../shared/corpus/dev');
const haveCorpus = fs.existsSync(path.join(CORPUS, 'MANIFEST.tsv'));

const duckType = (spec) => {
	if (spec === 'string' || spec === 'json') return 'VARCHAR';
	if (spec === 'bool') return 'BOOLEAN';
	if (spec === 'time') return 'BIGINT';
	if (spec === 'map') return 'MAP(VARCHAR, VARCHAR)';
	if (spec.struct) return `STRUCT(${spec.struct.map(([, c, s]) => `"${c}" ${duckType(s)}`).join(', ')})`;
	if (spec.list) return `${duckType(spec.list)}[]`;
	throw new Error('spec');
};

// JSON for read_json: maps (arrays of pairs) become objects, in pair order.
const toJson = (v, spec) => {
	if (v === null) return 'null';
	if (spec === 'map') return '{' + v.map(([k, x]) => JSON.stringify(k) + ':' + JSON.stringify(x)).join(',') + '}';
	if (spec?.struct) return '{' + spec.struct.map(([, c, s]) => JSON.stringify(c) + ':' + toJson(v[c], s)).join(',') + '}';
	if (spec?.list) return '[' + v.map((x) => toJson(x, spec.list)).join(',') + ']';
	return JSON.stringify(v);
};

const q = (s) => `'${s.replace(/'/g, "''")}'`;
let tmp, lake, expected;

async function writeFile(table, part, rows, name = 'part-0.parquet') {
	const dir = path.join(lake, table, ...PARTITION_COLUMNS.map((p) => `${p}=${part[p]}`));
	fs.mkdirSync(dir, { recursive: true });
	const jsonl = path.join(tmp, 'rows.jsonl');
	const specs = [...RECORD_FIELDS.map(([, c, s]) => [c, s]), ['unmapped', 'json']];
	fs.writeFileSync(jsonl, rows.map((r) => '{' + specs.map(([c, s]) => JSON.stringify(c) + ':' + toJson(r[c], s)).join(',') + '}').join('\n') + '\n');
	const columns = '{' + specs.map(([c, s]) => `${q(c)}: ${q(duckType(s))}`).join(', ') + '}';
	const select = specs.map(([c, s]) => (s === 'time' ? `epoch_ms("${c}")::TIMESTAMPTZ AS "${c}"` : `"${c}"`)).join(', ');
	await duckdbQuery(`COPY (SELECT ${select} FROM read_json(${q(jsonl)}, format = 'newline_delimited', columns = ${columns}))
		TO ${q(path.join(dir, name))} (FORMAT parquet, COMPRESSION zstd)`);
	return path.join(dir, name);
}

before(async () => {
	if (!haveCorpus) return;
	tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tpq-checklake-'));
	lake = path.join(tmp, 'lake');
	expected = expectedLake(CORPUS);
	for (const t of TABLES) {
		const parts = new Map();
		for (const e of expected.tables[t]) {
			const k = PARTITION_COLUMNS.map((p) => e.row[p]).join('/');
			if (!parts.has(k)) parts.set(k, []);
			parts.get(k).push(e.row);
		}
		for (const rows of parts.values()) {
			rows.sort((a, b) => (a.eventtime ?? -Infinity) - (b.eventtime ?? -Infinity));
			await writeFile(t, rows[0], rows);
		}
	}
});

after(() => {
	if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const OPTS = { createdBy: 'DuckDB version', checkSchema: false, bloomColumns: [], maxDiffs: 20 };

test('parseLakePath accepts the layout and rejects unpadded or misplaced files', () => {
	const ok = parseLakePath('cloudtrail/account=123456789012/region=us-east-1/year=2024/month=03/day=09/part-1.parquet');
	assert.deepEqual(ok, { table: 'cloudtrail', part: { account: '123456789012', region: 'us-east-1', year: '2024', month: '03', day: '09' } });
	assert.match(parseLakePath('cloudtrail/account=123456789012/region=us-east-1/year=2024/month=3/day=09/p.parquet').error, /zero-padded/);
	assert.match(parseLakePath('cloudtrail/account=123456789012/region=us-east-1/year=2024/month=03/p.parquet').error, /not at/);
	assert.match(parseLakePath('other/account=123456789012/region=us-east-1/year=2024/month=03/day=01/p.parquet').error, /unknown table/);
	assert.match(parseLakePath('cloudtrail/region=us-east-1/account=123456789012/year=2024/month=03/day=01/p.parquet').error, /expected account/);
	assert.match(parseLakePath('cloudtrail/account=123456789012/region=us-east-1/year=2024/month=03/day=01/.p.parquet.tmp').error, /data file/);
});

test('schemaProblems reports what differs from schema v1', async () => {
	if (!haveCorpus) return;
	const file = fs.readdirSync(path.join(lake, 'cloudtrail'), { recursive: true }).find((f) => f.endsWith('.parquet'));
	const probs = schemaProblems(hyparquetMetadata(path.join(lake, 'cloudtrail', file)));
	// DuckDB writes TIMESTAMPTZ in microseconds and strings without the STRING logical type.
	assert.ok(probs.some((p) => /eventtime .*unit=MICROS/.test(p) || /eventtime converted_type TIMESTAMP_MICROS/.test(p)), probs.join('\n'));
	assert.ok(probs.some((p) => /eventversion logical type undefined, expected STRING/.test(p)), probs.join('\n'));
	assert.ok(!probs.some((p) => /useridentity\.sessioncontext\.webidfederationdata\.attributes (is|has)/.test(p)), probs.join('\n'));
});

test('a lake holding exactly the expected rows passes, with all three readers', { skip: !haveCorpus && 'no corpus' }, async () => {
	const res = await checkLake(CORPUS, lake, OPTS);
	assert.deepEqual(res.problems, []);
	assert.ok(res.ok);
	assert.match(res.summary, /^check_lake: OK: rows cloudtrail 2109, cloudtrail_insight 7, cloudtrail_networkactivity 6;/);
	for (const t of TABLES) assert.ok(expected.tables[t].length > 0);
	assert.equal(COLUMN_NAMES.length, 32);
});

test('the default created_by check rejects files not written by trailpq', { skip: !haveCorpus && 'no corpus' }, async () => {
	const res = await checkLake(CORPUS, lake, { ...OPTS, createdBy: undefined, readers: ['arrow'] });
	assert.ok(!res.ok);
	assert.match(res.problems[0], /created_by "DuckDB version .* does not start with "trailpq version "/);
});

test('damage is found and described precisely', { skip: !haveCorpus && 'no corpus' }, async () => {
	// One partition with several rows: change a value, swap two rows, drop one, add a stray file.
	const t = 'cloudtrail';
	const parts = new Map();
	for (const e of expected.tables[t]) {
		const k = PARTITION_COLUMNS.map((p) => e.row[p]).join('/');
		if (!parts.has(k)) parts.set(k, []);
		parts.get(k).push(e.row);
	}
	const [, rows] = [...parts].find(([, r]) => r.length >= 4 && new Set(r.map((x) => x.eventtime)).size >= 3);
	const sorted = [...rows].sort((a, b) => a.eventtime - b.eventtime);
	const bad = sorted.map((r) => structuredClone(r));
	bad[0].eventname = 'Tampered';
	bad[1].useridentity = bad[1].useridentity ? { ...bad[1].useridentity, arn: 'arn:x' } : { arn: 'arn:x' };
	const dropped = bad.pop();
	[bad[1], bad[2]] = [bad[2], bad[1]];
	const file = await writeFile(t, rows[0], bad);
	const stray = path.join(path.dirname(file), 'notes.txt');
	fs.writeFileSync(stray, 'x');
	const unpadded = path.join(lake, t, `account=${rows[0].account}`, 'region=us-east-1', 'year=2024', 'month=3', 'day=01');
	fs.mkdirSync(unpadded, { recursive: true });
	fs.writeFileSync(path.join(unpadded, 'x.parquet'), 'PAR1');
	try {
		for (const reader of ['duckdb', 'arrow', 'hyparquet']) {
			const res = await checkLake(CORPUS, lake, { ...OPTS, readers: [reader] });
			const all = res.problems.join('\n');
			assert.ok(!res.ok);
			assert.match(res.summary, /^check_lake: FAIL: /);
			assert.match(all, new RegExp(`\\[${reader}\\] cloudtrail: .*eventid "${bad[0].eventid}".*eventname: expected ${JSON.stringify(JSON.stringify(sorted[0].eventname)).slice(1, -1)}, got "Tampered"`));
			assert.match(all, /useridentity\.arn: expected .*, got "arn:x"/);
			assert.match(all, new RegExp(`missing row: eventid "${dropped.eventid}"`));
			assert.match(all, new RegExp(`\\[${reader}\\] cloudtrail: ${rows.length - 1} rows|\\[${reader}\\] cloudtrail: \\d+ rows, expected \\d+`));
			assert.match(all, /not sorted by eventtime/);
			assert.match(all, /layout: .*notes\.txt: not a \.parquet data file name/);
			assert.match(all, /layout: .*month=3\/day=01\/x\.parquet: partition value month=3 is not well formed/);
		}
	} finally {
		fs.rmSync(stray);
		fs.rmSync(path.join(lake, t, `account=${rows[0].account}`, 'region=us-east-1', 'year=2024', 'month=3'), { recursive: true });
		await writeFile(t, rows[0], sorted);
	}
});
