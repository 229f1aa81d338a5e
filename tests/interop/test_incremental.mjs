// Incremental `trailpq convert` runs through the real binary: what a run converts after earlier
// runs (new day folders, late files and the look-back, --full, events of days already converted,
// re-delivered duplicates), changed and touched source objects, rejected files recorded, the lock,
// and crash safety (fault injection and real SIGKILL).
//
// The rule every test checks after each step: the lake equals what ONE run over all the input
// seen so far gives (a fresh lake of a copy of that input, converted with --full), compared
// through DuckDB: row count, count(distinct eventid), and every value (to_json of every row with
// its partition columns, sorted); and the lake holds no leftovers: no ".tpq-tmp-" names, nothing
// under _trailpq/pending/, no lock, one version per state shard, and exactly the Parquet files,
// rows and bytes the newest commit record counts. The crash tests compare a digest computed by
// DuckDB (count, distinct eventids, sum of every row's hash) and show the rows only on a mismatch.
// They keep going after a failed kill point and report all of them at the end.
//
// Env: TRAILPQ (required) is the trailpq binary; TRAILPQ_FAULT (required by the crash tests) is a
// binary built with fault injection (`make FAULT=1` builds build-fault/trailpq; `make interop`
// passes it). Without them the tests fail with a clear message, unless TPQ_ALLOW_SKIP=1, which
// turns the failures into skips. TPQ_KEEP_TMP=1 keeps the scratch directories (buckets, lakes);
// TPQ_SHOW_ALL=1 lists every failed kill point, not only the first 25.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import zlib from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { duckdbQuery, closeDuckDB } from './readers.mjs';
import { ACCT, pad, ctKey, rec, recordsText, put, gz, walk, copyExcept, sqlStr, lakeGlob } from './bucket.mjs';

const TRAILPQ = process.env.TRAILPQ;
const FAULT_BIN = process.env.TRAILPQ_FAULT;
const ALLOW_SKIP = process.env.TPQ_ALLOW_SKIP === '1';
const SKIP = !TRAILPQ && ALLOW_SKIP ? 'TRAILPQ is unset (TPQ_ALLOW_SKIP=1)' : false;
const SKIP_FAULT = SKIP || (!FAULT_BIN && ALLOW_SKIP ? 'TRAILPQ_FAULT is unset (TPQ_ALLOW_SKIP=1)' : false);
const TABLES = ['cloudtrail', 'cloudtrail_insight', 'cloudtrail_networkactivity'];

// scratch: the system's temporary directory. fastScratch: a tmpfs (/dev/shm) when there is
// one, for the crash tests' many runs: they kill processes, not the machine, so fsync's
// durability does not matter there, only its cost.
let scratch, fastScratch;
test.before(() => {
	scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tpq-incremental-'));
	fastScratch = scratch;
	try {
		fastScratch = fs.mkdtempSync('/dev/shm/tpq-incremental-');
	} catch {
		// no /dev/shm: the same tests, slower
	}
});
test.after(() => {
	closeDuckDB();
	for (const d of new Set([scratch, fastScratch])) {
		if (process.env.TPQ_KEEP_TMP === '1') console.log(`# kept ${d} (TPQ_KEEP_TMP=1)`);
		else if (d) fs.rmSync(d, { recursive: true, force: true });
	}
});

function needBinary() {
	if (!TRAILPQ)
		assert.fail('TRAILPQ is not set: point it at the trailpq binary (make interop does), ' +
			'or set TPQ_ALLOW_SKIP=1 to skip this test');
	assert.ok(fs.existsSync(TRAILPQ), `TRAILPQ=${TRAILPQ} does not exist`);
}

function needFaultBinary() {
	needBinary();
	if (!FAULT_BIN)
		assert.fail('TRAILPQ_FAULT is not set: point it at a trailpq built with fault injection ' +
			'(make FAULT=1 builds build-fault/trailpq; make interop passes it), or set ' +
			'TPQ_ALLOW_SKIP=1 to skip this test');
	assert.ok(fs.existsSync(FAULT_BIN), `TRAILPQ_FAULT=${FAULT_BIN} does not exist`);
	const v = spawnSync(FAULT_BIN, ['version'], { encoding: 'utf8', env: { ...process.env, TPQ_FAULT: 'kill:1000000' } });
	assert.equal(v.status, 0, `TRAILPQ_FAULT=${FAULT_BIN} has no fault injection (TPQ_FAULT refused):\n${v.stderr}`);
}

let dirSeq = 0;
function freshDir(name, root = scratch) {
	const d = path.join(root, `${name}-${++dirSeq}`);
	fs.mkdirSync(d, { recursive: true });
	return d;
}

function show(r) {
	return `exit ${r.status}${r.signal ? ` (signal ${r.signal})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

// Runs a trailpq binary; `fault` sets TPQ_FAULT.
function runBin(bin, args, { fault, timeout = 60000 } = {}) {
	const env = { ...process.env };
	delete env.TPQ_FAULT;
	if (fault) env.TPQ_FAULT = fault;
	const r = spawnSync(bin, args, { encoding: 'utf8', timeout, env });
	const timedOut = r.error?.code === 'ETIMEDOUT';
	if (r.error && !timedOut) throw r.error;
	return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut };
}

function parseSummary(stdout) {
	const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
	return line ? JSON.parse(line) : null;
}

// convert --json --quiet; returns { status, signal, stdout, stderr, summary }.
function convert(src, dst, extra = [], opts = {}) {
	const r = runBin(opts.bin ?? TRAILPQ, ['convert', '--json', '--quiet', ...extra, src, dst], opts);
	return { ...r, summary: parseSummary(r.stdout) };
}

// A run that must succeed (exit 0, or `status`); returns its summary.
function convertOk(src, dst, extra = [], status = 0) {
	const r = convert(src, dst, extra);
	assert.equal(r.status, status, `convert ${extra.join(' ')} ${src} ${dst}\n${show(r)}`);
	assert.ok(r.summary, `no JSON summary\n${show(r)}`);
	return r.summary;
}

// ---- the rule: the lake equals one run over the same input ----

function lakeTables(lake) {
	return TABLES.filter((t) => fs.existsSync(path.join(lake, t)) &&
		walk(path.join(lake, t)).some((f) => f.endsWith('.parquet')));
}

// Every table's rows: count, distinct eventids, and each row (with its partition columns) as
// JSON, sorted.
// (A lake DuckDB cannot read fails the assertion, with DuckDB's message.)
async function lakeContent(lake) {
	const out = {};
	for (const t of lakeTables(lake)) {
		const from = `read_parquet(${lakeGlob(lake, t)}, hive_partitioning = true, hive_types_autocast = false)`;
		try {
			// one pass over the files (reading every column is what costs)
			const rows = (await duckdbQuery(`SELECT to_json(t)::VARCHAR AS j, count(*) OVER ()::VARCHAR AS n, ` +
				`count(DISTINCT t.eventid) OVER ()::VARCHAR AS ids FROM ${from} t ORDER BY 1`));
			out[t] = { rows: Number(rows[0]?.n ?? 0), distinct_eventids: Number(rows[0]?.ids ?? 0), values: rows.map((x) => x.j) };
		} catch (e) {
			assert.fail(`DuckDB cannot read ${lake}/${t}: ${e.message}`);
		}
	}
	return out;
}

function diffContent(want, got) {
	const lines = [];
	for (const t of new Set([...Object.keys(want), ...Object.keys(got)])) {
		const w = want[t] ?? { rows: 0, distinct_eventids: 0, values: [] };
		const g = got[t] ?? { rows: 0, distinct_eventids: 0, values: [] };
		if (w.rows !== g.rows || w.distinct_eventids !== g.distinct_eventids)
			lines.push(`${t}: rows ${g.rows} (want ${w.rows}), distinct eventids ${g.distinct_eventids} (want ${w.distinct_eventids})`);
		const ws = new Map(), gs = new Map();
		for (const v of w.values) ws.set(v, (ws.get(v) ?? 0) + 1);
		for (const v of g.values) gs.set(v, (gs.get(v) ?? 0) + 1);
		let shown = 0;
		for (const [v, n] of gs) if ((ws.get(v) ?? 0) < n && shown++ < 4) lines.push(`${t}: extra row ${v.slice(0, 300)}`);
		for (const [v, n] of ws) if ((gs.get(v) ?? 0) < n && shown++ < 8) lines.push(`${t}: missing row ${v.slice(0, 300)}`);
	}
	return lines;
}

