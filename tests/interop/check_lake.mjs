#!/usr/bin/env node
// check_lake.mjs SRC_DIR LAKE_DIR [--reader all|duckdb|arrow|hyparquet[,...]] [--max-diffs N]
//                [--created-by PREFIX] [--no-bloom] [--no-schema] [--quiet]
//
// Checks a lake written by `trailpq convert SRC_DIR LAKE_DIR` against the source, independently:
// the oracle (oracle.mjs) computes every expected row of every table from the source objects;
// the lake is read back by DuckDB (read_parquet with hive_partitioning = true,
// hive_types_autocast = false), by arrow-rs (parquet-wasm) and by hyparquet (partition values
// taken from the path for these two), and each reader's rows are compared with the expected
// rows as a multiset: row count per table, distinct eventid count, and every value of every
// column of every row (JSON-text columns and `unmapped` parsed and canonicalised first).
// Also: rows within each file are sorted by eventtime; partition directories are Hive style,
// zero-padded; no file lies outside the layout `<table>/account=/region=/year=/month=/day=/
// *.parquet` (top-level entries named `_*` or `.*` are ignored); each file's created_by starts
// with `trailpq version `; each file has schema v1 exactly (names, nesting, repetition,
// physical, logical and converted types); Bloom filters never exclude a value the file holds.
//
// Exit status 0 when everything matches, 1 otherwise (2 on bad usage). The last line printed
// is a one-line summary.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { canonicalText } from './json_raw.mjs';
import {
	expectedLake, expectedParquetSchema, COLUMN_NAMES, JSON_COLUMNS, PARTITION_COLUMNS, TABLES, listFiles,
} from './oracle.mjs';
import {
	readDuckDB, readArrow, readHyparquet, hyparquetMetadata, stableKey, diffValues, show, closeDuckDB,
} from './readers.mjs';
import { bloomFalseNegatives, readBloomFilters } from './bloom.mjs';

// The columns the CloudTrail table writes Bloom filters for (the Parquet writer issue).
export const BLOOM_COLUMNS = ['eventid', 'requestid', 'sourceipaddress', 'useridentity.arn', 'useridentity.accesskeyid',
	'useridentity.principalid', 'useridentity.username', 'eventsource', 'eventname', 'errorcode'];

export const ALL_READERS = ['duckdb', 'arrow', 'hyparquet'];

const PART_RE = {
	account: /^\d{12}$/,
	region: /^[a-z0-9]+(-[a-z0-9]+)*$/,
	year: /^\d{4}$/,
	month: /^(0[1-9]|1[0-2])$/,
	day: /^(0[1-9]|[12]\d|3[01])$/,
};

// Parses `<table>/account=A/region=R/year=Y/month=M/day=D/<name>.parquet`; returns
// { table, part: {account, ...} } or { error }.
export function parseLakePath(rel) {
	const seg = rel.split('/');
	if (seg.length !== 7) return { error: 'not at <table>/account=/region=/year=/month=/day=/<file>.parquet' };
	const [table, ...rest] = seg;
	if (!TABLES.includes(table)) return { error: `unknown table directory ${table}` };
	const file = rest.pop();
	if (!file.endsWith('.parquet') || file.startsWith('.') || file.startsWith('_'))
		return { error: 'not a .parquet data file name' };
	const part = {};
	for (let k = 0; k < 5; k++) {
		const name = PARTITION_COLUMNS[k];
		const m = /^([^=]+)=(.*)$/.exec(rest[k]);
		if (!m || m[1] !== name) return { error: `expected ${name}=... at depth ${k + 2}, got ${rest[k]}` };
		if (!PART_RE[name].test(m[2])) return { error: `partition value ${rest[k]} is not well formed (zero-padded)` };
		part[name] = m[2];
	}
	return { table, part };
}

