// The servers of the S3 client tests, all on 127.0.0.1 with ports chosen by the kernel:
//
//   client -> fault proxy -> verifying front -> s3rver
//
// - s3rver (a fake S3 on the file system) runs as a child process, stopped by its pid. It
//   needs Node's legacy OpenSSL provider: its continuation tokens use DES, which OpenSSL 3
//   disables by default (without the flag every second page of a listing is a 500). It does
//   not check SigV4 signatures (allowMismatchedSignatures), and it ignores If-None-Match and
//   If-Match on PUT and on CompleteMultipartUpload: the front emulates them.
// - The verifying front recomputes every request's SigV4 signature with @smithy/signature-v4
//   (from the decoded path, so the path is encoded once by AWS's rules, not taken from the
//   client) and the payload hash, and answers 403 SignatureDoesNotMatch on any difference.
//   It emulates conditional writes: If-None-Match: * gives 412 when the key exists, If-Match
//   gives 412 when the ETag differs (404 when the key is absent); conditional writes through
//   it are serialised, so test-and-write is atomic as on S3. s3rver lacks
//   AbortMultipartUpload too: the front removes the upload's parts from s3rver's directory.
//   And s3rver's ListObjectsV2 with a delimiter misses every common prefix more than one
//   level deep (its directory walk prunes them before seeing an object), so the front answers
//   delimited listings itself from s3rver's full listing under the prefix.
// - The fault proxy applies rules to chosen requests: drop the connection, drop it after the
//   request was carried out upstream, delay, answer a status with an S3 error document,
//   answer a given body, or cut the response body short.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';

const require = createRequire(import.meta.url);

export const SECRETS = { S3RVER: 'S3RVER' };

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