// A fresh single-run lake of `src` (every file of it).
function referenceLake(src, root = scratch) {
	const ref = freshDir('ref-lake', root);
	const r = convert(src, ref, ['--full', '--threads', '2']);
	assert.ok(r.status === 0 || r.status === 3, `reference run over ${src}\n${show(r)}`);
	return ref;
}

// The content of a fresh single-run lake of `src`.
async function singleRunContent(src) {
	const ref = referenceLake(src);
	const c = await lakeContent(ref);
	fs.rmSync(ref, { recursive: true, force: true });
	return c;
}

// For the crash loops: per table, the row count, distinct eventids and a sum of every row's hash
// (with its partition columns), computed by DuckDB without moving the rows out of it.
async function lakeDigest(lake) {
	const out = {};
	for (const t of lakeTables(lake)) {
		const from = `read_parquet(${lakeGlob(lake, t)}, hive_partitioning = true, hive_types_autocast = false)`;
		try {
			const [d] = await duckdbQuery(`SELECT count(*)::VARCHAR AS n, count(DISTINCT t.eventid)::VARCHAR AS ids, ` +
				`sum(hash(to_json(t)::VARCHAR)::HUGEINT)::VARCHAR AS h FROM ${from} t`);
			out[t] = d;
		} catch (e) {
			assert.fail(`DuckDB cannot read ${lake}/${t}: ${e.message}`);
		}
	}
	return out;
}

// The rule in the crash loops: the lake's digest equals the reference lake's; when it does
// not, the rows are compared to say how they differ.
async function assertSameLake(ref, refDigest, lake, what) {
	const d = await lakeDigest(lake);
	if (JSON.stringify(d) === JSON.stringify(refDigest)) return;
	assert.deepEqual(diffContent(await lakeContent(ref), await lakeContent(lake)), [], `${what}: the lake differs from one run`);
	assert.fail(`${what}: the lake's digest differs from one run's: ${JSON.stringify(d)} vs ${JSON.stringify(refDigest)}`);
}

// The content of a single run over `src` without the keys in `skip` (input not seen yet).
async function singleRunContentExcept(src, skip) {
	if (!skip.length) return singleRunContent(src);
	const copy = freshDir('ref-src');
	copyExcept(src, copy, new Set(skip));
	const c = await singleRunContent(copy);
	fs.rmSync(copy, { recursive: true, force: true });
	return c;
}

// The newest commit record's totals: { table index: { partitions, files, rows, bytes } }.
function newestCommit(lake) {
	const dir = path.join(lake, '_trailpq', 'commits');
	const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => /^\d{10}$/.test(n)).sort() : [];
	if (!names.length) return null;
	const text = fs.readFileSync(path.join(dir, names.at(-1)), 'utf8');
	const totals = {};
	for (const m of text.matchAll(/^total (\d) (\d+) (\d+) (\d+) (\d+)$/gm))
		totals[Number(m[1])] = { partitions: Number(m[2]), files: Number(m[3]), rows: Number(m[4]), bytes: Number(m[5]) };
	return { seq: Number(names.at(-1)), text, totals };
}

// No leftovers after a successful run: no temporaries, no pending record, no lock, one
// committed version per state shard, and the data files are exactly those the newest commit
// counts (files, rows, bytes per table). With `later` (an array), superseded state versions are
// added to it instead of failing at once: the test asserts it is empty at its end
// (assertNoStaleVersions), after all its other checks.
async function assertClean(lake, what, later) {
	const files = walk(lake);
	const problems = [];
	for (const f of files) {
		if (f.includes('.tpq-tmp-')) problems.push(`temporary file left: ${f}`);
		if (f.startsWith('_trailpq/pending/')) problems.push(`pending record left: ${f}`);
		if (/^_trailpq\/lock/.test(f)) problems.push(`lock object left: ${f}`);
	}
	const commit = newestCommit(lake);
	if (!commit) problems.push('no commit record');
	const shards = new Map();
	for (const f of files) {
		const m = /^(_trailpq\/(?:parts|sources)\/.+)\/(\d{10})-([0-9a-f]{8})\.(bin|tsv)$/.exec(f);
		if (!m) continue;
		if (!shards.has(m[1])) shards.set(m[1], []);
		shards.get(m[1]).push(f);
		if (commit && Number(m[2]) > commit.seq) problems.push(`uncommitted state version: ${f}`);
	}
	// superseded versions: checked apart (see `later`), so that the other checks still run
	const stale = [];
	for (const [dir, vs] of shards)
		if (vs.length !== 1) stale.push(`${what}: ${vs.length} versions in ${dir}: ${vs.map((v) => path.basename(v)).join(' ')}`);
	if (later) {
		if (stale.length && later.length < 20) later.push(...stale.slice(0, 3));
	} else {
		problems.push(...stale);
	}
	for (const f of files.filter((x) => x.endsWith('.parquet') && !x.includes('/.tpq-tmp-'))) {
		const m = /^([a-z_]+)\/(account=\d{12}\/region=[^/]+\/year=\d{4}\/month=\d\d\/day=\d\d)\/part-(\d{10})-[0-9a-f]{8}-w?\d{5}\.parquet$/.exec(f);
		if (!m) { problems.push(`unexpected Parquet name: ${f}`); continue; }
		if (commit && Number(m[3]) > commit.seq) problems.push(`uncommitted data file: ${f}`);
		if (!shards.has(`_trailpq/parts/${m[1]}/${m[2]}`)) problems.push(`data file without a partition state: ${f}`);
	}
	if (commit) {
		for (const [ti, t] of TABLES.entries()) {
			const tot = commit.totals[ti] ?? { files: 0, rows: 0, bytes: 0 };
			const pq = files.filter((x) => x.startsWith(`${t}/`) && x.endsWith('.parquet') && !x.includes('/.tpq-tmp-'));
			const bytes = pq.reduce((s, f) => s + fs.statSync(path.join(lake, f)).size, 0);
			if (pq.length !== tot.files || bytes !== tot.bytes)
				problems.push(`${t}: ${pq.length} Parquet files of ${bytes} bytes, the commit counts ${tot.files} of ${tot.bytes}`);
			if (pq.length) {
				// the files the commit names (no hidden names), read one by one
				const list = pq.map((f) => sqlStr(path.join(lake, f))).join(', ');
				const [c] = await duckdbQuery(`SELECT count(*)::VARCHAR AS n FROM read_parquet([${list}])`);
				if (Number(c.n) !== tot.rows) problems.push(`${t}: ${c.n} rows, the commit counts ${tot.rows}`);
			}
		}
	}
	assert.deepEqual(problems, [], `${what}: the lake ${lake} has leftovers`);
}

// THE RULE: lake == one run over `src` (minus `notYet`), and nothing left over.
async function assertRule(src, lake, what, { notYet = [], later } = {}) {
	const want = await singleRunContentExcept(src, notYet);
	const got = await lakeContent(lake);
	const d = diffContent(want, got);
	assert.deepEqual(d, [], `${what}: the lake differs from one run over the same input`);
	await assertClean(lake, what, later);
	return got;
}

// The state keeps one version per shard: a run that saves a new version of a partition or
// source directory must delete the version it superseded (state.h: "superseded state versions
// are added by the save functions"), after its commit.
function assertNoStaleVersions(later) {
	assert.deepEqual(later, [], 'superseded state versions were left after successful runs');
}

// Files (not folders) under dir: size, mtime and a digest of the bytes of each.
function snapshot(dir) {
	const m = new Map();
	for (const f of walk(dir)) {
		const st = fs.statSync(path.join(dir, f), { bigint: true });
		m.set(f, `${st.size}:${st.mtimeNs}:${createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex')}`);
	}
	return m;
}

