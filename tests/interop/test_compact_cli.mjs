// `trailpq compact` end to end, through the real binary: a partition that two convert runs left
// in two files becomes one file (one row group), sorted by eventtime, with every row kept.
//
// The partition has more rows (25,000) than the writer puts in one data page (20,000), because
// compaction used to take any drop of the writer's buffered bytes for the end of a row group,
// and cutting every column's page at 20,000 rows is such a drop: the files came out split every
// 20,000 rows, so compaction made more files than it merged.
//
// Env: TRAILPQ (required) is the trailpq binary; without it the test fails with a clear
// message, unless TPQ_ALLOW_SKIP=1, which turns the failure into a skip.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { duckdbQuery, duckdbMeta, closeDuckDB } from './readers.mjs';
import { ctKey, rec, recordsText, put, gz, walk, lakeGlob } from './bucket.mjs';

const TRAILPQ = process.env.TRAILPQ;
const SKIP = !TRAILPQ && process.env.TPQ_ALLOW_SKIP === '1' ? 'TRAILPQ is unset (TPQ_ALLOW_SKIP=1)' : false;

let scratch;
test.before(() => {
	scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tpq-compact-cli-'));
});
test.after(() => {
	closeDuckDB();
	if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

function run(args) {
	const r = spawnSync(TRAILPQ, args, { encoding: 'utf8', timeout: 120000 });
	if (r.error) throw r.error;
	assert.equal(r.status, 0, `trailpq ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
	return r;
}

const ROWS = 25000;
const PER_FILE = 500;

// Files of PER_FILE records of one day; eventTimes spread over the day and, within a file, not
// in order, so compaction has to merge.
function writeFiles(src, from, to) {
	for (let f = from; f < to; f += PER_FILE) {
		const records = [];
		for (let i = f; i < Math.min(f + PER_FILE, to); i++) {
			const s = (i * 7919) % 86400;
			const t = `2024-03-14T${String(Math.floor(s / 3600)).padStart(2, '0')}:` +
				`${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}Z`;
			records.push(rec(`e${String(i).padStart(8, '0')}`, t));
		}
		put(src, ctKey({ d: 14 }), gz(recordsText(records)));
	}
}

function partFiles(lake) {
	return walk(path.join(lake, 'cloudtrail')).filter((f) => f.endsWith('.parquet'))
		.map((f) => path.join(lake, 'cloudtrail', f));
}

async function lakeSummary(lake) {
	const [r] = await duckdbQuery(`SELECT count(*) AS n, count(DISTINCT eventid) AS ids,
		min(eventid) AS lo, max(eventid) AS hi FROM read_parquet(${lakeGlob(lake)})`);
	return { n: Number(r.n), ids: Number(r.ids), lo: r.lo, hi: r.hi };
}

test('compact: two files of a 25,000-row partition become one file of one row group, ' +
	'sorted by eventtime, with every row', { skip: SKIP, timeout: 300000 }, async () => {
	if (!TRAILPQ)
		assert.fail('TRAILPQ is not set: point it at the trailpq binary (make interop does), ' +
			'or set TPQ_ALLOW_SKIP=1 to skip this test');
	const src = path.join(scratch, 'bucket'), lake = path.join(scratch, 'lake');
	writeFiles(src, 0, ROWS / 2);
	run(['convert', '--quiet', src, lake]);
	writeFiles(src, ROWS / 2, ROWS);
	run(['convert', '--quiet', src, lake]);
	const before = partFiles(lake);
	assert.equal(before.length, 2, `two runs should leave two files: ${before.join(', ')}`);
	const want = await lakeSummary(lake);
	assert.deepEqual(want, { n: ROWS, ids: ROWS, lo: 'e00000000', hi: `e${String(ROWS - 1).padStart(8, '0')}` });

	run(['compact', lake]);
	const after = partFiles(lake);
	assert.equal(after.length, 1, `compaction should leave one file: ${after.join(', ')}`);
	assert.deepEqual(await lakeSummary(lake), want);
	const meta = await duckdbMeta(after[0]);
	assert.equal(Number(meta.file.num_row_groups), 1, 'one row group');
	// sorted by eventtime: no row is earlier than the one before it
	const [o] = await duckdbQuery(`SELECT count(*) AS bad FROM (SELECT eventtime < lag(eventtime)
		OVER (ORDER BY file_row_number) AS back FROM read_parquet('${after[0]}',
		file_row_number = true)) WHERE back`);
	assert.equal(Number(o.bad), 0, 'rows out of eventtime order');
});