function closeServer(server) {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

function errorXml(code, message) {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>TPQTEST</RequestId></Error>`;
}

function sendXml(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

// Sends one request upstream; resolves with { status, headers, body }. The Host header is
// kept unless rewriteHost: the client signed the one it sent (to the fault proxy).
function upstream(port, method, path, headers, body, rewriteHost = false) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (rewriteHost) h.host = `127.0.0.1:${port}`;
    delete h['transfer-encoding'];
    if (body) h['content-length'] = String(body.length);
    const r = http.request({ host: '127.0.0.1', port, method, path, headers: h, agent: false }, (res) => {
      readBody(res).then((b) => resolve({ status: res.statusCode, headers: res.headers, body: b }), reject);
    });
    r.on('error', reject);
    r.end(body && body.length ? body : undefined);
  });
}

function relay(res, up, method) {
  const headers = { ...up.headers };
  delete headers['transfer-encoding'];
  if (method !== 'HEAD') headers['content-length'] = String(up.body.length);
  res.writeHead(up.status, headers);
  res.end(up.body);
}

/** s3rver in a child process on 127.0.0.1:0 storing under dir. Resolves { port, pid, stop }. */
export function startS3rver(dir) {
  const main = require.resolve('s3rver');
  const script = `
    const S3rver = require(${JSON.stringify(main)});
    new S3rver({ address: '127.0.0.1', port: 0, directory: ${JSON.stringify(dir)}, silent: true,
                 allowMismatchedSignatures: true })
      .run().then((a) => process.stdout.write('PORT ' + a.port + '\\n'),
                  (e) => { console.error(e); process.exit(1); });`;
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('s3rver did not start in 20 s')), 20000);
    child.on('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          port: Number(m[1]),
          pid: child.pid,
          stop: () => new Promise((r) => {
            if (child.exitCode !== null) return r();
            child.removeAllListeners('exit');
            child.once('exit', () => r());
            process.kill(child.pid, 'SIGTERM');
          }),
        });
      }
    });
  });
}

function amzDateToDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null;
}

/** Checks req's SigV4 Authorization; resolves null when valid, else the reason. */
export async function checkSignature(req, body, secrets = SECRETS) {
  const auth = req.headers.authorization || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/(s3)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'malformed Authorization header';
  const [, accessKeyId, day, region, service, signedHeaders, signature] = m;
  const secretAccessKey = secrets[accessKeyId];
  if (!secretAccessKey) return `unknown access key ${accessKeyId}`;
  const amzDate = req.headers['x-amz-date'];
  const date = amzDateToDate(amzDate);
  if (!date || amzDate.slice(0, 8) !== day) return 'x-amz-date missing or not the scope date';
  if (Math.abs(Date.now() - date.getTime()) > 15 * 60 * 1000) return 'x-amz-date too far from now';
  const payload = req.headers['x-amz-content-sha256'];
  if (!payload) return 'x-amz-content-sha256 missing';
  if (payload !== 'UNSIGNED-PAYLOAD' && payload !== crypto.createHash('sha256').update(body).digest('hex'))
    return 'x-amz-content-sha256 is not the hash of the body';
  const names = signedHeaders.split(';');
  for (const must of ['host', 'x-amz-date', 'x-amz-content-sha256'])
    if (!names.includes(must)) return `${must} is not signed`;
  const token = req.headers['x-amz-security-token'];
  if (token !== undefined && !names.includes('x-amz-security-token')) return 'the security token is not signed';
  const headers = {};
  for (const n of names) {
    if (req.headers[n] === undefined) return `signed header ${n} was not sent`;
    headers[n] = req.headers[n];
  }
  const url = new URL(req.url, 'http://placeholder');
  const query = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? [].concat(query[k], v) : v;
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey, sessionToken: token },
    region, service, sha256: Sha256, uriEscapePath: true, applyChecksum: false,
  });
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: '127.0.0.1', path: decodeURIComponent(url.pathname),
      query, headers, body },
    { signingDate: date, signableHeaders: new Set(names) });
  const want = signed.headers.authorization || signed.headers.Authorization;
  const ws = /SignedHeaders=([^,]+), Signature=([0-9a-f]{64})/.exec(want);
  if (!ws) return 'the reference signer produced no signature';
  if (ws[1] !== signedHeaders) return `signed headers differ: ${signedHeaders} vs ${ws[1]}`;
  if (ws[2] !== signature) return 'signature mismatch';
  return null;
}

const xmlEsc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const xmlUnesc = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
  .replace(/&apos;/g, "'").replace(/&amp;/g, '&');

// A delimited ListObjectsV2 answered from s3rver's undelimited listing (see the top). Our
// continuation token is the last key or common prefix a page returned.
async function delimitedList(upstreamPort, req, url) {
  const q = url.searchParams;
  const bucket = url.pathname.split('/')[1];
  const prefix = q.get('prefix') ?? '', delim = q.get('delimiter');
  const encode = q.get('encoding-type') === 'url';
  const enc = (s) => (encode ? encodeURIComponent(s) : s);
  const maxKeys = Math.min(Number(q.get('max-keys') ?? 1000) || 1000, 1000);
  const after = q.get('continuation-token') ?? q.get('start-after') ?? '';
  const headers = { ...req.headers };
  const all = []; // [key, <Contents> element]
  let token = null;
  for (;;) {
    let p = `/${bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`;
    if (token) p += `&continuation-token=${encodeURIComponent(token)}`;
    const up = await upstream(upstreamPort, 'GET', p, headers, null, true);
    if (up.status !== 200) return up;
    const text = up.body.toString();
    for (const m of text.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      const key = xmlUnesc(/<Key>([^<]*)<\/Key>/.exec(m[1])[1]);
      all.push([key, m[1].replace(/<Key>[^<]*<\/Key>/, `<Key>${xmlEsc(enc(key))}</Key>`)]);
    }
    const t = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(text);
    if (!/<IsTruncated>true<\/IsTruncated>/.test(text) || !t) break;
    token = xmlUnesc(t[1]);
  }
  all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out = [];
  let truncated = false;
  for (const [key, xml] of all) {
    if (key <= after || (after.endsWith(delim) && key.startsWith(after))) continue;
    const i = key.indexOf(delim, prefix.length);
    const entry = i >= 0 ? [key.slice(0, i + delim.length), null] : [key, xml];
    if (out.length && out.at(-1)[0] === entry[0]) continue;
    if (out.length === maxKeys) {
      truncated = true;
      break;
    }
    out.push(entry);
  }
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Name>${xmlEsc(bucket)}</Name><Prefix>${xmlEsc(enc(prefix))}</Prefix><Delimiter>${xmlEsc(enc(delim))}</Delimiter>` +
    `<MaxKeys>${maxKeys}</MaxKeys>${encode ? '<EncodingType>url</EncodingType>' : ''}<KeyCount>${out.length}</KeyCount>` +
    `<IsTruncated>${truncated}</IsTruncated>` +
    (truncated ? `<NextContinuationToken>${xmlEsc(out.at(-1)[0])}</NextContinuationToken>` : '') +
    out.filter((e) => e[1]).map((e) => `<Contents>${e[1]}</Contents>`).join('') +
    out.filter((e) => !e[1]).map((e) => `<CommonPrefixes><Prefix>${xmlEsc(enc(e[0]))}</Prefix></CommonPrefixes>`).join('') +
    '</ListBucketResult>';
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: Buffer.from(body) };
}

/** The verifying front before s3rver. Resolves { port, stats, close }. */
export async function startVerifyingFront(upstreamPort, dataDir) {
  const stats = { verified: 0, rejected: 0, reasons: [], conditional412: 0, aborted: 0, requests: [] };
  let lock = Promise.resolve();
  const server = http.createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const reason = await checkSignature(req, body);
      if (reason) {
        stats.rejected++;
        stats.reasons.push(`${req.method} ${req.url}: ${reason}`);
        return sendXml(res, 403, errorXml('SignatureDoesNotMatch', `verifying proxy: ${reason}`));
      }
      stats.verified++;
      stats.requests.push(`${req.method} ${req.url}`);
      const url = new URL(req.url, 'http://placeholder');
      const isPut = req.method === 'PUT' && !url.searchParams.has('partNumber') && url.pathname.split('/').length > 2;
      const isComplete = req.method === 'POST' && url.searchParams.has('uploadId');
      if (req.method === 'DELETE' && url.searchParams.has('uploadId')) {
        // AbortMultipartUpload, which s3rver lacks: drop the upload's parts as S3 does.
        const bucket = url.pathname.split('/')[1];
        const id = url.searchParams.get('uploadId');
        const dir = path.join(dataDir, bucket, '._S3rver_uploads', id);
        if (!/^[0-9a-f]+$/.test(id) || !fs.existsSync(dir))
          return sendXml(res, 404, errorXml('NoSuchUpload', 'The specified upload does not exist.'));
        fs.rmSync(dir, { recursive: true, force: true });
        stats.aborted++;
        res.writeHead(204);
        return res.end();
      }
      const inm = req.headers['if-none-match'], im = req.headers['if-match'];
      if ((isPut || isComplete) && (inm || im)) {
        // Emulated conditional write (s3rver has none): test and write under one lock.
        const run = lock.then(async () => {
          const plain = { ...req.headers };
          delete plain['if-none-match'];
          delete plain['if-match'];
          const head = await upstream(upstreamPort, 'HEAD', url.pathname, plain, null, true);
          if (inm === '*' && head.status === 200) {
            stats.conditional412++;
            return sendXml(res, 412, errorXml('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'));
          }
          if (im && head.status === 404) return sendXml(res, 404, errorXml('NoSuchKey', 'The specified key does not exist.'));
          if (im && head.headers.etag?.replace(/"/g, '') !== im.replace(/"/g, '')) {
            stats.conditional412++;
            return sendXml(res, 412, errorXml('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'));
          }
          relay(res, await upstream(upstreamPort, req.method, req.url, req.headers, body, true), req.method);
        });
        lock = run.catch(() => {});
        return await run;
      }
      if (req.method === 'GET' && /^\/[^/]+\/?$/.test(url.pathname) && url.searchParams.get('delimiter'))
        return relay(res, await delimitedList(upstreamPort, req, url), req.method);
      relay(res, await upstream(upstreamPort, req.method, req.url, req.headers, body, true), req.method);
    } catch (e) {
      res.destroy(e);
    }
  });
  const port = await listen(server);
  return { port, stats, close: () => closeServer(server) };
}

