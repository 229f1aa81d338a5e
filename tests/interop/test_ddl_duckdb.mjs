// `trailpq ddl --engine duckdb` run in DuckDB against a lake.
//
// The lake here is built by DuckDB itself (COPY ... PARTITION_BY), with schema v1's column names
// and types, so this test does not depend on the converter: it checks the DDL, not the data
// path. The expected columns are not typed here either: they come from `trailpq schema --json`,
// the same table the DDL generator reads, mapped to DuckDB types and canonicalised by DuckDB
// (typeof(CAST(NULL AS t))) before comparing with what the view's DESCRIBE says.
//
// What must hold: the view has exactly schema v1's columns, in order, with the right types,
// then account, region, year, month, day, all VARCHAR; an account id with a leading zero
// (012345678901) stays that string, and so do zero-padded months and days ('03').
//
// Env: TRAILPQ (required) is the trailpq binary; without it the test fails, unless
// TPQ_ALLOW_SKIP=1, which turns the failure into a skip. TPQ_DDL_LAKE (optional) names a lake
// written by `trailpq convert`; when set, the view is also checked against it.

import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const TRAILPQ = process.env.TRAILPQ;
const SKIP = !TRAILPQ && process.env.TPQ_ALLOW_SKIP === '1' ? 'TRAILPQ is unset (TPQ_ALLOW_SKIP=1)' : false;
const PARTITIONS = ['account', 'region', 'year', 'month', 'day'];

function needBinary() {
	if (!TRAILPQ)
		assert.fail('TRAILPQ is not set: point it at the trailpq binary (make interop does), ' +
			'or set TPQ_ALLOW_SKIP=1 to skip this test');
	assert.ok(existsSync(TRAILPQ), `TRAILPQ=${TRAILPQ} does not exist`);
}

