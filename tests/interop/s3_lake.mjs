// `trailpq convert`, `status` and `compact` against S3 end to end, all on 127.0.0.1:
//
//   trailpq -> fault proxy -> SigV4-verifying front -> s3rver      (tests/interop/s3_servers.mjs)
//
//   TRAILPQ=build/trailpq node --test tests/interop/s3_lake.mjs     (run_interop.sh step 5)
//
// The corpus (../shared/corpus/dev) is uploaded in its CloudTrail layout; trailpq converts it
// S3->S3, S3->local and local->S3, and each lake (S3 lakes downloaded through the S3 API) is
// checked by check_lake.mjs against the oracle. Then, on the S3 lake: incremental runs (an
// unchanged bucket reads no object and writes nothing but the lock; new files, a late file, a
// re-delivered duplicate, a changed object), status and compact, the lock (a second run
// refused with exit 4 through If-None-Match), faults at chosen requests (5xx, dropped
// connections, a write carried out whose answer was lost, truncated bodies) and SIGKILL half
// way: after each, the lake must equal what ONE run over the same input gives (through DuckDB,
// every value) and hold no leftovers. Last, credentials from a profile's credential_process:
// one chain walk per run, and a new fetch after S3 answers ExpiredToken. trailpq runs with a clean environment: keys, region and
// endpoint from AWS_* variables, HOME an empty directory.
//
// The servers run in this process, so trailpq is always spawned asynchronously.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startFaultProxy, startS3rver, startVerifyingFront } from './s3_servers.mjs';
import { duckdbQuery, closeDuckDB } from './readers.mjs';
import { ctKey, rec, recordsText, gz, walk, sqlStr, pad } from './bucket.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const CORPUS = process.env.TPQ_CORPUS ?? path.resolve(ROOT, '..', 'shared', 'corpus', 'dev');
const TRAILPQ = process.env.TRAILPQ;
const ALLOW_SKIP = process.env.TPQ_ALLOW_SKIP === '1';
const SKIP = !TRAILPQ && ALLOW_SKIP ? 'TRAILPQ is unset (TPQ_ALLOW_SKIP=1)' : false;
const TABLES = ['cloudtrail', 'cloudtrail_insight', 'cloudtrail_networkactivity'];

let s3rver, front, faults, tmp, home;

before(async () => {
	if (SKIP) return;
	assert.ok(TRAILPQ && fs.existsSync(TRAILPQ), `TRAILPQ=${TRAILPQ} must name the trailpq binary`);
	assert.ok(fs.existsSync(path.join(CORPUS, 'MANIFEST.tsv')), `no corpus at ${CORPUS}`);
	tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tpq-s3lake-'));
	home = path.join(tmp, 'home');
	fs.mkdirSync(home);
	fs.mkdirSync(path.join(tmp, 's3rver'));
	s3rver = await startS3rver(path.join(tmp, 's3rver'));
	front = await startVerifyingFront(s3rver.port, path.join(tmp, 's3rver'));
	faults = await startFaultProxy(front.port);
});

after(async () => {
	closeDuckDB();
	await faults?.close();
	await front?.close();
	await s3rver?.stop();
	if (tmp && process.env.TPQ_KEEP_TMP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
	else if (tmp) console.log(`# kept ${tmp}`);
});

// ---- plain S3 calls straight to s3rver (test setup and inspection, not under test) ----

function direct(method, p, body = null) {
	return new Promise((resolve, reject) => {
		const headers = body ? { 'content-length': String(body.length) } : {};
		const r = http.request({ host: '127.0.0.1', port: s3rver.port, method, path: p, headers, agent: false }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
			res.on('error', reject);
		});
		r.on('error', reject);
		r.end(body ?? undefined);
	});
}

const encKey = (k) => k.split('/').map(encodeURIComponent).join('/');
const unxml = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

async function mkBucket(b) {
	const r = await direct('PUT', `/${b}`);
	assert.ok(r.status === 200 || r.status === 409, `create bucket ${b}: ${r.status} ${r.body}`);
}

async function putObject(b, key, bytes) {
	const r = await direct('PUT', `/${b}/${encKey(key)}`, Buffer.from(bytes));
	assert.equal(r.status, 200, `put ${b}/${key}: ${r.body}`);
	return key;
}

async function getObject(b, key) {
	const r = await direct('GET', `/${b}/${encKey(key)}`);
	assert.equal(r.status, 200, `get ${b}/${key}: ${r.body}`);
	return r.body;
}

