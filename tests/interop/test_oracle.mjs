// Unit tests of the JSON parser (json_raw.mjs) and of the oracle (oracle.mjs): one test per
// rule of schema v1 on hand-written records, then the whole dev corpus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import {
	parse, parseText, canonical, canonicalText, entries, quote, pointerToken, sourceText, JsonSyntaxError,
} from './json_raw.mjs';
import {
	oracleRecord, mapRecordNode, parseEventTime, classifyKey, readCloudTrailFile, expectedLake,
	RejectedFile, COLUMN_NAMES, TABLES, expectedParquetSchema,
} from './oracle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CORPUS = path.resolve(here, '../../../shared/corpus/dev');

const WHERE = { account: '123456789012', region: 'us-east-1', year: '2020', month: '01', day: '02' };
const row = (text) => oracleRecord(text, WHERE);
// unmapped as [pointer, canonical value] pairs in order (parsed, not compared byte for byte).
const um = (r) => (r.unmapped === null ? null : entries(parseText(r.unmapped)).map((e) => [e.key, canonical(e.value)]));
const T0 = Date.UTC(2024, 2, 13, 8, 38, 0);
const nullIdentity = () => ({
	type: null, principalid: null, arn: null, accountid: null, invokedby: null, accesskeyid: null,
	username: null, credentialid: null, identityprovider: null, onbehalfof: null, inscopeof: null,
	invokedbydelegate: null, sessioncontext: null,
});

// ------------------------------------------------------------------------------------------
// json_raw

test('json_raw: canonical form is compact, keeps key order, raw numbers and re-escapes strings', () => {
	assert.equal(canonicalText(' { "b" : [ 1 , 2.50 , -0e+10 ] , "a" : { } , "c" : [ ] , "d" : null , "e" : true } '),
		'{"b":[1,2.50,-0e+10],"a":{},"c":[],"d":null,"e":true}');
	assert.equal(canonicalText('"\\u0041\\/\\n\\u001f\\u007f\\u00e9\\ud83d\\ude00\\u2028"'), '"A/\\n\\u001f\u007fé😀\u2028"');
	assert.equal(canonicalText('"\\b\\f\\r\\t\\"\\\\"'), '"\\b\\f\\r\\t\\"\\\\"');
	assert.equal(canonicalText('9007199254740993'), '9007199254740993');
	assert.equal(canonicalText('1E400'), '1E400');
	assert.equal(quote('\ud800x\udc00'), '"\\ud800x\\udc00"');
});

test('json_raw: repeated keys resolve last value at first position, and are remembered', () => {
	const n = parseText('{"x":1,"y":2,"x":{"z":3},"w":4}');
	assert.equal(n.duplicates, true);
	assert.equal(n.members.length, 4);
	assert.deepEqual(entries(n).map((e) => e.key), ['x', 'y', 'w']);
	assert.equal(canonical(n), '{"x":{"z":3},"y":2,"w":4}');
	assert.equal(parseText('{"x":1}').duplicates, false);
});

test('json_raw: strings keep decoded value and raw span; every value knows its byte span', () => {
	const src = Buffer.from('{"k\\u00e9":"caf\\u00e9 ü","n":[10,{"m":-1.5e3}]}');
	const n = parse(src);
	const [k, nn] = n.members;
	assert.equal(k.key, 'ké');
	assert.equal(k.keyRaw, '"k\\u00e9"');
	assert.equal(k.value.value, 'café ü');
	assert.equal(k.value.raw, '"caf\\u00e9 ü"');
	assert.equal(sourceText(src, k.value), '"caf\\u00e9 ü"');
	assert.equal(k.value.end - k.value.start, Buffer.byteLength('"caf\\u00e9 ü"'));
	assert.equal(sourceText(src, nn.value), '[10,{"m":-1.5e3}]');
	assert.equal(sourceText(src, nn.value.items[1].members[0].value), '-1.5e3');
	assert.equal(n.start, 0);
	assert.equal(n.end, src.length);
});

test('json_raw: lone surrogate escapes are kept and flagged; pairs are joined', () => {
	const a = parseText('"\\ud800"');
	assert.equal(a.lone, true);
	assert.equal(a.value, '\ud800');
	assert.equal(parseText('"\\ud83d\\ude00"').lone, false);
	assert.equal(parseText('"\\ud83d\\ude00"').value, '😀');
	assert.equal(parseText('"\\udc00\\ud800"').lone, true);
	assert.equal(parseText('"\\ud800\\u0041"').value, '\ud800A');
});

