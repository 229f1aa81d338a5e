// Three independent Parquet readers, each giving rows in ONE canonical form so that they can be
// compared with each other, with the oracle (oracle.mjs) and with the JSONL the writer tests
// record:
//
//   STRING (BYTE_ARRAY UTF8)   JS string
//   BOOLEAN                    true / false
//   INT32 (and FLOAT/DOUBLE)   number
//   INT64                      decimal string ("9007199254740993"), never a number or BigInt,
//                              so that rows survive JSON.stringify / JSONL unchanged
//   TIMESTAMP (any unit)       integer milliseconds since the epoch, UTC (number)
//   BYTE_ARRAY without STRING  lower-case hex string
//   struct                     object with ALL its fields (a NULL field is null)
//   list                       array (a NULL element is null)
//   map                        array of [key, value] pairs in file order
//   NULL (any type)            null
//
// readDuckDB uses DuckDB (@duckdb/node-api, its own C++ Parquet reader), readArrow uses
// arrow-rs (parquet-wasm) and decodes its Arrow IPC output with apache-arrow, readHyparquet
// uses hyparquet (pure JS, with hyparquet-compressors for ZSTD/GZIP/LZ4/Brotli).
//
// hyparquet turns a MAP into a JS object, which loses key order (integer-like keys move first)
// and repeated keys; readHyparquet therefore reads with the MAP annotation removed from its copy
// of the footer and rebuilds the [key, value] pairs from the key_value groups. DuckDB and
// arrow-rs still read the MAP annotation itself.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import {
	DuckDBInstance, DuckDBStructValue, DuckDBListValue, DuckDBArrayValue, DuckDBMapValue,
	DuckDBTimestampValue, DuckDBTimestampTZValue, DuckDBTimestampMillisecondsValue,
	DuckDBTimestampSecondsValue, DuckDBTimestampNanosecondsValue, DuckDBBlobValue,
} from '@duckdb/node-api';
import * as arrow from 'apache-arrow';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

const require = createRequire(import.meta.url);
const parquetWasm = require('parquet-wasm/node');

const hex = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('hex');
const sqlString = (s) => `'${String(s).replace(/'/g, "''")}'`;

// ---------------------------------------------------------------------------------------------
// DuckDB

let duck = null;
async function duckConnection() {
	if (!duck) {
		const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
		duck = { instance, con: await instance.connect() };
		await duck.con.run("SET TimeZone = 'UTC'");
	}
	return duck.con;
}

// Releases the shared DuckDB instance (optional; the process may simply exit).
export function closeDuckDB() {
	if (duck) {
		duck.con.closeSync?.();
		duck.instance.closeSync?.();
		duck = null;
	}
}

function normDuck(v) {
	if (v === null || v === undefined) return null;
	switch (typeof v) {
	case 'string': case 'boolean': return v;
	case 'number': return v;
	case 'bigint': return v.toString();
	default: break;
	}
	if (v instanceof DuckDBStructValue) {
		const out = {};
		for (const [k, x] of Object.entries(v.entries)) out[k] = normDuck(x);
		return out;
	}
	if (v instanceof DuckDBListValue || v instanceof DuckDBArrayValue) return v.items.map(normDuck);
	if (v instanceof DuckDBMapValue) return v.entries.map((e) => [normDuck(e.key), normDuck(e.value)]);
	if (v instanceof DuckDBTimestampTZValue || v instanceof DuckDBTimestampValue) return microsToMs(v.micros);
	if (v instanceof DuckDBTimestampMillisecondsValue) return Number(v.millis);
	if (v instanceof DuckDBTimestampSecondsValue) return Number(v.seconds) * 1000;
	if (v instanceof DuckDBTimestampNanosecondsValue) return Number(floorDiv(v.nanos, 1000000n));
	if (v instanceof DuckDBBlobValue) return hex(v.bytes);
	throw new Error(`readDuckDB: no canonical form for ${v?.constructor?.name}: ${String(v)}`);
}

const floorDiv = (a, b) => (a >= 0n ? a / b : -((-a + b - 1n) / b));
function microsToMs(us) {
	return Number(floorDiv(us, 1000n));
}