// Every Parquet file of `before` is still in `after`, byte for byte and untouched.
function assertParquetKept(before, after, what) {
	for (const [f, sig] of before)
		if (f.endsWith('.parquet')) assert.equal(after.get(f), sig, `${what}: ${f} was changed or removed`);
}

function parquetIn(dir) {
	return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.parquet')).sort() : [];
}

function partDir(lake, d, { account = ACCT, region = 'us-east-1', y = 2024, m = 3 } = {}) {
	return path.join(lake, 'cloudtrail', `account=${account}`, `region=${region}`, `year=${y}`, `month=${pad(m)}`, `day=${pad(d)}`);
}

// Sets a file's mtime (s) so that a rewrite is seen as one even within the clock's granularity.
function bumpMtime(src, key, seconds = 3600) {
	const p = path.join(src, key);
	const st = fs.statSync(p);
	const t = new Date(st.mtimeMs + seconds * 1000);
	fs.utimesSync(p, t, t);
}

let idSeq = 0;
// n records whose eventTime falls on 2024-03-d (hours spread), ids unique in the process.
function recsOn(d, n, over = {}, tag = 'e') {
	return Array.from({ length: n }, (_, i) => rec(`${tag}-${pad(d)}-${++idSeq}`,
		`2024-03-${pad(d)}T${pad((i * 5) % 24)}:${pad((i * 7) % 60)}:${pad(i % 60)}Z`, over));
}

// ---- 1. the incremental sequence ----

test('incremental runs: nothing new writes nothing; new days only; late files and the look-back; --full; ' +
	'known days get a part file; re-delivered duplicates', { skip: SKIP }, async () => {
	needBinary();
	const later = []; // superseded state versions, asserted at the end
	const src = freshDir('seq-src');
	const lake = freshDir('seq-lake');
	const T = ['--threads', '2'];
	const byDay = new Map();
	for (let d = 10; d <= 20; d++) {
		const records = recsOn(d, 4);
		byDay.set(d, records);
		put(src, ctKey({ d }), gz(recordsText(records)));
	}
	// run 1: everything
	let s = convertOk(src, lake, T);
	assert.equal(s.run, 1);
	assert.equal(s.files_converted, 11);
	assert.equal(s.rows.cloudtrail, 44);
	await assertRule(src, lake, 'after run 1', { later });

	// an unchanged SRC: one line, exit 0, nothing written
	let before = snapshot(lake);
	const quiet = runBin(TRAILPQ, ['convert', ...T, src, lake]);
	assert.equal(quiet.status, 0, show(quiet));
	assert.equal(quiet.stdout, '', 'nothing on stdout without --json');
	const lines = quiet.stderr.split('\n').filter((l) => l);
	assert.equal(lines.length, 1, `one line expected\n${show(quiet)}`);
	assert.match(lines[0], /^trailpq: nothing new: 4 unchanged files in 4 day folders listed; 0 rejected files outstanding$/);
	s = convertOk(src, lake, T);
	assert.equal(s.run, 0, 'no run committed');
	assert.equal(s.files_converted, 0);
	assert.equal(s.files_unchanged, 4, 'the files of the look-back folders 17..20 (the others are not listed)');
	assert.equal(s.day_folders_listed, 4, 'default look-back of 3 days: 2024-03-17..20');
	assert.deepEqual(snapshot(lake), before, 'a run with nothing new changed the lake');

	// new day folders, and a new trail root (another region): only those
	before = snapshot(lake);
	const newKeys = [
		put(src, ctKey({ d: 21 }), gz(recordsText(recsOn(21, 3)))),
		put(src, ctKey({ d: 21 }), gz(recordsText(recsOn(21, 2)))),
		put(src, ctKey({ d: 22 }), gz(recordsText(recsOn(22, 5)))),
		put(src, ctKey({ d: 22, region: 'eu-west-1' }), gz(recordsText(recsOn(22, 2, { awsRegion: 'eu-west-1' })))),
	];
	s = convertOk(src, lake, T);
	assert.equal(s.run, 2);
	assert.equal(s.files_converted, newKeys.length, 'only the new files are read');
	assert.equal(s.files_unchanged, 4, 'the unchanged files of the look-back folders 17..20');
	assert.equal(s.day_folders_listed, 4 + 2 + 1);
	assert.equal(s.rows.cloudtrail, 12);
	assertParquetKept(before, snapshot(lake), 'new days');
	await assertRule(src, lake, 'after new day folders', { later });

	// late files: into day 20 (inside the default look-back 19..22), day 17 (inside 6 days),
	// day 12 (outside both: only --full finds it)
	const late20 = put(src, ctKey({ d: 20 }), gz(recordsText(recsOn(20, 3))));
	const late17 = put(src, ctKey({ d: 17 }), gz(recordsText(recsOn(17, 2))));
	const late12 = put(src, ctKey({ d: 12 }), gz(recordsText(recsOn(12, 2))));
	const p20 = parquetIn(partDir(lake, 20));
	before = snapshot(lake);
	s = convertOk(src, lake, T);
	assert.equal(s.files_converted, 1, `only ${late20} is inside the look-back`);
	assert.equal(s.day_folders_listed, 4 + 1, 'look-back from 2024-03-22: 19..22, and eu-west-1\'s day 22');
	assert.equal(parquetIn(partDir(lake, 20)).length, p20.length + 1, 'day 20 gained one part file');
	assertParquetKept(before, snapshot(lake), 'late file');
	await assertRule(src, lake, 'after a late file inside the look-back', { notYet: [late17, late12], later });

	s = convertOk(src, lake, [...T, '--lookback-days', '6']);
	assert.equal(s.files_converted, 1, `--lookback-days 6 finds ${late17}`);
	assert.equal(s.day_folders_listed, 7 + 1, 'look-back from 2024-03-22: 16..22, and eu-west-1\'s day 22');
	await assertRule(src, lake, 'after --lookback-days 6', { notYet: [late12], later });

	before = snapshot(lake);
	s = convertOk(src, lake, [...T, '--lookback-days', '6']);
	assert.equal(s.run, 0, `${late12} is outside the look-back`);
	assert.equal(s.files_converted, 0);
	assert.deepEqual(snapshot(lake), before);

	s = convertOk(src, lake, [...T, '--full']);
	assert.equal(s.files_converted, 1, `--full finds ${late12}`);
	assert.equal(s.files_unchanged, 11 + 4 + 2);
	await assertRule(src, lake, 'after --full', { later });

	// a new delivery day whose events happened on days already converted (15, 16): a part file
	// more in those partitions, the existing files untouched
	const p15 = parquetIn(partDir(lake, 15)), p16 = parquetIn(partDir(lake, 16));
	before = snapshot(lake);
	put(src, ctKey({ d: 23 }), gz(recordsText([...recsOn(15, 3), ...recsOn(16, 1)])));
	s = convertOk(src, lake, T);
	assert.equal(s.files_converted, 1);
	assert.equal(s.files_written, 2);
	assert.equal(parquetIn(partDir(lake, 15)).length, p15.length + 1);
	assert.equal(parquetIn(partDir(lake, 16)).length, p16.length + 1);
	assert.ok(p15.every((f) => parquetIn(partDir(lake, 15)).includes(f)));
	assertParquetKept(before, snapshot(lake), 'events of known days');
	await assertRule(src, lake, 'after events of days already converted', { later });

	// re-delivered in a later run: three records of day 11 again (one with other whitespace),
	// an eventID of day 12 with other content, and one new record
	const again = byDay.get(11).slice(0, 3);
	const conflict = { ...byDay.get(12)[0], eventName: 'PutObject' };
	const fresh = recsOn(11, 1);
	const text = `{"Records":[${JSON.stringify(again[0])},\n  ${JSON.stringify(again[1], null, 3)} ,` +
		`${JSON.stringify(again[2], null, '\t')},${JSON.stringify(conflict)},${JSON.stringify(fresh[0])}]}`;
	const [before11] = await duckdbQuery(`SELECT count(*)::INT AS n FROM read_parquet(${lakeGlob(lake)})`);
	before = snapshot(lake);
	put(src, ctKey({ d: 24 }), gz(text));
	s = convertOk(src, lake, T);
	assert.equal(s.files_converted, 1);
	assert.equal(s.records, 5);
	assert.equal(s.duplicates, 3, 'the three re-delivered records are not doubled');
	assert.equal(s.rows.cloudtrail, 2, 'the conflicting record and the new one');
	assertParquetKept(before, snapshot(lake), 'duplicates');
	const [after11] = await duckdbQuery(`SELECT count(*)::INT AS n FROM read_parquet(${lakeGlob(lake)})`);
	assert.equal(after11.n, before11.n + 2);
	const same = await duckdbQuery(`SELECT eventname FROM read_parquet(${lakeGlob(lake)}) WHERE eventid = '${conflict.eventID}' ORDER BY 1`);
	assert.deepEqual(same.map((x) => x.eventname), ['GetObject', 'PutObject'], 'same eventID, other content: two rows');
	for (const r of again) {
		const [c] = await duckdbQuery(`SELECT count(*)::INT AS n FROM read_parquet(${lakeGlob(lake)}) WHERE eventid = '${r.eventID}'`);
		assert.equal(c.n, 1, `${r.eventID} doubled`);
	}
	await assertRule(src, lake, 'after re-delivered duplicates', { later });
	assertNoStaleVersions(later);
});