test('json_raw: rejects what RFC 8259 does not allow, with the byte offset', () => {
	const bad = ['', ' ', '{', '[1,]', '{"a":1,}', '{,}', "{'a':1}", '{"a" 1}', '01', '1.', '.5', '+1', '-', '1e',
		'"\\x"', '"\\u12"', '"a\tb"', 'tru', 'nul', 'NaN', 'Infinity', '[1] x', '{"a":1}{}', '"abc', '[1 2]', '{"a":1 "b":2}'];
	for (const s of bad) assert.throws(() => parseText(s), JsonSyntaxError, JSON.stringify(s));
	assert.throws(() => parse(Buffer.from([0x22, 0xc3, 0x28, 0x22])), /invalid UTF-8 at byte 1/);
	assert.throws(() => parse(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])), /invalid UTF-8/);
	assert.throws(() => parse(Buffer.from([0xef, 0xbb, 0xbf, 0x31])), /byte order mark/);
	assert.throws(() => parseText('[1,]'), (e) => e.offset === 3);
});

test('json_raw: deep nesting does not overflow the stack', () => {
	const deep = '['.repeat(20000) + '{"a":"b"}' + ']'.repeat(20000);
	assert.equal(canonicalText(deep), deep);
	assert.throws(() => parseText('['.repeat(50), { maxDepth: 10 }), /nesting too deep/);
});

test('json_raw: pointer tokens escape ~ and / as ~0 and ~1', () => {
	assert.equal(pointerToken('a/b'), 'a~1b');
	assert.equal(pointerToken('m~n'), 'm~0n');
	assert.equal(pointerToken('~/'), '~0~1');
	assert.equal(pointerToken('~1'), '~01');
});

// ------------------------------------------------------------------------------------------
// oracle: the rules

test('rule: the column list is schema v1 with unmapped last', () => {
	assert.equal(COLUMN_NAMES.length, 32);
	assert.equal(COLUMN_NAMES[0], 'eventversion');
	assert.equal(COLUMN_NAMES[31], 'unmapped');
	const ts = expectedParquetSchema().find((c) => c.name === 'eventtime');
	assert.equal(ts.logical, 'TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS)');
	assert.equal(ts.converted, 'TIMESTAMP_MILLIS');
});

test('rule: absent and null give NULL; {} gives a struct of NULLs; [] an empty list', () => {
	const empty = row('{}');
	for (const c of COLUMN_NAMES) assert.equal(empty[c], null, c);
	const nulls = row('{"eventName":null,"userIdentity":null,"resources":null,"tlsDetails":null,"readOnly":null,' +
		'"requestParameters":null,"eventTime":null,"addendum":null}');
	for (const c of COLUMN_NAMES) assert.equal(nulls[c], null, c);
	assert.equal(nulls.unmapped, null);
	const r = row('{"userIdentity":{},"resources":[],"tlsDetails":{},"addendum":{},"requestParameters":{},"responseElements":[]}');
	assert.deepEqual(r.useridentity, nullIdentity());
	assert.deepEqual(r.resources, []);
	assert.deepEqual(r.tlsdetails, { tlsversion: null, ciphersuite: null, clientprovidedhostheader: null, keyexchange: null });
	assert.deepEqual(r.addendum, { reason: null, updatedfields: null, originalrequestid: null, originaleventid: null });
	assert.equal(r.requestparameters, '{}');
	assert.equal(r.responseelements, '[]');
	assert.equal(r.unmapped, null);
	const sc = row('{"userIdentity":{"sessionContext":{"webIdFederationData":{},"sessionIssuer":null}}}');
	assert.deepEqual(sc.useridentity.sessioncontext, {
		sessionissuer: null, webidfederationdata: { federatedprovider: null, attributes: null }, attributes: null,
		sourceidentity: null, ec2roledelivery: null, assumedroot: null, signinsessionarn: null, ec2issuedinvpc: null,
	});
});

