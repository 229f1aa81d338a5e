// The oracle: an independent implementation of trailpq's schema v1 mapping, written from the
// conversion issue (the "schema v1" table, the useridentity struct and the "Rules") and the
// lead's additional rules, sharing no code with the C converter.
//
// Given the raw bytes of one CloudTrail record it produces the expected row in the harness's
// canonical row form (see readers.mjs): strings as JS strings, booleans, eventtime as integer
// milliseconds since the epoch (UTC), structs as objects with all their fields, lists as
// arrays, maps as arrays of [key, value] pairs in source order, NULL as null. JSON-text
// columns and `unmapped` are given as canonical JSON text (json_raw.canonical), which is how
// the harness compares them: a reader's value is parsed and canonicalised before comparing.
//
// Decisions the issue leaves open, made here (the converter must agree):
//   - Repeated keys: the last occurrence gives the value; the key keeps the position of its
//     first occurrence (JavaScript/Python semantics). `unmapped` entries are in depth-first
//     source order of the record with repeated keys so resolved.
//   - eventTime: RFC 3339 exactly as `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`,
//     upper-case T and Z, seconds 00-59 (no leap second), real calendar dates; the fraction is
//     truncated to milliseconds. A parseable string not of the form YYYY-MM-DDTHH:MM:SSZ or
//     YYYY-MM-DDTHH:MM:SS.mmmZ sets the column AND goes to unmapped under /eventTime.
//   - A string holding an unpaired surrogate escape (e.g. "\ud800") has no UTF-8 form: NULL (a
//     NULL map value for a map) and the value goes to unmapped. A map key with one cannot be
//     stored: the entry is left out and its value goes to unmapped under its pointer.
//   - Records with no usable eventID (absent, null or not a string) are never de-duplicated.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { parse, entries, get, canonical, quote, pointerToken, JsonSyntaxError } from './json_raw.mjs';

// ---------------------------------------------------------------------------------------------
// Schema v1. A spec is one of: 'string', 'json', 'bool', 'time', 'map' (map<string,string>),
// { struct: [[jsonKey, column, spec], ...] } or { list: <struct spec> }.
const S = 'string', J = 'json', B = 'bool', T = 'time', M = 'map';
const struct = (fields) => ({ struct: fields });

const SESSION_ISSUER = struct([
	['type', 'type', S], ['principalId', 'principalid', S], ['arn', 'arn', S],
	['accountId', 'accountid', S], ['userName', 'username', S],
]);
const USER_IDENTITY = struct([
	['type', 'type', S], ['principalId', 'principalid', S], ['arn', 'arn', S],
	['accountId', 'accountid', S], ['invokedBy', 'invokedby', S], ['accessKeyId', 'accesskeyid', S],
	['userName', 'username', S], ['credentialId', 'credentialid', S],
	['identityProvider', 'identityprovider', S],
	['onBehalfOf', 'onbehalfof', struct([['userId', 'userid', S], ['identityStoreArn', 'identitystorearn', S]])],
	['inScopeOf', 'inscopeof', struct([
		['sourceArn', 'sourcearn', S], ['sourceAccount', 'sourceaccount', S],
		['issuerType', 'issuertype', S], ['credentialsIssuedTo', 'credentialsissuedto', S]])],
	['invokedByDelegate', 'invokedbydelegate', struct([['accountId', 'accountid', S]])],
	['sessionContext', 'sessioncontext', struct([
		['sessionIssuer', 'sessionissuer', SESSION_ISSUER],
		['webIdFederationData', 'webidfederationdata', struct([
			['federatedProvider', 'federatedprovider', S], ['attributes', 'attributes', M]])],
		['attributes', 'attributes', struct([
			['creationDate', 'creationdate', S], ['mfaAuthenticated', 'mfaauthenticated', S]])],
		['sourceIdentity', 'sourceidentity', S], ['ec2RoleDelivery', 'ec2roledelivery', S],
		['assumedRoot', 'assumedroot', S], ['signInSessionArn', 'signinsessionarn', S],
		['ec2IssuedInVPC', 'ec2issuedinvpc', S]])],
]);

