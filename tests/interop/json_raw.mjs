// A strict JSON (RFC 8259) parser that keeps what JSON.parse throws away.
//
// The interop oracle must know, for every value of a CloudTrail record, exactly what the source
// said: the raw text of numbers (9007199254740993 stays digit for digit), both the decoded value
// and the source span of strings (a lone surrogate escape such as "\ud800" is kept and flagged,
// since it cannot become UTF-8), every key of an object in source order including repeated keys,
// and the byte span [start, end) of every value in the input (JSON-text columns are compared
// with the source by parsing them again, and a record's raw bytes come from its span).
//
// Input is bytes (Uint8Array/Buffer). The whole input must be valid UTF-8 (checked first, like
// the converter does), with no byte order mark. Anything RFC 8259 does not allow is a
// JsonSyntaxError carrying the byte offset. The parser is iterative (an explicit stack), so
// nesting depth is bounded only by `maxDepth`, not by the JS call stack.
//
// Node shapes (every node has kind, start, end: byte offsets into the input):
//   { kind: 'object', members: [{ key, keyRaw, keyLone, keyStart, keyEnd, value }],
//     duplicates: boolean }             members in source order, repeated keys included
//   { kind: 'array', items: [node] }
//   { kind: 'string', value, raw, lone }  value decoded (a JS string, lone surrogates kept as
//                                        code units), raw = source text including the quotes,
//                                        lone = true when it holds an unpaired surrogate
//   { kind: 'number', raw }             raw source text, never converted
//   { kind: 'boolean', value }
//   { kind: 'null' }
//
// Repeated keys resolve as in JavaScript and Python: the LAST occurrence gives the value and
// the FIRST occurrence gives the position (`entries()` below). `canonical()` serialises a node
// compactly under that rule; it is the form in which the harness compares JSON values.

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class JsonSyntaxError extends Error {
	constructor(message, offset) {
		super(`${message} at byte ${offset}`);
		this.name = 'JsonSyntaxError';
		this.offset = offset;
	}
}

function asBytes(input) {
	if (typeof input === 'string') return Buffer.from(input, 'utf8');
	if (Buffer.isBuffer(input)) return input;
	if (input instanceof Uint8Array) return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
	throw new TypeError('json_raw.parse: input must be bytes or a string');
}

const WS = new Uint8Array(256);
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1;

function hexVal(c) {
	if (c >= 0x30 && c <= 0x39) return c - 0x30;
	if (c >= 0x41 && c <= 0x46) return c - 0x37;
	if (c >= 0x61 && c <= 0x66) return c - 0x57;
	return -1;
}

