// bench/query_bench.mjs: five typical security queries (from ../shared/bench/queries.sql) run by
// DuckDB over two lakes of the same bucket, one written by trailpq and one by DuckDB itself.
// Placeholders are filled with values read from the trailpq lake (DAY: the day with the most
// RunInstances calls in the window of the event-name query, else the busiest day; the busiest
// access key; the busiest source IP address), so both lakes answer the same question. Each query
// is timed best of 3 (after one untimed warm-up; runs alternate between the lakes), one DuckDB
// instance per lake; the row counts of both lakes are printed so a mismatch shows. Not a test.
//
//   node bench/query_bench.mjs LAKE_TRAILPQ LAKE_DUCKDB [--runs N]
//
// Run from the repository root (needs @duckdb/node-api in ./node_modules).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const req = createRequire(path.join(here, '..') + '/');
const { DuckDBInstance } = await import(pathToFileURL(req.resolve('@duckdb/node-api')).href);

const args = process.argv.slice(2);
let runs = 3;
const ri = args.indexOf('--runs');
if (ri >= 0) { runs = Number(args[ri + 1]); args.splice(ri, 2); }
const [lakeTp, lakeDd] = args;
if (!lakeTp || !lakeDd) {
  console.error('usage: node bench/query_bench.mjs LAKE_TRAILPQ LAKE_DUCKDB [--runs N]');
  process.exit(2);
}

// the five picked queries, by their `-- name:` in queries.sql, with what they stand for
const PICK = [
  ['eventname_window', 'one event name over a window'],
  ['access_key_timeline', "one access key's activity"],
  ['access_denied_by_principal', 'errors by user'],
  ['source_ip_activity', 'a source IP lookup'],
  ['console_login_no_mfa', 'console logins without MFA'],
];

const sqlFile = path.join(here, '..', '..', 'shared', 'bench', 'queries.sql');
const queries = new Map();
let name = null;
let body = [];
for (const line of fs.readFileSync(sqlFile, 'utf8').split('\n')) {
  const m = /^-- name:\s*(\S+)/.exec(line);
  if (m) {
    if (name) queries.set(name, body.join('\n'));
    name = m[1];
    body = [];
  } else if (name && !line.startsWith('--')) {
    body.push(line);
  }
}
if (name) queries.set(name, body.join('\n'));
const strip = (s) => s.trim().replace(/;\s*$/, '');

async function open(lake) {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const glob = path.resolve(lake).replaceAll("'", "''") + '/cloudtrail/**/*.parquet';
  await con.run(`CREATE VIEW cloudtrail AS SELECT * FROM read_parquet('${glob}',
    hive_partitioning = true, hive_types_autocast = false)`);
  return { db, con };
}

async function one(con, sql) {
  const r = await con.runAndReadAll(sql);
  return r.getRows();
}

// placeholder values, taken from the trailpq lake
const vals = {};
{
  const { con } = await open(lakeTp);
  // the day with the most RunInstances calls between 06:00 and 12:00 (so the event-window query
  // has rows), else the busiest day
  let day = await one(con, `SELECT strftime(eventtime, '%Y-%m-%d') FROM cloudtrail
    WHERE eventname = 'RunInstances' AND hour(eventtime) BETWEEN 6 AND 11
    GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`);
  if (!day.length) {
    day = await one(con, `SELECT strftime(eventtime, '%Y-%m-%d') FROM cloudtrail
      GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`);
  }
  const [y, mo, d] = day[0][0].split('-');
  Object.assign(vals, { YEAR: y, MONTH: mo, DD: d, DAY: `${y}-${mo}-${d}` });
  const ak = await one(con, `SELECT useridentity.accesskeyid FROM cloudtrail
    WHERE useridentity.accesskeyid IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`);
  vals.ACCESS_KEY = ak.length ? ak[0][0] : 'AKIANONE';
  const ip = await one(con, `SELECT sourceipaddress FROM cloudtrail
    WHERE regexp_full_match(sourceipaddress, '[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+')
    GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`);
  vals.SOURCE_IP = ip.length ? ip[0][0] : '192.0.2.1';
  const [[n]] = await one(con, 'SELECT count(*) FROM cloudtrail');
  console.log(`rows ${n}; DAY=${vals.DAY} ACCESS_KEY=${vals.ACCESS_KEY} SOURCE_IP=${vals.SOURCE_IP}`);
}
const fill = (sql) => sql.replace(/\$\{([A-Z_]+)\}/g, (m, k) => {
  if (!(k in vals)) throw new Error(`no value for placeholder ${m}`);
  return String(vals[k]).replaceAll("'", "''");
});

for (const [q] of PICK) if (!queries.has(q)) throw new Error(`query ${q} not in ${sqlFile}`);
// both lakes open side by side; each query's runs alternate between them, so a burst of load
// from elsewhere on the machine hurts both sides alike
const lakes = [await open(lakeTp), await open(lakeDd)];
const tp = {}, dd = {};
for (const [q] of PICK) {
  const sql = fill(strip(queries.get(q)));
  const res = [];
  for (const { con } of lakes) res.push({ rows: (await one(con, sql)).length, ms: Infinity });
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < lakes.length; k++) {
      const t0 = process.hrtime.bigint();
      await one(lakes[k].con, sql);
      res[k].ms = Math.min(res[k].ms, Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  [tp[q], dd[q]] = res;
}

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
console.log(`${pad('query', 28)} ${pad('what', 28)} ${lpad('rows tpq/ddb', 13)} ` +
  `${lpad('trailpq ms', 10)} ${lpad('duckdb ms', 10)} ${lpad('time ratio', 10)}`);
let logSum = 0;
for (const [q, what] of PICK) {
  const a = tp[q], b = dd[q];
  const ratio = a.ms / b.ms;
  logSum += Math.log(ratio);
  const flag = a.rows === b.rows ? '' : '  ROW COUNTS DIFFER';
  console.log(`${pad(q, 28)} ${pad(what, 28)} ${lpad(`${a.rows}/${b.rows}`, 13)} ` +
    `${lpad(a.ms.toFixed(1), 10)} ${lpad(b.ms.toFixed(1), 10)} ${lpad('x' + ratio.toFixed(2), 10)}${flag}`);
}
console.log(`geometric mean of query time trailpq lake / DuckDB lake: ` +
  `x${Math.exp(logSum / PICK.length).toFixed(2)} (<1: queries on the trailpq lake are faster; best of ${runs})`);