// [jsonKey, column, spec] in column order; `unmapped` (JSON text) follows as the last column.
export const RECORD_FIELDS = [
	['eventVersion', 'eventversion', S],
	['userIdentity', 'useridentity', USER_IDENTITY],
	['eventTime', 'eventtime', T],
	['eventSource', 'eventsource', S],
	['eventName', 'eventname', S],
	['awsRegion', 'awsregion', S],
	['sourceIPAddress', 'sourceipaddress', S],
	['userAgent', 'useragent', S],
	['errorCode', 'errorcode', S],
	['errorMessage', 'errormessage', S],
	['requestParameters', 'requestparameters', J],
	['responseElements', 'responseelements', J],
	['additionalEventData', 'additionaleventdata', J],
	['requestID', 'requestid', S],
	['eventID', 'eventid', S],
	['resources', 'resources', { list: struct([
		['ARN', 'arn', S], ['accountId', 'accountid', S], ['type', 'type', S], ['ARNPrefix', 'arnprefix', S]]) }],
	['eventType', 'eventtype', S],
	['apiVersion', 'apiversion', S],
	['readOnly', 'readonly', B],
	['recipientAccountId', 'recipientaccountid', S],
	['serviceEventDetails', 'serviceeventdetails', J],
	['sharedEventID', 'sharedeventid', S],
	['vpcEndpointId', 'vpcendpointid', S],
	['vpcEndpointAccountId', 'vpcendpointaccountid', S],
	['eventCategory', 'eventcategory', S],
	['addendum', 'addendum', struct([
		['reason', 'reason', S], ['updatedFields', 'updatedfields', S],
		['originalRequestID', 'originalrequestid', S], ['originalEventID', 'originaleventid', S]])],
	['sessionCredentialFromConsole', 'sessioncredentialfromconsole', S],
	['edgeDeviceDetails', 'edgedevicedetails', J],
	['tlsDetails', 'tlsdetails', struct([
		['tlsVersion', 'tlsversion', S], ['cipherSuite', 'ciphersuite', S],
		['clientProvidedHostHeader', 'clientprovidedhostheader', S], ['keyExchange', 'keyexchange', S]])],
	['managementEvent', 'managementevent', B],
	['insightDetails', 'insightdetails', J],
];

// Top-level columns of a data file, in order, with their spec ('json' for unmapped).
export const COLUMNS = [...RECORD_FIELDS.map(([, c, s]) => [c, s]), ['unmapped', J]];
export const COLUMN_NAMES = COLUMNS.map(([c]) => c);
export const JSON_COLUMNS = COLUMNS.filter(([, s]) => s === J).map(([c]) => c);
export const PARTITION_COLUMNS = ['account', 'region', 'year', 'month', 'day'];
export const TABLES = ['cloudtrail', 'cloudtrail_insight', 'cloudtrail_networkactivity'];

// The Parquet schema every data file must have: a tree of
// { name, repetition, type?, converted?, logical?, children? } (root excluded).
export function expectedParquetSchema() {
	const leaf = (name, spec) => {
		if (spec === S || spec === J)
			return { name, repetition: 'OPTIONAL', type: 'BYTE_ARRAY', converted: 'UTF8', logical: 'STRING' };
		if (spec === B) return { name, repetition: 'OPTIONAL', type: 'BOOLEAN' };
		if (spec === T) {
			return { name, repetition: 'OPTIONAL', type: 'INT64', converted: 'TIMESTAMP_MILLIS',
				logical: 'TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS)' };
		}
		if (spec === M) {
			return { name, repetition: 'OPTIONAL', converted: 'MAP', logical: 'MAP', children: [
				{ name: 'key_value', repetition: 'REPEATED', children: [
					{ name: 'key', repetition: 'REQUIRED', type: 'BYTE_ARRAY', converted: 'UTF8', logical: 'STRING' },
					{ ...leaf('value', S) }] }] };
		}
		if (spec.struct) {
			return { name, repetition: 'OPTIONAL',
				children: spec.struct.map(([, c, s]) => leaf(c, s)) };
		}
		if (spec.list) {
			return { name, repetition: 'OPTIONAL', converted: 'LIST', logical: 'LIST', children: [
				{ name: 'list', repetition: 'REPEATED', children: [leaf('element', spec.list)] }] };
		}
		throw new Error(`bad spec ${JSON.stringify(spec)}`);
	};
	return COLUMNS.map(([c, s]) => leaf(c, s));
}