// Parses one JSON text. Options: maxDepth (default 100000).
// Returns the root node; throws JsonSyntaxError (or a TypeError for a non-UTF-8 input, turned
// into a JsonSyntaxError with the offset of the first bad byte).
export function parse(input, { maxDepth = 100000 } = {}) {
	const b = asBytes(input);
	const n = b.length;
	try {
		utf8.decode(b);
	} catch {
		throw new JsonSyntaxError('invalid UTF-8', firstBadUtf8(b));
	}
	if (n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf)
		throw new JsonSyntaxError('byte order mark is not allowed', 0);

	let i = 0;
	const skipWs = () => {
		while (i < n && WS[b[i]]) i++;
	};

	// Reads a string starting at the opening quote; returns { value, lone, end }.
	const readString = () => {
		const start = i;
		i++; // opening quote
		let out = '';
		let runStart = i;
		let lone = false;
		for (;;) {
			if (i >= n) throw new JsonSyntaxError('unterminated string', start);
			const c = b[i];
			if (c === 0x22) {
				out += b.toString('utf8', runStart, i);
				i++;
				return { value: out, lone, start, end: i };
			}
			if (c < 0x20) throw new JsonSyntaxError('control character in string', i);
			if (c !== 0x5c) {
				i++;
				continue;
			}
			out += b.toString('utf8', runStart, i);
			const esc = i;
			i++;
			if (i >= n) throw new JsonSyntaxError('unterminated escape', esc);
			const e = b[i++];
			switch (e) {
			case 0x22: out += '"'; break;
			case 0x5c: out += '\\'; break;
			case 0x2f: out += '/'; break;
			case 0x62: out += '\b'; break;
			case 0x66: out += '\f'; break;
			case 0x6e: out += '\n'; break;
			case 0x72: out += '\r'; break;
			case 0x74: out += '\t'; break;
			case 0x75: {
				const u = readHex4(esc);
				if (u >= 0xd800 && u <= 0xdbff) {
					// A high surrogate pairs only with an immediately following low one.
					if (i + 1 < n && b[i] === 0x5c && b[i + 1] === 0x75) {
						const save = i;
						i += 2;
						const lo = readHex4(save);
						if (lo >= 0xdc00 && lo <= 0xdfff) {
							out += String.fromCharCode(u, lo);
							break;
						}
						i = save;
					}
					out += String.fromCharCode(u);
					lone = true;
				} else if (u >= 0xdc00 && u <= 0xdfff) {
					out += String.fromCharCode(u);
					lone = true;
				} else {
					out += String.fromCharCode(u);
				}
				break;
			}
			default:
				throw new JsonSyntaxError('invalid escape', esc);
			}
			runStart = i;
		}
	};
	const readHex4 = (esc) => {
		if (i + 4 > n) throw new JsonSyntaxError('truncated \\u escape', esc);
		let v = 0;
		for (let k = 0; k < 4; k++) {
			const h = hexVal(b[i + k]);
			if (h < 0) throw new JsonSyntaxError('invalid \\u escape', esc);
			v = v * 16 + h;
		}
		i += 4;
		return v;
	};
	const readNumber = () => {
		const start = i;
		if (b[i] === 0x2d) i++;
		if (i < n && b[i] === 0x30) {
			i++;
		} else if (i < n && b[i] >= 0x31 && b[i] <= 0x39) {
			while (i < n && b[i] >= 0x30 && b[i] <= 0x39) i++;
		} else {
			throw new JsonSyntaxError('invalid number', start);
		}
		if (i < n && b[i] === 0x2e) {
			i++;
			const d = i;
			while (i < n && b[i] >= 0x30 && b[i] <= 0x39) i++;
			if (i === d) throw new JsonSyntaxError('invalid number (no digit after .)', start);
		}
		if (i < n && (b[i] === 0x65 || b[i] === 0x45)) {
			i++;
			if (i < n && (b[i] === 0x2b || b[i] === 0x2d)) i++;
			const d = i;
			while (i < n && b[i] >= 0x30 && b[i] <= 0x39) i++;
			if (i === d) throw new JsonSyntaxError('invalid number (no exponent digit)', start);
		}
		return { kind: 'number', raw: b.toString('latin1', start, i), start, end: i };
	};
	const readLiteral = (word, node) => {
		for (let k = 0; k < word.length; k++) {
			if (b[i + k] !== word.charCodeAt(k)) throw new JsonSyntaxError('invalid literal', i);
		}
		node.start = i;
		i += word.length;
		node.end = i;
		return node;
	};

	// Parses a scalar, or opens a container (pushed on `stack`), at i.
	const stack = [];

	const valueAt = () => {
		skipWs();
		if (i >= n) throw new JsonSyntaxError('unexpected end of input', i);
		const c = b[i];
		if (c === 0x7b || c === 0x5b) {
			if (stack.length >= maxDepth) throw new JsonSyntaxError('nesting too deep', i);
			const node = c === 0x7b
				? { kind: 'object', members: [], duplicates: false, start: i, end: -1, keys: new Set() }
				: { kind: 'array', items: [], start: i, end: -1 };
			i++;
			stack.push(node);
			return node;
		}
		if (c === 0x22) {
			const s = readString();
			return { kind: 'string', value: s.value, raw: b.toString('utf8', s.start, s.end),
				lone: s.lone, start: s.start, end: s.end };
		}
		if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return readNumber();
		if (c === 0x74) return readLiteral('true', { kind: 'boolean', value: true });
		if (c === 0x66) return readLiteral('false', { kind: 'boolean', value: false });
		if (c === 0x6e) return readLiteral('null', { kind: 'null' });
		throw new JsonSyntaxError(`unexpected character '${String.fromCharCode(c)}'`, i);
	};

	// Containers just opened are `fresh`: their first element needs no comma, and they may
	// close at once ({} or []).
	const fresh = new WeakSet();
	const root = valueAt();
	if (root.kind === 'object' || root.kind === 'array') fresh.add(root);
	while (stack.length) {
		const top = stack[stack.length - 1];
		skipWs();
		if (i >= n) throw new JsonSyntaxError('unexpected end of input', i);
		const isFresh = fresh.has(top);
		fresh.delete(top);
		const closer = top.kind === 'object' ? 0x7d : 0x5d;
		if (b[i] === closer) {
			i++;
			top.end = i;
			if (top.kind === 'object') delete top.keys;
			stack.pop();
			continue;
		}
		if (!isFresh) {
			if (b[i] !== 0x2c)
				throw new JsonSyntaxError(`expected ',' or '${String.fromCharCode(closer)}'`, i);
			i++;
			skipWs();
		}
		let member = null;
		if (top.kind === 'object') {
			if (i >= n || b[i] !== 0x22) throw new JsonSyntaxError('expected a string key', i);
			const k = readString();
			skipWs();
			if (i >= n || b[i] !== 0x3a) throw new JsonSyntaxError("expected ':'", i);
			i++;
			member = { key: k.value, keyRaw: b.toString('utf8', k.start, k.end), keyLone: k.lone,
				keyStart: k.start, keyEnd: k.end, value: null };
			if (top.keys.has(k.value)) top.duplicates = true;
			else top.keys.add(k.value);
			top.members.push(member);
		}
		const child = valueAt();
		if (member) member.value = child;
		else top.items.push(child);
		if (child.kind === 'object' || child.kind === 'array') fresh.add(child);
	}
	skipWs();
	if (i !== n) throw new JsonSyntaxError('trailing characters after the JSON value', i);
	return root;
}