// Reads Parquet through DuckDB's read_parquet. `source` is a path, a glob or an array of them.
// Options: hive (hive_partitioning = true, hive_types_autocast = false: partition values come
// back as strings), meta (each row gets `$file` and `$row`: the file and the row's position in
// it), where / orderBy (SQL fragments), columns (SQL select list, default *).
// Returns an array of canonical rows.
export async function readDuckDB(source, { hive = false, meta = false, where, orderBy, columns = '*' } = {}) {
	const con = await duckConnection();
	const list = (Array.isArray(source) ? source : [source]).map(sqlString).join(', ');
	const opts = [];
	if (hive) opts.push('hive_partitioning = true', 'hive_types_autocast = false');
	else opts.push('hive_partitioning = false');
	if (meta) opts.push('filename = true', 'file_row_number = true');
	let sql = `SELECT ${columns} FROM read_parquet([${list}], ${opts.join(', ')})`;
	if (where) sql += ` WHERE ${where}`;
	if (orderBy) sql += ` ORDER BY ${orderBy}`;
	const reader = await con.runAndReadAll(sql);
	const rows = reader.getRowObjects();
	return rows.map((r) => {
		const out = {};
		for (const [k, v] of Object.entries(r)) {
			if (meta && k === 'filename') out.$file = v;
			else if (meta && k === 'file_row_number') out.$row = Number(v);
			else out[k] = normDuck(v);
		}
		return out;
	});
}

// Runs any SQL on the shared DuckDB connection; rows as JSON-safe objects (DuckDB's Json form).
export async function duckdbQuery(sql, params) {
	const con = await duckConnection();
	const reader = params ? await con.runAndReadAll(sql, params) : await con.runAndReadAll(sql);
	return reader.getRowObjectsJson();
}

// DuckDB's view of a file's metadata: { file: parquet_file_metadata() row,
// metadata: parquet_metadata() rows, schema: parquet_schema() rows, kv: parquet_kv_metadata()
// rows (key/value decoded as UTF-8 text) }. Numbers that may exceed 2^53 are decimal strings.
export async function duckdbMeta(file) {
	const f = sqlString(file);
	const [fileRow] = await duckdbQuery(`SELECT * FROM parquet_file_metadata(${f})`);
	const metadata = await duckdbQuery(`SELECT * FROM parquet_metadata(${f}) ORDER BY row_group_id, column_id`);
	const schema = await duckdbQuery(`SELECT * FROM parquet_schema(${f})`);
	const kv = await duckdbQuery(`SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(${f})`);
	return { file: fileRow, metadata, schema, kv };
}

// parquet_bloom_probe(file, column, value): one row per row group,
// { row_group_id: number, bloom_filter_excludes: boolean }. `column` is the dotted path in
// the schema (e.g. 'useridentity.arn').
export async function duckdbBloomProbe(file, column, value) {
	const rows = await duckdbQuery(`SELECT row_group_id, bloom_filter_excludes FROM parquet_bloom_probe(${sqlString(file)}, ${sqlString(column)}, $1) ORDER BY row_group_id`, [value]);
	return rows.map((r) => ({ row_group_id: Number(r.row_group_id), bloom_filter_excludes: r.bloom_filter_excludes }));
}

// ---------------------------------------------------------------------------------------------
// arrow-rs (parquet-wasm) -> Arrow IPC -> apache-arrow

function normArrow(type, v) {
	if (v === null || v === undefined) return null;
	switch (type.typeId) {
	case arrow.Type.Utf8: case arrow.Type.LargeUtf8: return String(v);
	case arrow.Type.Bool: return Boolean(v);
	case arrow.Type.Int:
		return type.bitWidth === 64 ? BigInt(v).toString() : Number(v);
	case arrow.Type.Float: return Number(v);
	case arrow.Type.Timestamp: {
		// apache-arrow gives milliseconds (a number) for every unit; keep it integral.
		return Math.floor(Number(v));
	}
	case arrow.Type.Binary: case arrow.Type.LargeBinary: case arrow.Type.FixedSizeBinary:
		return hex(v);
	case arrow.Type.Struct: {
		const out = {};
		for (const f of type.children) out[f.name] = normArrow(f.type, v[f.name]);
		return out;
	}
	case arrow.Type.List: case arrow.Type.LargeList: case arrow.Type.FixedSizeList: {
		const et = type.children[0].type;
		const out = [];
		for (let k = 0; k < v.length; k++) out.push(normArrow(et, v.get(k)));
		return out;
	}
	case arrow.Type.Map: {
		const [kf, vf] = type.children[0].type.children;
		return [...v].map(([k, x]) => [normArrow(kf.type, k), normArrow(vf.type, x)]);
	}
	default:
		if (arrow.DataType.isUtf8View?.(type)) return String(v);
		throw new Error(`readArrow: no canonical form for Arrow type ${type}`);
	}
}

