#!/usr/bin/env node
// check_file.mjs FILE.parquet EXPECTED.jsonl [--reader all|duckdb|arrow|hyparquet[,...]]
//                [--created-by PREFIX] [--bloom COL[,COL...]] [--max-diffs N]
//
// For the Parquet writer tests: FILE.parquet was written by trailpq's writer and EXPECTED.jsonl
// holds, one JSON object per line, the rows it wrote in the canonical row form of readers.mjs
// (INT64 as decimal strings, timestamps as integer milliseconds, maps as [key, value] pairs,
// every struct field present, NULL as null). The file is read by DuckDB, arrow-rs
// (parquet-wasm) and hyparquet, and each reader's rows are compared with the expected rows
// row by row, in order, value by value.
// Also: created_by starts with PREFIX (default `trailpq version `; `--created-by ''` skips);
// every Bloom filter is well formed and never excludes a value its row group holds; for
// top-level columns with Bloom filters, DuckDB's parquet_bloom_probe() agrees with our own
// probe (bloom.mjs) on present and on absent values; `--bloom` names columns that must have a
// Bloom filter in every row group.
// Exit 0 when everything matches, 1 otherwise, 2 on bad usage; the last line is a summary.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
	readDuckDB, readArrow, readHyparquet, hyparquetMetadata, duckdbBloomProbe, diffValues, show,
	closeDuckDB,
} from './readers.mjs';
import { readBloomFilters, bloomProbe, bloomFalseNegatives } from './bloom.mjs';

export const ALL_READERS = ['duckdb', 'arrow', 'hyparquet'];

export function readJsonl(file) {
	return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l, k) => {
		try {
			return JSON.parse(l);
		} catch (e) {
			throw new Error(`${file}:${k + 1}: ${e.message}`);
		}
	});
}

async function readWith(reader, file) {
	if (reader === 'duckdb') return readDuckDB(file, { meta: true }).then((rows) => rows
		.sort((a, b) => a.$row - b.$row).map(({ $file, $row, ...r }) => r));
	if (reader === 'arrow') return readArrow(file);
	return readHyparquet(file);
}

// Returns { ok, problems, summary }.
export async function checkFile(file, expected, opts = {}) {
	const readers = opts.readers ?? ALL_READERS;
	const maxDiffs = opts.maxDiffs ?? 10;
	const createdBy = opts.createdBy ?? 'trailpq version ';
	const problems = [];
	let md = null;
	try {
		md = hyparquetMetadata(file);
	} catch (e) {
		problems.push(`footer unreadable (hyparquet): ${e.message}`);
	}
	if (md && createdBy && !(md.created_by ?? '').startsWith(createdBy))
		problems.push(`created_by ${show(md.created_by)} does not start with ${show(createdBy)}`);
	if (md && Number(md.num_rows) !== expected.length)
		problems.push(`footer num_rows ${md.num_rows}, expected ${expected.length}`);

	let anyRows = null;
	for (const reader of readers) {
		let rows;
		try {
			rows = await readWith(reader, file);
		} catch (e) {
			problems.push(`[${reader}] read failed: ${e.message}`);
			continue;
		}
		anyRows ??= rows;
		if (rows.length !== expected.length) problems.push(`[${reader}] ${rows.length} rows, expected ${expected.length}`);
		let shown = 0, bad = 0;
		const n = Math.min(rows.length, expected.length);
		for (let r = 0; r < n; r++) {
			const d = diffValues(expected[r], rows[r], '', [], 5);
			if (!d.length) continue;
			bad++;
			for (const x of d) {
				if (shown++ < maxDiffs)
					problems.push(`[${reader}] row ${r}: ${x.path}: expected ${show(x.expected)}, got ${show(x.got)}`);
			}
		}
		if (bad) problems.push(`[${reader}] ${bad} of ${n} rows differ`);
	}

	if (md && anyRows && !opts.noBloom) {
		for (const s of bloomFalseNegatives(file, md, anyRows)) problems.push(s);
		let filters = null;
		try {
			filters = readBloomFilters(file);
		} catch (e) {
			problems.push(`bloom: ${e.message}`);
		}
		for (const c of opts.bloomColumns ?? []) {
			if (!filters || !(filters.get(c) ?? []).length || !filters.get(c).every(Boolean))
				problems.push(`bloom: column ${c} lacks a Bloom filter in some row group`);
		}
		// DuckDB's probe and ours must agree on top-level string columns.
		for (const [col, chunks] of filters ?? []) {
			if (col.includes('.') || !chunks.some(Boolean)) continue;
			const present = [...new Set(anyRows.map((r) => r[col]).filter((v) => typeof v === 'string'))].slice(0, 20);
			const absent = Array.from({ length: 20 }, (_, k) => `trailpq-absent-${k}-${col}`);
			let excluded = 0;
			for (const v of [...present, ...absent]) {
				const ours = bloomProbe(filters, col, v).map((x) => x.excludes);
				let theirs;
				try {
					theirs = (await duckdbBloomProbe(file, col, v)).map((x) => x.bloom_filter_excludes);
				} catch (e) {
					problems.push(`bloom: DuckDB probe of ${col} failed: ${e.message}`);
					break;
				}
				if (ours.join() !== theirs.join())
					problems.push(`bloom: ${col} ${show(v)}: our probe says excludes=[${ours}], DuckDB says [${theirs}]`);
				if (!present.includes(v) && theirs.every(Boolean)) excluded++;
			}
			if (excluded === 0) problems.push(`bloom: ${col}: not one of 20 absent values is excluded (filter saturated?)`);
		}
	}

	const ok = problems.length === 0;
	const summary = ok
		? `check_file: OK: ${file}: ${expected.length} rows match with ${readers.join(',')}`
		: `check_file: FAIL: ${file}: ${problems.length} problems`;
	return { ok, problems, summary };
}

function usage() {
	process.stderr.write('usage: check_file.mjs FILE.parquet EXPECTED.jsonl [--reader all|duckdb|arrow|hyparquet[,...]] ' +
		"[--created-by PREFIX] [--bloom COL[,COL...]] [--no-bloom] [--max-diffs N]\n");
	process.exit(2);
}

async function main(argv) {
	const pos = [];
	const opts = {};
	for (let k = 0; k < argv.length; k++) {
		const a = argv[k];
		if (a === '--reader') {
			const v = argv[++k] ?? usage();
			opts.readers = v === 'all' ? ALL_READERS : v.split(',');
			if (opts.readers.some((r) => !ALL_READERS.includes(r))) usage();
		} else if (a === '--created-by') {
			opts.createdBy = argv[++k] ?? usage();
		} else if (a === '--bloom') {
			opts.bloomColumns = (argv[++k] ?? usage()).split(',').filter(Boolean);
		} else if (a === '--no-bloom') {
			opts.noBloom = true;
		} else if (a === '--max-diffs') {
			opts.maxDiffs = Number(argv[++k]);
		} else if (a.startsWith('-')) {
			usage();
		} else {
			pos.push(a);
		}
	}
	if (pos.length !== 2) usage();
	const res = await checkFile(pos[0], readJsonl(pos[1]), opts);
	for (const p of res.problems) console.log(p);
	console.log(res.summary);
	closeDuckDB();
	return res.ok ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
	main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
		console.error(e.stack || String(e));
		console.log('check_file: FAIL: internal error');
		process.exit(1);
	});
}
