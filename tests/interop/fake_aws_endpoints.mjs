// A fake of the three AWS credential endpoints trailpq's provider chain talks to, for the
// loopback tests (tests/interop/creds_loopback.sh). Listens on 127.0.0.1, port 0, and prints
// the port it got as its first line of output.
//
//   node fake_aws_endpoints.mjs --wif-token TOKEN --ecs-token TOKEN
//
// Endpoints:
//   POST /                                   STS AssumeRoleWithWebIdentity (form body, must be
//                                            unsigned, WebIdentityToken must equal --wif-token)
//   GET  /ecs/creds                          container credentials (Authorization must equal
//                                            --ecs-token)
//   PUT  /latest/api/token                   IMDSv2 session token (TTL header required)
//   GET  /latest/meta-data/iam/security-credentials/[ROLE]
//                                            IMDSv2 role and credentials (token header
//                                            required: a request without it is counted as an
//                                            IMDSv1 attempt and refused with 401)
//   POST /_control                           JSON: {failNext: {sts|ecs|imds: n}, failStatus,
//                                            expiresIn, delayMs, imdsTokenStatus, imdsRole}
//   GET  /_stats                             JSON counters
//
// Error bodies echo what the client sent (the token it presented), as a careless server
// might, so that the client's scrubbing of secrets is tested.
import http from 'node:http';

const args = process.argv.slice(2);
function arg(name) {
	const i = args.indexOf(name);
	if (i < 0 || i + 1 >= args.length) {
		console.error(`fake_aws_endpoints: ${name} is required`);
		process.exit(2);
	}
	return args[i + 1];
}
const WIF_TOKEN = arg('--wif-token');
const ECS_TOKEN = arg('--ecs-token');

const stats = {
	sts: 0, stsOk: 0, ecs: 0, ecsOk: 0, imdsToken: 0, imdsRole: 0, imdsCreds: 0, imdsV1: 0,
	signed: 0, badRequest: 0,
};
const control = {
	failNext: { sts: 0, ecs: 0, imds: 0 },
	failStatus: 500,
	expiresIn: 3600,
	delayMs: 0,
	imdsTokenStatus: 200,
	imdsRole: 'trailpq-test-role',
};
const imdsTokens = new Set();
let serial = 0;

function issue(tag) {
	serial++;
	const n = String(serial).padStart(6, '0');
	return {
		akid: `ASIA${tag}${n}`,
		secret: `fakesecret/${tag}/${n}/wJalrXUtnFEMIK7MDENGbPxRfiCY`,
		token: `fakesessiontoken/${tag}/${n}/IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH`,
		expiration: new Date(Date.now() + control.expiresIn * 1000),
	};
}

const isoSeconds = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const xmlEscape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function send(res, status, type, body) {
	const go = () => {
		res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
		res.end(body);
	};
	if (control.delayMs > 0) setTimeout(go, control.delayMs);
	else go();
}

function failing(which, res, type, body) {
	if (control.failNext[which] > 0) {
		control.failNext[which]--;
		send(res, control.failStatus, type, body);
		return true;
	}
	return false;
}

function stsError(res, status, code, message) {
	send(res, status, 'text/xml', `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>
  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
</ErrorResponse>\n`);
}

function sts(req, res, body) {
	stats.sts++;
	if (req.headers.authorization) stats.signed++;
	const p = new URLSearchParams(body);
	if (failing('sts', res, 'text/xml', '<ErrorResponse><Error><Code>InternalFailure</Code><Message>while checking ' +
		xmlEscape(p.get('WebIdentityToken') || '') + '</Message></Error></ErrorResponse>'))
		return;
	if (!String(req.headers['content-type'] || '').startsWith('application/x-www-form-urlencoded')) {
		stats.badRequest++;
		return stsError(res, 400, 'InvalidParameterValue', 'form body expected');
	}
	if (p.get('Action') !== 'AssumeRoleWithWebIdentity' || p.get('Version') !== '2011-06-15') {
		stats.badRequest++;
		return stsError(res, 400, 'InvalidAction', `unknown action ${p.get('Action')}`);
	}
	if (!/^arn:aws:iam::\d{12}:role\/[\w+=,.@\/-]+$/.test(p.get('RoleArn') || '') ||
		!/^[\w+=,.@-]{2,64}$/.test(p.get('RoleSessionName') || '')) {
		stats.badRequest++;
		return stsError(res, 400, 'ValidationError', 'bad RoleArn or RoleSessionName');
	}
	const presented = p.get('WebIdentityToken') || '';
	if (presented !== WIF_TOKEN)
		return stsError(res, 400, 'InvalidIdentityToken', `Couldn't verify the token ${presented}: signature mismatch`);
	stats.stsOk++;
	const c = issue('STS');
	send(res, 200, 'text/xml', `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>${xmlEscape(p.get('RoleArn'))}/${xmlEscape(p.get('RoleSessionName'))}</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:${xmlEscape(p.get('RoleSessionName'))}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>${c.token}</SessionToken>
      <SecretAccessKey>${c.secret}</SecretAccessKey>
      <Expiration>${isoSeconds(c.expiration)}</Expiration>
      <AccessKeyId>${c.akid}</AccessKeyId>
    </Credentials>
    <Provider>oidc.eks.example</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>\n`);
}