// ---- 2. changed and touched source objects ----

test('changed object: rewritten with some events kept, some removed, some added: its old rows are replaced', { skip: SKIP }, async () => {
	needBinary();
	const later = []; // superseded state versions, asserted at the end
	const src = freshDir('chg-src');
	const lake = freshDir('chg-lake');
	const a = recsOn(10, 4, {}, 'chg');
	const fA = put(src, ctKey({ d: 10 }), gz(recordsText(a)));
	put(src, ctKey({ d: 11 }), gz(recordsText(recsOn(11, 3, {}, 'chg'))));
	let s = convertOk(src, lake, ['--threads', '2']);
	assert.equal(s.rows.cloudtrail, 7);
	await assertRule(src, lake, 'after run 1', { later });

	// keep a[0], a[1] (a[1] now with other whitespace), drop a[2], a[3], add one on day 10 and
	// one on day 11 (a partition the object never fed)
	const added = [...recsOn(10, 1, {}, 'chg-new'), ...recsOn(11, 1, {}, 'chg-new')];
	put(src, fA, gz(`{"Records":[${JSON.stringify(a[0])}, ${JSON.stringify(a[1], null, 2)},` +
		`${added.map((x) => JSON.stringify(x)).join(',')}]}`));
	bumpMtime(src, fA);
	s = convertOk(src, lake, ['--threads', '2']);
	assert.equal(s.files_changed, 1, 'reported as changed');
	assert.equal(s.files_converted, 1);
	// its old rows all leave (a[0] and a[1] come back as rows of its new content)
	assert.equal(s.rows_removed, 4, 'the four old rows of the changed object are replaced');
	const ids = (await duckdbQuery(`SELECT eventid FROM read_parquet(${lakeGlob(lake)}) ORDER BY 1`)).map((x) => x.eventid);
	for (const gone of [a[2], a[3]]) assert.ok(!ids.includes(gone.eventID), `${gone.eventID} should be gone`);
	for (const kept of [a[0], a[1], ...added])
		assert.equal(ids.filter((x) => x === kept.eventID).length, 1, `${kept.eventID} once`);
	await assertRule(src, lake, 'after the changed object', { later });

	// and again, now removing everything it held on day 10
	put(src, fA, gz(recordsText(added.slice(1))));
	bumpMtime(src, fA, 7200);
	s = convertOk(src, lake, ['--threads', '2']);
	assert.equal(s.files_changed, 1);
	assert.equal(s.rows_removed, 4, 'a[0], a[1] and the two added ones (the one on day 11 comes back)');
	await assertRule(src, lake, 'after the changed object lost a partition', { later });
	assertNoStaleVersions(later);
});

test('changed object: an old event another object also delivered stays', { skip: SKIP }, async () => {
	needBinary();
	const later = []; // superseded state versions, asserted at the end
	const src = freshDir('chg2-src');
	const lake = freshDir('chg2-lake');
	const a = recsOn(10, 3, {}, 'shared');
	const fA = put(src, ctKey({ d: 10 }), gz(recordsText(a)));
	put(src, ctKey({ d: 11 }), gz(recordsText([a[1], ...recsOn(11, 2, {}, 'shared')]))); // a[1] twice
	let s = convertOk(src, lake, ['--threads', '1']);
	assert.equal(s.duplicates, 1);
	await assertRule(src, lake, 'after run 1', { later });

	put(src, fA, gz(recordsText([a[0]]))); // a[1] and a[2] leave fA; a[1] is still in the other file
	bumpMtime(src, fA);
	s = convertOk(src, lake, ['--threads', '1']);
	assert.equal(s.files_changed, 1);
	assert.equal(s.rows_removed, 2, `a[0] (back as a new row) and a[2]; ${a[1].eventID} stays`);
	const [c] = await duckdbQuery(`SELECT count(*)::INT AS n FROM read_parquet(${lakeGlob(lake)}) WHERE eventid = '${a[1].eventID}'`);
	assert.equal(c.n, 1, `${a[1].eventID} must stay: another object delivered it`);
	await assertRule(src, lake, 'after the changed object', { later });
	assertNoStaleVersions(later);
});

test('touched object: same bytes, new mtime: recorded as touched, nothing converted', { skip: SKIP }, async () => {
	needBinary();
	const later = []; // superseded state versions, asserted at the end
	const src = freshDir('touch-src');
	const lake = freshDir('touch-lake');
	const fA = put(src, ctKey({ d: 10 }), gz(recordsText(recsOn(10, 3, {}, 'touch'))));
	put(src, ctKey({ d: 10 }), gz(recordsText(recsOn(10, 2, {}, 'touch'))));
	convertOk(src, lake);
	const before = snapshot(lake);
	bumpMtime(src, fA);
	let s = convertOk(src, lake);
	assert.equal(s.files_touched, 1);
	assert.equal(s.files_changed, 0);
	assert.equal(s.files_converted, 0);
	assert.equal(s.files_written, 0);
	assert.equal(s.rows_removed, 0);
	assertParquetKept(before, snapshot(lake), 'touched');
	await assertRule(src, lake, 'after a touched object', { later });
	// recorded: the next run has nothing new
	s = convertOk(src, lake);
	assert.equal(s.run, 0);
	assert.equal(s.files_unchanged, 2);
	assertNoStaleVersions(later);
});

// ---- 3. rejected files are recorded ----

