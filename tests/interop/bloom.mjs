// An independent split-block Bloom filter probe (parquet-format BloomFilter.md), for columns at
// any depth: DuckDB's parquet_bloom_probe() only resolves top-level columns, and the CloudTrail
// table also filters useridentity.arn and useridentity.accesskeyid.
//
// A column chunk's filter is a Thrift compact BloomFilterHeader { 1: numBytes i32,
// 2: algorithm union {1: BLOCK}, 3: hash union {1: XXHASH}, 4: compression union
// {1: UNCOMPRESSED} } followed by numBytes of 32-byte blocks (8 little-endian u32 words).
// A value is hashed with XXH64 (seed 0) over its PLAIN encoding without the length prefix for
// BYTE_ARRAY; the top 32 bits pick the block, the low 32 bits times eight salts pick one bit
// per word. Written from the specification; tested against DuckDB's probe in test_readers.mjs.
import fs from 'node:fs';
import { hyparquetMetadata, show } from './readers.mjs';

const M64 = (1n << 64n) - 1n;
const P1 = 0x9E3779B185EBCA87n, P2 = 0xC2B2AE3D27D4EB4Fn, P3 = 0x165667B19E3779F9n;
const P4 = 0x85EBCA77C2B2AE63n, P5 = 0x27D4EB2F165667C5n;
const rotl = (x, r) => ((x << BigInt(r)) | (x >> BigInt(64 - r))) & M64;
const mul = (a, b) => (a * b) & M64;
const round = (acc, lane) => mul(rotl((acc + mul(lane, P2)) & M64, 31), P1);
const merge = (acc, v) => ((mul((acc ^ round(0n, v)), P1) + P4) & M64);

// XXH64 of bytes with seed 0, as a BigInt.
export function xxh64(bytes) {
	const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const n = b.length;
	let i = 0;
	let h;
	if (n >= 32) {
		let v1 = (P1 + P2) & M64, v2 = P2, v3 = 0n, v4 = (0n - P1) & M64;
		while (i + 32 <= n) {
			v1 = round(v1, b.readBigUInt64LE(i));
			v2 = round(v2, b.readBigUInt64LE(i + 8));
			v3 = round(v3, b.readBigUInt64LE(i + 16));
			v4 = round(v4, b.readBigUInt64LE(i + 24));
			i += 32;
		}
		h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) & M64;
		h = merge(h, v1);
		h = merge(h, v2);
		h = merge(h, v3);
		h = merge(h, v4);
	} else {
		h = P5;
	}
	h = (h + BigInt(n)) & M64;
	while (i + 8 <= n) {
		h ^= round(0n, b.readBigUInt64LE(i));
		h = (mul(rotl(h, 27), P1) + P4) & M64;
		i += 8;
	}
	if (i + 4 <= n) {
		h ^= mul(BigInt(b.readUInt32LE(i)), P1);
		h = (mul(rotl(h, 23), P2) + P3) & M64;
		i += 4;
	}
	while (i < n) {
		h ^= mul(BigInt(b[i]), P5);
		h = mul(rotl(h, 11), P1);
		i++;
	}
	h ^= h >> 33n;
	h = mul(h, P2);
	h ^= h >> 29n;
	h = mul(h, P3);
	h ^= h >> 32n;
	return h;
}

const SALT = [0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31];

// Minimal Thrift compact reader: enough to read a BloomFilterHeader and skip anything else.
function readHeader(buf, pos) {
	const rd = () => {
		if (pos >= buf.length) throw new Error('bloom header truncated');
		return buf[pos++];
	};
	const varint = () => {
		let v = 0n, shift = 0n;
		for (;;) {
			const c = rd();
			v |= BigInt(c & 0x7f) << shift;
			if (!(c & 0x80)) return v;
			shift += 7n;
			if (shift > 70n) throw new Error('bad varint');
		}
	};
	const zigzag = (v) => Number((v >> 1n) ^ -(v & 1n));
	const skip = (type) => {
		switch (type) {
		case 1: case 2: return; // bool true/false inside struct
		case 3: rd(); return;
		case 4: case 5: case 6: varint(); return;
		case 7: pos += 8; return;
		case 8: pos += Number(varint()); return;
		case 9: case 10: {
			const h = rd();
			let cnt = h >> 4;
			if (cnt === 15) cnt = Number(varint());
			for (let k = 0; k < cnt; k++) skip(h & 15);
			return;
		}
		case 12: struct(); return;
		default: throw new Error(`bloom header: bad compact type ${type}`);
		}
	};
	// Returns { fieldId: value or {fields} } for the ids we care about.
	function struct() {
		const out = {};
		let last = 0;
		for (;;) {
			const h = rd();
			if (h === 0) return out;
			const type = h & 15;
			const delta = h >> 4;
			const id = delta ? last + delta : zigzag(varint());
			last = id;
			if (type === 5) out[id] = zigzag(varint());
			else if (type === 12) out[id] = struct();
			else skip(type);
		}
	}
	const header = struct();
	return { header, pos };
}