function ecs(req, res) {
	stats.ecs++;
	const presented = req.headers.authorization;
	if (failing('ecs', res, 'application/json',
		JSON.stringify({ code: 'InternalError', message: `try again with ${presented}` }))) return;
	if (presented !== ECS_TOKEN)
		return send(res, 401, 'application/json',
			JSON.stringify({ code: 'AccessDenied', message: `authorization ${presented} refused` }));
	stats.ecsOk++;
	const c = issue('ECS');
	send(res, 200, 'application/json', JSON.stringify({
		AccessKeyId: c.akid, SecretAccessKey: c.secret, Token: c.token,
		Expiration: c.expiration.toISOString(), RoleArn: 'arn:aws:iam::123456789012:role/task',
	}));
}

function imds(req, res, path) {
	if (req.headers['x-forwarded-for']) return send(res, 403, 'text/plain', 'forbidden');
	if (path === '/latest/api/token') {
		stats.imdsToken++;
		if (req.method !== 'PUT') return send(res, 405, 'text/plain', 'method not allowed');
		if (control.imdsTokenStatus !== 200) return send(res, control.imdsTokenStatus, 'text/plain', 'no');
		const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
		if (!(ttl >= 1 && ttl <= 21600)) return send(res, 400, 'text/plain', 'bad ttl');
		const t = `AQAEAFakeImdsToken${serial}${Math.random().toString(36).slice(2)}==`;
		imdsTokens.add(t);
		return send(res, 200, 'text/plain', t);
	}
	const token = req.headers['x-aws-ec2-metadata-token'];
	if (!token) {
		stats.imdsV1++;
		return send(res, 401, 'text/plain', 'IMDSv1 is disabled');
	}
	if (!imdsTokens.has(token)) return send(res, 401, 'text/plain', 'bad token');
	const base = '/latest/meta-data/iam/security-credentials/';
	if (path === base) {
		stats.imdsRole++;
		if (!control.imdsRole) return send(res, 404, 'text/plain', 'not found');
		return send(res, 200, 'text/plain', control.imdsRole);
	}
	if (control.imdsRole && path === base + control.imdsRole) {
		stats.imdsCreds++;
		if (failing('imds', res, 'text/plain', 'busy')) return;
		const c = issue('IMDS');
		return send(res, 200, 'text/plain', JSON.stringify({
			Code: 'Success', LastUpdated: isoSeconds(new Date()), Type: 'AWS-HMAC',
			AccessKeyId: c.akid, SecretAccessKey: c.secret, Token: c.token,
			Expiration: isoSeconds(c.expiration),
		}, null, 2));
	}
	send(res, 404, 'text/plain', 'not found');
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (d) => chunks.push(d));
	req.on('end', () => {
		const body = Buffer.concat(chunks).toString('utf8');
		const path = new URL(req.url, 'http://x').pathname;
		try {
			if (path === '/_stats') return send(res, 200, 'application/json', JSON.stringify(stats));
			if (path === '/_control' && req.method === 'POST') {
				const c = JSON.parse(body);
				Object.assign(control.failNext, c.failNext || {});
				for (const k of ['failStatus', 'expiresIn', 'delayMs', 'imdsTokenStatus', 'imdsRole'])
					if (k in c) control[k] = c[k];
				res.writeHead(204);
				return res.end();
			}
			if (path === '/' && req.method === 'POST') return sts(req, res, body);
			if (path === '/ecs/creds' && req.method === 'GET') return ecs(req, res);
			if (path.startsWith('/latest/')) return imds(req, res, path);
			send(res, 404, 'text/plain', 'not found');
		} catch (e) {
			send(res, 500, 'text/plain', String(e));
		}
	});
});
server.listen(0, '127.0.0.1', () => {
	process.stdout.write(`${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