test('rejected files: recorded, not read again, --retry-rejected, fixed by new content', { skip: SKIP }, async () => {
	needBinary();
	const later = []; // superseded state versions, asserted at the end
	const src = freshDir('rej-src');
	const lake = freshDir('rej-lake');
	put(src, ctKey({ d: 10 }), gz(recordsText(recsOn(10, 3, {}, 'rej'))));
	const bad = put(src, ctKey({ d: 10 }), gz('{"Records":[{"eventID":"x",'));
	let r = convert(src, lake);
	assert.equal(r.status, 3, show(r));
	assert.equal(r.summary.files_rejected, 1);
	assert.equal(r.summary.rejected_outstanding, 1);
	assert.deepEqual(r.summary.rejected.map((x) => x.key), [bad]);
	await assertRule(src, lake, 'after run 1', { later });
	// the commit record keeps it, with the message printed (regression: record_files freed the
	// message before copying it into the rejected list)
	const printed = r.summary.rejected[0].error.replace(/ \(record \d+, byte \d+\)$/, '');
	const kept = newestCommit(lake).text.split('\n').filter((l) => l.startsWith('rejected '));
	assert.equal(kept.length, 1, kept.join('\n'));
	assert.ok(kept[0].startsWith(`rejected ${bad}\t`) && kept[0].endsWith(printed),
		`the commit's rejected line: ${JSON.stringify(kept[0])}, printed: ${JSON.stringify(printed)}`);

	// not read again: exit 0, outstanding in the summary
	const before = snapshot(lake);
	const plain = runBin(TRAILPQ, ['convert', src, lake]);
	assert.equal(plain.status, 0, show(plain));
	assert.match(plain.stderr, /\b1 rejected file outstanding\b/, show(plain));
	let s = convertOk(src, lake);
	assert.equal(s.files_rejected, 0, 'an unchanged rejected file is not read again');
	assert.equal(s.rejected_outstanding, 1);
	assert.equal(s.run, 0);
	assert.deepEqual(snapshot(lake), before);

	// --retry-rejected reads it again (and rejects it again)
	r = convert(src, lake, ['--retry-rejected']);
	assert.equal(r.status, 3, show(r));
	assert.equal(r.summary.files_rejected, 1);
	assert.equal(r.summary.files_converted, 0);
	assert.equal(r.summary.rejected_outstanding, 1);
	await assertRule(src, lake, 'after --retry-rejected', { later });

	// fixed: new content is converted, nothing outstanding
	const fixed = recsOn(10, 2, {}, 'rej-fixed');
	put(src, bad, gz(recordsText(fixed)));
	bumpMtime(src, bad);
	s = convertOk(src, lake);
	assert.equal(s.files_converted, 1);
	assert.equal(s.files_rejected, 0);
	assert.equal(s.rejected_outstanding, 0);
	assert.equal(s.rows.cloudtrail, 2);
	await assertRule(src, lake, 'after fixing the rejected file', { later });
	s = convertOk(src, lake);
	assert.equal(s.run, 0);
	assert.equal(s.rejected_outstanding, 0);
	assertNoStaleVersions(later);
});

// ---- 4. the lock ----

// A bucket whose runs are slow for their size: `files` objects per region and delivery day,
// `per` records each, with eventTimes spread over `spread` days from 2023-01-01, so that a run
// writes many partitions (a data file and a state version each, both fsynced).
function spreadBucket(src, { days = [10, 11], files = 10, per = 50, spread = 100, tag = 'spread' } = {}) {
	const keys = [];
	for (const region of ['us-east-1', 'eu-west-1'])
		for (const d of days)
			for (let f = 0; f < files; f++) {
				const records = Array.from({ length: per }, (_, i) => rec(`${tag}-${++idSeq}`,
					new Date(Date.UTC(2023, 0, 1) + ((i * 7 + f * 13 + d) % spread) * 86400000 + i * 1000).toISOString(),
					{ awsRegion: region, requestParameters: { bucketName: `bucket-${f}`, n: i } }));
				keys.push(put(src, ctKey({ d, region }), gz(recordsText(records))));
			}
	return keys;
}

function spawnRun(bin, args, env = {}) {
	const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
	let stdout = '', stderr = '';
	child.stdout.on('data', (b) => { stdout += b; });
	child.stderr.on('data', (b) => { stderr += b; });
	const done = new Promise((resolve, reject) => {
		child.on('error', reject);
		child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr, summary: parseSummary(stdout) }));
	});
	return { child, done };
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

async function waitFor(cond, ms, what) {
	const t0 = Date.now();
	while (!cond()) {
		if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
		await sleep(5);
	}
}

test('lock: concurrent runs (one refused naming the holder, or --wait), stale lock taken over, live foreign lock refused', { skip: SKIP }, async () => {
	needBinary();
	const later = []; // superseded state versions, asserted at the end
	const src = freshDir('lock-src');
	spreadBucket(src, { tag: 'lock' });
	const lockFile = (lake) => path.join(lake, '_trailpq', 'lock');
	const args = (lake, extra = []) => ['convert', '--json', '--quiet', '--threads', '1', ...extra, src, lake];

	// two runs at once: A holds the lock, B is refused at once with exit 4 naming A. A run of
	// this bucket takes about a second on a disk (fsyncs); where it is faster (a tmpfs), the
	// bucket grows until A outlives B's attempt.
	let lake, a, ra, b;
	for (let attempt = 1; ; attempt++) {
		lake = freshDir('lock-lake');
		const t0 = Date.now();
		a = spawnRun(TRAILPQ, args(lake));
		await waitFor(() => fs.existsSync(lockFile(lake)) || a.child.exitCode !== null, 10000, 'run A to take the lock');
		b = await spawnRun(TRAILPQ, args(lake)).done;
		const aStillRunning = a.child.exitCode === null;
		ra = await a.done;
		if (aStillRunning) break;
		assert.ok(attempt < 4, `run A (${Date.now() - t0} ms) always ended before run B was refused`);
		spreadBucket(src, { files: 10 * 2 ** attempt, tag: `lock${attempt}` });
	}
	assert.equal(ra.status, 0, `run A\n${show(ra)}`);
	assert.equal(b.status, 4, `run B must be refused with exit 4\n${show(b)}`);
	assert.match(b.stderr, new RegExp(`locked by run \\S+ \\(host [^,]*, pid ${a.child.pid}\\)`), `B's message names A\n${show(b)}`);
	assert.equal(b.stdout, '', 'no summary from a refused run');
	const wantAll = await assertRule(src, lake, 'after A (B refused)', { later });

	// with --wait, B waits for A and then finds nothing new
	const lake2 = freshDir('lock-lake');
	const a2 = spawnRun(TRAILPQ, args(lake2));
	await waitFor(() => fs.existsSync(lockFile(lake2)), 10000, 'run A to take the lock');
	const b2 = await spawnRun(TRAILPQ, args(lake2, ['--wait', '60'])).done;
	const ra2 = await a2.done;
	assert.equal(ra2.status, 0, show(ra2));
	assert.equal(ra2.summary.run, 1);
	assert.equal(b2.status, 0, `B with --wait\n${show(b2)}`);
	assert.equal(b2.summary.run, 0, 'B found nothing new');
	assert.equal(b2.summary.files_converted, 0);
	assert.deepEqual(diffContent(wantAll, await lakeContent(lake2)), [], 'after A and B --wait');
	await assertClean(lake2, 'after A and B --wait', later);

	// a stale lock (expired lease, a run that died) is taken over
	const small = freshDir('lock-small-src');
	put(small, ctKey({ d: 10 }), gz(recordsText(recsOn(10, 3, {}, 'stale'))));
	const lake3 = freshDir('lock-lake');
	convertOk(small, lake3);
	put(small, ctKey({ d: 11 }), gz(recordsText(recsOn(11, 3, {}, 'stale'))));
	const stale = `trailpq-lock 1\nrun 20240101T000000Z-deadbeef\nhost elsewhere\npid 1\nexpires ${Date.now() - 60000}\n`;
	fs.writeFileSync(lockFile(lake3), stale);
	let s = convertOk(small, lake3);
	assert.equal(s.files_converted, 1, 'the run took the expired lock over and converted');
	await assertRule(small, lake3, 'after taking a stale lock over', { later });

	// an unexpired foreign lock: exit 4, lake unchanged, the lock left alone
	put(small, ctKey({ d: 12 }), gz(recordsText(recsOn(12, 3, {}, 'stale'))));
	const live = `trailpq-lock 1\nrun 20240101T000000Z-cafef00d\nhost elsewhere\npid 4242\nexpires ${Date.now() + 600000}\n`;
	fs.writeFileSync(lockFile(lake3), live);
	const before = snapshot(lake3);
	const r = convert(small, lake3);
	assert.equal(r.status, 4, show(r));
	assert.match(r.stderr, /locked by run 20240101T000000Z-cafef00d \(host elsewhere, pid 4242\)/, show(r));
	assert.deepEqual(snapshot(lake3), before, 'a refused run changed the lake');
	// --wait shorter than the lease: still refused, after waiting
	const w0 = Date.now();
	const rw = convert(small, lake3, ['--wait', '1']);
	assert.equal(rw.status, 4, show(rw));
	assert.ok(Date.now() - w0 >= 900, '--wait 1 waited about a second');
	fs.rmSync(lockFile(lake3));
	s = convertOk(small, lake3);
	assert.equal(s.files_converted, 1);
	await assertRule(small, lake3, 'after the foreign lock went away', { later });
	assertNoStaleVersions(later);
});