// Reads every Bloom filter of a file: Map 'path.in.schema' -> [{ rowGroup, blocks } | null].
export function readBloomFilters(file) {
	const md = hyparquetMetadata(file);
	const buf = fs.readFileSync(file);
	const out = new Map();
	md.row_groups.forEach((rg, g) => {
		for (const cc of rg.columns) {
			const m = cc.meta_data;
			const p = m.path_in_schema.join('.');
			if (!out.has(p)) out.set(p, []);
			if (m.bloom_filter_offset === undefined || m.bloom_filter_offset === null) {
				out.get(p).push(null);
				continue;
			}
			const off = Number(m.bloom_filter_offset);
			const { header, pos } = readHeader(buf, off);
			const numBytes = header[1];
			if (!(numBytes > 0 && numBytes % 32 === 0)) throw new Error(`${p}: bad bloom numBytes ${numBytes}`);
			if (!header[2] || !header[2][1]) throw new Error(`${p}: bloom algorithm is not BLOCK`);
			if (!header[3] || !header[3][1]) throw new Error(`${p}: bloom hash is not XXHASH`);
			if (!header[4] || !header[4][1]) throw new Error(`${p}: bloom compression is not UNCOMPRESSED`);
			if (pos + numBytes > buf.length) throw new Error(`${p}: bloom bitset past end of file`);
			if (m.bloom_filter_length !== undefined && m.bloom_filter_length !== null &&
			    Number(m.bloom_filter_length) !== pos - off + numBytes) {
				throw new Error(`${p}: bloom_filter_length ${m.bloom_filter_length} != header+bitset ${pos - off + numBytes}`);
			}
			const words = new Uint32Array(numBytes / 4);
			for (let k = 0; k < words.length; k++) words[k] = buf.readUInt32LE(pos + 4 * k);
			out.get(p).push({ rowGroup: g, words });
		}
	});
	return out;
}

// True when the filter may contain the hash, false when it certainly does not.
export function sbbfMayContain(words, hash) {
	const nBlocks = BigInt(words.length / 8);
	const block = Number(((hash >> 32n) * nBlocks) >> 32n);
	const low = Number(hash & 0xffffffffn);
	for (let k = 0; k < 8; k++) {
		const bit = Math.imul(low, SALT[k]) >>> 27;
		if (((words[block * 8 + k] >>> bit) & 1) === 0) return false;
	}
	return true;
}

// PLAIN bytes hashed for a value: strings as UTF-8, BigInt/INT64 decimal strings need `type`.
export function plainBytes(value, type = 'BYTE_ARRAY') {
	if (type === 'BYTE_ARRAY') return Buffer.from(String(value), 'utf8');
	const b = Buffer.alloc(type === 'INT32' ? 4 : 8);
	if (type === 'INT32') b.writeInt32LE(Number(value));
	else if (type === 'INT64') b.writeBigInt64LE(BigInt(value));
	else if (type === 'BOOLEAN') return Buffer.from([value ? 1 : 0]);
	else throw new Error(`plainBytes: unsupported ${type}`);
	return b;
}

// Probes a column (dotted path in schema, e.g. 'useridentity.arn') for a value: one entry per
// row group, { row_group_id, has_filter, excludes }.
export function bloomProbe(filters, column, value, type = 'BYTE_ARRAY') {
	const chunks = filters.get(column);
	if (!chunks) throw new Error(`no column ${column}`);
	const h = xxh64(plainBytes(value, type));
	return chunks.map((c, g) => ({ row_group_id: g, has_filter: !!c, excludes: c ? !sbbfMayContain(c.words, h) : false }));
}

// Every struct-path column (not inside a list or map) that has Bloom filters must not exclude
// any string value its row group holds (at most 300 distinct values probed per chunk). `rows`
// are the file's canonical rows in file order, `md` its hyparquet metadata. Returns problems.
export function bloomFalseNegatives(file, md, rows) {
	const out = [];
	let filters;
	try {
		filters = readBloomFilters(file);
	} catch (e) {
		return [`bloom: ${e.message}`];
	}
	const bounds = [];
	let start = 0;
	for (const rg of md.row_groups) {
		bounds.push([start, start + Number(rg.num_rows)]);
		start += Number(rg.num_rows);
	}
	for (const [col, chunks] of filters) {
		if (!chunks.some(Boolean)) continue;
		const segs = col.split('.');
		if (segs.some((s) => s === 'list' || s === 'key_value')) continue;
		chunks.forEach((c, g) => {
			if (!c) return;
			const seen = new Set();
			for (let r = bounds[g][0]; r < bounds[g][1] && r < rows.length && seen.size < 300; r++) {
				let v = rows[r];
				for (const s of segs) v = v === null || v === undefined ? null : v[s];
				if (typeof v !== 'string' || seen.has(v)) continue;
				seen.add(v);
				if (!sbbfMayContain(c.words, xxh64(plainBytes(v))))
					out.push(`bloom: ${col} row group ${g} excludes ${show(v)}, which it holds`);
			}
		});
	}
	return out;
}
