// The S3 client, source and store against s3rver, every request through the fault proxy and
// the SigV4-verifying front (tests/interop/s3_servers.mjs), all on 127.0.0.1.
//
//   S3_TOOL=path/to/s3_tool node --test tests/interop/s3_client.mjs
//
// s3_tool (tests/interop/s3_tool.c) is the C side; run_interop.sh builds it. Every test also
// checks that the verifying front rejected nothing it was not meant to.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFaultProxy, startS3rver, startVerifyingFront } from './s3_servers.mjs';

const TOOL = process.env.S3_TOOL;
const B = 'tpq-test';
let s3rver, front, faults, tmp, dataDir;

function tool(args, opts = {}) {
  const base = ['--endpoint', `http://127.0.0.1:${faults.port}`, '--base-delay', '20', '--stats'];
  return new Promise((resolve) => {
    execFile(TOOL, [...base, ...args], { maxBuffer: 64 << 20, timeout: 120000, ...opts }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? -1) : 0, stdout, stderr });
    });
  });
}

async function ok(args) {
  const r = await tool(args);
  assert.equal(r.code, 0, `s3_tool ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

function retries(r) {
  const m = /stats: requests (\d+) attempts (\d+) retries (\d+)/.exec(r.stderr);
  return m ? Number(m[3]) : -1;
}

function file(name, bytes) {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, bytes);
  return p;
}

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

function uploadsLeft() {
  // s3rver keeps multipart uploads in a directory per upload id under the bucket.
  const found = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (e.name.includes('uploads')) for (const u of fs.readdirSync(path.join(d, e.name))) found.push(u);
        else walk(path.join(d, e.name));
      }
    }
  };
  walk(dataDir);
  return found;
}

before(async () => {
  assert.ok(TOOL && fs.existsSync(TOOL), 'S3_TOOL must name the built s3_tool');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tpq-s3-'));
  dataDir = path.join(tmp, 's3rver');
  fs.mkdirSync(dataDir);
  s3rver = await startS3rver(dataDir);
  front = await startVerifyingFront(s3rver.port, dataDir);
  faults = await startFaultProxy(front.port);
  await ok(['mb', B]);
});

after(async () => {
  await faults?.close();
  await front?.close();
  await s3rver?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('signing', () => {
  test('the verifying front rejects a wrong secret with 403 SignatureDoesNotMatch', async () => {
    const before403 = front.stats.rejected;
    const r = await tool(['--secret', 'not-the-secret', 'head', B, 'x']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /HEAD s3:\/\/tpq-test\/x: HTTP 403/);
    assert.equal(front.stats.rejected, before403 + 1);
    const g = await tool(['--secret', 'not-the-secret', 'get', B, 'x', path.join(tmp, 'x')]);
    assert.match(g.stderr, /GET s3:\/\/tpq-test\/x: HTTP 403 SignatureDoesNotMatch: verifying proxy: signature mismatch/);
    assert.doesNotMatch(g.stderr, /not-the-secret/); // no secret in messages
    front.stats.rejected -= 2;
    front.stats.reasons.length = 0;
  });

  test('a session token is sent and signed', async () => {
    const p = file('tok.txt', 'token');
    await ok(['--token', 'FQoGZXIvYXdzEXAMPLE+/=token', 'put', B, 'tok.txt', p]);
    assert.equal(front.stats.rejected, 0, front.stats.reasons.join('\n'));
  });
});

describe('objects', () => {
  const keys = ["dir/a b+c!'()*~.txt", 'unicodé/ü€.json', 'x/y/z=1&q?#[]@.bin', 'plain'];
  test('put, get, head and ranges of awkward keys, all signatures verified', async () => {
    const data = crypto.randomBytes(100000);
    const p = file('obj.bin', data);
    const md5 = crypto.createHash('md5').update(data).digest('hex');
    for (const k of keys) {
      const put = await ok(['put', B, k, p]);
      assert.equal(put.stdout.trim(), `"${md5}"`);
      const out = path.join(tmp, 'got.bin');
      await ok(['get', B, k, out]);
      assert.equal(sha(fs.readFileSync(out)), sha(data));
      const h = await ok(['head', B, k]);
      assert.match(h.stdout, new RegExp(`^100000 "${md5}" \\d+`));
      const rg = await ok(['range', B, k, '1000', '5000', out]);
      assert.equal(rg.stdout.trim(), '5000 100000');
      assert.deepEqual(fs.readFileSync(out), data.subarray(1000, 6000));
      const tail = await ok(['range', B, k, '99990', '100', out]);
      assert.equal(tail.stdout.trim(), '10 100000');
      const past = await ok(['range', B, k, '100000', '10', out]);
      assert.equal(past.stdout.trim().split(' ')[0], '0');
    }
    const ls = await ok(['ls', B]);
    for (const k of keys) assert.ok(ls.stdout.includes(`${k}\t100000\t`), `${k} listed`);
    assert.equal(front.stats.rejected, 0, front.stats.reasons.join('\n'));
  });

  test('absent key and bucket: not found, with method, bucket, key, status and S3 code', async () => {
    const g = await tool(['get', B, 'no/such key', path.join(tmp, 'n')]);
    assert.equal(g.code, 8);
    assert.match(g.stderr, /GET s3:\/\/tpq-test\/no\/such key: HTTP 404 NoSuchKey: The specified key does not exist/);
    const h = await tool(['head', B, 'no/such key']);
    assert.equal(h.code, 8);
    assert.match(h.stderr, /HEAD s3:\/\/tpq-test\/no\/such key: HTTP 404/);
    const nb = await tool(['get', 'no-such-bucket', 'k', path.join(tmp, 'n')]);
    assert.equal(nb.code, 8);
    assert.match(nb.stderr, /HTTP 404 NoSuchBucket/);
    assert.equal(retries(g), 0);
  });

  test('conditional put: If-None-Match creates once, then EEXIST; If-Match replaces only its version', async () => {
    const a = file('a.txt', 'first'), b = file('b.txt', 'second');
    const first = await ok(['put', B, 'cond/k', a, '--if-none-match']);
    const again = await tool(['put', B, 'cond/k', b, '--if-none-match']);
    assert.equal(again.code, 11, again.stderr + again.stdout);
    assert.match(again.stderr, /PUT s3:\/\/tpq-test\/cond\/k: HTTP 412 PreconditionFailed/);
    const wrong = await tool(['put', B, 'cond/k', b, '--if-match', '"0123456789abcdef0123456789abcdef"']);
    assert.equal(wrong.code, 11);
    await ok(['put', B, 'cond/k', b, '--if-match', first.stdout.trim()]);
    const got = path.join(tmp, 'c.txt');
    await ok(['get', B, 'cond/k', got]);
    assert.equal(fs.readFileSync(got, 'utf8'), 'second');
  });

  test('DeleteObject of present and absent keys', async () => {
    await ok(['rm', B, 'plain']);
    await ok(['rm', B, 'plain']);
    assert.equal((await tool(['head', B, 'plain'])).code, 8);
  });
});

describe('listing and DeleteObjects', () => {
  test('2,500 keys in pages of 100, start-after, delimiter; then DeleteObjects in 3 batches', async () => {
    await ok(['putmany', B, 'many/k', '2500']);
    const seen = faults.state.seen.length;
    const ls = await ok(['ls', B, '--prefix', 'many/', '--max-keys', '100']);
    const lines = ls.stdout.trim().split('\n');
    assert.equal(lines.length, 2500);
    const names = lines.map((l) => l.split('\t')[0]);
    assert.deepEqual(names, [...names].sort());
    assert.equal(names[0], 'many/k000000');
    assert.equal(names[2499], 'many/k002499');
    assert.equal(new Set(names).size, 2500);
    const pages = faults.state.seen.slice(seen).filter((s) => s.startsWith('GET') && s.includes('list-type=2'));
    assert.equal(pages.length, 25);
    assert.ok(pages.slice(1).every((p) => p.includes('continuation-token=')));

    const after = await ok(['ls', B, '--prefix', 'many/', '--max-keys', '300', '--start-after', 'many/k002000']);
    const al = after.stdout.trim().split('\n');
    assert.equal(al.length, 499);
    assert.equal(al[0].split('\t')[0], 'many/k002001');

    await ok(['putmany', B, 'tree/a/', '3']);
    await ok(['putmany', B, 'tree/b/', '2']);
    await ok(['putmany', B, 'tree/top', '2']);
    const d = await ok(['ls', B, '--prefix', 'tree/', '--delim', '/']);
    assert.deepEqual(d.stdout.trim().split('\n').map((l) => l.split('\t').slice(0, 2).join(' ')),
      ['PRE tree/a/', 'PRE tree/b/', 'tree/top000000 14', 'tree/top000001 14']);

    const seenDel = faults.state.seen.length;
    const del = await ok(['rmmany', B, 'many/k', '2500']);
    assert.equal(del.stdout.trim(), 'failed 0');
    assert.match(del.stderr, /stats: requests 3 /); // 1,000 + 1,000 + 500 keys
    const batches = faults.state.seen.slice(seenDel).filter((s) => s.startsWith('POST') && s.includes('?delete'));
    assert.ok(batches.length >= 3, batches.join('\n'));
    const empty = await ok(['ls', B, '--prefix', 'many/']);
    assert.equal(empty.stdout, '');
    assert.equal(front.stats.rejected, 0, front.stats.reasons.join('\n'));
  });

  test('DeleteObjects reports per-key errors by key, Code and Message', async () => {
    faults.state.rules = [{ method: 'POST', query: 'delete', times: 1, action: 'body',
      body: '<?xml version="1.0" encoding="UTF-8"?><DeleteResult><Deleted><Key>a</Key></Deleted>' +
        '<Error><Key>locked/b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>' }];
    const r = await tool(['rmkeys', B, 'a', 'locked/b']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout.trim(), 'failed 1');
    assert.match(r.stderr, /1 of 2 keys not deleted; first: locked\/b: AccessDenied: Access Denied/);
  });
});

describe('multipart', () => {
  const big = crypto.randomBytes(20 << 20);
  test('a 20 MiB object in 8 MiB parts comes back identical', async () => {
    const p = file('big.bin', big);
    const r = await ok(['--part-size', String(8 << 20), 'mpu', B, 'big/20m', p]);
    assert.match(r.stdout, / 3\n$/); // 8 + 8 + 4 MiB
    const out = path.join(tmp, 'big.out');
    await ok(['get', B, 'big/20m', out]);
    assert.equal(sha(fs.readFileSync(out)), sha(big));
    assert.deepEqual(uploadsLeft(), []);
  });

  test('abandoning an upload aborts it: nothing half-uploaded remains', async () => {
    const p = file('big.bin', big);
    const seen = faults.state.seen.length;
    const r = await ok(['--part-size', String(8 << 20), 'mpu', B, 'big/abandoned', p, '--abort-after', '1']);
    assert.match(r.stdout, /abandoned after 1 parts/);
    assert.ok(faults.state.seen.slice(seen).some((s) => s.startsWith('DELETE') && s.includes('uploadId=')));
    assert.equal((await tool(['head', B, 'big/abandoned'])).code, 8);
    assert.deepEqual(uploadsLeft(), []);
  });

  test('a part that keeps failing aborts the upload with a clear error', async () => {
    faults.state.rules = [{ method: 'PUT', query: 'partNumber=2', times: 100, action: 'status', status: 500,
      code: 'InternalError', message: 'We encountered an internal error. Please try again.' }];
    const p = file('big.bin', big);
    const r = await tool(['--attempts', '3', '--part-size', String(8 << 20), 'mpu', B, 'big/failing', p]);
    faults.state.rules = [];
    assert.equal(r.code, 3);
    assert.match(r.stderr, /PUT s3:\/\/tpq-test\/big\/failing: HTTP 500 InternalError: We encountered an internal error. Please try again. \(request id none, 3 attempts\)/);
    assert.equal((await tool(['head', B, 'big/failing'])).code, 8);
    assert.deepEqual(uploadsLeft(), []);
  });

  test('a 200 carrying an <Error> to CompleteMultipartUpload is retried', async () => {
    faults.state.rules = [{ method: 'POST', query: 'uploadId=', times: 1, action: 'body',
      body: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>' }];
    const p = file('big.bin', big.subarray(0, 9 << 20));
    const r = await ok(['--part-size', String(8 << 20), 'mpu', B, 'big/err200', p]);
    assert.equal(faults.state.rules[0].hits, 1);
    assert.ok(retries(r) >= 1);
    const out = path.join(tmp, 'e.out');
    await ok(['get', B, 'big/err200', out]);
    assert.equal(sha(fs.readFileSync(out)), sha(big.subarray(0, 9 << 20)));
  });
});

describe('faults and retries', () => {
  const data = crypto.randomBytes(300000);
  let p;
  before(async () => {
    p = file('f.bin', data);
    await ok(['put', B, 'faults/obj', p]);
  });

  const recovers = [
    ['a dropped connection', { action: 'reset' }],
    ['a body cut short of its Content-Length', { action: 'truncate' }],
    ['503 SlowDown twice', { action: 'status', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.', times: 2 }],
    ['500 InternalError', { action: 'status', status: 500, code: 'InternalError' }],
    ['400 RequestTimeout', { action: 'status', status: 400, code: 'RequestTimeout' }],
    ['403 RequestTimeTooSkewed', { action: 'status', status: 403, code: 'RequestTimeTooSkewed' }],
    ['a 3 s stall (attempt timeout 1 s)', { action: 'delay', delayMs: 3000 }, ['--attempt-timeout', '1000']],
  ];
  for (const [name, rule, extra = []] of recovers) {
    test(`GET recovers from ${name}`, async () => {
      faults.state.rules = [{ method: 'GET', path: 'faults/obj', times: 1, ...rule }];
      const out = path.join(tmp, 'f.out');
      const r = await ok([...extra, 'get', B, 'faults/obj', out]);
      assert.equal(faults.state.rules[0].hits, rule.times || 1);
      assert.equal(retries(r), rule.times || 1, r.stderr);
      assert.equal(sha(fs.readFileSync(out)), sha(data));
      faults.state.rules = [];
    });
  }

  test('PUT recovers from 503 SlowDown and from a dropped connection', async () => {
    faults.state.rules = [{ method: 'PUT', path: 'faults/put', times: 1, action: 'status', status: 503, code: 'SlowDown' },
      { method: 'PUT', path: 'faults/put', times: 1, action: 'reset' }];
    const r = await ok(['put', B, 'faults/put', p]);
    // The reset hits a reused keep-alive connection, which libcurl itself may resend on a new
    // one without telling us: at least one retry of ours, and both faults were met.
    assert.ok(retries(r) >= 1, r.stderr);
    assert.deepEqual(faults.state.rules.map((x) => x.hits), [1, 1]);
    faults.state.rules = [];
  });

  test('a conditional PUT whose first attempt landed but whose answer was lost is a success, not EEXIST', async () => {
    faults.state.rules = [{ method: 'PUT', path: 'faults/cond', times: 1, action: 'forward-then-reset' }];
    const r = await ok(['put', B, 'faults/cond', p, '--if-none-match']);
    assert.equal(retries(r), 1, r.stderr);
    assert.equal(front.stats.conditional412 > 0, true); // the retry did meet its own object
    faults.state.rules = [];
    // ... while a real competitor still gets EEXIST.
    const other = file('other.bin', 'other');
    const again = await tool(['put', B, 'faults/cond', other, '--if-none-match']);
    assert.equal(again.code, 11);
  });

  test('a conditional PUT that lost its race after a dropped attempt stays EEXIST', async () => {
    const theirs = file('theirs.bin', 'theirs');
    await ok(['put', B, 'faults/race', theirs]);
    faults.state.rules = [{ method: 'PUT', path: 'faults/race', times: 1, action: 'reset' }];
    const r = await tool(['put', B, 'faults/race', p, '--if-none-match']);
    faults.state.rules = [];
    assert.equal(r.code, 11, r.stderr);
    assert.match(r.stderr, /HTTP 412 PreconditionFailed.*an earlier attempt may have been ours, but the object's ETag is not ours/);
  });

  test('permanent 503 SlowDown gives up with method, bucket, key, status, code and attempts', async () => {
    faults.state.rules = [{ method: 'GET', path: 'faults/obj', times: 100, action: 'status', status: 503,
      code: 'SlowDown', message: 'Please reduce your request rate.' }];
    const r = await tool(['--attempts', '4', 'get', B, 'faults/obj', path.join(tmp, 'x')]);
    faults.state.rules = [];
    assert.equal(r.code, 3);
    assert.match(r.stderr, /GET s3:\/\/tpq-test\/faults\/obj: HTTP 503 SlowDown: Please reduce your request rate. \(request id none, 4 attempts\)/);
    assert.equal(retries(r), 3);
  });

  test('permanently dropped connections give up with a clear error', async () => {
    faults.state.rules = [{ method: 'GET', path: 'faults/obj', times: 100, action: 'reset' }];
    const r = await tool(['--attempts', '3', 'get', B, 'faults/obj', path.join(tmp, 'x')]);
    faults.state.rules = [];
    assert.equal(r.code, 3);
    assert.match(r.stderr, /GET s3:\/\/tpq-test\/faults\/obj: .*\(gave up after 3 attempts\)/);
  });

  test('a 404 is not retried', async () => {
    const r = await tool(['get', B, 'faults/absent', path.join(tmp, 'x')]);
    assert.equal(r.code, 8);
    assert.equal(retries(r), 0);
  });
});

describe('store and source vtables', () => {
  const url = `s3://${B}/lake/`;
  test('store sink: small object is one PutObject, 20 MiB is a multipart upload, free without close aborts', async () => {
    const small = crypto.randomBytes(1 << 20), big = crypto.randomBytes(20 << 20);
    let seen = faults.state.seen.length;
    await ok(['sink', url, 'small.parquet', file('s.bin', small), '--chunk', '65536']);
    assert.ok(!faults.state.seen.slice(seen).some((s) => s.includes('uploads')));
    seen = faults.state.seen.length;
    const w = await ok(['--part-size', String(8 << 20), 'sink', url, 'dt=2024-01-01/big.parquet', file('b.bin', big), '--chunk', '1000000']);
    assert.match(w.stdout, /wrote 20971520/);
    const ops = faults.state.seen.slice(seen);
    assert.equal(ops.filter((s) => s.startsWith('POST') && s.includes('?uploads')).length, 1);
    assert.equal(ops.filter((s) => s.startsWith('PUT') && s.includes('partNumber=')).length, 3);
    const out = path.join(tmp, 'sg.bin');
    await ok(['sget', url, 'dt=2024-01-01/big.parquet', out]);
    assert.equal(sha(fs.readFileSync(out)), sha(big));
    await ok(['sget', url, 'small.parquet', out]);
    assert.equal(sha(fs.readFileSync(out)), sha(small));

    await ok(['--part-size', String(8 << 20), 'sink', url, 'dt=2024-01-01/unclosed.parquet', file('b.bin', big), '--no-close']);
    assert.equal((await tool(['sget', url, 'dt=2024-01-01/unclosed.parquet', out])).code, 8);
    assert.deepEqual(uploadsLeft(), []);
  });

  test('store put if absent, list with delimiter and start-after, relative keys', async () => {
    const f = file('st.txt', 'run 1'), g = file('st2.txt', 'run 2');
    await ok(['sput', url, '_state/lock', f, '--if-absent']);
    const again = await tool(['sput', url, '_state/lock', g, '--if-absent']);
    assert.equal(again.code, 11);
    assert.match(again.stderr, /PUT s3:\/\/tpq-test\/lake\/_state\/lock: HTTP 412 PreconditionFailed/);
    // The very same bytes already there count as our own write (s3.h's rule for retries).
    await ok(['sput', url, '_state/lock', f, '--if-absent']);
    const top = await ok(['sls', url, '', '--delim']);
    assert.deepEqual(top.stdout.trim().split('\n'), ['_state/\t0', 'dt=2024-01-01/\t0', 'small.parquet\t1048576']);
    const sa = await ok(['sls', url, '', '--start-after', 'dt=2024-01-01/big.parquet']);
    assert.deepEqual(sa.stdout.trim().split('\n'), ['small.parquet\t1048576']);
    assert.equal((await tool(['sget', url, 'nope', path.join(tmp, 'n')])).code, 8);
  });

  test('source: list and read in order with and without read-ahead', async () => {
    await ok(['putmany', B, 'src/AWSLogs/k', '40']);
    const ls = await ok(['srcls', `s3://${B}/src/`, 'AWSLogs/']);
    assert.equal(ls.stdout.trim().split('\n').length, 40);
    assert.match(ls.stdout, /^AWSLogs\/k000000\t19\n/);
    for (const pf of ['0', '4']) {
      const r = await ok(['srcreadall', `s3://${B}/src/`, 'AWSLogs/', '--prefetch', pf]);
      assert.equal(r.stdout.trim(), 'read 40 objects, 0 wrong');
    }
    assert.equal(front.stats.rejected, 0, front.stats.reasons.join('\n'));
  });
});