async function listKeys(b, prefix = '') {
	const keys = [];
	let token = null;
	for (;;) {
		let q = `/${b}?list-type=2&prefix=${encodeURIComponent(prefix)}`;
		if (token) q += `&continuation-token=${encodeURIComponent(token)}`;
		const r = await direct('GET', q);
		assert.equal(r.status, 200, `list ${b}: ${r.body}`);
		const text = r.body.toString();
		for (const m of text.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(unxml(m[1]));
		const t = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(text);
		if (!/<IsTruncated>true<\/IsTruncated>/.test(text) || !t) break;
		token = unxml(t[1]);
	}
	return keys.sort();
}

// The objects under b/prefix into a fresh directory (keys relative to the prefix).
async function download(b, prefix, name) {
	const dir = path.join(tmp, `${name}-${++seq}`);
	const keys = await listKeys(b, prefix);
	for (let i = 0; i < keys.length; i += 16) {
		await Promise.all(keys.slice(i, i + 16).map(async (key) => {
			const p = path.join(dir, key.slice(prefix.length));
			fs.mkdirSync(path.dirname(p), { recursive: true });
			fs.writeFileSync(p, await getObject(b, key));
		}));
	}
	fs.mkdirSync(dir, { recursive: true });
	return dir;
}

async function uploadDir(dir, b, prefix = '') {
	const files = walk(dir);
	for (let i = 0; i < files.length; i += 16)
		await Promise.all(files.slice(i, i + 16).map((f) => putObject(b, prefix + f, fs.readFileSync(path.join(dir, f)))));
	return files.length;
}

// ---- trailpq ----

let seq = 0;
function freshDir(name) {
	const d = path.join(tmp, `${name}-${++seq}`);
	fs.mkdirSync(d, { recursive: true });
	return d;
}

function env(extra = {}) {
	return {
		PATH: process.env.PATH, HOME: home, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER',
		AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: `http://127.0.0.1:${faults.port}`, AWS_EC2_METADATA_DISABLED: 'true',
		...extra,
	};
}

// Starts trailpq; resolves { status, signal, stdout, stderr } when it exits. `onSpawn` gets the
// child (to kill it).
function trailpq(args, { extraEnv = {}, timeout = 60000, onSpawn } = {}) {
	return new Promise((resolve, reject) => {
		const child = spawn(TRAILPQ, args, { env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '', stderr = '';
		child.stdout.on('data', (d) => { stdout += d; });
		child.stderr.on('data', (d) => { stderr += d; });
		const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
		child.on('error', reject);
		child.on('close', (status, signal) => {
			clearTimeout(timer);
			resolve({ status, signal, stdout, stderr });
		});
		onSpawn?.(child);
	});
}

function show(r) {
	return `exit ${r.status}${r.signal ? ` (signal ${r.signal})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

function summary(r) {
	const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
	return line ? JSON.parse(line) : null;
}

async function convertOk(src, dst, extra = [], opts = {}) {
	const r = await trailpq(['convert', '--json', '--quiet', '--threads', '2', ...extra, src, dst], opts);
	assert.equal(r.status, opts.status ?? 0, `convert ${extra.join(' ')} ${src} ${dst}\n${show(r)}`);
	const s = summary(r);
	assert.ok(s, `no JSON summary\n${show(r)}`);
	return s;
}

// What the front saw (verified requests) during fn(): [{ method, bucket, key, query }].
async function requestsDuring(fn) {
	const from = front.stats.requests.length;
	const out = await fn();
	const reqs = front.stats.requests.slice(from).map((l) => {
		const [method, url] = l.split(' ');
		const u = new URL(url, 'http://x');
		const parts = decodeURIComponent(u.pathname).split('/');
		return { method, bucket: parts[1], key: parts.slice(2).join('/'), query: u.search };
	});
	return { out, reqs };
}

// check_lake.mjs (every reader, or `readers`) over a local lake of `src`.
function checkLake(src, lake, readers = 'all') {
	return new Promise((resolve) => {
		const child = spawn(process.execPath, [path.join(HERE, 'check_lake.mjs'), src, lake, '--quiet', '--reader', readers],
			{ stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		child.stdout.on('data', (d) => { out += d; });
		child.stderr.on('data', (d) => { out += d; });
		child.on('close', (code) => resolve({ code, out }));
	});
}

// ---- the rule: a lake equals one run over the same input, and holds no leftovers ----

function lakeTables(lake) {
	return TABLES.filter((t) => fs.existsSync(path.join(lake, t)) && walk(path.join(lake, t)).some((f) => f.endsWith('.parquet')));
}

async function lakeContent(lake) {
	const out = {};
	for (const t of lakeTables(lake)) {
		const from = `read_parquet(${sqlStr(`${lake}/${t}/**/*.parquet`)}, hive_partitioning = true, hive_types_autocast = false)`;
		const rows = await duckdbQuery(`SELECT to_json(t)::VARCHAR AS j FROM ${from} t ORDER BY 1`);
		out[t] = rows.map((x) => x.j);
	}
	return out;
}

function diffContent(want, got) {
	const lines = [];
	for (const t of new Set([...Object.keys(want), ...Object.keys(got)])) {
		const w = want[t] ?? [], g = got[t] ?? [];
		if (w.length !== g.length) lines.push(`${t}: ${g.length} rows, want ${w.length}`);
		const ws = new Map();
		for (const v of w) ws.set(v, (ws.get(v) ?? 0) + 1);
		for (const v of g) ws.set(v, (ws.get(v) ?? 0) - 1);
		let shown = 0;
		for (const [v, n] of ws) if (n !== 0 && shown++ < 6) lines.push(`${t}: ${n > 0 ? 'missing' : 'extra'} row ${v.slice(0, 200)}`);
	}
	return lines;
}

// No lock, no pending record, one version per state shard, and exactly the Parquet files,
// rows and bytes the newest commit counts.
async function assertClean(lake, what) {
	const files = walk(lake);
	const problems = files.filter((f) => f.includes('.tpq-tmp-') || f.startsWith('_trailpq/pending/') || /^_trailpq\/lock/.test(f))
		.map((f) => `left over: ${f}`);
	const commits = files.filter((f) => /^_trailpq\/commits\/\d{10}$/.test(f)).sort();
	assert.ok(commits.length, `${what}: no commit record in ${lake}`);
	const text = fs.readFileSync(path.join(lake, commits.at(-1)), 'utf8');
	const shards = new Map();
	for (const f of files) {
		const m = /^(_trailpq\/(?:parts|sources)\/.+)\/\d{10}-[0-9a-f]{8}\.(bin|tsv)$/.exec(f);
		if (m) shards.set(m[1], (shards.get(m[1]) ?? 0) + 1);
	}
	for (const [d, n] of shards) if (n !== 1) problems.push(`${n} versions in ${d}`);
	for (const [ti, t] of TABLES.entries()) {
		const m = new RegExp(`^total ${ti} (\\d+) (\\d+) (\\d+) (\\d+)$`, 'm').exec(text);
		const want = m ? { files: +m[2], rows: +m[3], bytes: +m[4] } : { files: 0, rows: 0, bytes: 0 };
		const pq = files.filter((f) => f.startsWith(`${t}/`) && f.endsWith('.parquet'));
		const bytes = pq.reduce((s, f) => s + fs.statSync(path.join(lake, f)).size, 0);
		if (pq.length !== want.files || bytes !== want.bytes)
			problems.push(`${t}: ${pq.length} files of ${bytes} bytes, the commit counts ${want.files} of ${want.bytes}`);
		if (pq.length) {
			const [c] = await duckdbQuery(`SELECT count(*)::VARCHAR AS n FROM read_parquet([${pq.map((f) => sqlStr(path.join(lake, f))).join(', ')}])`);
			if (Number(c.n) !== want.rows) problems.push(`${t}: ${c.n} rows, the commit counts ${want.rows}`);
		}
	}
	assert.deepEqual(problems, [], `${what}: the lake ${lake} is not clean`);
}

// The content of one --full run over the local directory `src`, into a fresh local lake.
async function singleRun(src) {
	const ref = freshDir('ref-lake');
	const r = await trailpq(['convert', '--quiet', '--full', '--threads', '2', src, ref]);
	assert.ok(r.status === 0 || r.status === 3, `reference run\n${show(r)}`);
	const c = await lakeContent(ref);
	fs.rmSync(ref, { recursive: true, force: true });
	return c;
}

// THE RULE for an S3 lake: downloaded, it equals one run over `mirror` (the local copy of what
// the source bucket holds), and it is clean. `want` may be given (computed once).
async function assertRule(bucket, prefix, mirror, what, want) {
	want ??= await singleRun(mirror);
	const lake = await download(bucket, prefix, 'got-lake');
	assert.deepEqual(diffContent(want, await lakeContent(lake)), [], `${what}: the lake differs from one run over the same input`);
	await assertClean(lake, what);
	fs.rmSync(lake, { recursive: true, force: true });
	return want;
}


// ---- 1. the corpus: S3->S3, S3->local, local->S3, each checked against the oracle ----

let mirror; // the local copy of bucket "inc" (tests 2..6) as it evolves

test('corpus: S3->S3, S3->local and local->S3 conversions match the oracle', { skip: SKIP, timeout: 120000 }, async () => {
	for (const b of ['trails', 'lake', 'lake2']) await mkBucket(b);
	const n = await uploadDir(CORPUS, 'trails');
	assert.ok(n > 100, `the corpus has ${n} files`);

	// S3 -> S3
	const { out: s, reqs } = await requestsDuring(() => convertOk('s3://trails', 's3://lake/ct/'));
	assert.equal(s.files_rejected, 0);
	assert.ok(s.files_converted > 100, JSON.stringify(s));
	const gets = reqs.filter((q) => q.bucket === 'trails' && q.method === 'GET' && q.key);
	assert.equal(gets.length, s.files_converted, 'each source object is read once (read-ahead included)');
	assert.equal(front.stats.rejected, 0, front.stats.reasons.join('\n'));
	const lake = await download('lake', 'ct/', 's3-s3');
	const c1 = await checkLake(CORPUS, lake);
	assert.equal(c1.code, 0, `S3->S3 lake vs the oracle:\n${c1.out}`);
	await assertClean(lake, 'S3->S3');

	// S3 -> local
	const local = freshDir('s3-local');
	const s2 = await convertOk('s3://trails/', local);
	assert.equal(s2.files_converted, s.files_converted);
	const c2 = await checkLake(CORPUS, local, 'duckdb');
	assert.equal(c2.code, 0, `S3->local lake vs the oracle:\n${c2.out}`);

	// local -> S3, under a deeper prefix written without its final '/' (a folder all the same)
	const s3 = await convertOk(CORPUS, 's3://lake2/deep/er');
	assert.equal(s3.files_converted, s.files_converted);
	assert.deepEqual((await listKeys('lake2')).filter((k) => !k.startsWith('deep/er/')), []);
	const lake2 = await download('lake2', 'deep/er/', 'local-s3');
	const c3 = await checkLake(CORPUS, lake2, 'duckdb');
	assert.equal(c3.code, 0, `local->S3 lake vs the oracle:\n${c3.out}`);

	// all three hold the same rows
	const want = await lakeContent(local);
	assert.deepEqual(diffContent(want, await lakeContent(lake)), []);
	assert.deepEqual(diffContent(want, await lakeContent(lake2)), []);
	assert.equal(front.stats.rejected, 0, front.stats.reasons.join('\n'));
});

// ---- 2. incremental runs on S3 ----

// Puts an object into bucket "inc" and into its local mirror (the reference's input).
async function deliver(key, bytes) {
	await putObject('inc', key, bytes);
	const p = path.join(mirror, key);
	fs.mkdirSync(path.dirname(p), { recursive: true });
	fs.writeFileSync(p, bytes);
	return key;
}

let idSeq = 0;
// n records on 2024-03-d, ids unique in the process.
function recsOn(d, n, tag = 's3') {
	return Array.from({ length: n }, (_, i) => rec(`${tag}-${pad(d)}-${++idSeq}`,
		`2024-03-${pad(d)}T${pad((i * 5) % 24)}:${pad((i * 7) % 60)}:${pad(i % 60)}Z`));
}

const sourceGets = (reqs) => reqs.filter((q) => q.bucket === 'inc' && q.method === 'GET' && q.key);
const lakeWrites = (reqs, prefix) => reqs.filter((q) => q.bucket === 'ilake' && q.method !== 'GET' && q.method !== 'HEAD' &&
	!q.key.startsWith(`${prefix}_trailpq/lock`));

let want; // the reference content for the current input, when known

test('incremental on S3: an unchanged bucket reads and writes nothing; new, late, re-delivered and changed objects',
	{ skip: SKIP, timeout: 120000 }, async () => {
		// a small bucket of its own (the corpus lake's checks cost more than they add here)
		for (const b of ['inc', 'ilake']) await mkBucket(b);
		mirror = freshDir('mirror');
		for (let d = 10; d <= 12; d++)
			for (let k = 0; k < 2; k++) await deliver(ctKey({ d }), gz(recordsText(recsOn(d, 3))));
		await deliver(ctKey({ d: 12, region: 'eu-west-1' }), gz(recordsText(recsOn(12, 2))));
		let s = await convertOk('s3://inc', 's3://ilake/lk/');
		assert.equal(s.files_converted, 7);
		want = await assertRule('ilake', 'lk/', mirror, 'after the first run');
		// nothing new
		let reqs;
		({ out: s, reqs } = await requestsDuring(() => convertOk('s3://inc', 's3://ilake/lk/')));
		assert.equal(s.run, 0);
		assert.equal(s.files_converted, 0);
		assert.ok(s.files_unchanged > 0);
		assert.deepEqual(sourceGets(reqs), [], 'an unchanged bucket: no object read');
		assert.deepEqual(lakeWrites(reqs, 'lk/'), [], 'an unchanged bucket: nothing written but the lock');
		assert.ok(reqs.some((q) => q.method === 'PUT' && q.key === 'lk/_trailpq/lock'), 'the lock was taken');

		// new day folders of a new trail
		const d14 = await deliver(ctKey({ d: 14 }), gz(recordsText(recsOn(14, 4))));
		await deliver(ctKey({ d: 14 }), gz(recordsText(recsOn(14, 3))));
		const dup15 = recsOn(15, 5);
		await deliver(ctKey({ d: 15 }), gz(recordsText(dup15)));
		({ out: s, reqs } = await requestsDuring(() => convertOk('s3://inc', 's3://ilake/lk/')));
		assert.equal(s.files_converted, 3);
		assert.deepEqual(sourceGets(reqs).length, 3, 'only the new objects are read');
		want = await assertRule('ilake', 'lk/', mirror, 'after new day folders');

		// a late file into day 14, and a file re-delivering day 15's records with one new one
		await deliver(ctKey({ d: 14 }), gz(recordsText(recsOn(14, 2))));
		await deliver(ctKey({ d: 16 }), gz(recordsText([...dup15.slice(0, 3), ...recsOn(15, 1)])));
		s = await convertOk('s3://inc', 's3://ilake/lk/');
		assert.equal(s.files_converted, 2);
		assert.equal(s.duplicates, 3, 'the re-delivered records are not doubled');
		want = await assertRule('ilake', 'lk/', mirror, 'after a late file and a re-delivery');

		// a changed object: the first day-14 file rewritten with other records
		const old = JSON.parse(zlib.gunzipSync(await getObject('inc', d14)).toString()).Records;
		await deliver(d14, gz(recordsText([old[0], ...recsOn(14, 2, 'chg')])));
		s = await convertOk('s3://inc', 's3://ilake/lk/');
		assert.equal(s.files_changed, 1);
		assert.equal(s.rows_removed, 4, 'the changed object\'s old rows leave');
		want = await assertRule('ilake', 'lk/', mirror, 'after a changed object');
	});

// ---- 3. status and compact on the S3 lake ----

test('status and compact on the S3 lake', { skip: SKIP, timeout: 60000 }, async () => {
	assert.ok(want, 'needs the incremental test first');
	let r = await trailpq(['status', '--json', 's3://ilake/lk/']);
	assert.equal(r.status, 0, show(r));
	const st = JSON.parse(r.stdout);
	assert.equal(st.lake, 's3://ilake/lk/');
	assert.ok(st.runs_committed >= 4, r.stdout);
	assert.equal(st.tables.cloudtrail.rows, want.cloudtrail.length);
	assert.equal(st.lock, null);
	const text = await trailpq(['status', 's3://ilake/lk/']);
	assert.equal(text.status, 0, show(text));
	assert.match(text.stdout, /^lake s3:\/\/ilake\/lk\/: \d+ runs committed$/m);
	assert.match(text.stdout, /^lock: free$/m);

	r = await trailpq(['compact', '--json', 's3://ilake/lk/']);
	assert.equal(r.status, 0, show(r));
	const c = JSON.parse(r.stdout);
	assert.ok(c.partitions_compacted >= 1, r.stdout);
	assert.ok(c.files_after < c.files_before, r.stdout);
	await assertRule('ilake', 'lk/', mirror, 'after compact', want);
	r = await trailpq(['status', '--json', 's3://ilake/lk/']);
	const st2 = JSON.parse(r.stdout);
	assert.equal(st2.tables.cloudtrail.files, st.tables.cloudtrail.files - (c.files_before - c.files_after));
	assert.equal(st2.tables.cloudtrail.rows, st.tables.cloudtrail.rows);

	// a lake that is not there: a clear error naming the place, exit 1
	r = await trailpq(['status', 's3://no-such-bucket/lake/']);
	assert.equal(r.status, 1, show(r));
	assert.match(r.stderr, /s3:\/\/no-such-bucket\//);
	assert.doesNotMatch(r.stderr, /S3RVER/, 'no secret in messages');
	// a source bucket that is not there: exit 1 naming it, and the lake's lock is released
	r = await trailpq(['convert', '--quiet', 's3://no-such-source/', 's3://ilake/lk/']);
	assert.equal(r.status, 1, show(r));
	assert.match(r.stderr, /s3:\/\/no-such-source\/.*404 NoSuchBucket/);
	assert.deepEqual(await listKeys('ilake', 'lk/_trailpq/lock'), [], 'the failed run left its lock');
});

// ---- 4. the lock on S3 ----

async function waitFor(cond, ms = 20000) {
	const t0 = Date.now();
	while (!(await cond())) {
		if (Date.now() - t0 > ms) return false;
		await new Promise((res) => setTimeout(res, 50));
	}
	return true;
}

test('lock on S3: a second run refuses with exit 4 through If-None-Match while the first runs', { skip: SKIP, timeout: 60000 }, async () => {
	assert.ok(want, 'needs the incremental test first');
	await deliver(ctKey({ d: 17 }), gz(recordsText(recsOn(17, 3))));
	// the first run's first delimited listing of the source waits 3 s: it holds the lock meanwhile
	faults.state.rules = [{ method: 'GET', path: '/inc', query: 'delimiter', action: 'delay', delayMs: 3000, times: 1 }];
	const first = trailpq(['convert', '--json', '--quiet', 's3://inc', 's3://ilake/lk/']);
	assert.ok(await waitFor(async () => (await listKeys('ilake', 'lk/_trailpq/lock')).length > 0), 'the first run took no lock');
	const n412 = front.stats.conditional412;
	const second = await trailpq(['convert', '--json', '--quiet', 's3://inc', 's3://ilake/lk/']);
	assert.equal(second.status, 4, show(second));
	assert.match(second.stderr, /lock/i);
	assert.ok(front.stats.conditional412 > n412, 'refused by the conditional create (412)');
	const st = JSON.parse((await trailpq(['status', '--json', 's3://ilake/lk/'])).stdout);
	assert.ok(st.lock && st.lock.pid > 0, 'status shows the holder');
	const r = await first;
	assert.equal(r.status, 0, show(r));
	assert.equal(summary(r).files_converted, 1);
	faults.state.rules = [];
	want = await assertRule('ilake', 'lk/', mirror, 'after the lock test');
});

// ---- 5. faults ----

// One fault case: new input, the rules, a run that must end as `expectStatus` says (and its
// stderr match `stderr`); after a failure (or with `settle`) a normal run; then the rule.
async function faultCase(name, rules, { maxAttempts, expectStatus = 0, stderr, settle } = {}) {
	const d = 17 + ++faultDay; // a new newest day each time: inside the look-back
	await deliver(ctKey({ d }), gz(recordsText(recsOn(d, 3, name))));
	faults.state.rules = rules.map((x) => ({ times: 1, ...x }));
	const r = await trailpq(['convert', '--json', '--quiet', 's3://inc', 's3://ilake/lk/'],
		{ extraEnv: maxAttempts ? { AWS_MAX_ATTEMPTS: String(maxAttempts) } : {} });
	const hit = faults.state.rules.every((x) => x.hits > 0);
	faults.state.rules = [];
	assert.ok(hit, `${name}: a fault rule never matched: ${JSON.stringify(rules)}`);
	assert.equal(r.status, expectStatus, `${name}\n${show(r)}`);
	if (stderr) assert.match(r.stderr, stderr, `${name}: the error\n${show(r)}`);
	assert.doesNotMatch(r.stderr, /S3RVER/, `${name}: a secret in a message`);
	if (r.status !== 0) {
		const again = await convertOk('s3://inc', 's3://ilake/lk/');
		assert.ok(again.files_converted >= 1, `${name}: the next run converted nothing`);
	} else if (settle) {
		// committed, its cleanup left to the next run, which has nothing else to do
		const again = await convertOk('s3://inc', 's3://ilake/lk/');
		assert.equal(again.files_converted, 0, `${name}: the next run converted again`);
	}
	want = await assertRule('ilake', 'lk/', mirror, `after fault case ${name}`);
	return r;
}
let faultDay = 0;

test('faults: retried ones end right; the rest fail clearly and the next run completes the lake', { skip: SKIP, timeout: 180000 }, async () => {
	assert.ok(want, 'needs the incremental test first');
	// retried: throttling and 5xx on writes, a dropped connection on a listing, a truncated
	// source object, a 500 on a source GET
	await faultCase('retried', [
		{ method: 'PUT', path: '.parquet', action: 'status', status: 503, code: 'SlowDown' },
		{ method: 'PUT', path: '/_trailpq/parts/', action: 'status', status: 500, code: 'InternalError' },
		{ method: 'GET', path: '/inc', query: 'delimiter', skip: 2, action: 'reset' },
		{ method: 'GET', path: '/inc/AWSLogs/', action: 'truncate' },
	]);
	// the commit record's conditional PUT carried out, its answer lost: the retry's 412 is
	// recognised as our own write by the ETag
	await faultCase('commit-answer-lost', [{ method: 'PUT', path: '/_trailpq/commits/', action: 'forward-then-reset' }]);
	// the lock's create carried out, its answer lost
	await faultCase('lock-answer-lost', [{ method: 'PUT', path: '/_trailpq/lock', action: 'forward-then-reset' }]);
	// not retried (AWS_MAX_ATTEMPTS=1): each fails the run with the request, the object and the status
	await faultCase('source-get-500', [{ method: 'GET', path: '/inc/AWSLogs/', action: 'status', status: 500, code: 'InternalError' }],
		{ maxAttempts: 1, expectStatus: 1, stderr: /GET s3:\/\/inc\/.*AWSLogs\/.*HTTP 500 InternalError/ });
	await faultCase('source-get-404', [{ method: 'GET', path: '/inc/AWSLogs/', action: 'status', status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' }],
		{ expectStatus: 1, stderr: /GET s3:\/\/inc\/.*AWSLogs\/.*HTTP 404 NoSuchKey/ });
	await faultCase('source-get-403', [{ method: 'GET', path: '/inc/AWSLogs/', action: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' }],
		{ expectStatus: 1, stderr: /^trailpq: GET s3:\/\/inc\/AWSLogs\/\S+: HTTP 403 AccessDenied: Access Denied \(/m });
	await faultCase('parquet-put-503', [{ method: 'PUT', path: '.parquet', action: 'status', status: 503, code: 'SlowDown' }],
		{ maxAttempts: 1, expectStatus: 1, stderr: /PUT s3:\/\/ilake\/lk\/.*\.parquet.*HTTP 503 SlowDown/ });
	await faultCase('state-put-reset', [{ method: 'PUT', path: '/_trailpq/sources/', action: 'reset' }],
		{ maxAttempts: 1, expectStatus: 1, stderr: /s3:\/\/ilake\/lk\/_trailpq\/sources\// });
	await faultCase('commit-put-500', [{ method: 'PUT', path: '/_trailpq/commits/', action: 'status', status: 500, code: 'InternalError' }],
		{ maxAttempts: 1, expectStatus: 1, stderr: /s3:\/\/ilake\/lk\/_trailpq\/commits\// });
	await faultCase('state-get-truncated', [{ method: 'GET', path: '/_trailpq/sources/', action: 'truncate' }],
		{ maxAttempts: 1, expectStatus: 1, stderr: /s3:\/\/ilake\/lk\/_trailpq\/sources\// });
	// after the commit: the run has succeeded; the next one removes what it could not
	await faultCase('cleanup-delete-500', [{ method: 'DELETE', path: '/_trailpq/pending/', action: 'status', status: 500, code: 'InternalError' }],
		{ maxAttempts: 1, settle: true });
	assert.equal(front.stats.rejected, 0, front.stats.reasons.join('\n'));
});

// ---- 6. SIGKILL half way ----

test('SIGKILL half way against S3: the next run completes the lake', { skip: SKIP, timeout: 120000 }, async () => {
	assert.ok(want, 'needs the incremental test first');
	// kill points: the k-th request of a kind is held at the fault proxy (never carried out:
	// the proxy drops a held request whose client is gone), and the run is killed meanwhile
	const points = [
		['the first Parquet PUT', { method: 'PUT', path: '.parquet' }, 0],
		['the second partition state PUT', { method: 'PUT', path: '/_trailpq/parts/' }, 1],
		['the commit PUT', { method: 'PUT', path: '/_trailpq/commits/' }, 0],
		['the first cleanup DELETE', { method: 'DELETE', path: '/_trailpq/pending/' }, 0],
	];
	for (const [what, rule, skip] of points) {
		for (let d = 29; d <= 31; d++) await deliver(ctKey({ d }), gz(recordsText(recsOn(d, 4, 'kill'))));
		const held = { ...rule, skip, times: 1, action: 'delay', delayMs: 10000 };
		faults.state.rules = [held];
		let child;
		const run = trailpq(['convert', '--json', '--quiet', 's3://inc', 's3://ilake/lk/'], { onSpawn: (c) => { child = c; } });
		const reached = await waitFor(() => held.hits > 0, 30000);
		await new Promise((res) => setTimeout(res, 100)); // other threads' requests go on meanwhile
		child.kill('SIGKILL');
		const r = await run;
		faults.state.rules = [];
		assert.ok(reached, `${what}: never reached\n${show(r)}`);
		assert.equal(r.signal, 'SIGKILL', `${what}: the run ended before the kill\n${show(r)}`);
		// the killed run's lease is live for 300 s: expire it, as time would (the next run
		// takes the lease over and settles what the killed one left)
		const lock = await listKeys('ilake', 'lk/_trailpq/lock');
		if (lock.includes('lk/_trailpq/lock')) {
			const text = (await getObject('ilake', 'lk/_trailpq/lock')).toString();
			assert.match(text, /^expires \d+$/m);
			await putObject('ilake', 'lk/_trailpq/lock', text.replace(/^expires \d+$/m, 'expires 1'));
		}
		await convertOk('s3://inc', 's3://ilake/lk/');
		want = await assertRule('ilake', 'lk/', mirror, `SIGKILL at ${what}, then a normal run`);
	}
});

// ---- 7. credentials through the chain: a profile's credential_process, refreshed when S3
// says the token expired ----

test('credentials: --profile with credential_process, called once per run and again after ExpiredToken', { skip: SKIP, timeout: 60000 }, async () => {
	assert.ok(want, 'needs the incremental test first');
	const h = freshDir('home');
	const count = path.join(h, 'calls');
	const script = path.join(h, 'creds.sh');
	fs.writeFileSync(script, `#!/bin/sh\necho call >> '${count}'\n` +
		`printf '{"Version":1,"AccessKeyId":"S3RVER","SecretAccessKey":"S3RVER","SessionToken":"tok-%s"}' "$$"\n`, { mode: 0o755 });
	fs.mkdirSync(path.join(h, '.aws'));
	fs.writeFileSync(path.join(h, '.aws', 'config'), `[profile audit]\ncredential_process = ${script}\nregion = us-east-1\n`);
	const calls = () => (fs.existsSync(count) ? fs.readFileSync(count, 'utf8').split('\n').filter(Boolean).length : 0);
	// the environment's keys are wrong: --profile must not use them
	const extraEnv = { HOME: h, AWS_ACCESS_KEY_ID: 'WRONG', AWS_SECRET_ACCESS_KEY: 'WRONG', AWS_REGION: '' };
	await deliver(ctKey({ d: 31 }), gz(recordsText(recsOn(31, 2, 'cred'))));
	let r = await trailpq(['convert', '--json', '--quiet', '--profile', 'audit', 's3://inc', 's3://ilake/lk/'], { extraEnv });
	assert.equal(r.status, 0, show(r));
	assert.equal(calls(), 1, 'one chain walk for the source and the store together');
	await deliver(ctKey({ d: 31 }), gz(recordsText(recsOn(31, 2, 'cred'))));
	faults.state.rules = [{ method: 'GET', path: '/inc/AWSLogs/', action: 'status', status: 400, code: 'ExpiredToken',
		message: 'The provided token has expired.', times: 1 }];
	r = await trailpq(['convert', '--json', '--quiet', '--profile', 'audit', 's3://inc', 's3://ilake/lk/'], { extraEnv });
	const hits = faults.state.rules[0].hits;
	faults.state.rules = [];
	assert.equal(hits, 1);
	assert.equal(r.status, 0, show(r));
	assert.equal(calls(), 3, 'ExpiredToken made the provider fetch new credentials before the retry');
	assert.equal(front.stats.rejected, 0, front.stats.reasons.join('\n'));
	want = await assertRule('ilake', 'lk/', mirror, 'after the credentials test');
});