// Compares a footer's schema (hyparquet's FileMetaData) with expectedParquetSchema().
export function schemaProblems(md) {
	const out = [];
	const el = md.schema;
	let idx = 1;
	const logicalName = (e) => {
		const l = e.logical_type;
		if (!l) return undefined;
		if (l.type === 'TIMESTAMP') return `TIMESTAMP(isAdjustedToUTC=${l.isAdjustedToUTC},unit=${l.unit})`;
		return l.type;
	};
	const skipChildren = (k) => {
		for (let c = 0; c < k && idx < el.length; c++) skipChildren(el[idx++].num_children ?? 0);
	};
	const visit = (exp, at) => {
		const e = el[idx++];
		if (!e) {
			out.push(`schema: missing ${at}${exp.name}`);
			return;
		}
		const p = at + e.name;
		if (e.name !== exp.name) out.push(`schema: expected ${at}${exp.name}, found ${p}`);
		if (e.repetition_type !== exp.repetition) out.push(`schema: ${p} is ${e.repetition_type}, expected ${exp.repetition}`);
		if (exp.children) {
			if (e.type !== undefined) out.push(`schema: ${p} is a ${e.type} leaf, expected a group`);
			if (e.converted_type !== exp.converted) out.push(`schema: ${p} converted_type ${e.converted_type}, expected ${exp.converted}`);
			if (logicalName(e) !== exp.logical) out.push(`schema: ${p} logical type ${logicalName(e)}, expected ${exp.logical}`);
			if (e.num_children !== exp.children.length) {
				out.push(`schema: ${p} has ${e.num_children} children, expected ${exp.children.length}`);
				skipChildren(e.num_children ?? 0);
				return;
			}
			for (const c of exp.children) visit(c, p + '.');
		} else {
			if (e.num_children) {
				out.push(`schema: ${p} is a group, expected a ${exp.type} leaf`);
				skipChildren(e.num_children);
				return;
			}
			if (e.type !== exp.type) out.push(`schema: ${p} physical type ${e.type}, expected ${exp.type}`);
			if (e.converted_type !== exp.converted) out.push(`schema: ${p} converted_type ${e.converted_type}, expected ${exp.converted}`);
			if (logicalName(e) !== exp.logical) out.push(`schema: ${p} logical type ${logicalName(e)}, expected ${exp.logical}`);
		}
	};
	const expected = expectedParquetSchema();
	if (el[0].num_children !== expected.length)
		out.push(`schema: root has ${el[0].num_children} columns, expected ${expected.length}`);
	for (const c of expected) visit(c, '');
	return out;
}

// Canonicalises a row read from the lake: JSON-text columns parsed and re-serialised.
function canonicalRow(row) {
	const out = { ...row };
	delete out.$file;
	delete out.$row;
	for (const c of JSON_COLUMNS) {
		if (typeof out[c] !== 'string') continue;
		try {
			out[c] = canonicalText(out[c]);
		} catch (e) {
			out[c] = `<<not valid JSON (${e.message})>> ${out[c]}`;
		}
	}
	return out;
}

// Multiset comparison of expected entries [{ row, file, index }] with rows read [{...row, $file}].
function compareRows(table, reader, expected, got, maxDiffs, problems) {
	const exp = new Map();
	for (const e of expected) {
		const k = stableKey(e.row);
		if (!exp.has(k)) exp.set(k, []);
		exp.get(k).push(e);
	}
	const extra = [];
	for (const g of got) {
		const k = stableKey(canonicalRow(g));
		const list = exp.get(k);
		if (list && list.length) list.pop();
		else extra.push(g);
	}
	const missing = [];
	for (const list of exp.values()) missing.push(...list);
	if (!missing.length && !extra.length) return 0;
	const byId = new Map();
	for (const g of extra) {
		const id = String(g.eventid);
		if (!byId.has(id)) byId.set(id, []);
		byId.get(id).push(g);
	}
	let shown = 0;
	const say = (s) => {
		if (shown++ < maxDiffs) problems.push(s);
	};
	for (const m of missing) {
		const id = String(m.row.eventid);
		const cands = byId.get(id);
		if (cands && cands.length) {
			// Pair with the candidate that differs in the fewest places.
			let best = 0, bestD = null;
			cands.forEach((c, k) => {
				const d = diffValues(m.row, canonicalRow(c), '', [], 50);
				if (bestD === null || d.length < bestD.length) {
					best = k;
					bestD = d;
				}
			});
			const g = cands.splice(best, 1)[0];
			for (const d of bestD.slice(0, 5)) {
				say(`[${reader}] ${table}: ${g.$file ?? '?'}: eventid ${show(m.row.eventid)} (source ${m.file}#${m.index}): ` +
					`${d.path}: expected ${show(d.expected)}, got ${show(d.got)}`);
			}
		} else {
			say(`[${reader}] ${table}: missing row: eventid ${show(m.row.eventid)} from ${m.file}#${m.index}`);
		}
	}
	for (const list of byId.values()) {
		for (const g of list)
			say(`[${reader}] ${table}: unexpected row in ${g.$file ?? '?'}: eventid ${show(g.eventid)}`);
	}
	const n = missing.length + extra.length;
	problems.push(`[${reader}] ${table}: ${missing.length} expected rows not found, ${extra.length} rows not expected` +
		(shown > maxDiffs ? ` (${shown - maxDiffs} more differences not shown)` : ''));
	return n;
}