// ---- 5. crash safety ----

// The crash bucket: base input (run once), then more input for the run that is killed: new
// days, a late file, re-delivered duplicates, events of known days, a rejected file, in several
// partitions (two accounts, two regions).
function crashBucket(src) {
	const base = new Map();
	const accounts = [ACCT, '444455556666'];
	const regions = ['us-east-1', 'eu-west-1'];
	for (const account of accounts)
		for (const region of regions)
			for (const d of [10, 11, 12]) {
				const records = recsOn(d, 3, { recipientAccountId: account, awsRegion: region }, 'crash');
				base.set(`${account}/${region}/${d}`, records);
				put(src, ctKey({ account, region, d }), gz(recordsText(records)));
			}
	const more = () => {
		for (const account of accounts)
			for (const region of regions) {
				const o = { recipientAccountId: account, awsRegion: region };
				put(src, ctKey({ account, region, d: 13 }), gz(recordsText(recsOn(13, 3, o, 'crash'))));
				// late into day 12, with an event of day 11 and a re-delivery of day 10's first
				put(src, ctKey({ account, region, d: 12 }), gz(recordsText([...recsOn(12, 2, o, 'crash'),
					...recsOn(11, 1, o, 'crash'), base.get(`${account}/${region}/10`)[0]])));
			}
		// re-delivered (other whitespace) plus other content under a known eventID, on a new day
		const b = base.get(`${ACCT}/us-east-1/11`);
		put(src, ctKey({ d: 14 }), gz(`{"Records":[${JSON.stringify(b[0], null, 1)},${JSON.stringify({ ...b[1], eventName: 'PutObject' })}]}`));
		put(src, ctKey({ d: 14 }), gz('{"Records":[{"eventID":"broken"'));
	};
	return more;
}

// A killed run leaves its lock, with a lease of minutes: let the lease run out, as time would,
// so that the next run takes the lock over. A lock whose lease has already run out is left as
// it is (time does not change it). The lease's own expiry is tested once with a real short
// lease (--lock-lease 1, --wait).
// Time passing for a dead run: its lease expires, and a takeover marker it left
// (lock.steal.*, "RUN MS") becomes older than a lease (the default, 300 s).
function expireLock(lake) {
	const dir = path.join(lake, '_trailpq');
	let aged = false;
	for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
		if (!name.startsWith('lock.steal.')) continue;
		const m = path.join(dir, name);
		const text = fs.readFileSync(m, 'utf8');
		const parts = /^(\S+) (\d+)\n$/.exec(text);
		assert.ok(parts, `takeover marker ${m}: ${JSON.stringify(text)}`);
		fs.writeFileSync(m, `${parts[1]} ${Date.now() - 301000}\n`);
		aged = true;
	}
	const f = path.join(dir, 'lock');
	if (!fs.existsSync(f)) return aged;
	const text = fs.readFileSync(f, 'utf8');
	const m = /^expires (\d+)$/m.exec(text);
	assert.ok(m, `lock ${f}: ${text}`);
	if (Number(m[1]) < Date.now()) return aged;
	fs.writeFileSync(f, text.replace(/^expires \d+$/m, `expires ${Date.now() - 1000}`));
	return true;
}

// A run after a crash: it must end (a hang is killed after RECOVER_MS and reported).
const RECOVER_MS = 3000;
function recover(src, lake, extra = []) {
	const r = convert(src, lake, extra, { timeout: RECOVER_MS });
	if (r.timedOut)
		assert.fail(`the next run hung: still running after ${RECOVER_MS} ms (killed)\n${show(r)}`);
	assert.ok(r.status === 0 || r.status === 3, `the next run failed\n${show(r)}`);
	return r;
}

function copyLake(from, to) {
	fs.rmSync(to, { recursive: true, force: true });
	fs.cpSync(from, to, { recursive: true });
}

// Runs fn; a failed assertion is kept in `failures` (labelled) instead of ending the test, so
// that one run of the test shows every kill point that goes wrong, and how.
async function collect(failures, label, fn) {
	try {
		await fn();
	} catch (e) {
		if (!(e instanceof assert.AssertionError)) throw e;
		failures.push(`${label}: ${e.message.split('\n').filter((l) => l.trim()).slice(0, 6).join(' | ').slice(0, 900)}`);
	}
}

function assertNoFailures(failures, what) {
	const shown = failures.slice(0, process.env.TPQ_SHOW_ALL === '1' ? failures.length : 25).join('\n');
	assert.equal(failures.length, 0, `${what}: ${failures.length} failed:\n${shown}${failures.length > 25 ? '\n...' : ''}`);
}

test('crash safety: killed (SIGKILL) before each write/fsync/rename, then a normal run: the lake equals one run', { skip: SKIP_FAULT, timeout: 600000 }, async () => {
	needFaultBinary();
	const later = []; // superseded state versions, asserted at the end
	const src = freshDir('crash-src', fastScratch);
	const base = freshDir('crash-base', fastScratch);
	const more = crashBucket(src);
	const s0 = convertOk(src, base, ['--threads', '1']);
	assert.equal(s0.run, 1);
	more();
	const ref = referenceLake(src, fastScratch);
	const refDigest = await lakeDigest(ref);
	const lake = path.join(fastScratch, `crash-lake-${++dirSeq}`);
	// batches of a few files (about 1 KiB of JSON each): a partition is written, and its state
	// saved, in several batches of one run, so kills also fall between batches
	const T = ['--threads', '1', '--batch-mb', '0.004'];
	const failures = [];
	// the runs are deterministic with one thread: kill:1, kill:2, ... until a run completes
	let points = 0, twice = 0;
	const t0 = Date.now();
	for (let n = 1; n < 5000; n++) {
		copyLake(base, lake);
		// once, the real lease: a run with a 1 s lease killed, the next one waits it out
		const realLease = n === 10;
		const k = convert(src, lake, realLease ? [...T, '--lock-lease', '1'] : T, { bin: FAULT_BIN, fault: `kill:${n}` });
		if (k.signal !== 'SIGKILL') {
			// the run completed before its nth write: every point was tried
			assert.equal(k.status, 3, `kill:${n} not reached: the run must complete (exit 3: one rejected file)\n${show(k)}`);
			assert.ok(k.summary.files_written > k.summary.partitions,
				`the run was not split into batches (a partition written more than once)\n${show(k)}`);
			points = n - 1;
			await collect(failures, 'the uninterrupted run', async () => {
				await assertSameLake(ref, refDigest, lake, 'the uninterrupted run');
				await assertClean(lake, 'the uninterrupted run', later);
			});
			break;
		}
		if (!realLease) expireLock(lake);
		// every third point: killed once more, at another point of the recovering run
		let label = `kill:${n}`;
		if (n % 3 === 0) {
			const m = 1 + ((n * 7) % 40);
			const k2 = convert(src, lake, T, { bin: FAULT_BIN, fault: `kill:${m}` });
			assert.ok(k2.signal === 'SIGKILL' || k2.status === 3 || k2.status === 0,
				`kill:${n} then kill:${m}: the second run neither died nor completed\n${show(k2)}`);
			if (k2.signal === 'SIGKILL') {
				twice++;
				label += ` then kill:${m}`;
				expireLock(lake);
			}
		}
		await collect(failures, label, async () => {
			recover(src, lake, realLease ? [...T, '--wait', '10'] : T);
			await assertSameLake(ref, refDigest, lake, label);
			await assertClean(lake, `after ${label} and a normal run`, later);
			// and the lake is complete: nothing new any more
			const again = convert(src, lake, T);
			assert.equal(again.status, 0, `a further run\n${show(again)}`);
			assert.equal(again.summary.run, 0, `a further run still found work:\n${show(again)}`);
		});
	}
	console.log(`# crash: ${points} kill points tried (${twice} runs killed twice) in ${Date.now() - t0} ms, ${failures.length} failed`);
	assert.ok(points >= 100, `only ${points} kill points: make the crash bucket bigger`);
	assertNoFailures(failures, 'kill points');
	assertNoStaleVersions(later);
});

