// Building small CloudTrail buckets on disk for the `trailpq convert` tests (test_convert_cli.mjs,
// test_incremental.mjs): object keys in the layouts CloudTrail delivers, plausible records,
// gzip, and walking a tree. Everything is generated at run time; nothing here touches trailpq.

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

export const ACCT = '111122223333';

// How many keys ctKey made so far (a live binding: it makes every key unique in the process).
export let nameSeq = 0;

export function pad(n, w = 2) {
	return String(n).padStart(w, '0');
}

// The key of a CloudTrail object delivered on day y-m-d. `prefix` goes before AWSLogs,
// `org` (o-...) after it.
export function ctKey({ prefix = '', org = '', account = ACCT, region = 'us-east-1', y = 2024, m = 3, d = 14,
	ext = '.json.gz', folder = 'CloudTrail' } = {}) {
	const id = (++nameSeq).toString(16).padStart(16, '0');
	const stamp = `${y}${pad(m)}${pad(d)}T${pad(nameSeq % 24)}${pad(nameSeq % 60)}Z`;
	const file = `${account}_${folder}_${region}_${stamp}_${id}${ext}`;
	return [prefix, 'AWSLogs', org, account, folder, region, String(y), pad(m), pad(d), file]
		.filter((s) => s).join('/');
}

// A plausible CloudTrail record; `over` replaces or adds keys.
export function rec(eventID, eventTime, over = {}) {
	return {
		eventVersion: '1.09',
		userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: `arn:aws:iam::${ACCT}:user/alice`,
			accountId: ACCT, accessKeyId: 'AKIAEXAMPLE', userName: 'alice' },
		eventTime,
		eventSource: 's3.amazonaws.com',
		eventName: 'GetObject',
		awsRegion: 'us-east-1',
		sourceIPAddress: '192.0.2.10',
		userAgent: 'aws-cli/2.15.0',
		requestParameters: { bucketName: 'b', key: `k/${eventID}` },
		responseElements: null,
		requestID: `REQ${eventID}`,
		eventID,
		readOnly: true,
		resources: [{ ARN: 'arn:aws:s3:::b/k', type: 'AWS::S3::Object' }],
		eventType: 'AwsApiCall',
		managementEvent: false,
		recipientAccountId: ACCT,
		eventCategory: 'Data',
		...over,
	};
}

export function recordsText(records) {
	return JSON.stringify({ Records: records });
}

// Writes root/key (making its folders); returns key.
export function put(root, key, bytes) {
	const p = path.join(root, key);
	fs.mkdirSync(path.dirname(p), { recursive: true });
	fs.writeFileSync(p, bytes);
	return key;
}

export function gz(text) {
	return zlib.gzipSync(Buffer.isBuffer(text) ? text : Buffer.from(text));
}

// Every file under dir (hidden ones too), as sorted '/'-separated relative paths.
export function walk(dir, rel = '', out = []) {
	for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
		const r = rel ? `${rel}/${d.name}` : d.name;
		if (d.isDirectory()) walk(path.join(dir, d.name), r, out);
		else out.push(r);
	}
	return out.sort();
}

// Copies the tree src to dst, leaving out the relative paths in `skip`.
export function copyExcept(src, dst, skip = new Set()) {
	for (const rel of walk(src)) {
		if (skip.has(rel)) continue;
		put(dst, rel, fs.readFileSync(path.join(src, rel)));
	}
}

export function sqlStr(s) {
	return `'${s.replaceAll("'", "''")}'`;
}

// read_parquet()'s argument for every data file of one table of a lake.
export function lakeGlob(lake, table = 'cloudtrail') {
	return sqlStr(`${lake}/${table}/**/*.parquet`);
}