function trailpq(args) {
	return execFileSync(TRAILPQ, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// schema v1 type (from `trailpq schema --json`) -> DuckDB type as SQL text.
function duckType(col) {
	switch (col.type) {
	case 'string':
	case 'json':
		return 'VARCHAR';
	case 'boolean':
		return 'BOOLEAN';
	case 'timestamp':
		// INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=true): DuckDB reads an instant.
		return 'TIMESTAMP WITH TIME ZONE';
	case 'map':
		return 'MAP(VARCHAR, VARCHAR)';
	case 'struct':
		return `STRUCT(${col.fields.map((f) => `"${f.name}" ${duckType(f)}`).join(', ')})`;
	case 'list':
		return `${duckType(col.element)}[]`;
	default:
		throw new Error(`unknown schema type ${col.type} for ${col.name}`);
	}
}

async function connect() {
	const instance = await DuckDBInstance.create(':memory:');
	const conn = await instance.connect();
	await conn.run("SET TimeZone = 'UTC'");
	const rows = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS();
	return { conn, rows };
}

// Canonical DuckDB spelling of a type written as SQL.
async function canonical(rows, sqlType) {
	const r = await rows(`SELECT typeof(CAST(NULL AS ${sqlType})) AS t`);
	return r[0].t;
}

// Writes LAKE/<table>/account=../region=../year=../month=../day=../*.parquet with three events.
async function buildLake(conn, schema, dir, table) {
	const values = {
		eventversion: ["'1.11'", "'1.11'", "'1.09'"],
		eventtime: ["'2024-03-13 00:00:05.123+00'", "'2024-12-31 23:59:59+00'",
			"'2025-01-01 00:00:00+00'"],
		eventname: ["'GetObject'", "'PutObject'", "'ListBuckets'"],
		eventid: ["'e-1'", "'e-2'", "'e-3'"],
		readonly: ['true', 'false', 'NULL'],
		requestparameters: [`'{"bucketName":"b","key":"k"}'`, 'NULL', "'null'"],
	};
	const parts = {
		account: ["'012345678901'", "'012345678901'", "'123456789012'"],
		region: ["'us-east-1'", "'eu-west-1'", "'us-east-1'"],
		year: ["'2024'", "'2024'", "'2025'"],
		month: ["'03'", "'12'", "'01'"],
		day: ["'13'", "'31'", "'01'"],
	};
	const selects = [0, 1, 2].map((i) => {
		const cols = schema.columns.map((c) =>
			`CAST(${values[c.name]?.[i] ?? 'NULL'} AS ${duckType(c)}) AS "${c.name}"`);
		for (const p of PARTITIONS)
			cols.push(`${parts[p][i]} AS "${p}"`);
		return `SELECT ${cols.join(', ')}`;
	});
	await conn.run(`COPY (${selects.join(' UNION ALL ')}) TO '${path.join(dir, table)}' ` +
		`(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (${PARTITIONS.join(', ')}))`);
}

// DESCRIBE of the view must be schema v1's columns then the partition columns.
async function checkColumns(rows, schema, view) {
	const described = await rows(`DESCRIBE "${view}"`);
	const names = described.map((r) => r.column_name);
	assert.deepEqual(names, [...schema.columns.map((c) => c.name), ...PARTITIONS],
		'view columns must be schema v1 in order, then the partition columns');
	for (const c of schema.columns) {
		const got = described.find((r) => r.column_name === c.name).column_type;
		assert.equal(got, await canonical(rows, duckType(c)), `type of column ${c.name}`);
	}
	for (const p of PARTITIONS) {
		const got = described.find((r) => r.column_name === p).column_type;
		assert.equal(got, 'VARCHAR', `partition column ${p} must stay VARCHAR`);
	}
}

test('duckdb view over a lake: schema v1 columns and types, string partitions', { skip: SKIP },
	async (t) => {
		needBinary();
		const schema = JSON.parse(trailpq(['schema', '--json']));
		assert.equal(schema.schema_version, 1);
		assert.equal(schema.columns.at(-1).name, 'unmapped');
		assert.deepEqual(schema.partition_columns.map((p) => p.name), PARTITIONS);

		const dir = mkdtempSync(path.join(tmpdir(), 'tpq-ddl-'));
		t.after(() => rmSync(dir, { recursive: true, force: true }));
		const { conn, rows } = await connect();
		await buildLake(conn, schema, dir, 'cloudtrail');

		// A trailing slash on the location must not matter.
		const ddl = trailpq(['ddl', '--engine', 'duckdb', '--location', `${dir}/`]);
		assert.match(ddl, /hive_types_autocast = false/);
		await conn.run(ddl);
		await checkColumns(rows, schema, 'cloudtrail');

		const byAccount = await rows(
			'SELECT account, count(*)::INTEGER AS n FROM cloudtrail GROUP BY account ORDER BY account');
		assert.deepEqual(byAccount, [
			{ account: '012345678901', n: 2 },
			{ account: '123456789012', n: 1 },
		]);
		const get = await rows(`SELECT account, region, year, month, day, epoch_ms(eventtime) AS ms,
			readonly, requestparameters FROM cloudtrail WHERE eventname = 'GetObject'`);
		assert.deepEqual(get, [{
			account: '012345678901', region: 'us-east-1', year: '2024', month: '03', day: '13',
			ms: BigInt(Date.UTC(2024, 2, 13, 0, 0, 5, 123)), readonly: true,
			requestparameters: '{"bucketName":"b","key":"k"}',
		}]);
		// Partition filters compare strings: the zero-padded forms match, the numbers do not.
		const filtered = await rows(`SELECT count(*)::INTEGER AS n FROM cloudtrail
			WHERE account = '012345678901' AND year = '2024' AND month = '03'`);
		assert.deepEqual(filtered, [{ n: 1 }]);

		// A custom view name reads the cloudtrail folder unless told otherwise.
		await conn.run(trailpq(['ddl', '--engine', 'duckdb', '--location', dir, '--table', 'ct']));
		assert.deepEqual(await rows('SELECT count(*)::INTEGER AS n FROM ct'), [{ n: 3 }]);
		await conn.run(trailpq(['ddl', '--engine', 'duckdb', '--location', dir,
			'--table', 'ct2', '--database', 'main', '--source-table', 'cloudtrail']));
		assert.deepEqual(await rows('SELECT count(*)::INTEGER AS n FROM main.ct2'), [{ n: 3 }]);
	});

test('duckdb view names the other lake tables', { skip: SKIP }, async (t) => {
	needBinary();
	const schema = JSON.parse(trailpq(['schema', '--json']));
	const dir = mkdtempSync(path.join(tmpdir(), 'tpq-ddl-'));
	t.after(() => rmSync(dir, { recursive: true, force: true }));
	const { conn, rows } = await connect();
	for (const table of ['cloudtrail_insight', 'cloudtrail_networkactivity']) {
		await buildLake(conn, schema, dir, table);
		await conn.run(trailpq(['ddl', '--engine', 'duckdb', '--location', dir, '--table', table]));
		await checkColumns(rows, schema, table);
	}
});

test('trailpq ddl rejects a location that would need quoting', { skip: SKIP }, () => {
	needBinary();
	assert.throws(() => trailpq(['ddl', '--engine', 'duckdb', '--location', "/tmp/it's"]),
		(e) => e.status === 2 && /location/.test(String(e.stderr)));
});

test('duckdb view over a converted lake (TPQ_DDL_LAKE)',
	{ skip: SKIP || (!process.env.TPQ_DDL_LAKE && 'TPQ_DDL_LAKE is unset') }, async () => {
		needBinary();
		const schema = JSON.parse(trailpq(['schema', '--json']));
		const { conn, rows } = await connect();
		await conn.run(trailpq(['ddl', '--engine', 'duckdb', '--location', process.env.TPQ_DDL_LAKE]));
		await checkColumns(rows, schema, 'cloudtrail');
		const bad = await rows(`SELECT count(*)::INTEGER AS n FROM cloudtrail
			WHERE NOT regexp_full_match(account, '[0-9]{12}') OR NOT regexp_full_match(month, '[0-9]{2}')
			OR NOT regexp_full_match(day, '[0-9]{2}')`);
		assert.deepEqual(bad, [{ n: 0 }], 'partition values must be zero-padded strings');
	});