test('rule: every mapped field lands in its column', () => {
	const r = row(`{"eventVersion":"1.11","userIdentity":{"type":"AssumedRole","principalId":"P","arn":"A","accountId":"1",
		"invokedBy":"I","accessKeyId":"K","userName":"U","credentialId":"C","identityProvider":"IP",
		"onBehalfOf":{"userId":"u","identityStoreArn":"s"},
		"inScopeOf":{"sourceArn":"sa","sourceAccount":"sc","issuerType":"it","credentialsIssuedTo":"ci"},
		"invokedByDelegate":{"accountId":"d"},
		"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"p2","arn":"a2","accountId":"2","userName":"n2"},
		"webIdFederationData":{"federatedProvider":"fp","attributes":{"k":"v"}},
		"attributes":{"creationDate":"cd","mfaAuthenticated":"false"},"sourceIdentity":"si","ec2RoleDelivery":"2.0",
		"assumedRoot":"true","signInSessionArn":"ssa","ec2IssuedInVPC":"vpc"}},
		"eventTime":"2024-03-13T08:38:00Z","eventSource":"es","eventName":"en","awsRegion":"ar","sourceIPAddress":"ip",
		"userAgent":"ua","errorCode":"ec","errorMessage":"em","requestParameters":{"a":1},"responseElements":"r",
		"additionalEventData":[1],"requestID":"rid","eventID":"eid",
		"resources":[{"ARN":"arn1","accountId":"acc","type":"t","ARNPrefix":"ap"}],"eventType":"et","apiVersion":"av",
		"readOnly":true,"recipientAccountId":"ra","serviceEventDetails":{"s":true},"sharedEventID":"sh",
		"vpcEndpointId":"ve","vpcEndpointAccountId":"vea","eventCategory":"Management",
		"addendum":{"reason":"r","updatedFields":"uf","originalRequestID":"orq","originalEventID":"oe"},
		"sessionCredentialFromConsole":"true","edgeDeviceDetails":{"e":1},
		"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"cs","clientProvidedHostHeader":"h","keyExchange":"x25519"},
		"managementEvent":false,"insightDetails":{"i":null}}`);
	assert.equal(r.unmapped, null);
	assert.equal(r.eventversion, '1.11');
	assert.deepEqual(r.useridentity.onbehalfof, { userid: 'u', identitystorearn: 's' });
	assert.deepEqual(r.useridentity.inscopeof, { sourcearn: 'sa', sourceaccount: 'sc', issuertype: 'it', credentialsissuedto: 'ci' });
	assert.deepEqual(r.useridentity.invokedbydelegate, { accountid: 'd' });
	assert.deepEqual(r.useridentity.sessioncontext.sessionissuer, { type: 'Role', principalid: 'p2', arn: 'a2', accountid: '2', username: 'n2' });
	assert.deepEqual(r.useridentity.sessioncontext.webidfederationdata, { federatedprovider: 'fp', attributes: [['k', 'v']] });
	assert.equal(r.useridentity.sessioncontext.ec2issuedinvpc, 'vpc');
	assert.equal(r.useridentity.identityprovider, 'IP');
	assert.equal(r.eventtime, T0);
	assert.deepEqual(r.resources, [{ arn: 'arn1', accountid: 'acc', type: 't', arnprefix: 'ap' }]);
	assert.equal(r.readonly, true);
	assert.equal(r.managementevent, false);
	assert.equal(r.responseelements, '"r"');
	assert.equal(r.additionaleventdata, '[1]');
	assert.equal(r.serviceeventdetails, '{"s":true}');
	assert.equal(r.edgedevicedetails, '{"e":1}');
	assert.equal(r.insightdetails, '{"i":null}');
	assert.deepEqual(r.tlsdetails, { tlsversion: 'TLSv1.3', ciphersuite: 'cs', clientprovidedhostheader: 'h', keyexchange: 'x25519' });
	assert.deepEqual(r.addendum, { reason: 'r', updatedfields: 'uf', originalrequestid: 'orq', originaleventid: 'oe' });
	assert.deepEqual([r.account, r.region, r.year, r.month, r.day], ['123456789012', 'us-east-1', '2024', '03', '13']);
});

test('rule: a value whose JSON type does not fit its column is NULL and goes to unmapped', () => {
	const r = row('{"eventName":5,"readOnly":"true","managementEvent":1,"userIdentity":"root","tlsDetails":[],' +
		'"resources":{"ARN":"a"},"addendum":{"reason":false},"eventSource":["s"],"awsRegion":{"r":1},"eventTime":1710319080}');
	assert.equal(r.eventname, null);
	assert.equal(r.readonly, null);
	assert.equal(r.managementevent, null);
	assert.equal(r.useridentity, null);
	assert.equal(r.tlsdetails, null);
	assert.equal(r.resources, null);
	assert.deepEqual(r.addendum, { reason: null, updatedfields: null, originalrequestid: null, originaleventid: null });
	assert.equal(r.eventtime, null);
	assert.deepEqual(um(r), [['/eventName', '5'], ['/readOnly', '"true"'], ['/managementEvent', '1'],
		['/userIdentity', '"root"'], ['/tlsDetails', '[]'], ['/resources', '{"ARN":"a"}'], ['/addendum/reason', 'false'],
		['/eventSource', '["s"]'], ['/awsRegion', '{"r":1}'], ['/eventTime', '1710319080']]);
	const s = row('{"userIdentity":{"sessionContext":{"attributes":[],"sessionIssuer":"x","sourceIdentity":7}}}');
	assert.deepEqual(um(s), [['/userIdentity/sessionContext/attributes', '[]'],
		['/userIdentity/sessionContext/sessionIssuer', '"x"'], ['/userIdentity/sessionContext/sourceIdentity', '7']]);
});