// Rows of one file must be in eventtime order; NULL eventtimes (if any) all first or all last.
function checkSorted(reader, file, rows, problems) {
	const t = rows.map((r) => r.eventtime);
	let lo = 0, hi = t.length;
	if (t.length && t[0] === null) while (lo < hi && t[lo] === null) lo++;
	else while (hi > lo && t[hi - 1] === null) hi--;
	for (let r = lo; r < hi; r++) {
		if (t[r] === null) {
			problems.push(`[${reader}] ${file}: row ${r}: NULL eventtime between non-NULL ones (not sorted)`);
			return;
		}
		if (r > lo && t[r] < t[r - 1]) {
			problems.push(`[${reader}] ${file}: row ${r}: eventtime ${t[r]} < previous ${t[r - 1]} (not sorted by eventtime)`);
			return;
		}
	}
}

const distinctIds = (rows) => new Set(rows.map((r) => r.eventid).filter((x) => x !== null)).size;

// Runs every check. Returns { ok, problems: [string], info: [string], summary }.
export async function checkLake(srcDir, lakeDir, opts = {}) {
	const readers = opts.readers ?? ALL_READERS;
	const maxDiffs = opts.maxDiffs ?? 10;
	const createdBy = opts.createdBy ?? 'trailpq version ';
	const problems = [];
	const info = [];
	// Per-file problems are grouped by message, so that one defect shared by every file is
	// printed once, naming a first file and how many others have it.
	const byMessage = new Map();
	const fileProblem = (rel, msg) => {
		if (!byMessage.has(msg)) byMessage.set(msg, []);
		byMessage.get(msg).push(rel);
	};

	const expected = expectedLake(srcDir);
	for (const r of expected.rejected)
		info.push(`source rejected as a whole: ${r.file}: ${r.message}${r.record >= 0 ? ` (record ${r.record})` : ''}`);
	for (const w of expected.warnings) info.push(`warning: ${w}`);

	// Layout.
	if (!fs.existsSync(lakeDir) || !fs.statSync(lakeDir).isDirectory()) {
		problems.push(`lake directory ${lakeDir} does not exist`);
		return { ok: false, problems, info, summary: `check_lake: FAIL: no lake at ${lakeDir}` };
	}
	const dataFiles = Object.fromEntries(TABLES.map((t) => [t, []]));
	for (const rel of listFiles(lakeDir)) {
		const top = rel.split('/')[0];
		if (top.startsWith('_') || top.startsWith('.')) {
			info.push(`ignored: ${rel}`);
			continue;
		}
		const p = parseLakePath(rel);
		if (p.error) problems.push(`layout: ${rel}: ${p.error}`);
		else dataFiles[p.table].push({ rel, abs: path.join(lakeDir, rel), part: p.part });
	}

	// Per file: footer, schema, created_by.
	const metas = new Map();
	for (const t of TABLES) {
		for (const f of dataFiles[t]) {
			let md;
			try {
				md = hyparquetMetadata(f.abs);
			} catch (e) {
				fileProblem(f.rel, `footer unreadable: ${e.message}`);
				continue;
			}
			metas.set(f.rel, md);
			if (createdBy && !(md.created_by ?? '').startsWith(createdBy))
				fileProblem(f.rel, `created_by ${show(md.created_by)} does not start with ${show(createdBy)}`);
			if (opts.checkSchema !== false) for (const s of schemaProblems(md)) fileProblem(f.rel, s);
		}
	}

	const counts = {};
	for (const t of TABLES) {
		const exp = expected.tables[t];
		counts[t] = exp.length;
		const expIds = distinctIds(exp.map((e) => e.row));
		for (const reader of readers) {
			let rows = [];
			try {
				if (reader === 'duckdb') {
					if (dataFiles[t].length) {
						// The files found in the layout (a glob would also take stray files).
						rows = await readDuckDB(dataFiles[t].map((f) => f.abs), { hive: true, meta: true });
						for (const r of rows) r.$file = path.relative(lakeDir, r.$file);
						const byFile = new Map();
						for (const r of rows) {
							if (!byFile.has(r.$file)) byFile.set(r.$file, []);
							byFile.get(r.$file).push(r);
						}
						for (const [file, list] of byFile) {
							list.sort((a, b) => a.$row - b.$row);
							checkSorted(reader, file, list, problems);
						}
					}
				} else {
					for (const f of dataFiles[t]) {
						const part = reader === 'arrow' ? readArrow(f.abs) : await readHyparquet(f.abs);
						checkSorted(reader, f.rel, part, problems);
						if (reader === 'hyparquet' && metas.has(f.rel) && !opts.noBloom) {
							for (const s of bloomFalseNegatives(f.abs, metas.get(f.rel), part)) fileProblem(f.rel, s);
							const filters = readBloomFilters(f.abs);
							for (const c of opts.bloomColumns ?? BLOOM_COLUMNS) {
								if (!(filters.get(c) ?? []).every(Boolean))
									fileProblem(f.rel, `column ${c} has no Bloom filter in some row group`);
							}
						}
						for (const r of part) {
							Object.assign(r, f.part);
							r.$file = f.rel;
							rows.push(r);
						}
					}
				}
			} catch (e) {
				problems.push(`[${reader}] ${t}: read failed: ${e.message}`);
				continue;
			}
			if (rows.length !== exp.length)
				problems.push(`[${reader}] ${t}: ${rows.length} rows, expected ${exp.length}`);
			const gotIds = distinctIds(rows);
			if (gotIds !== expIds) problems.push(`[${reader}] ${t}: ${gotIds} distinct eventids, expected ${expIds}`);
			const cols = rows.length ? Object.keys(rows[0]).filter((k) => !k.startsWith('$')) : null;
			const want = [...COLUMN_NAMES, ...PARTITION_COLUMNS];
			if (cols && (cols.length !== want.length || want.some((c) => !cols.includes(c))))
				problems.push(`[${reader}] ${t}: columns ${cols.join(',')}; expected ${want.join(',')}`);
			compareRows(t, reader, exp, rows, maxDiffs, problems);
		}
	}

	let distinct = 0;
	for (const [msg, files] of byMessage) {
		if (distinct++ === 40) {
			problems.push(`... ${byMessage.size - 40} more distinct per-file problems`);
			break;
		}
		problems.push(`${files[0]}: ${msg}${files.length > 1 ? ` (and ${files.length - 1} more files)` : ''}`);
	}
	const ok = problems.length === 0;
	const tally = TABLES.map((t) => `${t} ${counts[t]}`).join(', ');
	const nFiles = TABLES.reduce((a, t) => a + dataFiles[t].length, 0);
	const summary = ok
		? `check_lake: OK: rows ${tally}; ${nFiles} Parquet files; readers ${readers.join(',')}; ` +
		  `${expected.rejected.length} source files rejected`
		: `check_lake: FAIL: ${problems.length} problems; expected rows ${tally}; ${nFiles} Parquet files; readers ${readers.join(',')}`;
	return { ok, problems, info, summary, expected };
}

