// bench/s3_latency.mjs: how much a conversion over S3 waits on request latency. Starts s3rver
// on 127.0.0.1 behind the test suite's signature-checking front and fault proxy, uploads a
// bucket (default: ../shared/corpus/dev) in its CloudTrail layout, adds DELAY ms to every
// GET, LIST and GetObject alike (as a distant region would), and times `trailpq convert s3://src/ s3://lake/` twice:
// the first run and a second one with nothing new. Prints wall seconds and requests by method.
// Not a test.
//
//   node bench/s3_latency.mjs TRAILPQ [--delay MS] [--src DIR]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFaultProxy, startS3rver, startVerifyingFront } from '../tests/interop/s3_servers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
	const i = args.indexOf(name);
	if (i < 0) return dflt;
	const v = args[i + 1];
	args.splice(i, 2);
	return v;
};
const delay = Number(opt('--delay', '20'));
const srcDir = opt('--src', path.resolve(here, '..', '..', 'shared', 'corpus', 'dev'));
const [bin] = args;
if (!bin) {
	console.error('usage: node bench/s3_latency.mjs TRAILPQ [--delay MS] [--src DIR]');
	process.exit(2);
}

function walk(dir, rel = '', out = []) {
	for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
		const r = rel ? `${rel}/${e.name}` : e.name;
		if (e.isDirectory()) walk(dir, r, out);
		else out.push(r);
	}
	return out;
}

function direct(port, method, p, body = null) {
	return new Promise((resolve, reject) => {
		const headers = body ? { 'content-length': String(body.length) } : {};
		const r = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent: false }, (res) => {
			res.resume();
			res.on('end', () => resolve(res.statusCode));
		});
		r.on('error', reject);
		r.end(body ?? undefined);
	});
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tpq-s3lat-'));
fs.mkdirSync(path.join(tmp, 's3rver'));
const s3rver = await startS3rver(path.join(tmp, 's3rver'));
const front = await startVerifyingFront(s3rver.port, path.join(tmp, 's3rver'));
const faults = await startFaultProxy(front.port);
try {
	for (const b of ['src', 'lake']) await direct(s3rver.port, 'PUT', `/${b}`);
	const files = walk(srcDir).filter((f) => f.includes('AWSLogs/'));
	for (let i = 0; i < files.length; i += 16)
		await Promise.all(files.slice(i, i + 16).map((f) => direct(s3rver.port, 'PUT',
			`/src/${f.split('/').map(encodeURIComponent).join('/')}`, fs.readFileSync(path.join(srcDir, f)))));
	const env = {
		PATH: process.env.PATH, HOME: tmp, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER',
		AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: `http://127.0.0.1:${faults.port}`, AWS_EC2_METADATA_DISABLED: 'true',
	};
	faults.state.rules = [{ method: 'GET', action: 'delay', delayMs: delay, times: Infinity }];
	console.log(`${files.length} source objects, ${delay} ms added to every GET (LIST and GetObject)`);
	for (const run of ['first run', 'nothing new']) {
		faults.state.seen.length = 0;
		const t0 = Date.now();
		// not spawnSync: the servers run in this process's event loop
		const r = await new Promise((resolve) => {
			const child = spawn(bin, ['convert', '--quiet', 's3://src/', 's3://lake/'], { env });
			let stderr = '';
			child.stderr.on('data', (d) => { stderr += d; });
			child.on('close', (status) => resolve({ status, stderr }));
		});
		const s = (Date.now() - t0) / 1000;
		if (r.status !== 0 && r.status !== 3) throw new Error(`convert exited ${r.status}: ${r.stderr}`);
		const by = {};
		for (const line of faults.state.seen) {
			const m = line.split(' ')[0];
			const kind = m === 'GET' && /[?&]list-type=2/.test(line) ? 'LIST' : m;
			by[kind] = (by[kind] || 0) + 1;
		}
		console.log(`${run.padEnd(12)} ${s.toFixed(2)} s, ${faults.state.seen.length} requests ${JSON.stringify(by)}`);
	}
} finally {
	await faults.close();
	await front.close();
	await s3rver.stop();
	fs.rmSync(tmp, { recursive: true, force: true });
}
