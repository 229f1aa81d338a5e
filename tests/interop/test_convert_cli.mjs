// `trailpq convert` end to end, through the real binary: bad input, key layouts, partitioning by
// eventTime, de-duplication, --since/--until, thread-count independence, and the command line.
//
// Every bucket is generated here, at run time, into a temporary directory (no binary test data
// in the repository). Lakes are read back with DuckDB and, where a lake must match its source
// exactly, checked by tests/interop/check_lake.mjs.
//
// Env: TRAILPQ (required) is the trailpq binary; without it every test fails with a clear
// message, unless TPQ_ALLOW_SKIP=1, which turns the failures into skips.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { duckdbQuery, closeDuckDB } from './readers.mjs';
import { ACCT, nameSeq, pad, ctKey, rec, recordsText, put, gz, walk, copyExcept, lakeGlob } from './bucket.mjs';

const TRAILPQ = process.env.TRAILPQ;
const SKIP = !TRAILPQ && process.env.TPQ_ALLOW_SKIP === '1' ? 'TRAILPQ is unset (TPQ_ALLOW_SKIP=1)' : false;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHECK_LAKE = path.join(HERE, 'check_lake.mjs');

let scratch;
test.before(() => {
	scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tpq-convert-cli-'));
});
test.after(() => {
	closeDuckDB();
	if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

function needBinary() {
	if (!TRAILPQ)
		assert.fail('TRAILPQ is not set: point it at the trailpq binary (make interop does), ' +
			'or set TPQ_ALLOW_SKIP=1 to skip this test');
	assert.ok(fs.existsSync(TRAILPQ), `TRAILPQ=${TRAILPQ} does not exist`);
}

let dirSeq = 0;
function freshDir(name) {
	const d = path.join(scratch, `${name}-${++dirSeq}`);
	fs.mkdirSync(d, { recursive: true });
	return d;
}

function run(args) {
	const r = spawnSync(TRAILPQ, args, { encoding: 'utf8', timeout: 30000 });
	if (r.error) throw r.error;
	return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function show(r) {
	return `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

// convert with --json --quiet; returns { ...run, summary }.
function convert(src, dst, extra = []) {
	const r = run(['convert', '--json', '--quiet', ...extra, src, dst]);
	let summary = null;
	const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
	if (line) summary = JSON.parse(line);
	return { ...r, summary };
}

function checkLake(src, lake) {
	const r = spawnSync(process.execPath, [CHECK_LAKE, src, lake, '--reader', 'duckdb', '--quiet'],
		{ encoding: 'utf8', timeout: 60000 });
	assert.equal(r.status, 0, `check_lake ${src} ${lake} failed:\n${r.stdout}\n${r.stderr}`);
}

async function lakeRows(lake, cols = 'eventid', order = 'eventid') {
	return duckdbQuery(`SELECT ${cols} FROM read_parquet(${lakeGlob(lake)}, hive_partitioning = true, ` +
		`hive_types_autocast = false) ORDER BY ${order}`);
}

async function eventIds(lake) {
	return (await lakeRows(lake)).map((r) => r.eventid);
}

// ---- 1. bad input ----

test('bad input: each bad file rejected whole with one line, exit 3, good files converted', { skip: SKIP }, async () => {
	needBinary();
	const src = freshDir('bad-src');
	const good = [];
	const goodIds = [];
	const addGood = (key, records, bytes) => {
		put(src, key, bytes);
		good.push(key);
		goodIds.push(...records.map((r) => r.eventID));
	};
	const g1 = [rec('good-1', '2024-03-14T01:00:00Z'), rec('good-2', '2024-03-14T02:00:00Z'),
		rec('good-3', '2024-03-14T03:00:00Z')];
	addGood(ctKey(), g1, gz(recordsText(g1)));
	const g2 = [rec('good-4', '2024-03-14T04:00:00Z'), rec('good-5', '2024-03-14T05:00:00.123Z')];
	addGood(ctKey(), g2, gz(recordsText(g2)));
	const g3 = [rec('good-plain-1', '2024-03-14T06:00:00Z'), rec('good-plain-2', '2024-03-14T07:00:00Z')];
	addGood(ctKey({ ext: '.json' }), g3, Buffer.from(recordsText(g3)));

	const bad = new Map(); // key -> RegExp the message must match
	const badRecs = (tag, n = 3) => Array.from({ length: n }, (_, i) =>
		rec(`bad-${tag}-${i}`, `2024-03-14T1${i}:00:00Z`));

	// truncated gzip: the first half of a valid member
	const full = gz(recordsText(badRecs('trunc', 20)));
	bad.set(put(src, ctKey(), full.subarray(0, full.length >> 1)), /gzip|truncat|unexpected end|inflate/i);
	// corrupt gzip: one bit flipped inside the deflate data
	const flipped = Buffer.from(gz(recordsText(badRecs('flip', 20))));
	flipped[Math.floor(flipped.length / 2)] ^= 0x10;
	bad.set(put(src, ctKey(), flipped), /gzip|crc|inflate|deflate|corrupt|invalid/i);
	// invalid JSON in record 2: a missing ',' between two members
	const r0 = JSON.stringify(rec('bad-json-0', '2024-03-14T10:00:00Z'));
	const r1 = JSON.stringify(rec('bad-json-1', '2024-03-14T10:00:01Z'));
	const r2 = JSON.stringify(rec('bad-json-2', '2024-03-14T10:00:02Z')).replace(',"eventSource"', ' "eventSource"');
	const badJson = `{"Records":[${r0},${r1},${r2}]}`;
	const badJsonByte = badJson.indexOf(' "eventSource"', badJson.indexOf(r2.slice(0, 30))) + 1;
	const badJsonKey = put(src, ctKey(), gz(badJson));
	bad.set(badJsonKey, /JSON/i);
	// invalid UTF-8 inside a string value
	const utf = Buffer.from(recordsText(badRecs('utf8')).replace('aws-cli/2.15.0', 'aws-cli/@@'));
	const at = utf.indexOf('@@');
	utf[at] = 0xc3;
	utf[at + 1] = 0x28;
	const utfKey = put(src, ctKey(), gz(utf));
	bad.set(utfKey, /UTF-?8/i);
	// Records not an array: the '{' after "Records": is byte 11
	const notArrayKey = put(src, ctKey(),
		gz(JSON.stringify({ Records: { a: rec('bad-notarray-0', '2024-03-14T10:00:00Z') } })));
	bad.set(notArrayKey, /Records|array/i);
	// record 1 is not an object
	const notObj = `{"Records":[${JSON.stringify(rec('bad-notobj-0', '2024-03-14T10:00:00Z'))},42]}`;
	const notObjKey = put(src, ctKey(), gz(notObj));
	bad.set(notObjKey, /object/i);
	// not CloudTrail at all (an AWS Config history file under a CloudTrail key)
	bad.set(put(src, ctKey(), gz(JSON.stringify({ fileVersion: '1.0', configurationItems: [{ eventID: 'bad-config-0' }] }))),
		/Records|CloudTrail/i);
	// an empty object
	bad.set(put(src, ctKey(), Buffer.alloc(0)), /./);

	const lake = freshDir('bad-lake');
	const quarantine = freshDir('bad-quarantine');
	const r = convert(src, lake, ['--quarantine', quarantine, '--threads', '2']);
	assert.equal(r.status, 3, `expected exit 3 (some input rejected)\n${show(r)}`);

	// one line per bad file, naming it
	const lines = r.stderr.split('\n').filter((l) => l.startsWith('trailpq: rejected '));
	const named = lines.map((l) => /^trailpq: rejected (\S+): (.+)$/.exec(l));
	assert.ok(named.every(Boolean), `malformed rejection lines:\n${lines.join('\n')}`);
	assert.deepEqual(named.map((m) => m[1]).sort(), [...bad.keys()].sort(), `rejected keys differ\n${show(r)}`);
	for (const m of named) assert.match(m[2], bad.get(m[1]), `message for ${m[1]}`);
	// the invalid-JSON line points at record 2 and the byte of the damage
	const jl = named.find((m) => m[1] === badJsonKey)[2];
	assert.match(jl, /\(record 2, byte \d+\)$/, `record/byte missing: ${jl}`);
	const byte = Number(/byte (\d+)\)$/.exec(jl)[1]);
	assert.equal(byte, badJsonByte, `byte offset in ${jl}: expected ${badJsonByte} (the '"' after the missing ',')`);

	// where the other located errors are (record index from 0, byte offset in the inflated JSON)
	const lineOf = (k) => named.find((x) => x[1] === k)[2];
	assert.match(lineOf(utfKey), new RegExp(`\\(record 0, byte ${at}\\)$`), 'invalid UTF-8: the lead byte 0xC3');
	assert.match(lineOf(notArrayKey), /\(byte 11\)$/, 'Records is not an array: the \'{\' at byte 11');
	assert.match(lineOf(notObjKey), new RegExp(`\\(record 1, byte ${notObj.lastIndexOf('42')}\\)$`),
		'record 1 is not an object: the 42');

	// the summary
	const s = r.summary;
	assert.ok(s, `no JSON summary on stdout\n${show(r)}`);
	assert.equal(s.files_rejected, bad.size);
	assert.equal(s.files_converted, good.length);
	assert.equal(s.files.cloudtrail, bad.size + good.length);
	assert.equal(s.rows.cloudtrail, goodIds.length);
	assert.equal(s.records, goodIds.length, 'records counts only the converted files');

	// rows: exactly the good files', none of any bad file
	const ids = await eventIds(lake);
	assert.deepEqual(ids, [...goodIds].sort());
	const goodOnly = freshDir('bad-src-goodonly');
	copyExcept(src, goodOnly, new Set(bad.keys()));
	checkLake(goodOnly, lake);

	// quarantine: exactly the bad files, byte for byte, under their keys
	assert.deepEqual(walk(quarantine), [...bad.keys()].sort());
	for (const k of bad.keys())
		assert.ok(fs.readFileSync(path.join(quarantine, k)).equals(fs.readFileSync(path.join(src, k))),
			`quarantined ${k} differs from the source object`);
});

test('bad input only: a bucket of one good and one bad file without --quarantine', { skip: SKIP }, async () => {
	needBinary();
	const src = freshDir('bad2-src');
	const recs = [rec('ok-1', '2024-03-14T01:00:00Z')];
	put(src, ctKey(), gz(recordsText(recs)));
	const badKey = put(src, ctKey(), gz('{"Records":[{"eventID":"x",'));
	const lake = freshDir('bad2-lake');
	const r = convert(src, lake);
	assert.equal(r.status, 3, show(r));
	assert.match(r.stderr, new RegExp(`^trailpq: rejected ${badKey.replace(/[.]/g, '\\.')}: .+$`, 'm'));
	assert.equal(r.summary.files_rejected, 1);
	assert.deepEqual(await eventIds(lake), ['ok-1']);
	assert.deepEqual(walk(lake).filter((f) => !f.endsWith('.parquet') && !f.startsWith('_trailpq/')), [],
		'no temporary files left');
	// the state: one commit, no pending record, no temporaries anywhere
	const state = walk(lake).filter((f) => f.startsWith('_trailpq/'));
	assert.ok(state.includes('_trailpq/commits/0000000001'), state.join(' '));
	assert.deepEqual(state.filter((f) => f.startsWith('_trailpq/pending/') || f.includes('.tpq-tmp-')), []);
});

// ---- 2. layout ----

test('layout: Control Tower, organization, prefixed trails; digests, Config and other objects skipped', { skip: SKIP }, async () => {
	needBinary();
	const src = freshDir('layout-src');
	const expect = []; // [eventid, account, region]
	const add = (opts, n) => {
		const account = opts.account ?? ACCT;
		const region = opts.region ?? 'us-east-1';
		const records = Array.from({ length: n }, (_, i) =>
			rec(`lay-${account}-${region}-${nameSeq}-${i}`, `2024-03-14T0${i}:00:00Z`, { awsRegion: region, recipientAccountId: account }));
		put(src, ctKey(opts), gz(recordsText(records)));
		for (const r of records) expect.push([r.eventID, account, region]);
	};
	add({ prefix: 'o-abc123', org: 'o-abc123', account: '210987654321', region: 'eu-west-1' }, 3); // Control Tower
	add({ prefix: 'o-abc123', account: '222233334444', region: 'eu-central-1' }, 2); // older Control Tower
	add({ prefix: 'x/y', account: '333344445555', region: 'ap-south-1' }, 2); // extra prefix
	add({ org: 'o-zz99yy88xx', account: '444455556666', region: 'us-west-2' }, 2); // organization trail
	add({}, 1); // plain account trail
	// the two other data tables
	const insight = [rec('lay-insight-0', '2024-03-14T05:00:00Z', { eventType: 'AwsCloudTrailInsight',
		eventCategory: 'Insight', insightDetails: { state: 'Start', eventSource: 'ec2.amazonaws.com' } })];
	put(src, ctKey({ folder: 'CloudTrail-Insight' }), gz(recordsText(insight)));
	const network = [rec('lay-network-0', '2024-03-14T06:00:00Z', { eventCategory: 'NetworkActivity',
		vpcEndpointId: 'vpce-1', vpcEndpointAccountId: ACCT })];
	put(src, ctKey({ folder: 'CloudTrail-NetworkActivity', prefix: 'x/y' }), gz(recordsText(network)));
	// A trap: digest and Config objects with a Records array; they must not become rows.
	const trap = (id) => gz(recordsText([rec(id, '2024-03-14T00:00:00Z')]));
	put(src, `AWSLogs/${ACCT}/CloudTrail-Digest/us-east-1/2024/03/14/` +
		`${ACCT}_CloudTrail-Digest_us-east-1_trail_us-east-1_20240314T010203Z.json.gz`, trap('trap-digest'));
	put(src, `o-abc123/AWSLogs/o-abc123/210987654321/CloudTrail-Digest/eu-west-1/2024/03/14/` +
		`210987654321_CloudTrail-Digest_eu-west-1_trail_us-east-1_20240314T010203Z.json.gz`,
	gz(JSON.stringify({ awsAccountId: '210987654321', digestStartTime: '2024-03-14T00:00:00Z', logFiles: [] })));
	put(src, `AWSLogs/${ACCT}/Config/us-east-1/2024/3/14/ConfigHistory/` +
		`${ACCT}_Config_us-east-1_ConfigHistory_AWS::S3::Bucket_20240314T000000Z_20240314T010000Z_1.json.gz`, trap('trap-config'));
	put(src, `AWSLogs/${ACCT}/Config/us-east-1/2024/3/14/ConfigSnapshot/` +
		`${ACCT}_Config_us-east-1_ConfigSnapshot_20240314T000000Z_abc.json.gz`,
	gz(JSON.stringify({ fileVersion: '1.0', configurationItems: [] })));
	const others = [
		put(src, 'README.txt', 'hello\n'),
		put(src, 'AWSLogs/elasticloadbalancing.log', trap('trap-other-1')),
		put(src, `AWSLogs/${ACCT}/elasticloadbalancing/us-east-1/2024/03/14/x.log.gz`, trap('trap-other-2')),
		put(src, `AWSLogs/${ACCT}/CloudTrail/us-east-1/2024/03/14/notes.txt`, 'not a log\n'),
		put(src, 'AWSLogs/S3/AWSLogs/random.bin', Buffer.from([0, 1, 2, 3, 0x1f, 0x8b])),
		// a CloudTrail file name under the Insight folder: the kinds disagree
		put(src, ctKey({ folder: 'CloudTrail' }).replace('/CloudTrail/', '/CloudTrail-Insight/'), trap('trap-other-3')),
	];
	// the default listing never enters digest or Config folders
	const quick = convert(src, freshDir('layout-lake'));
	assert.equal(quick.status, 0, show(quick));
	assert.equal(quick.summary.files.digest, 0);
	assert.equal(quick.summary.files.config, 0);
	assert.equal(quick.summary.files_converted, 7);
	// --full lists (and counts) everything
	const lake = freshDir('layout-lake');
	const r = convert(src, lake, ['--full']);
	assert.equal(r.status, 0, show(r));
	const s = r.summary;
	assert.equal(s.objects, 7 + 2 + 2 + others.length);
	assert.deepEqual(s.files, { other: others.length, cloudtrail: 5, insight: 1, networkactivity: 1, digest: 2, config: 2 });
	assert.equal(s.files_converted, 7);
	assert.equal(s.files_rejected, 0);
	assert.deepEqual(s.rows, { cloudtrail: expect.length, cloudtrail_insight: 1, cloudtrail_networkactivity: 1 });

	const rows = await lakeRows(lake, 'eventid, account, region, year, month, day');
	assert.deepEqual(rows.map((x) => [x.eventid, x.account, x.region]), expect.sort((a, b) => (a[0] < b[0] ? -1 : 1)));
	for (const x of rows) assert.deepEqual([x.year, x.month, x.day], ['2024', '03', '14']);
	for (const [t, id] of [['cloudtrail_insight', 'lay-insight-0'], ['cloudtrail_networkactivity', 'lay-network-0']]) {
		const got = await duckdbQuery(`SELECT eventid, account FROM read_parquet(${lakeGlob(lake, t)}, ` +
			'hive_partitioning = true, hive_types_autocast = false)');
		assert.deepEqual(got, [{ eventid: id, account: ACCT }], t);
	}
	assert.deepEqual(fs.readdirSync(lake).sort(), ['_trailpq', 'cloudtrail', 'cloudtrail_insight', 'cloudtrail_networkactivity']);
	checkLake(src, lake);
});

// ---- 3. partitioning by eventTime ----

test('partitions: by eventTime in UTC; unusable eventTime falls back to the delivery folder', { skip: SKIP }, async () => {
	needBinary();
	const src = freshDir('part-src');
	const records = [
		rec('p-before-midnight', '2024-03-13T23:59:59Z'),
		rec('p-unusable', 'yesterday at noon'),
		rec('p-number', 1710460800000),
		rec('p-plus2', '2024-03-15T01:30:00+02:00'),   // 2024-03-14T23:30Z
		rec('p-minus2', '2024-03-14T23:30:00-02:00'),  // 2024-03-15T01:30Z
		rec('p-frac', '2024-03-14T12:00:00.5Z'),
	];
	const noTime = rec('p-missing', 'x');
	delete noTime.eventTime;
	records.push(noTime);
	put(src, ctKey({ y: 2024, m: 3, d: 14 }), gz(recordsText(records)));
	// local date 2024-12-31, UTC date 2025-01-01
	put(src, ctKey({ y: 2025, m: 1, d: 1 }), gz(recordsText([rec('p-newyear', '2024-12-31T23:00:00-01:30')])));
	const lake = freshDir('part-lake');
	const r = convert(src, lake);
	assert.equal(r.status, 0, show(r));
	const got = Object.fromEntries((await lakeRows(lake, 'eventid, year, month, day'))
		.map((x) => [x.eventid, `${x.year}-${x.month}-${x.day}`]));
	assert.deepEqual(got, {
		'p-before-midnight': '2024-03-13',
		'p-unusable': '2024-03-14',
		'p-number': '2024-03-14',
		'p-plus2': '2024-03-14',
		'p-minus2': '2024-03-15',
		'p-frac': '2024-03-14',
		'p-missing': '2024-03-14',
		'p-newyear': '2025-01-01',
	});
	const ts = Object.fromEntries((await lakeRows(lake, 'eventid, CAST(epoch_ms(eventtime) AS VARCHAR) AS ms'))
		.map((x) => [x.eventid, x.ms === null ? null : Number(x.ms)]));
	assert.equal(ts['p-plus2'], Date.parse('2024-03-14T23:30:00Z'));
	assert.equal(ts['p-minus2'], Date.parse('2024-03-15T01:30:00Z'));
	assert.equal(ts['p-frac'], Date.parse('2024-03-14T12:00:00.500Z'));
	assert.equal(ts['p-unusable'], null);
	checkLake(src, lake);
});

// ---- 4. dedup ----

test('dedup: same record twice is one row; same eventID with other content is two; whitespace ignored', { skip: SKIP }, async () => {
	needBinary();
	const src = freshDir('dedup-src');
	const a = rec('d-same', '2024-03-14T01:00:00Z');
	const b = rec('d-conflict', '2024-03-14T02:00:00Z');
	const b2 = rec('d-conflict', '2024-03-14T02:00:00Z', { eventName: 'PutObject' });
	const c = rec('d-space', '2024-03-14T03:00:00Z');
	const e = rec('d-alone', '2024-03-14T04:00:00Z');
	put(src, ctKey(), gz(recordsText([a, b, c, e])));
	const spaced = JSON.stringify(c, null, 2); // same content, different whitespace
	put(src, ctKey(), gz(`{"Records":[\n${JSON.stringify(a)},\n${JSON.stringify(b2)} ,  ${spaced}\n]}`));
	// another delivery day, same event: still one row (it lands in the same eventTime partition)
	put(src, ctKey({ d: 15 }), gz(recordsText([a])));
	const lake = freshDir('dedup-lake');
	const r = convert(src, lake, ['--threads', '2']);
	assert.equal(r.status, 0, show(r));
	assert.deepEqual(await eventIds(lake), ['d-alone', 'd-conflict', 'd-conflict', 'd-same', 'd-space']);
	const names = (await lakeRows(lake, 'eventname', 'eventname')).map((x) => x.eventname);
	assert.ok(names.includes('PutObject'), 'the conflicting record kept its own content');
	assert.equal(r.summary.records, 8);
	assert.equal(r.summary.duplicates, 3);
	assert.equal(r.summary.rows.cloudtrail, 5);
	checkLake(src, lake);
});

// ---- 5. --since/--until, threads ----

test('--since/--until select delivery folders (inclusive)', { skip: SKIP }, async () => {
	needBinary();
	const src = freshDir('range-src');
	for (const d of [12, 13, 14, 15, 16])
		put(src, ctKey({ d }), gz(recordsText([rec(`r-${d}`, `2024-03-${d}T08:00:00Z`)])));
	// delivered on the 14th, happened on the 11th: selected by its folder, not its eventTime
	put(src, ctKey({ d: 14 }), gz(recordsText([rec('r-late', '2024-03-11T08:00:00Z')])));
	const lake = freshDir('range-lake');
	const r = convert(src, lake, ['--since', '2024-03-13', '--until', '2024-03-14']);
	assert.equal(r.status, 0, show(r));
	assert.deepEqual(await eventIds(lake), ['r-13', 'r-14', 'r-late']);
	assert.equal(r.summary.files_out_of_range, 0, 'folders out of range are not even listed');
	assert.equal(r.summary.day_folders_listed, 2);
	assert.equal(r.summary.files_converted, 3);
	const since = convert(src, freshDir('range-lake'), ['--since', '2024-03-16']);
	assert.equal(since.status, 0, show(since));
	assert.equal(since.summary.files_converted, 1);
	const until = convert(src, freshDir('range-lake'), ['--until', '2024-03-12']);
	assert.equal(until.status, 0, show(until));
	assert.equal(until.summary.files_converted, 1);
	for (const bad of ['2024-3-14', '2024-13-01', 'yesterday', '2024-03-14x']) {
		const u = run(['convert', '--since', bad, src, freshDir('range-lake')]);
		assert.equal(u.status, 2, `--since ${bad}: ${show(u)}`);
	}
});

test('--threads 1 and --threads 2: same rows and the same Parquet bytes per partition', { skip: SKIP }, async () => {
	needBinary();
	const src = freshDir('threads-src');
	let n = 0;
	const accounts = ['111122223333', '444455556666', '012345678901'];
	for (const account of accounts)
		for (const region of ['us-east-1', 'eu-west-1'])
			for (const d of [14, 15])
				for (let f = 0; f < 3; f++) {
					const records = Array.from({ length: 40 }, (_, i) => {
						const sec = (i * 2161 + f * 11) % 86400;
						const t = new Date(Date.UTC(2024, 2, d, 0, 0, 0) + sec * 1000 - 3600000).toISOString();
						return rec(`t-${++n}`, t, { awsRegion: region, recipientAccountId: account,
							requestParameters: { i, f, nested: { list: [1, 2, { x: 'y' }] } },
							extraField: i % 5 === 0 ? { surprise: i } : undefined });
					});
					if (f === 2) records.push(...Array.from({ length: 5 }, (_, i) => ({ ...records[i] }))); // duplicates
					put(src, ctKey({ account, region, d }), gz(recordsText(records)));
				}
	const lake1 = freshDir('threads-lake1');
	const lake2 = freshDir('threads-lake2');
	const r1 = convert(src, lake1, ['--threads', '1']);
	const r2 = convert(src, lake2, ['--threads', '2']);
	assert.equal(r1.status, 0, show(r1));
	assert.equal(r2.status, 0, show(r2));
	for (const k of ['records', 'duplicates', 'rows', 'partitions', 'files_written', 'bytes_out'])
		assert.deepEqual(r1.summary[k], r2.summary[k], `summary ${k}`);
	assert.equal(r1.summary.duplicates, accounts.length * 2 * 2 * 5);

	const content = async (lake) => (await duckdbQuery(
		`SELECT account, region, year, month, day, to_json(t)::VARCHAR AS j FROM read_parquet(${lakeGlob(lake)}, ` +
		'hive_partitioning = true, hive_types_autocast = false) t ORDER BY ALL')).map((x) => JSON.stringify(x));
	const c1 = await content(lake1);
	assert.equal(c1.length, n, 'one row per distinct record');
	assert.deepEqual(await content(lake2), c1);

	const byPartition = (lake) => {
		const m = new Map();
		for (const rel of walk(lake).filter((f) => f.endsWith('.parquet'))) {
			const dir = path.dirname(rel);
			assert.ok(!m.has(dir), `more than one file in ${dir}`);
			m.set(dir, fs.readFileSync(path.join(lake, rel)));
		}
		return m;
	};
	const p1 = byPartition(lake1);
	const p2 = byPartition(lake2);
	assert.deepEqual([...p2.keys()], [...p1.keys()]);
	assert.ok(p1.size > 12, `expected many partitions, got ${p1.size}`);
	for (const [dir, bytes] of p1)
		assert.ok(bytes.equals(p2.get(dir)), `${dir}: the two runs wrote different bytes`);
	checkLake(src, lake2);
});

test('batches close where a day folder ends: a partition is not split between batches unless its folder outgrows a batch', { skip: SKIP }, async () => {
	needBinary();
	const src = freshDir('batch-src');
	let n = 0;
	const folderBytes = {};
	for (const d of [14, 15, 16])
		for (let f = 0; f < 4; f++) {
			const records = Array.from({ length: 40 }, (_, i) => {
				const t = new Date(Date.UTC(2024, 2, d, 1 + f, i, 0)).toISOString();
				return rec(`b-${++n}`, t, { requestParameters: { i, f, pad: 'x'.repeat(300) } });
			});
			const text = recordsText(records);
			folderBytes[d] = (folderBytes[d] || 0) + Buffer.byteLength(text);
			put(src, ctKey({ d }), gz(text));
		}
	// a batch of 1.5 folders: by size alone it would close in the middle of the second folder
	const mib = (1.5 * folderBytes[14]) / 1048576;
	for (const threads of ['1', '2']) {
		const lake = freshDir('batch-lake');
		const r = convert(src, lake, ['--threads', threads, '--batch-mb', mib.toFixed(4)]);
		assert.equal(r.status, 0, show(r));
		const files = walk(lake).filter((f) => f.endsWith('.parquet'));
		const dirs = files.map((f) => path.dirname(f));
		assert.equal(new Set(dirs).size, 3, files.join('\n'));
		assert.equal(files.length, 3, `one file per day partition:\n${files.join('\n')}`);
		checkLake(src, lake);
	}
	// a folder larger than a batch is still cut (memory stays bounded): a third of a folder.
	// With 4 threads, up to 3 batches of one partition are written at once (their files in
	// parallel, the partition's state in batch order): the same bytes and totals as 1 thread.
	const small = (folderBytes[14] / 3 / 1048576).toFixed(4);
	const lakes = {};
	for (const threads of ['1', '4']) {
		const lake = freshDir('batch-lake-small');
		const r = convert(src, lake, ['--threads', threads, '--batch-mb', small]);
		assert.equal(r.status, 0, show(r));
		const files = walk(lake).filter((f) => f.endsWith('.parquet')).sort();
		assert.ok(files.length >= 6, `folders larger than the batch give several files each:\n${files.join('\n')}`);
		lakes[threads] = { lake, files, summary: r.summary };
		checkLake(src, lake);
	}
	const [a, b] = [lakes['1'], lakes['4']];
	for (const k of ['records', 'rows', 'partitions', 'files_written', 'bytes_out'])
		assert.deepEqual(b.summary[k], a.summary[k], `summary ${k}`);
	const st = (lake) => JSON.parse(run(['status', '--json', lake]).stdout);
	const sa = st(a.lake), sb = st(b.lake);
	assert.deepEqual(sb.tables, sa.tables);
	// the files are the same but for the run id each names in its metadata
	const idA = Buffer.from(sa.last_runs[0].id), idB = Buffer.from(sb.last_runs[0].id);
	assert.equal(idA.length, idB.length);
	const tag = (f) => f.replace(/part-\d+-[0-9a-f]+-/, 'part-');
	assert.deepEqual(b.files.map(tag), a.files.map(tag));
	for (let i = 0; i < a.files.length; i++) {
		const x = fs.readFileSync(path.join(a.lake, a.files[i]));
		const y = fs.readFileSync(path.join(b.lake, b.files[i]));
		for (let at = y.indexOf(idB); at >= 0; at = y.indexOf(idB, at + 1)) idA.copy(y, at);
		assert.ok(x.equals(y), `${a.files[i]}: the 1- and 4-thread runs wrote different bytes`);
	}
});

// ---- 6. the command line ----

test('CLI: help, usage errors, missing SRC, version', { skip: SKIP }, () => {
	needBinary();
	const h = run(['convert', '--help']);
	assert.equal(h.status, 0, show(h));
	assert.match(h.stdout, /usage: trailpq convert/);
	assert.match(h.stdout, /--compression/);
	assert.equal(h.stderr, '');
	const top = run(['--help']);
	assert.equal(top.status, 0, show(top));
	assert.match(top.stdout, /convert/);
	const v = run(['version']);
	assert.equal(v.status, 0, show(v));
	assert.match(v.stdout, /^trailpq (version )?\d+\.\d+\S*/);

	const src = freshDir('cli-src');
	put(src, ctKey(), gz(recordsText([rec('cli-1', '2024-03-14T01:00:00Z')])));
	const usage = [
		['convert'],
		['convert', src],
		['convert', src, freshDir('cli-lake'), 'extra'],
		['convert', '--compression', 'brotli', src, freshDir('cli-lake')],
		['convert', '--compression'],
		['convert', '--frobnicate', src, freshDir('cli-lake')],
		['convert', '--threads', '0', src, freshDir('cli-lake')],
		['convert', '--threads', 'many', src, freshDir('cli-lake')],
	];
	for (const args of usage) {
		const u = run(args);
		assert.equal(u.status, 2, `${args.join(' ')}: ${show(u)}`);
		assert.ok(u.stderr.length > 0, `${args.join(' ')}: nothing on stderr`);
		assert.equal(u.stdout, '', `${args.join(' ')}: usage errors go to stderr`);
	}
	const missing = path.join(scratch, 'no-such-bucket');
	const m = run(['convert', missing, freshDir('cli-lake')]);
	assert.equal(m.status, 1, show(m));
	assert.ok(m.stderr.includes(missing), `the message names ${missing}: ${m.stderr}`);
	const unk = run(['frobnicate']);
	assert.equal(unk.status, 2, show(unk));
});

test('CLI: every --compression value writes files DuckDB reads with that codec', { skip: SKIP }, async () => {
	needBinary();
	const src = freshDir('codec-src');
	const records = Array.from({ length: 30 }, (_, i) => rec(`c-${i}`, `2024-03-14T01:00:${pad(i)}Z`));
	put(src, ctKey(), gz(recordsText(records)));
	const codecs = { zstd: 'ZSTD', snappy: 'SNAPPY', gzip: 'GZIP', lz4: 'LZ4_RAW', none: 'UNCOMPRESSED' };
	const lakes = {};
	for (const [name, duck] of Object.entries(codecs)) {
		const lake = lakes[name] = freshDir(`codec-${name}`);
		const r = convert(src, lake, ['--compression', name]);
		assert.equal(r.status, 0, `${name}: ${show(r)}`);
		const got = await duckdbQuery(`SELECT DISTINCT compression FROM parquet_metadata(${lakeGlob(lake)})`);
		assert.deepEqual(got.map((x) => x.compression), [duck], `--compression ${name}`);
		assert.equal((await eventIds(lake)).length, records.length, `${name}: rows`);
	}
	checkLake(src, lakes.gzip);
});

// ---- bugs found by this suite, fixed: kept as regression tests ----

test('--quarantine DIR that does not exist yet still receives the rejected files', {
	skip: SKIP,
}, () => {
	needBinary();
	const src = freshDir('q-src');
	put(src, ctKey(), gz(recordsText([rec('q-ok', '2024-03-14T01:00:00Z')])));
	const badKey = put(src, ctKey(), gz('{"Records":[1]}'));
	const quarantine = path.join(freshDir('q'), 'new', 'dir');
	const r = convert(src, freshDir('q-lake'), ['--quarantine', quarantine]);
	assert.equal(r.status, 3, show(r));
	assert.ok(fs.existsSync(path.join(quarantine, badKey)), `${badKey} not quarantined\n${show(r)}`);
});

test('--level outside the codec range is bad usage (exit 2), before any work', {
	skip: SKIP,
}, () => {
	needBinary();
	const src = freshDir('lvl-src');
	put(src, ctKey(), gz(recordsText([rec('lvl-1', '2024-03-14T01:00:00Z')])));
	for (const args of [['--level', '99'], ['--compression', 'gzip', '--level', '50'], ['--level', 'abc']]) {
		const r = run(['convert', ...args, src, freshDir('lvl-lake')]);
		assert.equal(r.status, 2, `${args.join(' ')}: ${show(r)}`);
	}
});