test('rule: JSON-text columns take any JSON type but null, as the source text', () => {
	const r = row('{"requestParameters":"x","responseElements":5,"additionalEventData":true,"serviceEventDetails":false,' +
		'"edgeDeviceDetails":[null],"insightDetails":-0.0}');
	assert.equal(r.requestparameters, '"x"');
	assert.equal(r.responseelements, '5');
	assert.equal(r.additionaleventdata, 'true');
	assert.equal(r.serviceeventdetails, 'false');
	assert.equal(r.edgedevicedetails, '[null]');
	assert.equal(r.insightdetails, '-0.0');
	assert.equal(r.unmapped, null);
	// Verbatim source text canonicalises to the same as the source value.
	const src = '{"requestParameters": { "b" : 1.10, "a" : "\\u00e9", "b" : [ ] } }';
	const n = parseText(src);
	const verbatim = sourceText(Buffer.from(src), n.members[0].value);
	assert.equal(canonicalText(verbatim), row(src).requestparameters);
	assert.equal(row(src).requestparameters, '{"b":[],"a":"é"}');
});

test('rule: unknown keys at the top level and nested go to unmapped in source order', () => {
	const r = row('{"new1":1,"userIdentity":{"type":"T","extra":{"a":[1,2]},"sessionContext":{"x":null,' +
		'"sessionIssuer":{"y":"z"},"webIdFederationData":{"w":{}}}},"eventName":"e",' +
		'"resources":[{"ARN":"a","q":true},{"arn":"lower"}],"tlsDetails":{"tlsversion":"v"},"addendum":{"n":0},"new2":[]}');
	assert.deepEqual(um(r), [
		['/new1', '1'],
		['/userIdentity/extra', '{"a":[1,2]}'],
		['/userIdentity/sessionContext/x', 'null'],
		['/userIdentity/sessionContext/sessionIssuer/y', '"z"'],
		['/userIdentity/sessionContext/webIdFederationData/w', '{}'],
		['/resources/0/q', 'true'],
		['/resources/1/arn', '"lower"'],
		['/tlsDetails/tlsversion', '"v"'],
		['/addendum/n', '0'],
		['/new2', '[]'],
	]);
	assert.deepEqual(r.resources, [{ arn: 'a', accountid: null, type: null, arnprefix: null },
		{ arn: null, accountid: null, type: null, arnprefix: null }]);
	assert.equal(r.eventname, 'e');
	assert.deepEqual(row('{"Records":[]}').unmapped, '{"/Records":[]}');
});

test('rule: pointers escape ~ and / in keys (RFC 6901)', () => {
	const r = row('{"a/b":1,"m~n":2,"~1":3,"":4,"userIdentity":{"x/y~z":5}}');
	assert.deepEqual(um(r), [['/a~1b', '1'], ['/m~0n', '2'], ['/~01', '3'], ['/', '4'], ['/userIdentity/x~1y~0z', '5']]);
	// Keys are matched by their decoded value.
	assert.equal(row('{"event\\u004eame":"n"}').eventname, 'n');
});

test('rule: repeated keys: the last occurrence wins, for columns and for unmapped', () => {
	assert.equal(row('{"eventName":"a","eventName":"b"}').eventname, 'b');
	const ok = row('{"eventName":1,"eventName":"b"}');
	assert.equal(ok.eventname, 'b');
	assert.equal(ok.unmapped, null);
	const bad = row('{"eventName":"a","eventName":1}');
	assert.equal(bad.eventname, null);
	assert.deepEqual(um(bad), [['/eventName', '1']]);
	const unk = row('{"x":1,"y":2,"x":3}');
	assert.deepEqual(um(unk), [['/x', '3'], ['/y', '2']]);
	const st = row('{"userIdentity":{"type":"A","bad":1},"eventName":"e","userIdentity":{"arn":"b"}}');
	assert.deepEqual(st.useridentity, { ...nullIdentity(), arn: 'b' });
	assert.equal(st.unmapped, null);
	const nul = row('{"readOnly":true,"readOnly":null}');
	assert.equal(nul.readonly, null);
	assert.equal(nul.unmapped, null);
	const js = row('{"requestParameters":{"a":1,"a":2}}');
	assert.equal(js.requestparameters, '{"a":2}');
});