/**
 * The fault proxy. rules: [{ method, path (substring of the decoded path), query (substring
 * of the query string), skip, times, action, status, code, message, body, delayMs }], the
 * first matching rule with times left acts (after letting `skip` matches through).
 * Actions: 'reset', 'forward-then-reset', 'delay', 'status', 'body', 'truncate'.
 */
export async function startFaultProxy(upstreamPort) {
  const state = { rules: [], seen: [] };
  const server = http.createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const url = new URL(req.url, 'http://placeholder');
      const path = decodeURIComponent(url.pathname);
      state.seen.push(`${req.method} ${path}${url.search}`);
      const rule = state.rules.find((r) => r.times > 0 && (!r.method || r.method === req.method) &&
        (!r.path || path.includes(r.path)) && (r.query === undefined || url.search.includes(r.query)));
      let action = null;
      if (rule) {
        if (rule.skip > 0) rule.skip--;
        else {
          rule.times--;
          rule.hits = (rule.hits || 0) + 1;
          action = rule;
        }
      }
      if (!action) return relay(res, await upstream(upstreamPort, req.method, req.url, req.headers, body), req.method);
      switch (action.action) {
        case 'reset':
          return req.socket.destroy();
        case 'forward-then-reset':
          await upstream(upstreamPort, req.method, req.url, req.headers, body);
          return req.socket.destroy();
        case 'delay':
          await new Promise((r) => setTimeout(r, action.delayMs));
          if (req.socket.destroyed) return;
          return relay(res, await upstream(upstreamPort, req.method, req.url, req.headers, body), req.method);
        case 'status':
          return sendXml(res, action.status, errorXml(action.code, action.message || action.code));
        case 'body':
          return sendXml(res, action.status || 200, action.body);
        case 'truncate': {
          const up = await upstream(upstreamPort, req.method, req.url, req.headers, body);
          const headers = { ...up.headers, 'content-length': String(up.body.length) };
          delete headers['transfer-encoding'];
          res.writeHead(up.status, headers);
          res.write(up.body.subarray(0, Math.floor(up.body.length / 2)));
          return setTimeout(() => req.socket.destroy(), 20);
        }
        default:
          throw new Error(`unknown fault action ${action.action}`);
      }
    } catch (e) {
      res.destroy(e);
    }
  });
  const port = await listen(server);
  return { port, state, close: () => closeServer(server) };
}