function firstBadUtf8(b) {
	// Binary search for the longest valid prefix is unreliable (a cut may split a sequence), so
	// scan: decode growing prefixes by sequence boundaries.
	let i = 0;
	const n = b.length;
	while (i < n) {
		const c = b[i];
		let len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
			: c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		if (len === 0 || i + len > n) return i;
		try {
			utf8.decode(b.subarray(i, i + len));
		} catch {
			return i;
		}
		i += len;
	}
	return n;
}

// Parses a JS string (encoded to UTF-8 first); spans are then UTF-8 byte offsets of it.
export function parseText(text, opts) {
	return parse(Buffer.from(text, 'utf8'), opts);
}

// The members of an object with repeated keys resolved: one { key, value, member } per
// distinct key, at the position of its first occurrence, with the value of its last.
export function entries(obj) {
	if (!obj.duplicates) return obj.members.map((m) => ({ key: m.key, value: m.value, member: m }));
	const pos = new Map();
	const out = [];
	for (const m of obj.members) {
		const at = pos.get(m.key);
		if (at === undefined) {
			pos.set(m.key, out.length);
			out.push({ key: m.key, value: m.value, member: m });
		} else {
			out[at] = { key: m.key, value: m.value, member: m };
		}
	}
	return out;
}

// The value of `key` in an object node (last occurrence), or undefined.
export function get(obj, key) {
	let v;
	for (const m of obj.members) if (m.key === key) v = m.value;
	return v;
}

// JSON string literal in canonical form: only '"', '\\' and control characters are escaped
// (\b \f \n \r \t short forms, others \u00xx), lone surrogates as \udxxx (lower-case hex),
// every other character literally (UTF-8 when encoded).
export function quote(s) {
	let out = '"';
	let run = 0;
	for (let k = 0; k < s.length; k++) {
		const c = s.charCodeAt(k);
		let esc = null;
		if (c === 0x22) esc = '\\"';
		else if (c === 0x5c) esc = '\\\\';
		else if (c < 0x20) {
			esc = c === 0x08 ? '\\b' : c === 0x0c ? '\\f' : c === 0x0a ? '\\n' : c === 0x0d ? '\\r'
				: c === 0x09 ? '\\t' : '\\u' + c.toString(16).padStart(4, '0');
		} else if (c >= 0xd800 && c <= 0xdbff) {
			const d = k + 1 < s.length ? s.charCodeAt(k + 1) : 0;
			if (d >= 0xdc00 && d <= 0xdfff) {
				k++;
				continue;
			}
			esc = '\\u' + c.toString(16);
		} else if (c >= 0xdc00 && c <= 0xdfff) {
			esc = '\\u' + c.toString(16);
		}
		if (esc !== null) {
			out += s.slice(run, k) + esc;
			run = k + 1;
		}
	}
	return out + s.slice(run) + '"';
}

// True when a JS string holds an unpaired surrogate (so it has no UTF-8 form).
export function hasLoneSurrogate(s) {
	for (let k = 0; k < s.length; k++) {
		const c = s.charCodeAt(k);
		if (c >= 0xd800 && c <= 0xdbff) {
			const d = k + 1 < s.length ? s.charCodeAt(k + 1) : 0;
			if (d >= 0xdc00 && d <= 0xdfff) k++;
			else return true;
		} else if (c >= 0xdc00 && c <= 0xdfff) {
			return true;
		}
	}
	return false;
}

// Compact canonical text of a node: no whitespace, object keys in source order with repeated
// keys resolved (first position, last value), numbers as their raw text, strings re-quoted by
// quote(). Two JSON texts that differ only in whitespace, string escaping or repeated keys give
// the same canonical text. Iterative, so deep nesting is fine.
export function canonical(node) {
	const parts = [];
	const work = [node];
	while (work.length) {
		const x = work.pop();
		if (typeof x === 'string') {
			parts.push(x);
			continue;
		}
		switch (x.kind) {
		case 'string': parts.push(quote(x.value)); break;
		case 'number': parts.push(x.raw); break;
		case 'boolean': parts.push(x.value ? 'true' : 'false'); break;
		case 'null': parts.push('null'); break;
		case 'array': {
			work.push(']');
			for (let k = x.items.length - 1; k >= 0; k--) {
				work.push(x.items[k]);
				if (k > 0) work.push(',');
			}
			parts.push('[');
			break;
		}
		case 'object': {
			const es = entries(x);
			work.push('}');
			for (let k = es.length - 1; k >= 0; k--) {
				work.push(es[k].value);
				work.push(quote(es[k].key) + ':');
				if (k > 0) work.push(',');
			}
			parts.push('{');
			break;
		}
		default:
			throw new Error(`canonical: not a JSON node: ${JSON.stringify(x)}`);
		}
	}
	return parts.join('');
}

// canonical(parse(text)) for a JS string or bytes.
export function canonicalText(input) {
	return canonical(typeof input === 'string' ? parseText(input) : parse(input));
}

// The source text of a node (its bytes [start, end) decoded).
export function sourceText(bytes, node) {
	return asBytes(bytes).toString('utf8', node.start, node.end);
}

// RFC 6901 reference token: '~' -> '~0', '/' -> '~1'.
export function pointerToken(key) {
	return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}