function usage() {
	process.stderr.write('usage: check_lake.mjs SRC_DIR LAKE_DIR [--reader all|duckdb|arrow|hyparquet[,...]] ' +
		'[--max-diffs N] [--created-by PREFIX] [--no-bloom] [--no-schema] [--quiet]\n');
	process.exit(2);
}

async function main(argv) {
	const pos = [];
	const opts = {};
	let quiet = false;
	for (let k = 0; k < argv.length; k++) {
		const a = argv[k];
		if (a === '--reader') {
			const v = argv[++k];
			if (!v) usage();
			opts.readers = v === 'all' ? ALL_READERS : v.split(',');
			if (opts.readers.some((r) => !ALL_READERS.includes(r))) usage();
		} else if (a === '--max-diffs') {
			opts.maxDiffs = Number(argv[++k]);
		} else if (a === '--created-by') {
			opts.createdBy = argv[++k] ?? usage();
		} else if (a === '--no-bloom') {
			opts.noBloom = true;
		} else if (a === '--no-schema') {
			opts.checkSchema = false;
		} else if (a === '--quiet') {
			quiet = true;
		} else if (a.startsWith('-')) {
			usage();
		} else {
			pos.push(a);
		}
	}
	if (pos.length !== 2) usage();
	const res = await checkLake(pos[0], pos[1], opts);
	if (!quiet) for (const s of res.info) console.log(s);
	for (const p of res.problems) console.log(p);
	console.log(res.summary);
	closeDuckDB();
	return res.ok ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
	main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
		console.error(e.stack || String(e));
		console.log('check_lake: FAIL: internal error');
		process.exit(1);
	});
}