// The Arrow schema parquet-wasm read (for type checks), and the rows.
export function readArrowTable(file) {
	const bytes = fs.readFileSync(file);
	const wasmTable = parquetWasm.readParquet(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
	return arrow.tableFromIPC(wasmTable.intoIPCStream());
}

export function readArrow(file) {
	const table = readArrowTable(file);
	const fields = table.schema.fields;
	const rows = [];
	for (let r = 0; r < table.numRows; r++) rows.push({});
	for (const f of fields) {
		const col = table.getChild(f.name);
		for (let r = 0; r < table.numRows; r++) rows[r][f.name] = normArrow(f.type, col.get(r));
	}
	return rows;
}

// ---------------------------------------------------------------------------------------------
// hyparquet

function fileArrayBuffer(file) {
	const b = fs.readFileSync(file);
	return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

// hyparquet's decoded footer (FileMetaData as plain objects).
export function hyparquetMetadata(file) {
	return parquetMetadata(fileArrayBuffer(file));
}

const isMapElement = (e) => e.converted_type === 'MAP' || e.converted_type === 'MAP_KEY_VALUE' ||
	e.logical_type?.type === 'MAP';

// Schema tree with our own notion of kind, from the ORIGINAL metadata.
function kindTree(node) {
	const e = node.element;
	const kids = node.children.map(kindTree);
	if (!node.children.length) return { kind: 'leaf', name: e.name, element: e };
	if (isMapElement(e) && node.children.length === 1 && node.children[0].children.length === 2) {
		const kv = node.children[0];
		return { kind: 'map', name: e.name, kvName: kv.element.name,
			key: kindTree(kv.children[0]), value: kindTree(kv.children[1]) };
	}
	if ((e.converted_type === 'LIST' || e.logical_type?.type === 'LIST') && node.children.length === 1) {
		const rep = node.children[0];
		const elem = rep.children.length === 1 ? kindTree(rep.children[0]) : kindTree(rep);
		return { kind: 'list', name: e.name, elem };
	}
	return { kind: 'struct', name: e.name, fields: kids };
}

// Timestamps come back tagged with their exact integer value, strings are decoded strictly (an
// invalid UTF-8 string is an error, not U+FFFD).
class HypTime {
	constructor(ms) {
		this.ms = ms;
	}
}
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const HYP_PARSERS = {
	timestampFromMilliseconds: (v) => new HypTime(Number(BigInt(v))),
	timestampFromMicroseconds: (v) => new HypTime(Number(floorDiv(BigInt(v), 1000n))),
	timestampFromNanoseconds: (v) => new HypTime(Number(floorDiv(BigInt(v), 1000000n))),
	stringFromBytes: (bytes) => bytes && strictUtf8.decode(bytes),
};

function normHyp(t, v) {
	if (v === null || v === undefined) return null;
	switch (t.kind) {
	case 'struct': {
		const out = {};
		for (const f of t.fields) out[f.name] = normHyp(f, v[f.name]);
		return out;
	}
	case 'list':
		return Array.from(v, (x) => normHyp(t.elem, x));
	case 'map':
		return Array.from(v[t.kvName] ?? [], (kv) => [normHyp(t.key, kv.key), normHyp(t.value, kv.value)]);
	default: {
		const e = t.element;
		if (v instanceof HypTime) return v.ms;
		switch (e.type) {
		case 'BOOLEAN': return Boolean(v);
		case 'INT32': return Number(v);
		case 'INT64':
			if (e.logical_type?.type === 'TIMESTAMP' || /^TIMESTAMP/.test(e.converted_type ?? ''))
				throw new Error(`readHyparquet: timestamp ${e.name} not decoded as one`);
			return BigInt(v).toString();
		case 'FLOAT': case 'DOUBLE': return Number(v);
		case 'BYTE_ARRAY': case 'FIXED_LEN_BYTE_ARRAY':
			if (typeof v === 'string') return v;
			if (v instanceof Uint8Array) return hex(v);
			break;
		default: break;
		}
		throw new Error(`readHyparquet: no canonical form for ${e.type} ${e.name}: ${String(v)}`);
	}
	}
}

export async function readHyparquet(file) {
	const ab = fileArrayBuffer(file);
	const metadata = parquetMetadata(ab);
	const tree = parquetSchema(metadata).children.map(kindTree);
	// hyparquet's own MAP assembly makes objects; read the key_value groups as a struct instead.
	const md = { ...metadata, schema: metadata.schema.map((e) => {
		if (!isMapElement(e)) return e;
		const c = { ...e };
		delete c.converted_type;
		delete c.logical_type;
		return c;
	}) };
	const rows = await parquetReadObjects({ file: ab, metadata: md, compressors, parsers: HYP_PARSERS, utf8: false });
	return rows.map((r) => {
		const out = {};
		for (const t of tree) out[t.name] = normHyp(t, r[t.name]);
		return out;
	});
}

// ---------------------------------------------------------------------------------------------
// Comparing canonical values

// Deep equality of canonical values; object (struct/row) key order is ignored, array order is not.
export function deepEqual(a, b) {
	if (a === b) return true;
	if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
	if (Array.isArray(a) !== Array.isArray(b)) return false;
	if (Array.isArray(a)) {
		if (a.length !== b.length) return false;
		for (let k = 0; k < a.length; k++) if (!deepEqual(a[k], b[k])) return false;
		return true;
	}
	const ka = Object.keys(a), kb = Object.keys(b);
	if (ka.length !== kb.length) return false;
	for (const k of ka) if (!Object.hasOwn(b, k) || !deepEqual(a[k], b[k])) return false;
	return true;
}

// JSON text with object keys sorted: equal canonical values give equal keys.
export function stableKey(v) {
	if (v === null || typeof v !== 'object') return JSON.stringify(v);
	if (Array.isArray(v)) return '[' + v.map(stableKey).join(',') + ']';
	return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + stableKey(v[k])).join(',') + '}';
}

// Paths where two canonical values differ: [{ path, expected, got }] (at most `limit`).
export function diffValues(expected, got, at = '', out = [], limit = 20) {
	if (out.length >= limit || deepEqual(expected, got)) return out;
	const bothObj = expected && got && typeof expected === 'object' && typeof got === 'object' &&
		Array.isArray(expected) === Array.isArray(got);
	if (!bothObj) {
		out.push({ path: at || '(value)', expected, got });
		return out;
	}
	if (Array.isArray(expected)) {
		if (expected.length !== got.length) {
			out.push({ path: at, expected, got });
			return out;
		}
		for (let k = 0; k < expected.length; k++) diffValues(expected[k], got[k], `${at}[${k}]`, out, limit);
		return out;
	}
	const keys = new Set([...Object.keys(expected), ...Object.keys(got)]);
	for (const k of keys) {
		const p = at ? `${at}.${k}` : k;
		if (!Object.hasOwn(got, k)) out.push({ path: p, expected: expected[k], got: '<missing>' });
		else if (!Object.hasOwn(expected, k)) out.push({ path: p, expected: '<absent>', got: got[k] });
		else diffValues(expected[k], got[k], p, out, limit);
		if (out.length >= limit) break;
	}
	return out;
}

// A short printable form of a canonical value.
export function show(v, max = 160) {
	const s = v === undefined ? 'undefined' : JSON.stringify(v);
	return s.length > max ? s.slice(0, max) + `...(${s.length} chars)` : s;
}

export const READERS = {
	duckdb: async (file) => readDuckDB(file),
	arrow: async (file) => readArrow(file),
	hyparquet: async (file) => readHyparquet(file),
};