test('rule: eventTime variants (RFC 3339, canonical forms, offsets, fractions)', () => {
	const cases = [
		['2024-03-13T08:38:00Z', T0, false],
		['2024-03-13T08:38:00.123Z', T0 + 123, false],
		['2024-03-13T08:38:00.000Z', T0, false],
		['2024-03-13T08:38:00.5Z', T0 + 500, true],
		['2024-03-13T08:38:00.123999999Z', T0 + 123, true],
		['2024-03-13T08:38:00.12Z', T0 + 120, true],
		['2024-03-13T10:38:00+02:00', T0, true],
		['2024-03-13T03:08:00.250-05:30', T0 + 250, true],
		['2024-03-13T08:38:00+00:00', T0, true],
		['1969-12-31T23:59:59.999Z', -1, false],
		['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29), false],
		['2024-03-13t08:38:00z', T0, true], // RFC 3339 5.6: t and z may be lower case
	];
	for (const [s, ms, inUnmapped] of cases) {
		const r = row(`{"eventTime":"${s}"}`);
		assert.equal(r.eventtime, ms, s);
		assert.deepEqual(um(r), inUnmapped ? [['/eventTime', JSON.stringify(s)]] : null, s);
	}
	const bad = ['2024-03-13 08:38:00Z', '2024-03-13T08:38:00', '2024-02-30T00:00:00Z',
		'2023-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-03-13T24:00:00Z', '2024-03-13T08:60:00Z',
		'2024-03-13T08:38:60Z', '2024-03-13T08:38:00.Z', '2024-03-13T08:38Z', '20240313T083800Z',
		'2024-03-13T08:38:00+0200', '2024-03-13T08:38:00+24:00', ' 2024-03-13T08:38:00Z', ''];
	for (const s of bad) {
		const r = row(`{"eventTime":"${s}"}`);
		assert.equal(r.eventtime, null, s);
		assert.deepEqual(um(r), [['/eventTime', JSON.stringify(s)]], s);
		assert.deepEqual([r.year, r.month, r.day], ['2020', '01', '02'], `${s}: falls back to the delivery date`);
	}
	assert.equal(parseEventTime('0001-01-01T00:00:00Z').ms, -62135596800000);
	assert.equal(parseEventTime('9999-12-31T23:59:59.999Z').ms, 253402300799999);
});

test('rule: partition date is the UTC day of eventtime, else the delivery date', () => {
	const p = (r) => [r.year, r.month, r.day].join('-');
	assert.equal(p(row('{"eventTime":"2024-03-13T23:30:00-01:00"}')), '2024-03-14');
	assert.equal(p(row('{"eventTime":"2024-03-14T00:30:00+01:00"}')), '2024-03-13');
	assert.equal(p(row('{"eventTime":"2019-12-31T23:59:59Z"}')), '2019-12-31');
	assert.equal(p(row('{"eventTime":"0099-01-05T00:00:00Z"}')), '0099-01-05');
	assert.equal(p(row('{}')), '2020-01-02');
	assert.equal(p(row('{"eventTime":null}')), '2020-01-02');
	assert.equal(p(row('{"eventTime":"\\ud800"}')), '2020-01-02');
	const r = row('{}');
	assert.equal(r.account, '123456789012');
	assert.equal(r.region, 'us-east-1');
});

test('rule: big integers and number spellings are kept digit for digit', () => {
	const r = row('{"requestParameters":{"n":9007199254740993,"f":1.10,"e":1E+2,"neg":-0},' +
		'"eventVersion":1.10,"extra":12345678901234567890123}');
	assert.equal(r.requestparameters, '{"n":9007199254740993,"f":1.10,"e":1E+2,"neg":-0}');
	assert.deepEqual(um(r), [['/eventVersion', '1.10'], ['/extra', '12345678901234567890123']]);
	assert.equal(entries(parseText(r.unmapped))[1].value.raw, '12345678901234567890123');
});

test('rule: strings are decoded; a lone surrogate cannot become UTF-8: NULL and unmapped', () => {
	const r = row('{"eventName":"\\ud800","userAgent":"a\\ud83d\\ude00\\n\\u00e9","errorMessage":"x\\udc00",' +
		'"requestParameters":{"a":"\\ud800"},"userIdentity":{"arn":"\\udbff\\udfff","userName":"\\ud83d"}}');
	assert.equal(r.eventname, null);
	assert.equal(r.useragent, 'a😀\né');
	assert.equal(r.errormessage, null);
	assert.equal(r.requestparameters, '{"a":"\\ud800"}');
	assert.equal(r.useridentity.arn, '\u{10ffff}');
	assert.equal(r.useridentity.username, null);
	assert.deepEqual(um(r), [['/eventName', '"\\ud800"'], ['/errorMessage', '"x\\udc00"'], ['/userIdentity/userName', '"\\ud83d"']]);
});

test('rule: map values: strings kept, null kept as NULL, others NULL + unmapped, order kept', () => {
	const base = '/userIdentity/sessionContext/webIdFederationData/attributes';
	const r = row('{"userIdentity":{"sessionContext":{"webIdFederationData":{"federatedProvider":"f",' +
		'"attributes":{"b":"1","a":null,"c":5,"d":{"x":1},"1":"one","e/f":true,"s":"\\ud800","\\udc00":"k","b":"2"}}}}}');
	assert.deepEqual(r.useridentity.sessioncontext.webidfederationdata.attributes,
		[['b', '2'], ['a', null], ['c', null], ['d', null], ['1', 'one'], ['e/f', null], ['s', null]]);
	assert.deepEqual(um(r), [[`${base}/c`, '5'], [`${base}/d`, '{"x":1}'], [`${base}/e~1f`, 'true'],
		[`${base}/s`, '"\\ud800"'], [`${base}/\udc00`, '"k"']]);
	const e = row('{"userIdentity":{"sessionContext":{"webIdFederationData":{"attributes":{}}}}}');
	assert.deepEqual(e.useridentity.sessioncontext.webidfederationdata.attributes, []);
	const s = row('{"userIdentity":{"sessionContext":{"webIdFederationData":{"attributes":"x"}}}}');
	assert.equal(s.useridentity.sessioncontext.webidfederationdata.attributes, null);
	assert.deepEqual(um(s), [[base, '"x"']]);
});

test('rule: resources elements: null is a NULL element, a non-object is NULL + unmapped', () => {
	const r = row('{"resources":[null,"arn:x",{"ARN":"a","type":5},[],{}]}');
	const nul = { arn: null, accountid: null, type: null, arnprefix: null };
	assert.deepEqual(r.resources, [null, null, { ...nul, arn: 'a' }, null, nul]);
	assert.deepEqual(um(r), [['/resources/1', '"arn:x"'], ['/resources/2/type', '5'], ['/resources/3', '[]']]);
});

test('rule: readonly/managementevent accept only JSON true/false', () => {
	for (const v of ['"true"', '"false"', '1', '0', '[]', '{}']) {
		const r = row(`{"readOnly":${v},"managementEvent":${v}}`);
		assert.equal(r.readonly, null, v);
		assert.equal(r.managementevent, null, v);
		assert.deepEqual(um(r), [['/readOnly', v], ['/managementEvent', v]]);
	}
	const r = row('{"readOnly":false,"managementEvent":true}');
	assert.deepEqual([r.readonly, r.managementevent], [false, true]);
});

test('mapRecordNode refuses a record that is not an object', () => {
	assert.throws(() => mapRecordNode(parseText('[]')), /must be a JSON object/);
});

// ------------------------------------------------------------------------------------------
// Files, layout and de-duplication

test('classifyKey: every layout variant, and nothing else', () => {
	const f = (acct, kind, region, day) => `${acct}_${kind}_${region}_${day.replace(/\//g, '')}T0005Z_AbCd0123EfGh4567.json.gz`;
	const ct = (pre, kind = 'CloudTrail', acct = '123456789012') =>
		`${pre}${acct}/${kind}/us-east-1/2024/03/30/${f(acct, kind, 'us-east-1', '2024/03/30')}`;
	const ok = (key, kind) => {
		const c = classifyKey(key);
		assert.equal(c.kind, kind, key);
		assert.deepEqual([c.account, c.region, c.year, c.month, c.day], ['123456789012', 'us-east-1', '2024', '03', '30'], key);
	};
	ok(ct('AWSLogs/'), 'cloudtrail');
	ok(ct('AWSLogs/o-abc123/'), 'cloudtrail');
	ok(ct('o-abc123/AWSLogs/o-abc123/'), 'cloudtrail');
	ok(ct('o-abc123/AWSLogs/'), 'cloudtrail');
	ok(ct('some/prefix/AWSLogs/'), 'cloudtrail');
	ok(ct('AWSLogs/', 'CloudTrail-Insight'), 'cloudtrail_insight');
	ok(ct('AWSLogs/o-abc123/', 'CloudTrail-NetworkActivity'), 'cloudtrail_networkactivity');
	ok(ct('AWSLogs/').replace(/\.gz$/, ''), 'cloudtrail');
	assert.equal(classifyKey(ct('AWSLogs/').replace(/\.gz$/, '')).gz, false);
	const other = (key, kind = 'other') => assert.equal(classifyKey(key).kind, kind, key);
	other('AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/03/30/123456789012_CloudTrail-Digest_us-east-1_aws-controltower-BaselineCloudTrail_us-east-1_20240330T005959Z.json.gz', 'digest');
	other('AWSLogs/o-a1/123456789012/Config/us-east-1/2024/3/30/ConfigHistory/123456789012_Config_us-east-1_ConfigHistory_AWS::EC2::VPC_20240330T000000Z.json.gz');
	other('AWSLogs/123456789012/Config/us-east-1/2024/03/30/123456789012_Config_us-east-1_x.json.gz');
	// folder and file name disagree
	other(ct('AWSLogs/').replace('/CloudTrail/', '/CloudTrail-Insight/'));
	other(ct('AWSLogs/').replace(/_CloudTrail_/, '_CloudTrail-Digest_'));
	other(ct('AWSLogs/', 'CloudTrail', '12345678901')); // not a 12-digit account
	other(`Logs/${ct('')}`); // no AWSLogs segment
	other(ct('AWSLogs/').replace('/2024/03/30/', '/2024/3/30/'));
	other(ct('AWSLogs/').replace('/30/', '/30/extra/'));
	other(ct('AWSLogs/').replace(/\.json\.gz$/, '.txt'));
	other('AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/30/readme.json');
});

function writeGz(file, text) {
	fs.mkdirSync(path.dirname(file), { recursive: true });
	fs.writeFileSync(file, file.endsWith('.gz') ? zlib.gzipSync(Buffer.from(text)) : text);
}

test('readCloudTrailFile: rejects a bad file whole, accepts {"Records":[]}', () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tpq-oracle-'));
	try {
		const p = (n) => path.join(dir, n);
		writeGz(p('empty.json.gz'), '{"Records":[]}');
		assert.equal(readCloudTrailFile(p('empty.json.gz')).records.length, 0);
		writeGz(p('plain.json'), '{"Records":[{"eventName":"a"}],"other":1}');
		assert.equal(readCloudTrailFile(p('plain.json')).records.length, 1);
		const rejects = {
			'trunc.json.gz': null, 'json.json': '{"Records":[{"a":1},', 'notarr.json': '{"Records":{}}',
			'norec.json': '{"records":[]}', 'notobj.json': '{"Records":[{}, 5]}', 'top.json': '[{"Records":[]}]',
			'utf8.json': Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
		};
		for (const [name, body] of Object.entries(rejects)) {
			if (body === null) fs.writeFileSync(p(name), zlib.gzipSync(Buffer.from('{"Records":[]}')).subarray(0, 12));
			else fs.writeFileSync(p(name), body);
			assert.throws(() => readCloudTrailFile(p(name)), RejectedFile, name);
		}
		assert.throws(() => readCloudTrailFile(p('notobj.json')), (e) => e.record === 1);
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});

test('expectedLake: de-duplication by eventID and canonical content, per table; rejected files', () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tpq-oracle-'));
	try {
		const key = (kind, n, ext = '.json.gz') => `AWSLogs/123456789012/${kind}/us-east-1/2024/03/30/123456789012_${kind}_us-east-1_20240330T00${n}Z_AAAAAAAAAAAAAAAA${ext}`;
		const a = '{"eventID":"e1","eventName":"A","eventTime":"2024-03-29T23:59:00Z"}';
		const aSpaced = '{ "eventID" : "e1", "eventName":"\\u0041", "eventTime" : "2024-03-29T23:59:00Z" }';
		const aOther = '{"eventID":"e1","eventName":"B","eventTime":"2024-03-29T23:59:00Z"}';
		const noId = '{"eventName":"N"}';
		const numId = '{"eventID":5}';
		writeGz(path.join(dir, key('CloudTrail', '01')), `{"Records":[${a},${aSpaced},${aOther},${noId},${noId},${numId},${numId}]}`);
		writeGz(path.join(dir, key('CloudTrail', '02', '.json')), `{"Records":[${a}]}`);
		writeGz(path.join(dir, key('CloudTrail-Insight', '03')), `{"Records":[${a}]}`);
		writeGz(path.join(dir, key('CloudTrail', '04')), '{"Records":[{"eventID":"z"},');
		writeGz(path.join(dir, 'AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/03/30/x.json.gz'), '{"Records":[{}]}');
		writeGz(path.join(dir, 'notes/readme.json'), '{"Records":[{}]}');
		const x = expectedLake(dir);
		assert.equal(x.tables.cloudtrail.length, 6); // a, aOther, noId x2, numId x2
		assert.equal(x.counts.records.cloudtrail, 8);
		assert.equal(x.counts.duplicatesMerged.cloudtrail, 2);
		assert.equal(x.tables.cloudtrail_insight.length, 1);
		assert.deepEqual(x.rejected.map((r) => r.file), [key('CloudTrail', '04')]);
		assert.equal(x.counts.files.digest, 1);
		assert.equal(x.counts.files.other, 1);
		const first = x.tables.cloudtrail[0];
		assert.equal(first.index, 0);
		assert.deepEqual([first.row.year, first.row.month, first.row.day], ['2024', '03', '29']);
		assert.deepEqual(x.tables.cloudtrail.map((e) => e.row.eventname), ['A', 'B', 'N', 'N', null, null]);
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});

// ------------------------------------------------------------------------------------------
// The dev corpus

test('the whole dev corpus: every record maps, counts match the MANIFEST', { skip: !fs.existsSync(CORPUS) && 'no corpus' }, () => {
	const manifest = fs.readFileSync(path.join(CORPUS, 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1)
		.map((l) => l.split('\t'));
	assert.equal(manifest.length, 2124);
	const perTable = Object.fromEntries(TABLES.map((t) => [t, 0]));
	const perFile = new Map();
	for (const [file] of manifest) {
		const c = classifyKey(file.split('/').slice(1).join('/'));
		assert.ok(TABLES.includes(c.kind), file);
		perTable[c.kind]++;
		perFile.set(file, (perFile.get(file) ?? 0) + 1);
	}
	const x = expectedLake(CORPUS);
	assert.deepEqual(x.rejected, []);
	assert.deepEqual(x.counts.records, perTable);
	assert.deepEqual(perTable, { cloudtrail: 2111, cloudtrail_insight: 7, cloudtrail_networkactivity: 6 });
	// Two records of a verbatim file are delivered twice (same eventID, same content).
	assert.deepEqual(x.counts.duplicatesMerged, { cloudtrail: 2, cloudtrail_insight: 0, cloudtrail_networkactivity: 0 });
	const rows = Object.fromEntries(TABLES.map((t) => [t, x.tables[t].length]));
	assert.deepEqual(rows, { cloudtrail: 2109, cloudtrail_insight: 7, cloudtrail_networkactivity: 6 });
	for (const [file, n] of perFile) {
		const c = classifyKey(file);
		assert.equal(readCloudTrailFile(path.join(CORPUS, file), c.gz).records.length, n, file);
	}
	// Known content: misspelt access keys and lower-case resources[].arn are kept in unmapped;
	// one record has repeated keys; every eventTime is canonical.
	const pointers = new Map();
	for (const t of TABLES) {
		for (const e of x.tables[t]) {
			assert.ok(e.row.eventtime !== null, `${e.file}#${e.index}`);
			if (e.row.unmapped === null) continue;
			for (const k of entries(parseText(e.row.unmapped))) {
				const p = k.key.replace(/\/\d+\//g, '/N/');
				pointers.set(p, (pointers.get(p) ?? 0) + 1);
			}
		}
	}
	assert.deepEqual(Object.fromEntries(pointers), {
		'/userIdentity/accesKeyId': 8, '/userIdentity/accesskeyid': 1, '/resources/N/arn': 4,
	});
	const dupes = x.tables.cloudtrail.filter((e) => e.index === 1 &&
		e.file.endsWith('111122223333_CloudTrail_us-east-1_20220318T1817Z_400525a8221fb882.json.gz'));
	assert.equal(dupes.length, 1);
	assert.equal(dupes[0].row.readonly, false);
	assert.equal(dupes[0].row.eventtype, 'AwsServiceEvent');
	// The hand-built edge cases of cloudtrail-rs: 2^53+1 kept digit for digit.
	const big = x.tables.cloudtrail.filter((e) => JSON.stringify(e.row).includes('9007199254740993'));
	assert.ok(big.length >= 1);
	console.log(`oracle: ${manifest.length} records; rows ${JSON.stringify(rows)}; ` +
		`merged ${JSON.stringify(x.counts.duplicatesMerged)}; unmapped pointers ${JSON.stringify(Object.fromEntries(pointers))}`);
});