test('crash safety: killed while taking an expired lock over, then a normal run takes it over and completes', { skip: SKIP_FAULT, timeout: 300000 }, async () => {
	needFaultBinary();
	const later = []; // superseded state versions, asserted at the end
	const src = freshDir('steal-src', fastScratch);
	const base = freshDir('steal-base', fastScratch);
	put(src, ctKey({ d: 10 }), gz(recordsText(recsOn(10, 2, {}, 'steal'))));
	convertOk(src, base, ['--threads', '1']);
	put(src, ctKey({ d: 11 }), gz(recordsText(recsOn(11, 2, {}, 'steal'))));
	const ref = referenceLake(src, fastScratch);
	const refDigest = await lakeDigest(ref);
	const lake = path.join(fastScratch, `steal-lake-${++dirSeq}`);
	// a run that died long ago holds the lock; the taker writes the steal marker (4 operations)
	// and then the lock (4 more): kill it at each of those and just after
	const dead = `trailpq-lock 1\nrun 20240101T000000Z-deadbeef\nhost elsewhere\npid 1\nexpires ${Date.now() - 60000}\n`;
	const failures = [];
	for (let n = 1; n <= 12; n++) {
		copyLake(base, lake);
		fs.writeFileSync(path.join(lake, '_trailpq', 'lock'), dead);
		const k = convert(src, lake, ['--threads', '1'], { bin: FAULT_BIN, fault: `kill:${n}` });
		assert.equal(k.signal, 'SIGKILL', `kill:${n} not reached\n${show(k)}`);
		expireLock(lake);
		await collect(failures, `kill:${n} during the takeover`, async () => {
			recover(src, lake, ['--threads', '1']);
			await assertSameLake(ref, refDigest, lake, `kill:${n}`);
			await assertClean(lake, `after kill:${n} during the takeover and a normal run`, later);
		});
	}
	assertNoFailures(failures, 'kills during a lock takeover');
	assertNoStaleVersions(later);
});

test('crash safety: write/fsync/rename failing: exit 1 with a clear error, then a normal run completes', { skip: SKIP_FAULT, timeout: 300000 }, async () => {
	needFaultBinary();
	const later = []; // superseded state versions, asserted at the end
	const src = freshDir('fail-src', fastScratch);
	const base = freshDir('fail-base', fastScratch);
	const more = crashBucket(src);
	convertOk(src, base, ['--threads', '1']);
	more();
	const ref = referenceLake(src, fastScratch);
	const refDigest = await lakeDigest(ref);
	const lake = path.join(fastScratch, `fail-lake-${++dirSeq}`);
	const T = ['--threads', '1'];
	const msg = { write: /write failed|cannot write/, fsync: /fsync failed|cannot write|cannot fsync/, rename: /cannot publish/ };
	const failures = [];
	const tried = { write: 0, fsync: 0, rename: 0 };
	for (const kind of ['write', 'fsync', 'rename']) {
		// the first operations (lock, pending record), then ever farther apart, to the end
		for (const n of [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233]) {
			copyLake(base, lake);
			const f = convert(src, lake, T, { bin: FAULT_BIN, fault: `${kind}:${n}` });
			if (f.status === 3 || f.status === 0) break; // fewer than n operations of this kind
			tried[kind]++;
			await collect(failures, `${kind}:${n}`, async () => {
				assert.equal(f.status, 1, `exit 1 expected\n${show(f)}`);
				const lines = f.stderr.split('\n').filter((l) => l && !l.startsWith('trailpq: rejected '));
				assert.equal(lines.length, 1, `one error line\n${show(f)}`);
				assert.match(lines[0], /^trailpq: \S+: /, `the error names a path\n${show(f)}`);
				assert.match(lines[0], msg[kind], `the error says what failed\n${show(f)}`);
				assert.equal(f.stdout, '', 'no summary from a failed run');
			});
			await collect(failures, `${kind}:${n}`, async () => {
				recover(src, lake, T);
				await assertSameLake(ref, refDigest, lake, `${kind}:${n}`);
				await assertClean(lake, `after ${kind}:${n} and a normal run`, later);
			});
		}
	}
	console.log(`# failing operations: ${JSON.stringify(tried)} runs, ${failures.length} failed`);
	for (const k of Object.keys(tried)) assert.ok(tried[k] >= 4, `only ${tried[k]} runs with a failing ${k}`);
	assertNoFailures(failures, 'failing operations');
	assertNoStaleVersions(later);
});

test('crash safety: real SIGKILL at random times, then a normal run: the lake equals one run', { skip: SKIP, timeout: 300000 }, async () => {
	needBinary();
	const later = []; // superseded state versions, asserted at the end
	const src = freshDir('rkill-src', fastScratch);
	const base = freshDir('rkill-base', fastScratch);
	spreadBucket(src, { days: [10], files: 4, per: 40, spread: 10, tag: 'rk' });
	convertOk(src, base, ['--threads', '2']);
	spreadBucket(src, { days: [10, 11, 12], files: 8, per: 200, spread: 20, tag: 'rk2' });
	put(src, ctKey({ d: 12 }), gz('{"Records":[{"eventID":"broken"'));
	const ref = referenceLake(src, fastScratch);
	const refDigest = await lakeDigest(ref);
	const lake = path.join(fastScratch, `rkill-lake-${++dirSeq}`);
	const args = ['convert', '--json', '--quiet', '--threads', '1', src, lake];
	// how long an uninterrupted run takes (the fastest of 3: on a busy machine one run can
	// take twice as long as the next): the kills fall anywhere in it
	let span = Infinity;
	for (let i = 0; i < 3; i++) {
		copyLake(base, lake);
		const t0 = Date.now();
		const full = await spawnRun(TRAILPQ, args).done;
		span = Math.min(span, Date.now() - t0);
		assert.equal(full.status, 3, show(full));
	}
	// seeded, so that a failure can be replayed
	let seed = 12345;
	const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
	const failures = [];
	// 20 runs killed before they ended (a run that ends first is not counted: timers are late
	// on a busy machine), each followed by a normal run
	let killedMidway = 0, attempts = 0;
	while (killedMidway < 20 && attempts < 80) {
		attempts++;
		copyLake(base, lake);
		const delay = Math.floor(rnd() * span * 0.8);
		const k = spawnRun(TRAILPQ, args);
		await sleep(delay);
		if (k.child.exitCode === null && k.child.signalCode === null) k.child.kill('SIGKILL');
		const rk = await k.done;
		if (rk.signal !== 'SIGKILL') continue;
		killedMidway++;
		expireLock(lake);
		await collect(failures, `SIGKILL after ${delay} ms`, async () => {
			recover(src, lake, ['--threads', '2']);
			await assertSameLake(ref, refDigest, lake, `SIGKILL after ${delay} ms`);
			await assertClean(lake, `after SIGKILL at ${delay} ms and a normal run`, later);
		});
	}
	console.log(`# random SIGKILL: a run takes ${span} ms; ${killedMidway} of ${attempts} runs killed midway, ${failures.length} failed`);
	assert.ok(killedMidway >= 10, `only ${killedMidway} of ${attempts} runs were killed before they ended`);
	assertNoFailures(failures, 'random SIGKILLs');
	assertNoStaleVersions(later);
});

// ---- compaction and status ----

function trailpqJson(bin, args, opts = {}) {
	const r = runBin(bin, args, opts);
	let json = null;
	try {
		json = JSON.parse(r.stdout);
	} catch {
		// left null: the caller's assertion shows the output
	}
	return { ...r, json };
}

