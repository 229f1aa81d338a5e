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
// every value) and hold no leftovers. trailpq runs with a clean environment: keys, region and
// endpoint from AWS_* variables, HOME an empty directory.
//
// The servers run in this process, so trailpq is always spawned asynchronously.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
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
	for (const key of await listKeys(b, prefix)) {
		const p = path.join(dir, key.slice(prefix.length));
		fs.mkdirSync(path.dirname(p), { recursive: true });
		fs.writeFileSync(p, await getObject(b, key));
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

function checkLake(src, lake) {
	return new Promise((resolve) => {
		const child = spawn(process.execPath, [path.join(HERE, 'check_lake.mjs'), src, lake, '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
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

let mirror; // the local copy of bucket "trails" as it evolves

test('corpus: S3->S3, S3->local and local->S3 conversions match the oracle', { skip: SKIP, timeout: 120000 }, async () => {
	for (const b of ['trails', 'lake', 'lake2']) await mkBucket(b);
	mirror = freshDir('mirror');
	fs.cpSync(CORPUS, mirror, { recursive: true });
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
	const c2 = await checkLake(CORPUS, local);
	assert.equal(c2.code, 0, `S3->local lake vs the oracle:\n${c2.out}`);

	// local -> S3, under a deeper prefix
	const s3 = await convertOk(CORPUS, 's3://lake2/deep/er/');
	assert.equal(s3.files_converted, s.files_converted);
	const lake2 = await download('lake2', 'deep/er/', 'local-s3');
	const c3 = await checkLake(CORPUS, lake2);
	assert.equal(c3.code, 0, `local->S3 lake vs the oracle:\n${c3.out}`);

	// all three hold the same rows
	const want = await lakeContent(local);
	assert.deepEqual(diffContent(want, await lakeContent(lake)), []);
	assert.deepEqual(diffContent(want, await lakeContent(lake2)), []);
	assert.equal(front.stats.rejected, 0, front.stats.reasons.join('\n'));
});