// ---------------------------------------------------------------------------------------------
// eventTime

// RFC 3339 section 5.6: "T" and "Z" may also be lower case.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;
const CANONICAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?Z$/;

// Days since 1970-01-01 of a proleptic Gregorian date (valid for any year).
export function daysFromCivil(y, m, d) {
	y -= m <= 2 ? 1 : 0;
	const era = Math.floor(y / 400);
	const yoe = y - era * 400;
	const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
	const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
	return era * 146097 + doe - 719468;
}

export function civilFromDays(z) {
	z += 719468;
	const era = Math.floor(z / 146097);
	const doe = z - era * 146097;
	const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
	const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
	const mp = Math.floor((5 * doy + 2) / 153);
	const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
	const m = mp + (mp < 10 ? 3 : -9);
	return { y: era * 400 + yoe + (m <= 2 ? 1 : 0), m, d };
}

const daysInMonth = (y, m) => m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28)
	: [4, 6, 9, 11].includes(m) ? 30 : 31;

// Returns { ms, canonical } or null when the string is not a valid RFC 3339 date-time.
export function parseEventTime(s) {
	const m = RFC3339.exec(s);
	if (!m) return null;
	const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number);
	if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) return null;
	let offMin = 0;
	if (m[8] !== 'Z' && m[8] !== 'z') {
		const oh = Number(m[8].slice(1, 3)), om = Number(m[8].slice(4, 6));
		if (oh > 23 || om > 59) return null;
		offMin = (oh * 60 + om) * (m[8][0] === '-' ? -1 : 1);
	}
	const frac = m[7] ? Number((m[7] + '00').slice(0, 3)) : 0;
	const ms = ((daysFromCivil(y, mo, d) * 24 + h) * 60 + mi - offMin) * 60000 + sec * 1000 + frac;
	return { ms, canonical: CANONICAL_TIME.test(s) };
}

// ---------------------------------------------------------------------------------------------
// Record mapping

function mapValue(spec, node, ptr, um) {
	if (node === undefined || node.kind === 'null') return null;
	if (spec === J) return canonical(node);
	if (spec === S) {
		if (node.kind === 'string' && !node.lone) return node.value;
		um.push([ptr, node]);
		return null;
	}
	if (spec === B) {
		if (node.kind === 'boolean') return node.value;
		um.push([ptr, node]);
		return null;
	}
	if (spec === T) {
		const t = node.kind === 'string' && !node.lone ? parseEventTime(node.value) : null;
		if (t === null || !t.canonical) um.push([ptr, node]);
		return t === null ? null : t.ms;
	}
	if (spec === M) {
		if (node.kind !== 'object') {
			um.push([ptr, node]);
			return null;
		}
		const out = [];
		for (const { key, value, member } of entries(node)) {
			const p = ptr + '/' + pointerToken(key);
			if (member.keyLone) {
				um.push([p, value]);
				continue;
			}
			if (value.kind === 'null') {
				out.push([key, null]);
			} else if (value.kind === 'string' && !value.lone) {
				out.push([key, value.value]);
			} else {
				out.push([key, null]);
				um.push([p, value]);
			}
		}
		return out;
	}
	if (spec.struct) {
		if (node.kind !== 'object') {
			um.push([ptr, node]);
			return null;
		}
		return mapStruct(spec.struct, node, ptr, um);
	}
	if (spec.list) {
		if (node.kind !== 'array') {
			um.push([ptr, node]);
			return null;
		}
		return node.items.map((it, k) => {
			if (it.kind === 'null') return null;
			if (it.kind !== 'object') {
				um.push([ptr + '/' + k, it]);
				return null;
			}
			return mapStruct(spec.list.struct, it, ptr + '/' + k, um);
		});
	}
	throw new Error(`bad spec ${JSON.stringify(spec)}`);
}

const fieldIndex = new WeakMap();
function fieldsByKey(fields) {
	let m = fieldIndex.get(fields);
	if (!m) {
		m = new Map(fields.map((f) => [f[0], f]));
		fieldIndex.set(fields, m);
	}
	return m;
}