// Rows of one Parquet file, in the file's order, out of eventtime order (0 when sorted).
async function unsortedRows(file) {
	const [r] = await duckdbQuery(`SELECT count(*)::VARCHAR AS n FROM (SELECT eventtime, ` +
		`lag(eventtime) OVER (ORDER BY file_row_number) AS prev FROM read_parquet(${sqlStr(file)}, ` +
		`file_row_number = true)) WHERE prev > eventtime`);
	return Number(r.n);
}

// An hourly-style lake: every run adds one more file to the same days, so each partition
// holds a file per run; and one rejected file for status to list.
function hourlyLake(src, lake, runs) {
	const parts = [];
	for (const account of [ACCT, '444455556666'])
		for (const d of [10, 11])
			parts.push({ account, d });
	const bad = ctKey({ d: 11 });
	put(src, bad, gz('{"Records":[{"eventID":"cut"'));
	for (let run = 0; run < runs; run++) {
		for (const { account, d } of parts)
			put(src, ctKey({ account, d }), gz(recordsText(recsOn(d, 4, { recipientAccountId: account }, 'hourly'))));
		convertOk(src, lake, ['--threads', '1'], 3 * (run === 0) || 0);
	}
	return { parts, bad };
}

test('compaction: --partition, --older-than, all partitions; sorted files; the lake stays one run; status counts it', { skip: SKIP }, async () => {
	needBinary();
	const later = [];
	const src = freshDir('compact-src');
	const lake = freshDir('compact-lake');
	const { parts, bad } = hourlyLake(src, lake, 4);
	await assertRule(src, lake, 'before compaction', { later });
	const dirOf = (p) => partDir(lake, p.d, { account: p.account });
	for (const p of parts) assert.equal(parquetIn(dirOf(p)).length, 4, `${dirOf(p)}: a file per run`);

	// status: what is on disk, counted by DuckDB and the file system
	let st = trailpqJson(TRAILPQ, ['status', lake, '--json', '--runs', '3']);
	assert.equal(st.status, 0, show(st));
	const ct = st.json.tables.cloudtrail;
	const onDisk = walk(lake).filter((f) => f.startsWith('cloudtrail/') && f.endsWith('.parquet'));
	const [cnt] = await duckdbQuery(`SELECT count(*)::VARCHAR AS n FROM read_parquet(${lakeGlob(lake)})`);
	assert.deepEqual([ct.partitions, ct.files, ct.rows, ct.bytes],
		[parts.length, onDisk.length, Number(cnt.n), onDisk.reduce((s, f) => s + fs.statSync(path.join(lake, f)).size, 0)],
		`status: ${st.stdout}`);
	assert.equal(st.json.runs_committed, 4);
	assert.deepEqual(st.json.last_runs.map((r) => r.run), [4, 3, 2], `status --runs 3: ${st.stdout}`);
	assert.equal(st.json.rejected.length, 1, `status: ${st.stdout}`);
	assert.ok(JSON.stringify(st.json.rejected[0]).includes(path.basename(bad)), `status: ${st.stdout}`);
	assert.equal(st.json.lock, null);
	const text = runBin(TRAILPQ, ['status', lake]);
	assert.equal(text.status, 0, show(text));
	assert.match(text.stdout, /cloudtrail/);
	assert.match(text.stdout + text.stderr, new RegExp(path.basename(bad).replaceAll('.', '\\.')));

	// --older-than: these days (March 2024) are not older than 100,000 days: nothing to do
	let before = snapshot(lake);
	let c = trailpqJson(TRAILPQ, ['compact', lake, '--older-than', '100000', '--json']);
	assert.equal(c.status, 0, show(c));
	assert.equal(c.json.partitions_compacted, 0, show(c));
	assertParquetKept(before, snapshot(lake), 'compact --older-than 100000');

	// one partition: it alone becomes one file, sorted by eventtime
	const one = parts[0];
	const prefix = path.relative(lake, dirOf(one));
	before = snapshot(lake);
	c = trailpqJson(TRAILPQ, ['compact', lake, '--partition', prefix, '--json']);
	assert.equal(c.status, 0, show(c));
	assert.deepEqual([c.json.partitions_compacted, c.json.files_before, c.json.files_after], [1, 4, 1], show(c));
	const files = parquetIn(dirOf(one));
	assert.equal(files.length, 1);
	assert.equal(await unsortedRows(path.join(dirOf(one), files[0])), 0, 'the compacted file is sorted by eventtime');
	const after = snapshot(lake);
	for (const [f, v] of before)
		if (f.endsWith('.parquet') && !f.startsWith(prefix)) assert.deepEqual(after.get(f), v, `${f} changed`);
	await assertRule(src, lake, 'after compacting one partition', { later });

	// everything older than a day: the rest too
	c = trailpqJson(TRAILPQ, ['compact', lake, '--older-than', '1', '--json']);
	assert.equal(c.status, 0, show(c));
	assert.equal(c.json.partitions_compacted, parts.length - 1, show(c));
	for (const p of parts) {
		const fs1 = parquetIn(dirOf(p));
		assert.equal(fs1.length, 1, `${dirOf(p)} after compaction`);
		assert.equal(await unsortedRows(path.join(dirOf(p), fs1[0])), 0);
	}
	await assertRule(src, lake, 'after compacting everything', { later });
	st = trailpqJson(TRAILPQ, ['status', lake, '--json']);
	assert.equal(st.json.tables.cloudtrail.files, parts.length, st.stdout);

	// a compacted partition still knows its events: a re-delivery adds nothing, a new event lands
	const first = walk(src).find((f) => f.endsWith('.json.gz') && !f.endsWith(path.basename(bad)));
	const redelivered = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(src, first))).toString()).Records[0];
	const n0 = (await lakeContent(lake)).cloudtrail.rows;
	put(src, ctKey({ d: 11 }), gz(recordsText([redelivered, ...recsOn(11, 2, {}, 'after-compact')])));
	const s2 = convertOk(src, lake, ['--threads', '1']);
	assert.equal(s2.duplicates, 1, `the re-delivered event is a duplicate\n${JSON.stringify(s2)}`);
	assert.equal((await lakeContent(lake)).cloudtrail.rows, n0 + 2);
	await assertRule(src, lake, 'a run after compaction', { later });
	assertNoStaleVersions(later);
});

test('crash safety: compaction killed before each write/fsync/rename, then compaction again: the lake equals one run', { skip: SKIP_FAULT, timeout: 300000 }, async () => {
	needFaultBinary();
	const later = [];
	const src = freshDir('ccrash-src', fastScratch);
	const base = freshDir('ccrash-base', fastScratch);
	hourlyLake(src, base, 3);
	const ref = referenceLake(src, fastScratch);
	const refDigest = await lakeDigest(ref);
	const lake = path.join(fastScratch, `ccrash-lake-${++dirSeq}`);
	const failures = [];
	let points = 0;
	for (let n = 1; n < 2000; n++) {
		copyLake(base, lake);
		const k = runBin(FAULT_BIN, ['compact', lake, '--json'], { fault: `kill:${n}` });
		if (k.signal !== 'SIGKILL') {
			assert.equal(k.status, 0, `compaction with kill:${n} not reached must complete\n${show(k)}`);
			points = n - 1;
			break;
		}
		expireLock(lake);
		await collect(failures, `compact kill:${n}`, async () => {
			// readers meanwhile: the lake is readable
			await lakeDigest(lake);
			const again = runBin(TRAILPQ, ['compact', lake, '--json']);
			assert.equal(again.status, 0, `compaction after kill:${n}\n${show(again)}`);
			await assertSameLake(ref, refDigest, lake, `compact kill:${n}`);
			await assertClean(lake, `after compact kill:${n} and a compaction`, later);
			for (const f of walk(lake).filter((x) => x.startsWith('cloudtrail/') && x.endsWith('.parquet')))
				assert.equal(await unsortedRows(path.join(lake, f)), 0, `${f} sorted`);
		});
	}
	console.log(`# compaction crash: ${points} kill points, ${failures.length} failed`);
	assert.ok(points >= 20, `only ${points} kill points in a compaction`);
	assertNoFailures(failures, 'compaction kill points');
	assertNoStaleVersions(later);
});