function mapStruct(fields, obj, ptr, um) {
	const out = {};
	for (const [, col] of fields) out[col] = null;
	const byKey = fieldsByKey(fields);
	for (const { key, value } of entries(obj)) {
		const p = ptr + '/' + pointerToken(key);
		const f = byKey.get(key);
		if (f) out[f[1]] = mapValue(f[2], value, p, um);
		else um.push([p, value]);
	}
	return out;
}

// Maps one parsed record (an object node). Returns { row, unmappedEntries } where row has every
// column of COLUMNS (unmapped as canonical JSON text or null) and unmappedEntries is the list of
// [pointer, canonical value text] in order.
export function mapRecordNode(node) {
	if (!node || node.kind !== 'object') throw new Error('a record must be a JSON object');
	const um = [];
	const row = mapStruct(RECORD_FIELDS, node, '', um);
	const unmappedEntries = um.map(([p, n]) => [p, canonical(n)]);
	row.unmapped = unmappedEntries.length
		? '{' + unmappedEntries.map(([p, c]) => quote(p) + ':' + c).join(',') + '}'
		: null;
	return { row, unmappedEntries };
}

// The expected row of one record given its raw bytes (or text) and where its file was found:
// { account, region, year, month, day } of the object key (the delivery date). The row
// carries the partition values too (year/month/day from eventtime in UTC when usable).
export function oracleRecord(bytes, where = {}) {
	const node = parse(bytes);
	const { row } = mapRecordNode(node);
	return withPartition(row, where);
}

const pad = (v, w) => String(v).padStart(w, '0');

export function withPartition(row, where) {
	row.account = where.account ?? null;
	row.region = where.region ?? null;
	// A UTC date outside years 0001..9999 has no four-digit partition value: such an event
	// goes to its delivery day, like one whose eventTime is unusable.
	const utc = row.eventtime === null ? null : civilFromDays(Math.floor(row.eventtime / 86400000));
	if (utc && utc.y >= 1 && utc.y <= 9999) {
		row.year = pad(utc.y, 4);
		row.month = pad(utc.m, 2);
		row.day = pad(utc.d, 2);
	} else {
		row.year = where.year ?? null;
		row.month = where.month ?? null;
		row.day = where.day ?? null;
	}
	return row;
}

// ---------------------------------------------------------------------------------------------
// Finding and reading CloudTrail objects

const FOLDERS = {
	'CloudTrail': 'cloudtrail',
	'CloudTrail-Insight': 'cloudtrail_insight',
	'CloudTrail-NetworkActivity': 'cloudtrail_networkactivity',
	'CloudTrail-Digest': 'digest',
};
const FILE_NAME = /^(\d{12})_(CloudTrail|CloudTrail-Insight|CloudTrail-NetworkActivity)_([^_]+)_(\d{8}T\d{4,6}Z)_(.+)\.json(\.gz)?$/;

// Classifies an object key (a path relative to the bucket root, '/' separated) by the layout
// `[prefix/]AWSLogs/[o-orgid/]ACCOUNT/<service folder>/REGION/YYYY/MM/DD/<file>`.
// Returns { kind, account, region, year, month, day, gz } where kind is a table name,
// 'digest' or 'other' (Config, unknown folders, names that do not fit the layout or whose
// file-name kind disagrees with the folder).
export function classifyKey(key) {
	const seg = key.split('/').filter((s) => s.length);
	const other = { kind: 'other' };
	for (let a = seg.length - 1; a >= 0; a--) {
		if (seg[a] !== 'AWSLogs') continue;
		let k = a + 1;
		if (seg.length - k === 8 && /^o-[a-z0-9]+$/.test(seg[k])) k++;
		if (seg.length - k !== 7) continue;
		const [account, folder, region, year, month, day, file] = seg.slice(k);
		if (!/^\d{12}$/.test(account) || !/^[a-z0-9-]+$/.test(region)) continue;
		if (!/^\d{4}$/.test(year) || !/^\d{2}$/.test(month) || !/^\d{2}$/.test(day)) continue;
		const kind = FOLDERS[folder];
		if (!kind) return other;
		if (kind === 'digest') return { kind, account, region, year, month, day, folder };
		const f = FILE_NAME.exec(file);
		if (!f || FOLDERS[f[2]] !== kind) return other;
		return { kind, account, region, year, month, day, gz: f[6] === '.gz', folder };
	}
	return other;
}

export class RejectedFile extends Error {
	constructor(message, offset = -1, record = -1) {
		super(message);
		this.name = 'RejectedFile';
		this.offset = offset;
		this.record = record;
	}
}

// Reads one CloudTrail object and parses it. Returns { bytes, records: [node] }; throws
// RejectedFile when the file must be rejected whole (bad gzip, bad UTF-8 or JSON, no
// Records array, a record that is not an object).
export function readCloudTrailFile(file, gz = file.endsWith('.gz')) {
	let bytes = fs.readFileSync(file);
	if (gz) {
		try {
			bytes = zlib.gunzipSync(bytes);
		} catch (e) {
			throw new RejectedFile(`gzip: ${e.message}`);
		}
	}
	let root;
	try {
		root = parse(bytes);
	} catch (e) {
		if (e instanceof JsonSyntaxError) throw new RejectedFile(`JSON: ${e.message}`, e.offset);
		throw e;
	}
	if (root.kind !== 'object') throw new RejectedFile('not a JSON object', root.start);
	const recs = get(root, 'Records');
	if (!recs || recs.kind !== 'array') throw new RejectedFile('no Records array', root.start);
	recs.items.forEach((r, k) => {
		if (r.kind !== 'object') throw new RejectedFile('record is not an object', r.start, k);
	});
	return { bytes, records: recs.items };
}

function walk(dir, rel, out) {
	const names = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
	for (const d of names) {
		const r = rel ? rel + '/' + d.name : d.name;
		if (d.isDirectory()) walk(path.join(dir, d.name), r, out);
		else if (d.isFile()) out.push(r);
	}
	return out;
}

export function listFiles(dir) {
	return walk(dir, '', []);
}

// Everything the lake converted from `srcDir` must hold, computed independently:
// {
//   tables: { <table>: [{ row, file, index }] }   rows after de-duplication
//   counts: { files: {<kind>: n}, records: {<table>: n}, duplicatesMerged: {<table>: n} }
//   rejected: [{ file, message, offset, record }]
//   warnings: [string]
// }
// Dedup: within a table, records with the same eventID (a string) and the same canonical JSON
// content are one row; the first in (sorted path, record index) order is kept.
export function expectedLake(srcDir) {
	const tables = Object.fromEntries(TABLES.map((t) => [t, []]));
	const counts = { files: {}, records: Object.fromEntries(TABLES.map((t) => [t, 0])),
		duplicatesMerged: Object.fromEntries(TABLES.map((t) => [t, 0])) };
	const rejected = [];
	const warnings = [];
	const seen = Object.fromEntries(TABLES.map((t) => [t, new Map()]));
	for (const rel of listFiles(srcDir)) {
		const c = classifyKey(rel);
		counts.files[c.kind] = (counts.files[c.kind] ?? 0) + 1;
		if (!TABLES.includes(c.kind)) continue;
		let parsed;
		try {
			parsed = readCloudTrailFile(path.join(srcDir, rel), c.gz);
		} catch (e) {
			if (!(e instanceof RejectedFile)) throw e;
			rejected.push({ file: rel, message: e.message, offset: e.offset, record: e.record });
			continue;
		}
		parsed.records.forEach((node, index) => {
			counts.records[c.kind]++;
			const { row } = mapRecordNode(node);
			withPartition(row, c);
			if (typeof row.eventid === 'string') {
				const key = row.eventid + '\u0000' + canonical(node);
				const first = seen[c.kind].get(key);
				if (first) {
					counts.duplicatesMerged[c.kind]++;
					const pa = PARTITION_COLUMNS.map((p) => first.row[p]).join('/');
					const pb = PARTITION_COLUMNS.map((p) => row[p]).join('/');
					if (pa !== pb) {
						warnings.push(`duplicate of event ${row.eventid} in ${rel}#${index} would land in ` +
							`${pb}, kept in ${pa} (${first.file}#${first.index})`);
					}
					return;
				}
				const entry = { row, file: rel, index };
				seen[c.kind].set(key, entry);
				tables[c.kind].push(entry);
			} else {
				tables[c.kind].push({ row, file: rel, index });
			}
		});
	}
	return { tables, counts, rejected, warnings };
}
